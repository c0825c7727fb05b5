"""The CPU warp kernel (``kernels/cpu.py``'s affine_warp) against the array code it stands in
for: the same bits for every fill mode, both interpolations, one matrix or one per image,
affine or projective, another output size; and gradients still flow (through the array code's
taps, made when backward asks)."""

import numpy as np
import pytest
from gradcheck import check_gradients

from minicnn import image_ops
from minicnn.autograd import Tensor

RNG = np.random.default_rng(0)


class ArrayWarp(image_ops.AffineTransform):
    """The array path: a subclass with its own ``_coordinates`` never takes the kernel."""

    def _coordinates(self, xp, out_h, out_w):
        return image_ops.AffineTransform._coordinates(self, xp, out_h, out_w)


MATRICES = {
    "one affine": (0.9, 0.2, 0.5, -0.1, 1.1, -0.7),
    "one projective": (1, 0, 1.5, 0, 1, -2, 0.01, 0.02),
    "per image": RNG.standard_normal((6, 6)) * 0.3 + np.array([1, 0, 0, 0, 1, 0]),
    "per image projective": np.hstack(
        [
            RNG.standard_normal((6, 6)) * 0.3 + np.array([1, 0, 0, 0, 1, 0]),
            RNG.random((6, 2)) * 0.01,
        ]
    ),
}


@pytest.mark.parametrize("fill_mode", ["reflect", "wrap", "nearest", "constant", "mirror"])
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
@pytest.mark.parametrize("matrices", list(MATRICES))
def test_the_kernel_gives_the_array_codes_bits(fill_mode, interpolation, matrices):
    x = RNG.random((6, 9, 11, 2)).astype(np.float32)
    m = MATRICES[matrices]
    kernel = image_ops.AffineTransform(m, fill_mode, interpolation, 0.25).forward(x)
    array = ArrayWarp(m, fill_mode, interpolation, 0.25).forward(x)
    np.testing.assert_array_equal(kernel, array)
    resized = image_ops.AffineTransform(m, fill_mode, interpolation, 0.25, (5, 13)).forward(x)
    np.testing.assert_array_equal(
        resized, ArrayWarp(m, fill_mode, interpolation, 0.25, (5, 13)).forward(x)
    )


def test_gradients_flow_through_a_kernel_warp():
    x = Tensor(RNG.random((2, 5, 5, 1)).astype(np.float32), requires_grad=True)
    out = image_ops.affine_transform(x, (0.9, 0.1, 0.3, -0.2, 1.0, 0.4))
    (out * out).sum().backward()
    plain = Tensor(x.data.copy(), requires_grad=True)
    (
        ArrayWarp((0.9, 0.1, 0.3, -0.2, 1.0, 0.4), "reflect", "bilinear", 0.0)(plain) ** 2
    ).sum().backward()
    np.testing.assert_array_equal(x.grad, plain.grad)
    check_gradients(
        lambda t: image_ops.affine_transform(t, (0.9, 0.1, 0.3, -0.2, 1.0, 0.4)),
        RNG.random((1, 4, 4, 1)),
    )
