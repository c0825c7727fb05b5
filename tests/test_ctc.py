"""CTC, as Keras has it (ops.ctc_loss, losses.CTC, greedy ops.ctc_decode): every alignment
enumerated as the oracle, float64 gradient checks on every device, PyTorch's ctc_loss where it
is installed, and a small OCR-like model that learns to read sequences."""

import itertools

import numpy as np
import pytest
from gradcheck import check_gradients
from test_functions import host

from minicnn import Input, Sequential, backend, losses, ops, optimizers
from minicnn import layers as L

LABELS = np.array([[1, 2, 0], [3, 3, 0], [2, 0, 0], [0, 0, 0]])
LABEL_LENGTHS = np.array([2, 2, 1, 0])
OUTPUT_LENGTHS = np.array([5, 4, 5, 3])


def brute_force(logits, labels, label_lengths, output_lengths):
    """-log of the summed probability of every path that collapses to the labels."""
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    out = []
    for b in range(len(logits)):
        total = 0.0
        for path in itertools.product(range(logits.shape[2]), repeat=int(output_lengths[b])):
            collapsed = [c for t, c in enumerate(path) if c and (t == 0 or path[t - 1] != c)]
            if collapsed == list(labels[b, : label_lengths[b]]):
                total += np.exp(sum(log_probs[b, t, c] for t, c in enumerate(path)))
        out.append(-np.log(total))
    return np.array(out)


def test_the_loss_is_every_alignment_summed(device):
    logits = np.random.default_rng(0).standard_normal((4, 5, 4))
    on = lambda a: backend.to_device(a, device)  # noqa: E731
    got = ops.ctc_loss(on(LABELS), on(logits), LABEL_LENGTHS, OUTPUT_LENGTHS)
    expected = brute_force(logits, LABELS, LABEL_LENGTHS, OUTPUT_LENGTHS)
    np.testing.assert_allclose(host(got.data), expected, rtol=1e-10)


def test_gradients_check_in_float64(device):
    logits = np.random.default_rng(1).standard_normal((4, 5, 4))
    on = lambda a: backend.to_device(a, device)  # noqa: E731
    check_gradients(
        lambda t: ops.ctc_loss(on(LABELS), t, LABEL_LENGTHS, OUTPUT_LENGTHS), logits, device=device
    )


def test_pytorch_ctc_loss_agrees():
    torch = pytest.importorskip("torch")
    logits = np.random.default_rng(2).standard_normal((4, 6, 5))
    labels = np.array([[1, 4, 4, 2], [3, 0, 0, 0], [2, 1, 0, 0], [4, 4, 4, 0]])
    lengths, steps = np.array([4, 1, 2, 3]), np.array([6, 5, 6, 6])
    expected = torch.nn.functional.ctc_loss(
        torch.log_softmax(torch.tensor(logits), -1).transpose(0, 1),
        torch.tensor(labels),
        torch.tensor(steps),
        torch.tensor(lengths),
        reduction="none",
    ).numpy()
    got = ops.ctc_loss(labels, logits, lengths, steps)
    np.testing.assert_allclose(got.data, expected, rtol=1e-10)


def test_an_impossible_alignment_is_infinite_and_takes_no_gradient():
    logits = np.zeros((1, 2, 3))
    from minicnn.autograd import Tensor

    x = Tensor(logits, requires_grad=True)
    loss = ops.ctc_loss(np.array([[1, 1]]), x, [2], [2])  # "1 1" needs a blank between: 3 steps
    assert np.isinf(loss.data).all()
    loss.sum().backward()
    assert np.isfinite(x.grad).all()


