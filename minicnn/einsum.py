"""Einstein sums of two operands as one batched product of matrices (so a captured GPU step
uses minicnn's GEMM, as for every product), differentiable; and Keras' EinsumDense."""

from __future__ import annotations

import re
import string
from typing import Any

import numpy as np

from . import backend
from .autograd import Function, Tensor
from .data_checks import positive_int
from .functions import batched_product
from .layer_base import Shape, _Activated
from .lora import LowRankAdaptation
from .quantization import Quantizable, abs_max_quantize


def split_equation(equation: str, ranks: tuple[int, int]) -> tuple[str, str, str]:
    """'ab,bc->ac' as its three index strings, '...' spelled out in letters of its own: an
    operand's extra axes, aligned at the right as NumPy aligns them; the output's '...'
    takes them all."""
    match = re.fullmatch(r"\s*([A-Za-z.]*)\s*,\s*([A-Za-z.]*)\s*->\s*([A-Za-z.]*)\s*", equation)
    parts = list(match.groups()) if match else []
    if not parts or any(p.count("...") > 1 or "." in p.replace("...", "") for p in parts):
        raise ValueError(f"einsum: {equation!r} is not of the form 'ab,bc->ac' (or '...ab,...').")
    used = set("".join(parts))
    spare = [c for c in string.ascii_letters if c not in used]
    elided = [rank - len(p.replace("...", "")) for p, rank in zip(parts[:2], ranks, strict=True)]
    width = max((e for p, e in zip(parts[:2], elided, strict=True) if "..." in p), default=0)
    filler = "".join(spare[:width])
    for i in (0, 1):
        if "..." in parts[i]:
            parts[i] = parts[i].replace("...", filler[width - elided[i] :] if elided[i] else "")
    if "..." in parts[2]:
        parts[2] = parts[2].replace("...", filler)
    elif width:
        raise ValueError(f"einsum: {equation!r} elides axes with '...' but its output does not.")
    for part, rank in zip(parts[:2], ranks, strict=True):
        if len(part) != rank:
            raise ValueError(
                f"einsum: {equation!r} names {len(part)} axes of an operand of {rank}."
            )
        if len(set(part)) != len(part):
            raise ValueError(f"einsum: {equation!r} repeats an index within an operand.")
    if set(parts[2]) - set(parts[0]) - set(parts[1]) or len(set(parts[2])) != len(parts[2]):
        raise ValueError(f"einsum: the output of {equation!r} names axes no operand has.")
    return parts[0], parts[1], parts[2]


def _sum_other_axes(array: Any, spec: str, keep: set[str]) -> tuple[Any, str]:
    """``array`` summed over its indices outside ``keep``, and the indices left."""
    axes = tuple(i for i, c in enumerate(spec) if c not in keep)
    return (array.sum(axis=axes) if axes else array), "".join(c for c in spec if c in keep)


def contract(a: Any, spec_a: str, b: Any, spec_b: str, spec_out: str, sizes: dict) -> Any:
    """The einsum ``spec_a,spec_b->spec_out`` of raw arrays as one batched matrix product;
    an output index neither operand has takes its size from ``sizes`` (a broadcast)."""
    xp = backend.get_array_module(a)
    a, spec_a = _sum_other_axes(a, spec_a, set(spec_b) | set(spec_out))
    b, spec_b = _sum_other_axes(b, spec_b, set(spec_a) | set(spec_out))
    batch = [c for c in spec_out if c in spec_a and c in spec_b]
    summed = [c for c in spec_a if c in spec_b and c not in spec_out]
    free_a = [c for c in spec_out if c in spec_a and c not in spec_b]
    free_b = [c for c in spec_out if c in spec_b and c not in spec_a]

    def size(chars: list[str]) -> int:
        return int(np.prod([sizes[c] for c in chars], dtype=np.int64))

    left = xp.transpose(a, [spec_a.index(c) for c in batch + free_a + summed])
    right = xp.transpose(b, [spec_b.index(c) for c in batch + summed + free_b])
    left = backend.contiguous(left, left.dtype).reshape(size(batch), size(free_a), size(summed))
    right = backend.contiguous(right, right.dtype).reshape(size(batch), size(summed), size(free_b))
    found = batch + free_a + free_b
    product = batched_product(left, right).reshape([sizes[c] for c in found])
    broadcast = [c for c in spec_out if c not in found]
    if broadcast:  # an index of the output that only the other operand had: its gradient
        product = product.reshape(product.shape + (1,) * len(broadcast))
        found = found + broadcast
        product = xp.broadcast_to(product, tuple(sizes[c] for c in found))
    return xp.transpose(product, [found.index(c) for c in spec_out])


