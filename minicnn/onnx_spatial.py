"""The ONNX operators that work on images, for ``onnx_import``: convolutions, poolings,
normalizations, padding and resizing, each a minicnn layer on channels-last tensors (ONNX's
pads become Keras' 'same' where they are the same, else explicit padding)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .onnx_export import keras_same_pads
from .onnx_reading import Node
from .onnx_values import layer_module, op_module


class SpatialOps:
    """The image operators' handlers of the importer (a mixin of ``onnx_import``'s)."""

    # --- convolutions and poolings ---------------------------------------------------------

    def spatial_pads(
        self, sizes: tuple[int, ...], kernel: list[int], strides: list[int], dilations: list[int]
    ) -> list[int]:
        """ONNX's pads (begins, then ends) with auto_pad resolved."""
        rank = len(kernel)
        auto = self.attr("auto_pad", "NOTSET")
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            pads = keras_same_pads(sizes, kernel, strides, dilations)
            if auto == "SAME_LOWER":  # the odd pixel at the start
                pads = pads[rank:] + pads[:rank]
            return pads
        if auto == "VALID":
            return [0] * 2 * rank
        pads = [int(p) for p in self.attr("pads", [0] * 2 * rank)]
        if any(p < 0 for p in pads):
            raise self.fail(f"negative pads {pads} (cropping) are not read.")
        return pads

    def padded(self, x: Any, pads: list[int], fill: float = 0.0) -> Any:
        """x (channels-last) padded by ONNX's pads along its spatial axes."""
        if not any(pads):
            return x
        rank = len(pads) // 2
        widths = tuple(zip(pads[:rank], pads[rank:], strict=True))
        if fill == 0.0:
            layer = {1: "ZeroPadding1D", 2: "ZeroPadding2D", 3: "ZeroPadding3D"}[rank]
            return getattr(layer_module(), layer)(widths[0] if rank == 1 else widths)(x)
        return op_module().pad(x, [(0, 0), *widths, (0, 0)], constant_values=fill)

    def padding_of(
        self, x: Any, pads: list[int], kernel: list[int], strides: list[int], dilations: list[int]
    ) -> tuple[Any, str]:
        """Keras' padding for ONNX's pads: 'same' where they are the same, else zeros
        added before a 'valid' layer."""
        sizes = tuple(x.sample_shape[:-1])
        if not any(pads):
            return x, "valid"
        if pads == keras_same_pads(sizes, kernel, strides, dilations):
            return x, "same"
        return self.padded(x, pads), "valid"

    def op_Conv(self, node: Node, index: int) -> None:
        v = self.value(node.inputs[0])
        w = self.constant(node.inputs[1], "kernel").astype(np.float32)
        bias = self.optional_constant(node, 2, "bias")
        rank = w.ndim - 2
        if rank not in (1, 2, 3):
            raise self.fail(f"a {rank}-D convolution; minicnn's are 1-D, 2-D and 3-D.")
        x = self.in_channels_last(v)
        channels = int(x.sample_shape[-1])
        group = int(self.attr("group", 1))
        kernel = [int(k) for k in w.shape[2:]]
        strides = [int(s) for s in self.attr("strides", [1] * rank)]
        dilations = [int(d) for d in self.attr("dilations", [1] * rank)]
        pads = self.spatial_pads(tuple(x.sample_shape[:-1]), kernel, strides, dilations)
        x, padding = self.padding_of(x, pads, kernel, strides, dilations)
        L = layer_module()
        common = dict(strides=strides, padding=padding, dilation_rate=dilations)
        common["use_bias"] = bias is not None
        common["activation"] = self.fused_activation(index)
        filters = int(w.shape[0])
        named = self.named(*node.inputs[1:])
        if group == channels and group > 1 and rank in (1, 2) and filters % channels == 0:
            multiplier = filters // channels
            kind = L.DepthwiseConv2D if rank == 2 else L.DepthwiseConv1D
            settings = dict(kernel_size=kernel, depth_multiplier=multiplier, **common)
            # (C * multiplier, 1, *k) -> (*k, C, multiplier)
            keras_kernel = w.reshape(channels, multiplier, *kernel)
            keras_kernel = keras_kernel.transpose(*range(2, rank + 2), 0, 1)
        else:
            kind = {1: L.Conv1D, 2: L.Conv2D, 3: L.Conv3D}[rank]
            settings = dict(filters=filters, kernel_size=kernel, groups=group, **common)
            keras_kernel = w.transpose(*range(2, rank + 2), 1, 0)  # (*k, C / groups, filters)
        shown = {**settings, "activation": repr(common["activation"]), "kind": kind}
        layer, new = self.reused(node.inputs[1:], shown, lambda: kind(**settings, **named))
        y = layer(x)
        if new:
            weights = [keras_kernel] + ([bias.astype(np.float32)] if bias is not None else [])
            layer.set_weights(weights)
        self.set(node.outputs[0], y, channels_last=True)

    def op_ConvTranspose(self, node: Node, index: int) -> None:
        v = self.value(node.inputs[0])
        w = self.constant(node.inputs[1], "kernel").astype(np.float32)
        bias = self.optional_constant(node, 2, "bias")
        rank = w.ndim - 2
        if int(self.attr("group", 1)) != 1:
            raise self.fail("a grouped transposed convolution; minicnn's have one group.")
        if any(int(d) != 1 for d in self.attr("dilations", [1] * rank)):
            raise self.fail("a dilated transposed convolution; minicnn's are not dilated.")
        x = self.in_channels_last(v)
        kernel = [int(k) for k in w.shape[2:]]
        strides = [int(s) for s in self.attr("strides", [1] * rank)]
        extra = [int(p) for p in self.attr("output_padding", [0] * rank)]
        sizes = [int(n) for n in x.sample_shape[:-1]]
        natural = [(n - 1) * s + k for n, s, k in zip(sizes, strides, kernel, strict=True)]
        if self.attr("output_shape") is not None:
            wanted = [int(d) for d in self.attr("output_shape")][-rank:]
            totals = [n + e - o for n, e, o in zip(natural, extra, wanted, strict=True)]
            upper = self.attr("auto_pad", "NOTSET") != "SAME_LOWER"
            pads = [t // 2 if upper else t - t // 2 for t in totals]
            pads += [t - p for t, p in zip(totals, pads, strict=True)]
        elif self.attr("auto_pad", "NOTSET") in ("SAME_UPPER", "SAME_LOWER"):
            totals = [
                n + e - s * m for n, e, s, m in zip(natural, extra, strides, sizes, strict=True)
            ]
            upper = self.attr("auto_pad") == "SAME_UPPER"
            pads = [t // 2 if upper else t - t // 2 for t in totals]
            pads += [t - p for t, p in zip(totals, pads, strict=True)]
        else:
            pads = [int(p) for p in self.attr("pads", [0] * 2 * rank)]
        L = layer_module()
        kind = {1: L.Conv1DTranspose, 2: L.Conv2DTranspose, 3: L.Conv3DTranspose}.get(rank)
        if kind is None:
            raise self.fail(f"a {rank}-D transposed convolution.")
        # Cropped to ONNX's size afterwards: the bias would miss rows output_padding adds
        # past the pads, so then it is added after the cropping instead.
        ends = [pads[rank + a] - extra[a] for a in range(rank)]
        late_bias = bias is not None and any(e < 0 for e in ends)
        with_bias = bias is not None and not late_bias
        named = self.named(*node.inputs[1:])
        # output_padding 0: the natural (n - 1) * s + k, as ONNX sizes it before its pads.
        layer = kind(
            int(w.shape[1]),
            kernel,
            strides=strides,
            use_bias=with_bias,
            output_padding=0 if rank == 1 else (0,) * rank,
            **named,
        )
        y = layer(x)
        got = [int(d) for d in y.sample_shape[:-1]]
        if got != natural:
            raise self.fail(f"minicnn's transposed convolution makes {got}, ONNX's {natural}.")
        weights = [w.transpose(*range(2, rank + 2), 1, 0)]  # (C, filters, *k) -> (*k, filters, C)
        if bias is not None and not late_bias:
            weights.append(bias.astype(np.float32))
        layer.set_weights(weights)
        crops = [(pads[a], max(ends[a], 0)) for a in range(rank)]
        if any(b or e for b, e in crops):
            crop = {1: L.Cropping1D, 2: L.Cropping2D, 3: L.Cropping3D}[rank]
            y = crop(crops[0] if rank == 1 else tuple(crops))(y)
        if any(e < 0 for e in ends):
            y = self.padded(y, [0] * rank + [max(-e, 0) for e in ends])
        if late_bias:
            y = op_module().add(y, bias.astype(np.float32))
        self.set(node.outputs[0], y, channels_last=True)

    def pool_geometry(self, x: Any) -> tuple[list[int], list[int], list[int], list[int]]:
        """kernel, strides, ONNX's pads, and the extra end pads that ceil_mode adds."""
        kernel = [int(k) for k in self.attr("kernel_shape")]
        rank = len(kernel)
        strides = [int(s) for s in self.attr("strides", [1] * rank)]
        if any(int(d) != 1 for d in self.attr("dilations", [1] * rank)):
            raise self.fail("a dilated pooling; minicnn's poolings are not dilated.")
        sizes = tuple(int(n) for n in x.sample_shape[:-1])
        pads = self.spatial_pads(sizes, kernel, strides, [1] * rank)
        extra = [0] * rank
        if self.attr("ceil_mode", 0):
            for a in range(rank):
                span = sizes[a] + pads[a] + pads[rank + a] - kernel[a]
                count = -(-span // strides[a]) + 1
                if (count - 1) * strides[a] >= sizes[a] + pads[a]:  # a window all padding
                    count -= 1
                extra[a] = max((count - 1) * strides[a] + kernel[a] - (span + kernel[a]), 0)
        return kernel, strides, pads, extra

    def op_MaxPool(self, node: Node, index: int) -> None:
        if len(node.outputs) > 1 and self.used(node.outputs[1]):
            raise self.fail("its indices output is used; minicnn's max pooling has none.")
        x = self.in_channels_last(self.value(node.inputs[0]))
        kernel, strides, pads, extra = self.pool_geometry(x)
        rank = len(kernel)
        L = layer_module()
        kind = {1: L.MaxPooling1D, 2: L.MaxPooling2D, 3: L.MaxPooling3D}[rank]
        same = pads == keras_same_pads(tuple(x.sample_shape[:-1]), kernel, strides, [1] * rank)
        if not any(extra) and same:
            y = kind(kernel, strides=strides, padding="same" if any(pads) else "valid")(x)
        else:
            total = [p + (extra[a % rank] if a >= rank else 0) for a, p in enumerate(pads)]
            lowest = float(np.finfo(np.float32).min)  # padding never wins a window
            y = kind(kernel, strides=strides)(self.padded(x, total, fill=lowest))
        self.set(node.outputs[0], y, channels_last=True)

    def op_AveragePool(self, node: Node, index: int) -> None:
        x = self.in_channels_last(self.value(node.inputs[0]))
        kernel, strides, pads, extra = self.pool_geometry(x)
        rank = len(kernel)
        sizes = tuple(int(n) for n in x.sample_shape[:-1])
        L = layer_module()
        kind = {1: L.AveragePooling1D, 2: L.AveragePooling2D, 3: L.AveragePooling3D}[rank]
        include_pad = bool(self.attr("count_include_pad", 0))
        if not any(extra) and not any(pads):
            self.set(node.outputs[0], kind(kernel, strides=strides)(x), channels_last=True)
            return
        same = pads == keras_same_pads(sizes, kernel, strides, [1] * rank)
        if not any(extra) and not include_pad and same:
            y = kind(kernel, strides=strides, padding="same")(x)
            self.set(node.outputs[0], y, channels_last=True)
            return
        # Zeros padded in, a 'valid' average, then each output rescaled from the window's
        # size to the count ONNX divides by: the pixels inside the input (and inside the
        # declared pads with count_include_pad), never those ceil_mode adds.
        total = [p + (extra[a % rank] if a >= rank else 0) for a, p in enumerate(pads)]
        y = kind(kernel, strides=strides)(self.padded(x, total))
        counted = np.ones(sizes, np.float64)
        widths = [(pads[a], pads[rank + a]) for a in range(rank)]
        counted = np.pad(counted, widths, constant_values=1.0 if include_pad else 0.0)
        counted = np.pad(counted, [(0, e) for e in extra])
        counts = window_sums(counted, kernel, strides)
        scale = (np.prod(kernel) / counts).astype(np.float32)
        if not np.allclose(scale, 1.0):
            y = op_module().multiply(y, scale[..., None])
        self.set(node.outputs[0], y, channels_last=True)

    def global_pool(self, node: Node, average: bool) -> None:
        x = self.in_channels_last(self.value(node.inputs[0]))
        rank = len(x.sample_shape) - 1
        L = layer_module()
        name = ("GlobalAveragePooling" if average else "GlobalMaxPooling") + f"{rank}D"
        y = getattr(L, name)(keepdims=True)(x)
        self.set(node.outputs[0], y, channels_last=True)

    def op_GlobalAveragePool(self, node: Node, index: int) -> None:
        self.global_pool(node, True)

    def op_GlobalMaxPool(self, node: Node, index: int) -> None:
        self.global_pool(node, False)

    # --- normalizations ----------------------------------------------------------------------

    def op_BatchNormalization(self, node: Node, index: int) -> None:
        v = self.value(node.inputs[0])
        gamma, beta, mean, variance = (
            self.constant(node.inputs[i], what).astype(np.float32)
            for i, what in ((1, "scale"), (2, "bias"), (3, "mean"), (4, "variance"))
        )
        rank = len(v.tensor.sample_shape) + 1
        x = self.in_channels_last(v) if rank >= 3 else self.in_onnx_layout(v)
        layer = layer_module().BatchNormalization(
            **self.named(*node.inputs[1:3]),
            axis=-1,
            epsilon=float(self.attr("epsilon", 1e-5)),
            momentum=float(self.attr("momentum", 0.9)),
        )
        y = layer(x)
        layer.set_weights([gamma, beta, mean, variance])
        self.set(node.outputs[0], y, channels_last=rank >= 3)

    def op_LRN(self, node: Node, index: int) -> None:
        """Local response normalization (AlexNet's, GoogLeNet's): x over (bias + alpha /
        size * the sum of x squared over ``size`` neighbouring channels) ** beta. The sum is
        an average pooling along the channels of the zero-padded squares, as PyTorch's own
        LocalResponseNorm computes it."""
        L = layer_module()
        x = self.in_channels_last(self.value(node.inputs[0]))
        size = int(self.attr("size"))
        alpha, beta = float(self.attr("alpha", 1e-4)), float(self.attr("beta", 0.75))
        bias = float(self.attr("bias", 1.0))
        image = tuple(int(d) for d in x.sample_shape)
        positions = int(np.prod(image[:-1]))
        squares = L.Reshape((positions, image[-1], 1))(L.Multiply()([x, x]))
        before = (size - 1) // 2  # ONNX's window: floor((size - 1) / 2) channels before
        padded = L.ZeroPadding2D(((0, 0), (before, size - 1 - before)))(squares)
        mean = L.AveragePooling2D((1, size), strides=1)(padded)
        scale = (L.Reshape(image)(mean) * alpha + bias) ** beta
        self.set(node.outputs[0], x / scale, channels_last=True)

    def op_InstanceNormalization(self, node: Node, index: int) -> None:
        x = self.in_channels_last(self.value(node.inputs[0]))
        gamma = self.constant(node.inputs[1], "scale").astype(np.float32)
        beta = self.constant(node.inputs[2], "bias").astype(np.float32)
        channels = int(x.sample_shape[-1])
        layer = layer_module().GroupNormalization(
            **self.named(*node.inputs[1:3]),
            groups=channels,
            epsilon=float(self.attr("epsilon", 1e-5)),
        )
        y = layer(x)
        layer.set_weights([gamma, beta])
        self.set(node.outputs[0], y, channels_last=True)

    def op_LayerNormalization(self, node: Node, index: int) -> None:
        x = self.in_onnx_layout(self.value(node.inputs[0]))
        rank = len(x.sample_shape) + 1
        axis = int(self.attr("axis", -1)) % rank
        if axis == 0:
            raise self.fail("it normalizes across the batch.")
        shape = tuple(int(d) for d in x.sample_shape[axis - 1 :])
        gamma = self.constant(node.inputs[1], "scale").astype(np.float32)
        beta = self.optional_constant(node, 2, "bias")
        layer = layer_module().LayerNormalization(
            **self.named(*node.inputs[1:3]),
            axis=list(range(axis, rank)) if axis < rank - 1 else -1,
            epsilon=float(self.attr("epsilon", 1e-5)),
            center=beta is not None,
        )
        y = layer(x)
        weights = [np.broadcast_to(gamma, shape).astype(np.float32)]
        if beta is not None:
            weights.append(np.broadcast_to(beta, shape).astype(np.float32))
        expected = [tuple(w.shape) for w in layer.get_weights()]
        layer.set_weights([w.reshape(e) for w, e in zip(weights, expected, strict=True)])
        if any(self.used(o) for o in node.outputs[1:]):
            raise self.fail("its mean and inverse deviation outputs are used.")
        self.set(node.outputs[0], y)

    def op_Pad(self, node: Node, index: int) -> None:
        v = self.value(node.inputs[0])
        rank = len(v.tensor.sample_shape) + 1
        if len(node.inputs) > 1 and node.inputs[1]:
            pads = [int(p) for p in np.ravel(self.constant(node.inputs[1], "pads"))]
        else:
            pads = [int(p) for p in self.attr("pads")]
        fill = self.optional_constant(node, 2, "value")
        if fill is not None and np.size(fill):
            fill = float(np.ravel(fill)[0])
        else:
            fill = float(self.attr("value", 0.0))
        axes = self.axes_of(node, 3) if len(node.inputs) > 3 else None
        full = [0] * 2 * rank
        axes = list(range(rank)) if axes is None else [a % rank for a in axes]
        for i, a in enumerate(axes):
            full[a], full[rank + a] = pads[i], pads[len(axes) + i]
        if any(p < 0 for p in full):
            raise self.fail("negative pads (cropping).")
        if full[0] or full[rank]:
            raise self.fail("it pads the batch axis.")
        mode = self.attr("mode", "constant")
        mode = mode.decode() if isinstance(mode, bytes) else mode
        if mode not in ("constant", "reflect", "edge", "wrap"):
            raise self.fail(f"pad mode {mode!r}; minicnn reads constant, reflect, edge and wrap.")
        if rank >= 3 and not full[1] and not full[rank + 1]:
            x = self.in_channels_last(v)
            spatial = full[2:rank] + full[rank + 2 :]
            if mode == "constant":
                y = self.padded(x, spatial, fill)
            else:
                widths = [(0, 0), *zip(full[2:rank], full[rank + 2 :], strict=True), (0, 0)]
                y = op_module().pad(x, widths, mode=mode)
            self.set(node.outputs[0], y, channels_last=True)
            return
        widths = list(zip(full[:rank], full[rank:], strict=True))
        x = self.in_onnx_layout(v)
        if mode == "constant":
            y = op_module().pad(x, widths, constant_values=fill)
        else:
            y = op_module().pad(x, widths, mode=mode)
        self.set(node.outputs[0], y)

    def resize_sizes(self, node: Node, shape: tuple[int, ...]) -> tuple[list[int], list[float]]:
        """Resize's (or Upsample's) output shape, from its scales or its sizes, and the
        scale of each axis that its coordinates use."""

        def given(position: int) -> np.ndarray | None:
            if len(node.inputs) > position and node.inputs[position]:
                found = np.ravel(self.constant(node.inputs[position], "scales or sizes"))
                return found if found.size else None
            return None

        if node.op == "Upsample":
            scales = given(1) if len(node.inputs) > 1 else np.array(self.attr("scales"))
            sizes = None
        else:
            scales = given(1 if self.graph.opset < 11 else 2)
            sizes = given(3)
        axes = self.attr("axes")
        if axes is not None:  # opset 18: scales or sizes of these axes only
            full = np.array(shape if sizes is not None else [1.0] * len(shape), np.float64)
            full[[int(a) % len(shape) for a in axes]] = sizes if sizes is not None else scales
            sizes, scales = (full, None) if sizes is not None else (None, full)
        if sizes is not None:
            found = [shape[0], *(int(d) for d in sizes[1:])]
            return found, [1.0, *(f / n for f, n in zip(found[1:], shape[1:], strict=True))]
        if scales is None:
            raise self.fail("neither scales nor sizes.")
        if scales[0] != 1:
            raise self.fail(f"scales {list(scales)} resize the batch axis.")
        pairs = zip(shape[1:], scales[1:], strict=True)
        return [shape[0], *(int(math.floor(n * f)) for n, f in pairs)], [float(f) for f in scales]

    def op_Resize(self, node: Node, index: int) -> None:
        v = self.value(node.inputs[0])
        shape = self.onnx_shape(v)
        sizes, factors = self.resize_sizes(node, shape)
        mode = self.attr("mode", "nearest")
        default = "half_pixel" if node.op == "Resize" and self.graph.opset >= 11 else "asymmetric"
        transform = self.attr("coordinate_transformation_mode", default)
        nearest = self.attr("nearest_mode", "round_prefer_floor")
        if node.op == "Upsample" or self.graph.opset < 11:  # before opset 11: floor, corners
            nearest = "floor"
        if self.attr("antialias", 0) and any(sizes[a] < shape[a] for a in range(1, len(shape))):
            raise self.fail("antialiased downscaling.")
        # Keras' layers take the size ratio as the scale: where ONNX's scale is another one,
        # only the products below say what ONNX says.
        ratios = [np.float32(n / m) for n, m in zip(sizes, shape, strict=True)]
        same = all(np.float32(f) == r for f, r in zip(factors, ratios, strict=True))
        y = None
        if len(shape) == 4 and same:
            y = self.resize_layer(v, shape, sizes, mode, transform, nearest)
        if y is not None:
            self.set(node.outputs[0], y[0], channels_last=y[1])
            return
        # Any other resize: along each resized axis, a product with the (in, out) matrix
        # of ONNX's interpolation weights (exact, and differentiable as any product).
        from .symbolic_arithmetic import TensorArithmetic

        x, rank = self.in_onnx_layout(v), len(shape)
        L = layer_module()
        for axis in range(1, rank):
            if sizes[axis] == shape[axis] and factors[axis] == 1:
                continue
            weights = resize_weights(
                shape[axis],
                sizes[axis],
                factors[axis],
                mode,
                transform,
                nearest,
                float(self.attr("cubic_coeff_a", -0.75)),
                bool(self.attr("exclude_outside", 0)),
                self.fail,
            )
            last = axis == rank - 1
            moved = (*(a for a in range(1, rank) if a != axis), axis)
            if not last:
                x = L.Permute(moved)(x)
            x = TensorArithmetic("matmul", constant=weights)([x])
            if not last:
                x = L.Permute(tuple(moved.index(a) + 1 for a in range(1, rank)))(x)
        self.set(node.outputs[0], x)

    def resize_layer(
        self,
        v: Any,
        shape: tuple[int, ...],
        sizes: list[int],
        mode: str,
        transform: str,
        nearest: str,
    ) -> tuple[Any, bool] | None:
        """Keras' UpSampling2D or Resizing where one does what this 2-D resize does, and
        whether its output is channels-last."""
        changed = {a for a in range(1, 4) if sizes[a] != shape[a]}
        if changed <= {2, 3}:  # ONNX's own (batch, channels, height, width)
            before, after, last = shape[2:], sizes[2:], True
        elif changed <= {1, 2} and not v.channels_last:  # (batch, height, width, channels)
            before, after, last = shape[1:3], sizes[1:3], False
        else:
            return None
        height, width = after
        factors = (height / before[0], width / before[1])
        whole = all(f == int(f) and f >= 1 for f in factors)
        picks_floor = transform == "asymmetric" and nearest == "floor"
        centred = transform in ("half_pixel", "pytorch_half_pixel") and nearest.startswith("round")
        L = layer_module()
        if mode == "nearest" and whole and (picks_floor or centred):
            # At whole factors both rules pick pixel floor(i / f), as UpSampling2D does.
            layer = L.UpSampling2D(size=tuple(int(f) for f in factors), interpolation="nearest")
        elif mode in ("linear", "bilinear") and (
            transform == "half_pixel" or (transform == "pytorch_half_pixel" and min(after) > 1)
        ):
            if whole:
                sizes_ = tuple(int(f) for f in factors)
                layer = L.UpSampling2D(size=sizes_, interpolation="bilinear")
            else:
                layer = L.Resizing(height, width, interpolation="bilinear")
        elif mode == "nearest" and transform == "half_pixel" and nearest == "round_prefer_ceil":
            layer = L.Resizing(height, width, interpolation="nearest")  # TensorFlow's rule
        else:
            return None
        x = self.in_channels_last(v) if last else self.in_onnx_layout(v)
        return layer(x), last

    op_Upsample = op_Resize


def resize_weights(
    size: int,
    out: int,
    scale: float,
    mode: str,
    transform: str,
    nearest: str,
    cubic_a: float,
    exclude_outside: bool,
    fail: Any,
) -> np.ndarray:
    """ONNX Resize along one axis as a (size, out) matrix: column o holds the weights of
    the input pixels that output pixel o interpolates (nearest: a one; linear: two; cubic:
    four, with ``cubic_a``), neighbours past the edges taken from the edge pixel."""
    # In float32, as ONNX Runtime computes them: where a coordinate lands on a pixel's edge,
    # float64 would round to the other side.
    o, scale = np.arange(out, dtype=np.float32), np.float32(scale)
    size_, out_, half = np.float32(size), np.float32(out), np.float32(0.5)
    if transform == "half_pixel":
        x = (o + half) / scale - half
    elif transform == "pytorch_half_pixel":
        x = (o + half) / scale - half if out > 1 else np.zeros(out, np.float32)
    elif transform == "align_corners":
        x = o * (size_ - 1) / (out_ - 1) if out > 1 else np.zeros(out, np.float32)
    elif transform == "asymmetric":
        x = o / scale
    elif transform == "half_pixel_symmetric":
        shift = size_ / 2 * (1 - out_ / (scale * size_))
        x = shift + (o + half) / scale - half
    else:
        raise fail(f"coordinate_transformation_mode {transform!r} is not read here.")
    weights = np.zeros((size, out))
    columns = np.arange(out)
    if mode == "nearest":
        rounding = {
            "round_prefer_floor": lambda t: np.ceil(t - 0.5),
            "round_prefer_ceil": lambda t: np.floor(t + 0.5),
            "floor": np.floor,
            "ceil": np.ceil,
        }
        if nearest not in rounding:
            raise fail(f"nearest_mode {nearest!r} is not read here.")
        picked = np.clip(rounding[nearest](x), 0, size - 1).astype(int)
        weights[picked, columns] = 1.0
        return weights.astype(np.float32)
    x = x.astype(np.float64)
    start = np.floor(x)
    t = x - start
    if mode in ("linear", "bilinear"):
        taps = [(0, 1 - t), (1, t)]
    elif mode in ("cubic", "bicubic"):
        a = cubic_a
        taps = [
            (-1, ((a * (t + 1) - 5 * a) * (t + 1) + 8 * a) * (t + 1) - 4 * a),
            (0, ((a + 2) * t - (a + 3)) * t * t + 1),
            (1, ((a + 2) * (1 - t) - (a + 3)) * (1 - t) * (1 - t) + 1),
            (2, ((a * (2 - t) - 5 * a) * (2 - t) + 8 * a) * (2 - t) - 4 * a),
        ]
    else:
        raise fail(f"mode {mode!r} is not read here.")
    if exclude_outside:  # taps past the edges weigh nothing; the rest are renormalized
        inside = [((start + k >= 0) & (start + k <= size - 1)) for k, _ in taps]
        total = sum(w * m for (_, w), m in zip(taps, inside, strict=True))
        taps = [(k, w * m / total) for (k, w), m in zip(taps, inside, strict=True)]
    for k, w in taps:
        np.add.at(weights, (np.clip(start + k, 0, size - 1).astype(int), columns), w)
    return weights.astype(np.float32)


def window_sums(a: np.ndarray, kernel: list[int], strides: list[int]) -> np.ndarray:
    """The sum of each pooling window of ``a`` (no padding)."""
    from numpy.lib.stride_tricks import sliding_window_view

    windows = sliding_window_view(a, tuple(kernel))
    cut = tuple(slice(None, None, s) for s in strides)
    return windows[cut].sum(axis=tuple(range(-len(kernel), 0)))
