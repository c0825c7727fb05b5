"""Connectionist temporal classification (Graves et al., 2006), as Keras has it: the loss
``ops.ctc_loss`` / ``losses.CTC`` of label sequences against per-step class scores (OCR,
speech), and the greedy ``ops.ctc_decode``.

The loss is the negative log of the summed probability of every alignment (a path of one
class per step) that collapses to the label sequence (repeats merged, blanks dropped; class
``mask_index``, 0 by default, is the blank). The forward (alpha) and backward (beta)
recursions run in log space over the label sequence with blanks between and around its
labels, for the whole batch at once; the gradient with respect to the log-probabilities is
minus the occupancy of each class at each step.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import backend, ops
from .autograd import Function, Tensor


def _extended(labels: Any, lengths: Any, mask_index: int) -> Any:
    """(batch, 2 * max_length + 1): blank, l1, blank, l2, ..., blank (blanks after each
    sample's labels too)."""
    xp = backend.get_array_module(labels)
    n, width = labels.shape
    out = xp.full((n, 2 * width + 1), mask_index, dtype=np.int64)
    kept = xp.arange(width)[None, :] < lengths[:, None]
    out[:, 1::2] = xp.where(kept, labels, mask_index)
    return out


class CTCNegativeLogLikelihood(Function):
    """-log p(labels | log_probs) per sample. log_probs (batch, steps, classes), labels
    (batch, max_length) int, label_lengths (batch,), output_lengths (batch,): a sample's
    steps past its output length take no part."""

    def __init__(self, labels: Any, label_lengths: Any, output_lengths: Any, mask_index: int):
        self.labels, self.label_lengths = labels, label_lengths
        self.output_lengths, self.mask_index = output_lengths, mask_index

    def forward(self, log_probs: Any) -> Any:
        xp = backend.get_array_module(log_probs)
        n, steps, _ = log_probs.shape
        ext = _extended(self.labels, self.label_lengths, self.mask_index)
        size = ext.shape[1]
        neg_inf = log_probs.dtype.type(-np.inf)
        # A label may skip the blank before it unless it repeats the label two places back.
        skip = xp.zeros(ext.shape, dtype=bool)
        skip[:, 2:] = (ext[:, 2:] != self.mask_index) & (ext[:, 2:] != ext[:, :-2])
        where = xp.broadcast_to(ext[:, None, :], (n, steps, size))
        picked = xp.take_along_axis(log_probs, where, axis=2)
        alphas = xp.full((n, steps, size), neg_inf, dtype=log_probs.dtype)
        alpha = xp.full((n, size), neg_inf, dtype=log_probs.dtype)
        alpha[:, 0] = picked[:, 0, 0]
        alpha[:, 1] = xp.where(self.label_lengths > 0, picked[:, 0, 1], neg_inf)
        alphas[:, 0] = alpha
        for t in range(1, steps):
            pad = xp.full((n, 2), neg_inf, log_probs.dtype)
            one = xp.concatenate([pad[:, :1], alpha[:, :-1]], axis=1)
            two = xp.concatenate([pad, alpha[:, :-2]], axis=1)
            two = xp.where(skip, two, neg_inf)
            new = xp.logaddexp(xp.logaddexp(alpha, one), two) + picked[:, t]
            live = (t < self.output_lengths)[:, None]  # past its length a sample stays put
            alpha = xp.where(live, new, alpha)
            alphas[:, t] = alpha
        rows = xp.arange(n)
        last = 2 * self.label_lengths  # the final blank; the final label sits before it
        total = xp.logaddexp(
            alpha[rows, last], xp.where(last > 0, alpha[rows, xp.maximum(last - 1, 0)], neg_inf)
        )
        if self.recording:
            self.saved = (alphas, picked, ext, skip, total, log_probs.shape)
        return -total

    def backward(self, grad: Any) -> Any:
        alphas, picked, ext, skip, total, shape = self.saved
        xp = backend.get_array_module(alphas)
        n, steps, classes = shape
        size = ext.shape[1]
        neg_inf = alphas.dtype.type(-np.inf)
        rows = xp.arange(n)
        lengths = self.output_lengths
        last = 2 * self.label_lengths
        # beta[t, s]: the log-probability of the rest of the labels from position s at step t
        # (step t's own class included), from each sample's last step backwards.
        beta = xp.full((n, size), neg_inf, dtype=alphas.dtype)
        betas = xp.full((n, steps, size), neg_inf, dtype=alphas.dtype)
        for t in reversed(range(steps)):
            ending = (t == lengths - 1)[:, None]
            start = xp.full((n, size), neg_inf, dtype=alphas.dtype)
            # The last label (none for an empty sequence), then the final blank.
            start[rows, xp.maximum(last - 1, 0)] = xp.where(last > 0, 0.0, neg_inf)
            start[rows, last] = 0.0
            pad = xp.full((n, 2), neg_inf, alphas.dtype)
            one = xp.concatenate([beta[:, 1:], pad[:, :1]], axis=1)
            two = xp.concatenate([beta[:, 2:], pad], axis=1)
            skip_next = xp.concatenate([skip[:, 2:], xp.zeros((n, 2), dtype=bool)], axis=1)
            two = xp.where(skip_next, two, neg_inf)
            following = xp.logaddexp(xp.logaddexp(beta, one), two)
            live = (t < lengths)[:, None]
            beta = xp.where(ending, start, xp.where(live, following, neg_inf)) + picked[:, t]
            betas[:, t] = beta
        # The occupancy of position s at step t; summed over the positions of each class.
        possible = xp.isfinite(total)[:, None, None]  # an impossible sample takes no gradient
        shifted = xp.where(
            possible,
            alphas + betas - picked - xp.where(possible, total[:, None, None], 0.0),
            neg_inf,
        )
        occupancy = xp.exp(shifted)
        one_hot = (ext[:, :, None] == xp.arange(classes)[None, None, :]).astype(alphas.dtype)
        by_class = xp.matmul(occupancy, one_hot)
        return -by_class * grad[:, None, None]


def ctc_loss(
    target: Any,
    output: Any,
    target_length: Any,
    output_length: Any,
    mask_index: int = 0,
) -> Tensor:
    """Keras' ops.ctc_loss: per sample, -log p(target | output), ``output`` the logits
    (batch, steps, classes), ``target`` (batch, max_length) class ids with ``target_length``
    of them per sample, ``output_length`` steps per sample; class ``mask_index`` is the blank."""
    output = ops.convert_to_tensor(output)
    if output.ndim != 3:
        raise ValueError(f"ctc_loss: output must be (batch, steps, classes); got {output.shape}.")
    device = backend.device_of(output.data)
    data = target.data if isinstance(target, Tensor) else target
    labels = backend.to_device(np.asarray(backend.to_numpy(data)).astype(np.int64), device)
    if labels.ndim != 2 or labels.shape[0] != output.shape[0]:
        raise ValueError(
            f"ctc_loss: target must be (batch, max_length) with the output's batch of "
            f"{output.shape[0]}; got {tuple(labels.shape)}."
        )

    def lengths(value: Any) -> Any:
        value = value.data if isinstance(value, Tensor) else value
        host = np.asarray(backend.to_numpy(value)).astype(np.int64).reshape(-1)
        return backend.to_device(host, device)

    label_lengths, output_lengths = lengths(target_length), lengths(output_length)
    log_probs = ops.log_softmax(output, axis=-1)
    return CTCNegativeLogLikelihood(labels, label_lengths, output_lengths, mask_index)(log_probs)


def ctc_decode(
    inputs: Any,
    sequence_lengths: Any,
    strategy: str = "greedy",
    beam_width: int = 100,
    top_paths: int = 1,
    merge_repeated: bool = True,
    mask_index: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Keras' ops.ctc_decode. "greedy": the best class at each step, repeats merged (with
    ``merge_repeated``), blanks dropped; decoded (1, batch, steps) padded with -1, scores
    (batch, 1) minus the sum of the best inputs, as Keras computes them. "beam_search": the
    ``top_paths`` most probable label sequences by prefix beam search over the inputs'
    log-softmax, ``beam_width`` prefixes kept per step; decoded (top_paths, batch, steps),
    scores (batch, top_paths) their log-probabilities."""
    values = backend.to_numpy(ops.convert_to_tensor(inputs).data).astype(np.float64)
    n, steps, _ = values.shape
    lengths = np.asarray(backend.to_numpy(sequence_lengths)).astype(np.int64).reshape(-1)
    if strategy == "greedy":
        return _greedy(values, lengths, merge_repeated, mask_index)
    if strategy != "beam_search":
        raise ValueError(
            f"ctc_decode: strategy must be 'greedy' or 'beam_search', got {strategy!r}."
        )
    shifted = values - values.max(axis=-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    decoded = np.full((top_paths, n, steps), -1, dtype=np.int64)
    scores = np.full((n, top_paths), -np.inf)
    for b in range(n):
        best = _beam_search(log_probs[b, : lengths[b]], beam_width, mask_index)[:top_paths]
        for k, (prefix, score) in enumerate(best):
            decoded[k, b, : len(prefix)] = prefix
            scores[b, k] = score
    return decoded, scores


def _greedy(
    values: np.ndarray, lengths: np.ndarray, merge_repeated: bool, mask_index: int
) -> tuple[np.ndarray, np.ndarray]:
    n, steps, _ = values.shape
    best = values.argmax(axis=-1)
    decoded = np.full((1, n, steps), -1, dtype=np.int64)
    scores = np.zeros((n, 1))
    for b in range(n):
        path = best[b, : lengths[b]]
        scores[b, 0] = -values[b, np.arange(lengths[b]), path].sum()
        keep = [
            c
            for t, c in enumerate(path)
            if c != mask_index and not (merge_repeated and t > 0 and path[t - 1] == c)
        ]
        decoded[0, b, : len(keep)] = keep
    return decoded, scores


def _beam_search(
    log_probs: np.ndarray, beam_width: int, blank: int
) -> list[tuple[tuple[int, ...], float]]:
    """Prefix beam search (Hannun et al.): each prefix keeps the log-probability of the
    alignments so far that end in a blank and of those that end in its last label; the
    ``beam_width`` most probable prefixes go on to the next step."""
    beams: dict[tuple[int, ...], tuple[float, float]] = {(): (0.0, -np.inf)}
    for step in log_probs:
        grown: dict[tuple[int, ...], list[float]] = {}
        for prefix, (blank_end, label_end) in beams.items():
            total = np.logaddexp(blank_end, label_end)
            _add(grown, prefix, total + step[blank], -np.inf)
            for c, p in enumerate(step):
                if c == blank:
                    continue
                if prefix and prefix[-1] == c:
                    # The same label again needs a blank between; else it merges.
                    _add(grown, prefix + (c,), -np.inf, blank_end + p)
                    _add(grown, prefix, -np.inf, label_end + p)
                else:
                    _add(grown, prefix + (c,), -np.inf, total + p)
        ranked = sorted(grown.items(), key=lambda item: -np.logaddexp(*item[1]))
        beams = {prefix: (a, b) for prefix, (a, b) in ranked[:beam_width]}
    final = [(prefix, float(np.logaddexp(a, b))) for prefix, (a, b) in beams.items()]
    return sorted(final, key=lambda item: -item[1])


def _add(
    grown: dict[tuple[int, ...], list[float]],
    prefix: tuple[int, ...],
    blank_end: float,
    label_end: float,
) -> None:
    """Add log-probabilities to a prefix's (ending in a blank, ending in its last label)."""
    old = grown.setdefault(prefix, [-np.inf, -np.inf])
    old[0], old[1] = np.logaddexp(old[0], blank_end), np.logaddexp(old[1], label_end)
