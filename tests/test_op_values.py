"""Each of minicnn's ops against what Keras 3.15's gave on the same inputs
(tests/keras_files/op_values.npz, made by make_op_values.py from tests/op_cases.py): the
same dtype (float32 and int32 where NumPy would widen to 64 bits; floats for ints where
Keras computes in floats), shape and values. The differences left are listed with why."""

from pathlib import Path

import numpy as np
import pytest
from op_cases import CASES, METRIC_ARGUMENTS, WEIGHTS

from minicnn import backend, ops

VALUES = np.load(Path(__file__).parent / "keras_files" / "op_values.npz")

# Where minicnn differs from Keras 3.15 on purpose, or gives another valid answer.
DIFFERENT = {
    "sparsemax": "Keras 3.15's sparsemax of a row like [0.1, 0.3, -0.4] sums to 0.7, not 1 "
    "(minicnn's is the projection onto the simplex, [0.4, 0.6, 0])",
    "argpartition": "the order within each side of the kth entry is left open; NumPy's "
    "and XLA's differ",
    "eigh": "of a matrix that is not symmetric: JAX symmetrizes it first, NumPy reads its "
    "lower triangle",
    "one_hot": "of float ids: JAX matches none for 1.7, minicnn takes it as class 1",
}
# Calls Keras takes and minicnn refuses, with why.
REFUSED = {
    ("lu_factor", "x"): "LU of a rectangular matrix",
    ("lu_factor", "px"): "LU of a rectangular matrix",
    ("lu_factor", "ux"): "LU of a rectangular matrix",
    ("lu_factor", "ix"): "LU of a rectangular matrix",
    ("lu_factor", "t3"): "LU of a rectangular matrix",
    ("lu_factor", "c"): "LU of a rectangular matrix",
    ("nan_to_num", "cxy"): "complex values for nan (NumPy refuses them)",
    **{
        (name, case): "a function of reals: NumPy refuses complex values, JAX computes the "
        "formula for reals on them (a complex max, a modulus)"
        for name in ("arctan2", "celu", "log_sigmoid", "logaddexp", "logaddexp2", "softplus")
        for case in ("c", "csq", "cxy", "cx_x")
    },
}
# Outputs each of whose columns is determined up to a unit factor (eigenvectors), which
# LAPACK builds choose their own way: compared up to it.
UP_TO_PHASE = {("eig", 1)}
# Calls whose second argument Keras reads in a way of its own: an array where minicnn takes
# a number, a count Keras ignores (unstack's num), a zero geomspace refuses as NumPy does.
ODD_ARGUMENTS = {
    "conv", "conv_transpose", "depthwise_conv", "geomspace", "leaky_relu", "matrix_rank",
    "pinv", "unravel_index", "unstack", "repeat",
}  # fmt: skip


def _cases():
    seen = {}
    for key in VALUES.files:
        name, case, _, count = key.split("|")
        seen[(name, case)] = int(count)
    return sorted(seen.items())


def _host(value):
    return np.asarray(backend.to_numpy(getattr(value, "data", value)))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's, outside a function's domain
@pytest.mark.parametrize(
    ("call", "count"),
    _cases(),
    ids=lambda v: "-".join(map(str, v)) if isinstance(v, tuple) else None,
)
def test_an_op_gives_what_keras_gave(call, count):
    name, case = call
    if name in DIFFERENT:
        pytest.skip(DIFFERENT[name])
    args = [a.copy() if isinstance(a, np.ndarray) else a for a in CASES[case]]
    if (name, case) in REFUSED or (name in ODD_ARGUMENTS and len(CASES[case]) == 2):
        pytest.skip(REFUSED.get((name, case), "a second argument Keras reads its own way"))
    result = getattr(ops, name)(*args)
    parts = list(result) if isinstance(result, (list, tuple)) else [result]
    assert len(parts) == count
    for i, part in enumerate(parts):
        ours, theirs = _host(part), VALUES[f"{name}|{case}|{i}|{count}"]
        assert ours.shape == theirs.shape
        assert ours.dtype == theirs.dtype, f"{name}: {ours.dtype}, Keras {theirs.dtype}"
        if (name, i) in UP_TO_PHASE:  # each column times the unit number that aligns it
            inner = (ours.conj() * theirs).sum(axis=-2, keepdims=True)
            ours = ours * (inner / np.abs(inner))
        if theirs.dtype.kind in "fc":
            np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5, equal_nan=True)
        else:
            np.testing.assert_array_equal(ours, theirs)
    for given, before in zip(args, CASES[case], strict=True):  # nothing written into them
        if isinstance(given, np.ndarray):
            np.testing.assert_array_equal(given, before)