def test_greedy_decoding():
    path = [1, 1, 0, 2, 2, 0, 2, 3]
    logits = np.full((2, 8, 4), -5.0)
    for t, c in enumerate(path):
        logits[0, t, c] = logits[1, t, c] = 5.0
    decoded, scores = ops.ctc_decode(logits, [8, 5])
    assert decoded.shape == (1, 2, 8)
    assert list(decoded[0, 0, :4]) == [1, 2, 2, 3] and (decoded[0, 0, 4:] == -1).all()
    assert list(decoded[0, 1, :2]) == [1, 2] and (decoded[0, 1, 2:] == -1).all()
    np.testing.assert_allclose(scores[:, 0], [-8 * 5.0, -5 * 5.0])  # Keras: raw inputs
    unmerged, _ = ops.ctc_decode(logits[:1], [8], merge_repeated=False)
    assert list(unmerged[0, 0, :6]) == [1, 1, 2, 2, 2, 3]
    with pytest.raises(ValueError, match="'greedy' or 'beam_search'"):
        ops.ctc_decode(logits, [8, 8], strategy="prefix")


def labelings(log_probs, steps):
    """Every label sequence's log-probability: its alignments summed, by enumeration."""
    totals = {}
    for path in itertools.product(range(log_probs.shape[1]), repeat=steps):
        collapsed = tuple(c for t, c in enumerate(path) if c and (t == 0 or path[t - 1] != c))
        p = np.exp(sum(log_probs[t, c] for t, c in enumerate(path)))
        totals[collapsed] = totals.get(collapsed, 0.0) + p
    return sorted(((k, np.log(v)) for k, v in totals.items()), key=lambda kv: -kv[1])


def test_beam_search_finds_the_most_probable_labelings():
    """With a beam wide enough to keep every prefix, prefix beam search is exact: the top
    label sequences and their log-probabilities (every alignment summed), where greedy
    decoding can miss the best one."""
    rng = np.random.default_rng(4)
    logits = rng.standard_normal((3, 5, 3)) * 1.5
    decoded, scores = ops.ctc_decode(
        logits, [5, 5, 4], strategy="beam_search", beam_width=64, top_paths=3
    )
    assert decoded.shape == (3, 3, 5) and scores.shape == (3, 3)
    for b, steps in enumerate((5, 5, 4)):
        log_probs = logits[b] - np.log(np.exp(logits[b]).sum(-1, keepdims=True))
        expected = labelings(log_probs[:steps], steps)[:3]
        for k, (labels, score) in enumerate(expected):
            got = tuple(int(c) for c in decoded[k, b] if c != -1)
            assert got == labels
            assert scores[b, k] == pytest.approx(score, rel=1e-9)
    # A clear input: beam search and greedy read the same.
    path = [1, 1, 0, 2, 2, 0, 2]
    sharp = np.full((1, 7, 3), -6.0)
    sharp[0, np.arange(7), path] = 6.0
    beam, _ = ops.ctc_decode(sharp, [7], strategy="beam_search", beam_width=4)
    greedy, _ = ops.ctc_decode(sharp, [7])
    np.testing.assert_array_equal(beam, greedy)


def strips(n, seed):
    """Sequences of 3 symbols (1..4) written as 2 frames each with a gap, among 9 frames of
    noisy one-hot features: a 1-D 'image' of a word, and its labels."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 0.1, (n, 9, 5)).astype(np.float32)
    y = rng.integers(1, 5, (n, 3))
    for i in range(n):
        for k, symbol in enumerate(y[i]):
            x[i, 3 * k : 3 * k + 2, symbol] += 1.0
    return x, y


def test_a_model_learns_to_read_with_the_ctc_loss(device):
    x, y = strips(384, 0)
    x_test, y_test = strips(128, 1)
    model = Sequential(
        [
            Input((9, 5)),
            L.Conv1D(16, 3, padding="same", activation="relu"),
            L.Bidirectional(L.GRU(16, return_sequences=True)),
            L.Dense(5),
        ]
    ).to(device)
    model.compile(optimizers.Adam(0.02), losses.CTC())
    history = model.fit(x, y, batch_size=32, epochs=12, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    decoded, _ = ops.ctc_decode(model.predict(x_test, verbose=0), [9] * 128)
    exact = (decoded[0, :, :3] == y_test).all(axis=1) & (decoded[0, :, 3] == -1)
    assert exact.mean() > 0.8
    with pytest.raises(ValueError, match=r"CTC labels must be class ids in \[0, 5\)"):
        model.fit(x, y + 4, epochs=1, verbose=0)