class Einsum(Function):
    """Two operands' Einstein sum; each gradient is the sum of the output's gradient with
    the other operand, onto that operand's indices."""

    def __init__(self, spec_a: str, spec_b: str, spec_out: str) -> None:
        self.specs = (spec_a, spec_b, spec_out)

    def forward(self, a: Any, b: Any) -> Any:
        spec_a, spec_b, spec_out = self.specs
        self.a, self.b = a, b
        self.sizes = dict(zip(spec_a, a.shape, strict=True))
        for c, n in zip(spec_b, b.shape, strict=True):
            if self.sizes.setdefault(c, n) != n:
                raise ValueError(
                    f"einsum: index {c!r} is {self.sizes[c]} long in one operand and {n} in "
                    f"the other ({spec_a},{spec_b}->{spec_out}; shapes {a.shape}, {b.shape})."
                )
        return contract(a, spec_a, b, spec_b, spec_out, self.sizes)

    def backward(self, grad: Any) -> tuple[Any, Any]:
        spec_a, spec_b, spec_out = self.specs
        return (
            contract(grad, spec_out, self.b, spec_b, spec_a, self.sizes),
            contract(self.a, spec_a, grad, spec_out, spec_b, self.sizes),
        )


def einsum(subscripts: str, *operands: Any) -> Tensor:
    """Keras' (and NumPy's) einsum, differentiable: indices as letters, '...' for axes
    passed through; one operand ('ij->ji'), two, or more, summed pairwise from the left
    (each step keeping the indices still needed). No index repeats within an operand."""
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in operands]
    inputs, arrow, output = subscripts.partition("->")
    specs = inputs.split(",")
    if not arrow or len(specs) != len(tensors) or not tensors:
        raise ValueError(
            f"einsum: {subscripts!r} needs '->' and one index string per operand "
            f"({len(tensors)} given)."
        )
    if len(tensors) == 1:  # with a scalar one as the second operand
        tensors.append(Tensor(backend.get_array_module(tensors[0].data).ones((), tensors[0].dtype)))
        specs.append("")
    result, spec = tensors[0], specs[0]
    for i in range(1, len(tensors)):
        last = i == len(tensors) - 1
        if last:
            target = output
        else:  # the indices a later operand or the output still needs, in order of appearance
            later = set("".join(specs[i + 1 :]) + output)
            kept = "".join(dict.fromkeys(c for c in spec + specs[i] if c in later and c != "."))
            target = ("..." if "..." in spec + specs[i] else "") + kept
        step = f"{spec},{specs[i]}->{target}"
        result = Einsum(*split_equation(step, (result.ndim, tensors[i].ndim)))(result, tensors[i])
        spec = target
    return result


def output_layout(scale: Any, spec: str, spec_out: str) -> Any:
    """A scale kept over an operand's axes (size 1 on those the sum runs over) laid out
    along the output's axes: the operand's other axes in the output's order, 1 for each
    output axis the operand lacks. It broadcasts against the output, and is how Keras
    stores an int8 EinsumDense's kernel scale."""
    kept = [c for c in spec if c in spec_out]
    xp = backend.get_array_module(scale)
    values = scale.reshape([scale.shape[spec.index(c)] for c in kept])
    values = xp.transpose(values, [kept.index(c) for c in spec_out if c in spec])
    return values.reshape([scale.shape[spec.index(c)] if c in spec else 1 for c in spec_out])


def operand_layout(scale: Any, spec: str, spec_out: str, shape: tuple[int, ...]) -> Any:
    """``output_layout`` undone: the scale over the operand's axes (of ``shape``), 1 on
    those the sum runs over."""
    order = [c for c in spec_out if c in spec]
    xp = backend.get_array_module(scale)
    values = scale.reshape([shape[spec.index(c)] for c in order])
    values = xp.transpose(values, [order.index(c) for c in spec if c in spec_out])
    return values.reshape([n if c in spec_out else 1 for c, n in zip(spec, shape, strict=True)])