def test_64_bit_inputs_keep_their_width_and_an_asked_dtype_is_kept():
    """Narrowing is Keras' treatment of NumPy's widening, not of the user's own float64
    (gradient checks run in float64) nor of a dtype asked for."""
    wide = np.linspace(0, 1, 6).reshape(2, 3)
    assert _host(ops.sin(wide)).dtype == np.float64
    assert _host(ops.sum(np.arange(4, dtype=np.int64))).dtype == np.int64
    assert _host(ops.cast([1, 2], "float64")).dtype == np.float64
    assert _host(ops.convert_to_tensor([1.5, 2.0], dtype="float64")).dtype == np.float64
    assert _host(ops.convert_to_tensor([1.5, 2.0])).dtype == np.float32  # weak Python floats
    assert _host(ops.arange(5)).dtype == np.int32
    assert _host(ops.argmax(np.ones((2, 3), np.float32), axis=1)).dtype == np.int32


def test_a_narrowed_result_keeps_its_gradient():
    from minicnn.autograd import Tensor

    x = Tensor(np.array([[1.0, 2.0], [3.0, 4.0]], np.float32), requires_grad=True)
    out = ops.append(x, 0.5)  # NumPy's concatenate of float32 and a Python float
    assert _host(out).dtype == np.float32
    ops.sum(out * 2.0).backward()
    np.testing.assert_array_equal(_host(x.grad), np.full((2, 2), 2.0))


def test_keras_gelu_defaults_and_ops_that_wrote_into_their_arguments():
    from minicnn import activations

    x = np.linspace(-3, 3, 7).astype(np.float32)
    tanh_form = 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))
    np.testing.assert_allclose(_host(ops.gelu(x)), tanh_form, rtol=1e-6, atol=1e-7)
    exact = _host(activations.gelu(x))
    assert np.abs(exact - tanh_form).max() > 1e-4  # the activation is the exact form
    np.testing.assert_allclose(_host(ops.gelu(x, approximate=False)), exact)
    out = np.zeros(3, bool)
    with pytest.raises(TypeError, match="takes 1 argument"):
        ops.isposinf(np.array([1.0, np.inf, -np.inf]), out)  # NumPy's out: not written
    assert not out.any()
    k = np.array([1])
    with pytest.raises(TypeError, match="k must be an int"):
        ops.rot90(np.ones((2, 2)), k)
    assert k[0] == 1


FUNCTIONS = np.load(Path(__file__).parent / "keras_files" / "function_values.npz")


@pytest.mark.parametrize("key", sorted(FUNCTIONS.files))
def test_a_loss_or_metric_function_gives_what_keras_gave(key):
    from op_cases import PAIRS

    import minicnn

    path, case = key.split("|")
    namespace, name = path.split(".")
    y_true, y_pred = (a.copy() for a in PAIRS[case])
    ours = _host(getattr(getattr(minicnn, namespace), name)(y_true, y_pred))
    theirs = FUNCTIONS[key]
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5, equal_nan=True)


CLASSES = np.load(Path(__file__).parent / "keras_files" / "class_values.npz")
# Targets minicnn refuses by name where Keras computes on: class scores for the categorical
# metrics (and probabilities for binary cross-entropy), class ids for the one-hot IoUs.
REFUSED_TARGETS = {
    "CategoricalAccuracy": ("reg", "signs_reg", "sparse_logits", "sparse_probs"),
    "CategoricalCrossentropy": ("reg", "signs_reg"),
    "CategoricalHinge": ("reg", "signs_reg"),
    "TopKCategoricalAccuracy": ("reg", "signs_reg"),
    "BinaryCrossentropy": ("pos", "reg", "signs_reg"),
    "OneHotIoU": ("sparse_logits", "sparse_probs"),
    "OneHotMeanIoU": ("sparse_logits", "sparse_probs"),
}
# Keras' own quirks: F-scores of targets that are not 0/1 (negative or above 1); the one-hot
# IoUs cast float sample weights to ints (Keras warns it "may result in an incorrect weight").
KERAS_QUIRKS = {
    ("F1Score", "pos"), ("F1Score", "reg"), ("F1Score", "signs_reg"),
    ("FBetaScore", "pos"), ("FBetaScore", "reg"), ("FBetaScore", "signs_reg"),
}  # fmt: skip


@pytest.mark.parametrize("key", sorted(CLASSES.files))
def test_a_loss_or_metric_class_gives_what_keras_gave(key):
    from op_cases import PAIRS

    import minicnn

    path, case, weighted, reduction = key.split("|")
    namespace, name = path.split(".")
    if case in REFUSED_TARGETS.get(name, ()):
        pytest.skip("targets minicnn refuses by name")
    if (name, case) in KERAS_QUIRKS or (name.startswith("OneHot") and weighted == "True"):
        pytest.skip("Keras' own quirk")
    y_true, y_pred = (a.copy() for a in PAIRS[case])
    weights = WEIGHTS if weighted == "True" else None
    cls = getattr(getattr(minicnn, namespace), name)
    if namespace == "losses":
        found = cls(reduction=reduction)(y_true, y_pred, sample_weight=weights)
    else:
        metric = cls(**METRIC_ARGUMENTS.get(name, {}))
        metric.update_state(y_true, y_pred, sample_weight=weights)
        metric.update_state(y_true[:2], y_pred[:2])
        found = metric.result()
    np.testing.assert_allclose(
        _host(found).astype(np.float64), CLASSES[key], rtol=1e-4, atol=1e-5, equal_nan=True
    )
