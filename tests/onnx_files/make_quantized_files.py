"""Writes the quantized test files: models of make_torch_files.py exported by PyTorch and
quantized by ONNX Runtime's ``quantize_static`` in the QDQ format and in the QOperator
format (int8 weights per channel, uint8 activations), and by its ``quantize_dynamic``
(MatMulInteger and ConvInteger; once as ONNX Runtime's optimizer saves it, with
DynamicQuantizeMatMul), with ONNX Runtime's own outputs for a batch (its graph
optimizations off, so it runs the ops as written). Needs torch, onnxscript and
onnxruntime, never minicnn's dependencies:

    python make_quantized_files.py
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import torch
from make_torch_files import Classifier, Transformer, draw_weights
from onnxruntime.quantization import (
    CalibrationDataReader,
    QuantFormat,
    QuantType,
    quantize_dynamic,
    quantize_static,
)


class Batches(CalibrationDataReader):
    """The calibration batches: four of them."""

    def __init__(self, make) -> None:
        self.batches = iter([{"input": make(np.random.default_rng(i))} for i in range(4)])

    def get_next(self):
        return next(self.batches, None)


def exported(name: str, model: torch.nn.Module, make) -> str:
    draw_weights(model)
    plain = f"/tmp/{name}_float.onnx"
    torch.onnx.export(
        model,
        (torch.from_numpy(make(np.random.default_rng(9))),),
        plain,
        dynamo=False,
        input_names=["input"],
        dynamic_axes={"input": {0: "batch"}},
    )
    return plain


def outputs(path: str, model: torch.nn.Module, make) -> dict[str, np.ndarray]:
    """ONNX Runtime's outputs as the file's ops are written, and the float model's."""
    x = make(np.random.default_rng(11))
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    expected = ort.InferenceSession(path, options).run(None, {"input": x})[0]
    with torch.no_grad():
        floats = model(torch.from_numpy(x)).numpy()
    return {"x": x, "expected": expected, "float_expected": floats}


def quantized(name: str, model: torch.nn.Module, make, form=QuantFormat.QDQ) -> None:
    plain = exported(name, model, make)
    path = f"{name}.onnx"
    quantize_static(
        plain,
        path,
        Batches(make),
        quant_format=form,
        per_channel=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
    )
    graph = onnx.load(path).graph  # the output's step: its DequantizeLinear's scale
    last = next(n for n in graph.node if n.output[0] == graph.output[0].name)
    scale = next(i for i in graph.initializer if i.name == last.input[1])
    step = onnx.numpy_helper.to_array(scale)
    np.savez(f"{name}.npz", **outputs(path, model, make), step=step)


def dynamic(name: str, model: torch.nn.Module, make, per_channel: bool, fused=False) -> None:
    """quantize_dynamic's int8 weights, activations quantized as the model runs; ``fused``:
    the file as ONNX Runtime's optimizer saves it (DynamicQuantizeMatMul)."""
    plain = exported(name, model, make)
    path = f"{name}.onnx"
    quantize_dynamic(plain, path, per_channel=per_channel, weight_type=QuantType.QInt8)
    if fused:
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
        options.optimized_model_filepath = path
        ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    np.savez(f"{name}.npz", **outputs(path, model, make))


def main() -> None:
    quantized(
        "classifier_qdq",
        Classifier(),
        lambda rng: rng.standard_normal((8, 3, 15, 15)).astype(np.float32),
    )
    quantized("transformer_qdq", Transformer(), lambda rng: rng.integers(0, 20, (8, 6)))
    # The QOperator format: QLinearConv, QGemm, QLinearAveragePool, MaxPool of integers...
    quantized(
        "classifier_qop",
        Classifier(),
        lambda rng: rng.standard_normal((8, 3, 15, 15)).astype(np.float32),
        QuantFormat.QOperator,
    )
    ids = lambda rng: rng.integers(0, 20, (8, 6))  # noqa: E731
    quantized("transformer_qop", Transformer(), ids, QuantFormat.QOperator)
    images = lambda rng: rng.standard_normal((8, 3, 15, 15)).astype(np.float32)  # noqa: E731
    dynamic("classifier_dynamic", Classifier(), images, per_channel=False)
    dynamic("classifier_dynamic_fused", Classifier(), images, per_channel=True, fused=True)
    dynamic("transformer_dynamic", Transformer(), ids, per_channel=True)


if __name__ == "__main__":
    main()
