"""Learned tensors of a model's file, for ``onnx_import``: PyTorch's class token (a
parameter spread over the batch and joined before the steps) as ClassToken, a parameter
added to a sequence of its shape (ViT's position embedding) as PositionEmbedding, and a
parameter that scales the last axis per feature (ConvNeXt's gamma) as LayerScale, each
trainable and named after the parameter."""

from __future__ import annotations

import re

import numpy as np

from .onnx_reading import Node
from .onnx_values import BATCH, layer_module


class TokenOps:
    """The learned tensors' handlers of the importer (a mixin of ``onnx_import``'s)."""

    def spread_token(self, node: Node, ins: list[str]) -> bool:
        """A constant Expanded over the batch (``cls_token.expand(n, -1, -1)``): one sample
        of it kept, and the constant it came from."""
        shape = self.constants.get(ins[-1]) if ins else None
        if node.op != "Expand" or ins[0] not in self.constants or shape is None:
            return False
        target = [int(d) for d in np.ravel(shape)]
        if BATCH not in target:
            return False
        if target[0] != BATCH or BATCH in target[1:]:
            self.node = node
            raise self.fail("a constant spread over an axis of the batch's size but the first.")
        c = np.asarray(self.constants[ins[0]])
        target[0] = 1
        sample = np.broadcast_to(c, np.broadcast_shapes(c.shape, tuple(target)))[0]
        self.spread[node.outputs[0]] = (np.asarray(sample, np.float32), ins[0])
        return True

    def class_tokens(self, node: Node) -> None:
        names = list(node.inputs)
        count = next(i for i, n in enumerate(names) if n not in self.spread)
        rest = names[count:]
        if any(n in self.spread or self.is_constant(n) for n in rest):
            raise self.fail("constants among the tensors it joins after its first.")
        vs = [self.value(n) for n in rest]
        rank = len(vs[0].tensor.sample_shape) + 1
        if rank != 3 or int(self.attr("axis")) % rank != 1:
            raise self.fail(
                "a constant spread over the batch joined other than before the steps of a "
                "sequence (batch, steps, features)."
            )
        L = layer_module()
        x = [self.in_onnx_layout(v) for v in vs]
        x = x[0] if len(x) == 1 else L.Concatenate(axis=1)(x)
        tokens = np.concatenate([self.spread[n][0] for n in names[:count]], axis=0)
        layer = L.ClassToken(len(tokens), **self.parameter_name(self.spread[names[0]][1]))
        y = layer(x)
        layer.set_weights([tokens])
        self.set(node.outputs[0], y)

    def position_embedding(self, node: Node) -> bool:
        """``x + table`` as PositionEmbedding, where the table is a learned constant (an
        initializer of the file, or one spread over the batch) of the shape of a sequence
        (batch, steps, features) that x is."""
        names = node.inputs[:2]
        learned = [n in self.spread or self.is_parameter(n) for n in names]
        if learned.count(True) != 1:
            return False
        k = learned.index(True)
        other = names[1 - k]
        if other in self.spread or self.is_constant(other):
            return False
        v = self.value(other)
        if v.order is not None or v.flat_order is not None or v.groups is not None:
            return False
        table, source = self.spread.get(names[k]) or (self.constants[names[k]], names[k])
        table = np.asarray(table, np.float32)
        while table.ndim > 2 and table.shape[0] == 1:
            table = table[0]
        if len(v.tensor.sample_shape) != 2 or table.shape != tuple(
            int(d) for d in v.tensor.sample_shape
        ):
            return False
        L = layer_module()
        layer = L.PositionEmbedding(table.shape[0], **self.parameter_name(source))
        spread = layer(v.tensor)
        layer.set_weights([table])
        self.set(node.outputs[0], L.Add()([v.tensor, spread]))
        return True

    def layer_scale(self, node: Node) -> bool:
        """``x * gamma`` as LayerScale, where gamma is a parameter of the file with one value
        per feature of x's last axis (ConvNeXt's layer scale), trainable."""
        names = node.inputs[:2]
        learned = [self.is_parameter(n) for n in names]
        if learned.count(True) != 1 or self.is_constant(names[1 - learned.index(True)]):
            return False
        gamma = np.asarray(self.constants[names[learned.index(True)]], np.float32)
        v = self.value(names[1 - learned.index(True)])
        if v.flat_order is not None or gamma.ndim < 1 or gamma.size < 2:
            return False
        if gamma.size != gamma.shape[-1]:  # one value per feature, along the last axis
            return False
        if self.onnx_shape(v)[-1] != gamma.size:
            return False
        held = self.broadcast_constant(gamma, v)
        if held.shape[-1:] != gamma.shape[-1:] or held.size != gamma.size:
            return False  # the features are not held last
        layer = layer_module().LayerScale(
            float(gamma.mean()), gamma.size, **self.parameter_name(names[learned.index(True)])
        )
        self.values[node.outputs[0]] = v.like(layer(v.tensor))
        layer.set_weights([held.reshape(-1)])
        return True

    def is_parameter(self, name: str) -> bool:
        """Whether a constant is a parameter of the file's model (an initializer named as a
        module's: ``pos_embedding``, ``blocks.0.gamma``), not one the exporter computed
        (``onnx::Mul_12``, ``val_3``)."""
        return (
            name in self.graph.constants
            and bool(_MODULE_PATH.fullmatch(name))
            and not _COMPUTED.fullmatch(name)
        )

    def parameter_name(self, name: str) -> dict[str, str]:
        """A layer's name from the file's name of a parameter of its own (PyTorch's
        ``cls_token``, ``encoder.pos_embedding``), where it has one."""
        from . import backend

        if name not in self.graph.constants or not _MODULE_PATH.fullmatch(name):
            return {}
        return {"name": backend.unique_name(name.replace(".", "_"))}


_MODULE_PATH = re.compile(r"[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*")
_COMPUTED = re.compile(r"val_[0-9]+")  # the dynamo exporter's names of what it computed
