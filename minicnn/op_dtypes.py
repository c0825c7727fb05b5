"""The dtypes of ``minicnn.ops``' results, as Keras 3 gives them (its JAX backend, without
64-bit types): an op that computes in floats takes an int or bool x as float32 (``sin``,
``mean``, ``deg2rad`` of ints are float32, not ints truncated); and a result NumPy widens to
float64 or int64 comes back float32 or int32, unless an input array was 64-bit itself (a
float64 gradient check stays float64). Python numbers and lists are weak, as in Keras: they
do not make a result 64-bit."""

from __future__ import annotations

from typing import Any

import numpy as np

# Keras' ops whose result is a float for an int x (Keras 3.15 on ints: float32).
FLOAT_OPS = frozenset(
    """angle arccos arccosh arcsin arcsinh arctan arctanh average cbrt ceil celu corrcoef cos
    cosh deg2rad elu erf erfinv exp exp2 expm1 floor gelu glu hard_shrink hard_sigmoid
    hard_silu hard_swish leaky_relu log log10 log1p log2 log_sigmoid log_softmax logsumexp
    mean median nanmean nanmedian nanstd nanvar norm rad2deg reciprocal relu6 rfft rsqrt selu
    sigmoid silu sin sinh soft_shrink softmax softplus softsign sparse_plus sparse_sigmoid
    sparsemax sqrt squareplus std swish tan tanh tanh_shrink trapezoid var""".split()
)
# Those of two arrays whose result is a float for int ones (both taken as float32).
FLOAT_PAIR_OPS = frozenset(
    """arctan2 binary_crossentropy cdist divide divide_no_nan heaviside hypot logaddexp
    logaddexp2 nextafter true_divide""".split()
)
_WIDE = {np.dtype(np.float64): np.float32, np.dtype(np.int64): np.int32}


def float_arguments(name: str, args: tuple[Any, ...]) -> tuple[Any, ...]:
    """The op's arguments with its int or bool x (and y, for a pair op) as float32."""
    count = 1 if name in FLOAT_OPS else 2 if name in FLOAT_PAIR_OPS else 0
    if not count:
        return args
    return tuple(_as_float(a) if i < count else a for i, a in enumerate(args))


def _as_float(value: Any) -> Any:
    dtype = getattr(value, "dtype", None)
    if dtype is None or np.dtype(dtype).kind not in "biu":
        return value
    from . import ops

    return ops.cast(value, np.float32)


def _wide_inputs(values: Any, found: set[np.dtype]) -> set[np.dtype]:
    """The 64-bit dtypes of the arrays among ``values`` (and in their lists and dicts)."""
    for value in values:
        if isinstance(value, (list, tuple)):
            _wide_inputs(value, found)
            continue
        if isinstance(value, dict):
            _wide_inputs(value.values(), found)
            continue
        dtype = getattr(value, "dtype", None)
        if dtype is not None and not isinstance(value, (bool, int, float)):
            dtype = np.dtype(dtype)
            if dtype in _WIDE or dtype == np.uint64:
                found.add(np.dtype(np.int64) if dtype == np.uint64 else dtype)
    return found


def keras_result(result: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``result`` with float64 and int64 narrowed to 32 bits where no input was 64-bit."""
    wide = _result_wide(result)
    if not wide:
        return result
    kept = _wide_inputs(args, set())
    _wide_inputs(kwargs.values(), kept)
    narrow = {dtype: _WIDE[dtype] for dtype in wide if dtype not in kept}
    return _narrowed(result, narrow) if narrow else result


def _result_wide(result: Any) -> set[np.dtype]:
    if isinstance(result, (list, tuple)):
        found: set[np.dtype] = set()
        for item in result:
            found |= _result_wide(item)
        return found
    data = getattr(result, "data", result)
    dtype = getattr(data, "dtype", None)
    if dtype is None or isinstance(result, (bool, int, float)):
        return set()
    dtype = np.dtype(dtype)
    return {dtype} if dtype in _WIDE else set()


def _narrowed(result: Any, narrow: dict[np.dtype, Any]) -> Any:
    from .autograd import Tensor

    if isinstance(result, (list, tuple)):
        items = [_narrowed(item, narrow) for item in result]
        return type(result)(items) if isinstance(result, list) else tuple(items)
    data = getattr(result, "data", result)
    target = narrow.get(np.dtype(getattr(data, "dtype", np.float32)))
    if target is None:
        return result
    if isinstance(result, Tensor):
        from . import ops

        return ops.cast(result, target) if result.requires_grad else Tensor(data.astype(target))
    return result.astype(target) if hasattr(result, "astype") else result
