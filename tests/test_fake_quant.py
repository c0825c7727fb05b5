"""Keras' quantizers.fake_quant_with_min_max_vars, pack_int4 and unpack_int4, against an
independent NumPy reference of TensorFlow's FakeQuant (Keras 3.15 on JAX gave the same
outputs and gradients to the bit, per tensor and per channel) and Keras' packed bytes."""

import numpy as np
import pytest

from minicnn import quantizers
from minicnn.autograd import Tensor

RNG = np.random.default_rng(8)


def fake_quant_reference(x, low, high, num_bits, narrow_range):
    """TensorFlow's FakeQuant written out: 0 nudged onto a step, clamp, round half up."""
    quant_min, quant_max = (1 if narrow_range else 0), 2**num_bits - 1
    scale = (high - low) / (quant_max - quant_min)
    zero = np.round(np.clip(quant_min - low / scale, quant_min, quant_max))
    nudged_low, nudged_high = (quant_min - zero) * scale, (quant_max - zero) * scale
    clamped = np.clip(x, nudged_low, nudged_high)
    return np.floor((clamped - nudged_low) / scale + 0.5) * scale + nudged_low, (
        nudged_low,
        nudged_high,
    )


@pytest.mark.parametrize("num_bits,narrow_range", [(8, False), (4, True), (3, False)])
def test_fake_quant_forward_and_straight_through_gradients(num_bits, narrow_range):
    x = RNG.standard_normal((5, 3)) * 2
    low, high = np.array([-1.0, -0.5, -2.0]), np.array([1.0, 2.0, 0.5])
    grad = RNG.standard_normal(x.shape)
    tensors = [Tensor(v, requires_grad=True) for v in (x, low, high)]
    out = quantizers.fake_quant_with_min_max_vars(
        *tensors, num_bits=num_bits, narrow_range=narrow_range, axis=-1
    )
    (out * Tensor(grad)).sum().backward()
    expected, (nudged_low, nudged_high) = fake_quant_reference(x, low, high, num_bits, narrow_range)
    np.testing.assert_allclose(out.data, expected, rtol=0, atol=1e-12)
    inside = (x >= nudged_low) & (x <= nudged_high)
    np.testing.assert_array_equal(tensors[0].grad, np.where(inside, grad, 0))
    np.testing.assert_allclose(tensors[1].grad, np.where(x <= nudged_low, grad, 0).sum(0))
    np.testing.assert_allclose(tensors[2].grad, np.where(x >= nudged_high, grad, 0).sum(0))


def test_fake_quant_of_the_whole_tensor_trains_its_range():
    x = np.linspace(-2, 2, 9).astype(np.float32)
    low, high = (
        Tensor(np.float32(-1.0), requires_grad=True),
        Tensor(np.float32(1.5), requires_grad=True),
    )
    out = quantizers.fake_quant_with_min_max_vars(x, low, high, num_bits=3)
    # Keras 3.15's own output for these arguments.
    keras = [-1.0714285, -1.0714285, -1.0714285, -0.35714287, 0.0, 0.35714287, 1.0714285]
    np.testing.assert_allclose(out.data, [*keras, 1.4285715, 1.4285715], rtol=1e-6)
    out.sum().backward()
    assert (
        low.grad.shape == () and float(low.grad) == 2.0 and float(high.grad) == 2.0
    )  # -2, -1.5; 1.5, 2


def test_int4_packing_is_keras_bytes_and_unpacks_back():
    values = np.array([[-8, 7, 3], [1, -1, 0], [5, -3, 2]], np.int8)
    packed, shape, length = quantizers.pack_int4(values, axis=0)
    np.testing.assert_array_equal(packed, [[24, -9, 3], [5, 13, 2]])  # Keras 3.15's
    assert shape == (2, 3) and length == 3
    for dtype, low, high in [("int8", -8, 8), ("uint8", 0, 16)]:
        for axis in (0, 1, -1):
            a = RNG.integers(low, high, (5, 4)).astype(dtype)
            packed, _, length = quantizers.pack_int4(a, axis=axis, dtype=dtype)
            assert packed.shape[axis] == (a.shape[axis] + 1) // 2
            back = quantizers.unpack_int4(packed, length, axis=axis, dtype=dtype)
            np.testing.assert_array_equal(back, a)
    with pytest.raises(TypeError, match="Expected int8 tensor for packing, got int32"):
        quantizers.pack_int4(values.astype(np.int32))


def test_quantizers_serialize_as_keras_dicts():
    quantizer = quantizers.AbsMaxQuantizer(axis=-1)
    written = quantizers.serialize(quantizer)
    assert written["class_name"] == "AbsMaxQuantizer" and written["module"] == "keras.quantizers"
    again = quantizers.get(written)
    assert (
        isinstance(again, quantizers.AbsMaxQuantizer)
        and again.get_config() == quantizer.get_config()
    )
    assert quantizers.get(quantizer) is quantizer and quantizers.get(None) is None
    with pytest.raises(ValueError, match="Unknown quantizer 'GPTQ'"):
        quantizers.deserialize({"class_name": "GPTQ", "config": {}})