class Int8Einsum(Einsum):
    """Keras' int8 EinsumDense product: x quantized to int8 by its abs-max over the axes
    the sum runs over, times the int8 kernel, both scales (laid out along the output's
    axes) divided out. The gradient reaches x alone, through the dequantized kernel."""

    def forward(self, x: Any, kernel: Any, kernel_scale: Any) -> Any:
        spec_x, spec_kernel, spec_out = self.specs
        summed = tuple(i for i, c in enumerate(spec_x) if c not in spec_out)
        xq, x_scale = abs_max_quantize(x, axis=summed)
        product = super().forward(xq.astype(np.float32), kernel.astype(np.float32))
        self.kernel_scale = kernel_scale
        scales = output_layout(x_scale, spec_x, spec_out) * kernel_scale
        return (product / scales).astype(np.float32)

    def backward(self, grad: Any) -> tuple[Any, None, None]:
        spec_x, spec_kernel, spec_out = self.specs
        scale = operand_layout(self.kernel_scale, spec_kernel, spec_out, self.b.shape)
        return contract(grad, spec_out, self.b / scale, spec_kernel, spec_x, self.sizes), None, None


class EinsumDense(Quantizable, LowRankAdaptation, _Activated):
    """Keras' EinsumDense: ``activation(einsum(equation, x, kernel) + bias)``. The equation
    names the input's axes (the batch's first), the kernel's and the output's, as
    'ab,bc->ac' (Dense) or 'abc,cde->abde' (a projection into heads); '...' stands for axes
    passed through. ``output_shape`` gives the output's axes after the batch (those that the
    ellipsis stands for left out; None for one the input has); the kernel's shape follows
    from them, and ``bias_axes`` (letters of the output) gives the bias its axes. LoRA as in
    Dense (``lora_rank``).

    ``quantize("int8")`` as Keras: the kernel as int8 by its abs-max over the axes the sum
    runs over, the scales laid out along the output's axes (``output_layout``), inputs
    quantized alike in each call. ``quantize("int4")`` (weights only): the kernel reshaped,
    as Keras reshapes it, to a matrix (the summed axes' size, the others'), quantized and
    packed as a Dense's kernel."""

    _keras_defaults = {"quantization_config": None}
    _lists_activity_regularizer = True

    WEIGHT_NAMES = ("kernel", "bias")

    supports_masking = False  # Keras' EinsumDense drops a padding mask

    def __init__(
        self,
        equation: str,
        output_shape: Any,
        activation: str | None = None,
        bias_axes: str | None = None,
        kernel_initializer: str = "glorot_uniform",
        bias_initializer: str = "zeros",
        lora_rank: int | None = None,
        lora_alpha: float | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.pop("use_bias", None)  # our config's name for bias_axes is not None
        super().__init__(
            activation, bias_axes is not None, kernel_initializer, bias_initializer, **kwargs
        )
        self.equation = str(equation)
        self.partial_output_shape = (
            [output_shape] if isinstance(output_shape, int) else list(output_shape)
        )
        self.bias_axes = bias_axes
        self._lora_options(lora_rank, lora_alpha)

    def _specs(self, input_shape: Shape) -> tuple[str, str, str]:
        kernel_rank = len(self.equation.split(",")[1].split("->")[0].strip())
        try:
            return split_equation(self.equation, (len(input_shape) + 1, kernel_rank))
        except ValueError as error:
            raise ValueError(f"{self.describe()}: {error}") from None

    def _shapes(self, input_shape: Shape) -> tuple[tuple, tuple, tuple | None]:
        """The output's shape (after the batch), the kernel's and the bias' (or None)."""
        spec_in, spec_kernel, spec_out = self._specs(input_shape)
        owner = self.describe()
        sizes = dict(zip(spec_in, (None, *input_shape), strict=True))
        passed = set(spec_out) - set(self.equation.split("->")[1].replace("...", ""))
        batch = spec_in[0]
        named = [c for c in spec_out if c != batch and c not in passed]
        if len(named) != len(self.partial_output_shape):
            raise ValueError(
                f"{owner}: output_shape {tuple(self.partial_output_shape)} gives "
                f"{len(self.partial_output_shape)} axes; the equation {self.equation!r} has "
                f"{len(named)} after the batch."
            )
        for c, given in zip(named, self.partial_output_shape, strict=True):
            if c in sizes and given is not None and given != sizes[c]:
                raise ValueError(
                    f"{owner}: output axis {c!r} is {sizes[c]} in the input, not {given}."
                )
            if c not in sizes:
                if given is None:
                    raise ValueError(f"{owner}: output axis {c!r} needs its size in output_shape.")
                sizes[c] = positive_int(given, f"{owner}: output_shape")
        for c in spec_kernel:
            if c not in sizes:
                raise ValueError(
                    f"{owner}: kernel axis {c!r} is in neither the input nor the output."
                )
        output = tuple(sizes[c] for c in spec_out[1:]) if spec_out[0] == batch else None
        if output is None or batch not in spec_out:
            raise ValueError(f"{owner}: the output of {self.equation!r} must keep the batch first.")
        bias = None
        if self.bias_axes is not None:
            if not set(self.bias_axes) <= set(spec_out) or not self.bias_axes:
                raise ValueError(
                    f"{owner}: bias_axes {self.bias_axes!r} are not axes of the output "
                    f"{spec_out!r}."
                )
            first = min(spec_out.index(c) for c in self.bias_axes)
            bias = tuple(sizes[c] if c in self.bias_axes else 1 for c in spec_out[first:])
        return output, tuple(sizes[c] for c in spec_kernel), bias

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return self._shapes(input_shape)[0]

    def _create_weights(self, input_shape: Shape) -> list[np.ndarray]:
        _, kernel, bias = self._shapes(input_shape)
        weights = [self.kernel_initializer(kernel)]
        return weights + ([self.bias_initializer(bias)] if bias is not None else [])

    def build(self, input_shape: Any) -> None:
        super().build(input_shape)
        self.kernel_specs = self._specs(self.sample_input_shape)
        self.kernel_shape = tuple(self._weights[0].shape)
        if self.quantization_mode:  # rebuilt from a quantized model's config
            self._quantized_build()
        self._lora_build()

    def _summed_axes(self) -> tuple[int, ...]:
        """The kernel's axes that the sum runs over (not in the output)."""
        _, spec_kernel, spec_out = self.kernel_specs
        return tuple(i for i, c in enumerate(spec_kernel) if c not in spec_out)

    def _matrix_shape(self) -> tuple[int, int]:
        """The int4 matrix's shape: the summed axes' size, the other axes'."""
        rows = int(np.prod([self.kernel_shape[i] for i in self._summed_axes()], dtype=np.int64))
        return rows, int(np.prod(self.kernel_shape, dtype=np.int64)) // rows

    def _lora_matrix_shape(self) -> tuple[int, ...]:
        return self.kernel_shape

    def _quantized_values(
        self, matrix: Any, axis: int | None = None, pack_axis: int = -1
    ) -> tuple[Any, Any, Any]:
        if self.quantization_mode == "int8":
            values, scale = abs_max_quantize(matrix, axis=self._summed_axes())
            _, spec_kernel, spec_out = self.kernel_specs
            return values, output_layout(scale, spec_kernel, spec_out), None
        # Keras reshapes the kernel without moving the summed axes first.
        return super()._quantized_values(matrix.reshape(self._matrix_shape()), 0, pack_axis)

    def dequantized_matrix(self) -> Any:
        if self.quantization_mode == "int4":
            return super().dequantized_matrix().reshape(self.kernel_shape)
        _, spec_kernel, spec_out = self.kernel_specs
        scale = operand_layout(self.quantized_scale.data, spec_kernel, spec_out, self.kernel_shape)
        return self._weights[0].data.astype(np.float32) / scale

    def transform(self, x: Tensor, relu: bool = False) -> Tensor:
        from . import ops

        specs = self._specs(x.shape[1:])
        if self.quantization_mode == "int8":
            out = Int8Einsum(*specs)(x, self._weights[0], self.quantized_scale)
        elif self.quantization_mode:
            out = Einsum(*specs)(x, Tensor(self.dequantized_matrix()))
        else:
            out = Einsum(*specs)(x, self._adapted(self._weights[0]))
        if self.quantization_mode and self.lora_enabled:
            a, b = self._weights[-2], self._weights[-1]
            out = out + Einsum(*specs)(x, ops.matmul(a, b) * (self.lora_alpha / self.lora_rank))
        if self.use_bias:
            out = out + self._weights[1]
        return ops.relu(out) if relu else out

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["use_bias"]
        return {
            **config,
            "equation": self.equation,
            "output_shape": tuple(self.partial_output_shape),
            "bias_axes": self.bias_axes,
            **self._lora_config(),
            **self._quantized_policy_config(),
        }
