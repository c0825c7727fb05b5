"""``load_onnx`` on graphs whose reshapes fold the batch into other axes (attention's
batch * heads; time * batch around a projection): PyTorch's attention modules as its two
exporters write them (tests/onnx_files, made by make_torch_files.py), and random chains of
transposes and reshapes checked against NumPy."""

from math import prod

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_onnx_import import FILES, close, kinds, onnx_file, torch_file

import minicnn
from minicnn.onnx_export import node_proto
from minicnn.onnx_folds import plan_pieces
from minicnn.onnx_import import OnnxImportError, load_onnx

RNG = np.random.default_rng(11)


def test_plan_pieces_cuts_and_joins_held_axes():
    # (time, batch, features) held (batch, time, features) made (time, batch * 4, features / 4)
    atoms = [(1, 5), (0, 1), (2, 16)]
    assert plan_pieces(atoms, [(0, 5), (1, 4), (0, 4)]) == [[(1, 5)], [(0, 1), (2, 4)], [(2, 4)]]
    # batch * heads back to batch apart, heads and time swapped on the way
    atoms = [(0, 1), (2, 4), (1, 5), (3, 4)]
    assert plan_pieces(atoms, [(1, 1), (0, 4), (0, 5), (0, 4)]) == [
        [(0, 1)],
        [(2, 4)],
        [(1, 5)],
        [(3, 4)],
    ]
    assert plan_pieces([(0, 1), (1, 6)], [(1, 2), (0, 3)]) == [[(0, 1), (1, 2)], [(1, 3)]]
    assert plan_pieces([(1, 4), (0, 1)], [(1, 2), (0, 2)]) is None  # the batch cut in two
    assert plan_pieces([(1, 16), (0, 1)], [(1, 4), (0, 4)]) is None  # features around it
    assert plan_pieces([(0, 1), (1, 3)], [(1, 1), (0, 3), (0, 1), (0, 1)]) == [
        [(0, 1)],
        [(1, 3)],
        [],
        [],
    ]


@pytest.mark.parametrize(
    "name",
    [
        "attentions",
        "transformer",
        "transformer_traced",
        "transformer_traced_one",
        "padding_mask",  # zeros and -inf as many as the batch meet the scores: numbers
        "padding_mask_dynamo",
    ],
)
def test_pytorch_attention_modules_predict_as_pytorch(name):
    path, x, expected = torch_file(name)
    model = load_onnx(path)
    if name.endswith("_one"):  # traced at a batch of one: its batch * heads read as such
        data = np.load(FILES / f"{name}.npz")
        close(model.predict(data["x_more"], verbose=0), data["expected_more"])
    # ONNX Runtime is as far from PyTorch on the attentions file (1.7e-5 of 6.3).
    close(model.predict(x, verbose=0), expected, tolerance=5e-6)
    # Other batch sizes, the traced file's too (its shapes hold the batch as a number).
    rows = np.concatenate([x, x, x[:1]])
    again = np.concatenate([expected, expected, expected[:1]])
    close(model.predict(rows, verbose=0), again, tolerance=1e-5)  # other sums' rounding
    assert all(type(layer).__name__ != "Lambda" for layer in model.layers)


def test_imported_transformer_is_keras_layers_and_trains():
    """nn.TransformerEncoderLayer comes back as Dense, LayerNormalization and op layers;
    the heads' reshapes hold the batch apart without moving data, and it trains."""
    minicnn.clear_session()
    path, x, _ = torch_file("transformer")
    model = load_onnx(path)
    layers = kinds(model)
    assert layers.count("LayerNormalization") == 7  # 2 + 2 post-norm, 3 pre-norm
    names = {layer.name for layer in model.layers}
    assert {"encoder_layers_0_self_attn_in_proj", "decoder_multihead_attn_out_proj"} <= names
    # Four attentions (the encoder's two, the decoder's own and cross): q, k, v and the
    # heads merged back moved once each at most.
    assert layers.count("Permute") <= 4 * 4
    ids = RNG.integers(0, 20, (96, x.shape[1]))
    labels = (ids[:, 0] % 3).astype(np.int64)
    loss = minicnn.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(minicnn.optimizers.Adam(3e-3), loss, metrics=["accuracy"])
    history = model.fit(ids, labels, epochs=6, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.8 * history.history["loss"][0]


@pytest.mark.parametrize("name", ["frames", "frames_dynamo", "frames_traced"])
def test_a_cnn_over_folded_frames_becomes_time_distributed_layers(name):
    """PyTorch's clip.reshape(b * t, ...) -> Conv2d, BatchNorm2d, pooling -> reshape(b, t,
    -1) -> LSTM: each frame's layers come back as TimeDistributed ones, and it trains."""
    path, x, expected = torch_file(name)
    model = load_onnx(path)
    close(model.predict(x, verbose=0), expected)
    # Traced at a batch of one (the sizes written as numbers), it takes any batch.
    close(model.predict(np.concatenate([x] * 3), verbose=0), np.concatenate([expected] * 3))
    inner = [type(layer.layer).__name__ for layer in model.layers if hasattr(layer, "layer")]
    assert inner.count("Conv2D") == 2  # the dynamo exporter folds batch norm into conv1
    assert inner.count("BatchNormalization") == (name != "frames_dynamo")
    assert "MaxPooling2D" in inner and "LSTM" in kinds(model)
    clips = RNG.standard_normal((32, *x.shape[1:])).astype(np.float32)
    model.compile("adam", "mse")
    history = model.fit(clips, np.zeros((32, expected.shape[1])), epochs=5, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_a_pytorch_vit_with_a_class_token_imports_and_fine_tunes():
    """torchvision's way: cls_token.expand(n, -1, -1) joined before the patches, plus
    pos_embedding: ClassToken and PositionEmbedding, named after PyTorch's parameters, whose
    weights train."""
    minicnn.clear_session()
    path, x, expected = torch_file("vit_token")
    model = load_onnx(path)
    close(model.predict(x, verbose=0), expected)
    token, positions = model.get_layer("cls_token"), model.get_layer("pos_embedding")
    assert type(token).__name__ == "ClassToken" and token.count == 1
    assert type(positions).__name__ == "PositionEmbedding" and positions.sequence_length == 17
    before = token.get_weights()[0].copy()
    images = RNG.standard_normal((8, *x.shape[1:])).astype(np.float32)
    model.compile("adam", "mse")
    model.fit(images, np.zeros((8, expected.shape[1])), epochs=2, verbose=0)
    assert not np.array_equal(token.get_weights()[0], before)


def test_a_vit_traced_at_a_batch_of_one_takes_any_batch():
    """torch.onnx.export(model, torch.randn(1, 3, 16, 16), path), no dynamic axes: the class
    token is a folded constant of batch one, and timm's reshapes write the batch as 1."""
    path, x, expected = torch_file("vit_token_traced")
    model = load_onnx(path)
    assert "ClassToken" in kinds(model) and "PositionEmbedding" in kinds(model)
    close(model.predict(np.concatenate([x] * 3), verbose=0), np.concatenate([expected] * 3))


def test_a_batch_of_one_that_could_be_any_of_two_axes_is_refused(tmp_path):
    """(time, batch, features) made (time, 1, 1, features) in a file traced at a batch of
    one: the batch could be either unit axis; minicnn says how to export the file instead."""
    nodes = [
        node_proto("Transpose", ["x"], ["t"], "steps_first", perm=[1, 0, 2]),
        node_proto("Reshape", ["t", "s"], ["y"], "units"),
    ]
    constants = {"s": np.array([5, 1, 1, 16], np.int64)}
    path = onnx_file(tmp_path / "r.onnx", nodes, constants, {"x": (1, 5, 16)}, {"y": (5, 1, 1, 16)})
    with pytest.raises(OnnxImportError, match=r"traced with \(1\).*dynamic_axes"):
        load_onnx(path)


def test_convnext_and_swin_blocks_import_and_train():
    """ConvNeXt's gamma * branch becomes LayerScale (trainable); Swin's shifted windows fold
    into the batch around an attention per window, and come apart again."""
    minicnn.clear_session()
    for name in ("convnext", "swin"):
        path, x, expected = torch_file(name)
        model = load_onnx(path)
        close(model.predict(x, verbose=0), expected)
        if name == "convnext":
            scale = model.get_layer("gamma")
            assert type(scale).__name__ == "LayerScale" and scale.projection_dim == 8
            assert kinds(model).count("Permute") == 1  # the input, once for both readers
        model.compile("adam", "mse")
        history = model.fit(x, np.zeros_like(expected), epochs=4, verbose=0)
        assert history.history["loss"][-1] < history.history["loss"][0]


def test_attention_files_are_pytorch_exports():
    assert (FILES / "transformer.onnx.data").is_file()  # the dynamo exporter's weights


@st.composite
def folding_chains(draw):
    """A random (batch, ...) tensor transposed, reshaped with its axes regrouped (the
    batch's group as -1), transposed again, scaled by a constant and given a softmax along
    an axis without the batch, then taken back the same way."""
    dims = draw(st.lists(st.sampled_from([1, 2, 3, 4, 6]), min_size=2, max_size=4))
    rank = len(dims) + 1
    first = draw(st.permutations(range(rank)))
    moved = [None, *dims]
    moved = [moved[p] for p in first]
    cuts = sorted(draw(st.sets(st.integers(1, rank - 1), max_size=rank - 1)))
    groups = [list(range(a, b)) for a, b in zip([0, *cuts], [*cuts, rank], strict=True)]
    target = []
    for group in groups:
        sizes = [moved[i] for i in group]
        if None in sizes:
            target.append(-1)
            continue
        whole = prod(sizes)
        factors = [f for f in range(2, whole) if whole % f == 0]
        if factors and draw(st.booleans()):
            f = draw(st.sampled_from(factors))
            target += [f, whole // f]
        else:
            target.append(whole)
    second = draw(st.permutations(range(len(target))))
    return dims, list(first), moved, target, list(second)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(folding_chains(), st.integers(0, 2**16))
def test_reshapes_that_fold_the_batch_agree_with_numpy(tmp_path_factory, chain, seed):
    dims, first, moved, target, second = chain
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((3, *dims)).astype(np.float32)
    folded = x.transpose(first).reshape(target).transpose(second)
    batch_axis = next(i for i, t in enumerate(np.array(target)[second]) if t == -1)
    scale_shape = [1 if i == batch_axis else d for i, d in enumerate(folded.shape)]
    scale = rng.uniform(0.5, 2.0, scale_shape).astype(np.float32)
    free = [i for i in range(folded.ndim) if i != batch_axis]
    scaled = folded * scale
    if free:
        axis = free[seed % len(free)]
        soft = np.exp(scaled - scaled.max(axis, keepdims=True))
        soft /= soft.sum(axis, keepdims=True)
        softmax = node_proto("Softmax", ["m"], ["s"], "softmax", axis=axis)
    else:  # every axis folded into the batch
        soft, softmax = scaled, node_proto("Identity", ["m"], ["s"], "same")
    back_shape = [-1 if m is None else m for m in moved]
    expected = (
        soft.transpose(np.argsort(second))
        .reshape([3 if m is None else m for m in moved])
        .transpose(np.argsort(first))
    )
    nodes = [
        node_proto("Transpose", ["x"], ["t1"], "first", perm=first),
        node_proto("Reshape", ["t1", "target"], ["r1"], "fold"),
        node_proto("Transpose", ["r1"], ["t2"], "second", perm=second),
        node_proto("Mul", ["t2", "scale"], ["m"], "scale"),
        softmax,
        node_proto("Transpose", ["s"], ["t3"], "second_back", perm=list(np.argsort(second))),
        node_proto("Reshape", ["t3", "back"], ["r2"], "unfold"),
        node_proto("Transpose", ["r2"], ["y"], "first_back", perm=list(np.argsort(first))),
    ]
    constants = {
        "target": np.array(target, np.int64),
        "back": np.array(back_shape, np.int64),
        "scale": scale,
    }
    path = onnx_file(
        tmp_path_factory.mktemp("f") / "f.onnx",
        nodes,
        constants,
        {"x": (None, *dims)},
        {"y": (None, *dims)},
    )
    model = load_onnx(path)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)


def test_a_reshape_that_cuts_the_batch_is_named(tmp_path):
    nodes = [node_proto("Reshape", ["x", "s"], ["y"], "halve")]
    path = onnx_file(
        tmp_path / "r.onnx",
        nodes,
        {"s": np.array([2, -1, 4], np.int64)},  # no batch size was traced: (2, batch / 2, 4)
        {"x": (None, 2, 4)},
        {"y": (2, None, 4)},
    )
    with pytest.raises(OnnxImportError, match=r"'halve' \(Reshape\): it reshapes \(batch, 2, 4\)"):
        load_onnx(path)
