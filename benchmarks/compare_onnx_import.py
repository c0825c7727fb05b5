"""Random PyTorch CNNs, exported by PyTorch's two ONNX exporters and read back with
``minicnn.load_onnx``: each model's predictions against PyTorch's own.

    python benchmarks/compare_onnx_import.py --models 300 --seed 11

Each model is a random stack of Conv2d (strides, padding, dilation, groups, with or
without bias), ConvTranspose2d (output_padding), MaxPool2d (padding, ceil_mode),
AvgPool2d (padding counted or not), BatchNorm2d (running statistics off their start),
ZeroPad2d, Upsample (nearest, bilinear, bicubic; corners aligned or not; to sizes that
are no multiple), Dropout and activations, then a flatten (after a
global average pooling or not). The last line says how many agree to 1e-4 of the largest
output. PyTorch and onnxscript are needed here, never by minicnn.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import random
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np


def random_model(r: random.Random, nn: Any) -> tuple[Any, int, int]:
    """A random CNN, and the channels and size of the square images it takes."""
    channels, size = r.randint(1, 4), r.randint(8, 16)
    inputs, modules, height = channels, [], size
    for _ in range(r.randint(1, 5)):
        kind = r.choice(["conv", "conv", "max", "average", "norm", "act", "deconv", "pad", "up"])
        if kind == "conv":
            k, s = r.randint(1, 4), r.randint(1, 2)
            p = r.randint(0, k // 2 + 1) if r.random() < 0.8 else 0
            d = r.choice([1, 1, 2]) if s == 1 else 1
            groups = r.choice([g for g in (1, 2, channels) if channels % g == 0])
            out = r.randint(1, 6) * groups
            if height + 2 * p - d * (k - 1) - 1 < 0:
                continue
            bias = r.random() < 0.7
            modules.append(nn.Conv2d(channels, out, k, s, p, dilation=d, groups=groups, bias=bias))
            channels, height = out, (height + 2 * p - d * (k - 1) - 1) // s + 1
        elif kind in ("max", "average"):
            k, s = r.randint(1, 3), r.randint(1, 2)
            p = r.randint(0, k // 2)
            if height + 2 * p < k:
                continue
            if kind == "max":
                ceil = r.random() < 0.3
                modules.append(nn.MaxPool2d(k, s, p, ceil_mode=ceil))
                span = height + 2 * p - k
                height = (-(-span // s) if ceil else span // s) + 1
            else:
                modules.append(nn.AvgPool2d(k, s, p, count_include_pad=r.random() < 0.5))
                height = (height + 2 * p - k) // s + 1
        elif kind == "norm":
            modules.append(nn.BatchNorm2d(channels))
        elif kind == "act":
            modules.append(
                r.choice(
                    [
                        nn.ReLU(),
                        nn.ReLU6(),
                        nn.LeakyReLU(r.choice([0.01, 0.2])),
                        nn.ELU(),
                        nn.SiLU(),
                        nn.Hardswish(),
                        nn.Hardsigmoid(),
                        nn.GELU(),
                        nn.Sigmoid(),
                        nn.Tanh(),
                        nn.Softplus(),
                        nn.PReLU(channels),
                        nn.Mish(),
                        nn.Dropout(0.3),
                    ]
                )
            )
        elif kind == "deconv":
            k, s = r.randint(1, 4), r.randint(1, 2)
            p, extra, out = r.randint(0, (k - 1) // 2), r.randint(0, s - 1), r.randint(1, 5)
            bias = r.random() < 0.7
            modules.append(nn.ConvTranspose2d(channels, out, k, s, p, extra, bias=bias))
            channels, height = out, (height - 1) * s - 2 * p + k + extra
        elif kind == "pad":
            sides = [r.randint(0, 2) for _ in range(4)]
            modules.append(nn.ZeroPad2d(tuple(sides)))
            height += sides[2] + sides[3]
        else:
            mode = r.choice(["nearest", "bilinear", "bicubic"])
            corners = None if mode == "nearest" else r.random() < 0.5
            if r.random() < 0.5:
                modules.append(nn.Upsample(scale_factor=2, mode=mode, align_corners=corners))
                height *= 2
            else:  # a size that is no multiple
                height = r.randint(3, 2 * height)
                modules.append(nn.Upsample(size=height, mode=mode, align_corners=corners))
        if height > 40:
            break
    if r.random() < 0.5:
        modules += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    else:
        modules.append(nn.Flatten())
    return nn.Sequential(*modules), inputs, size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")

    import torch
    from torch import nn

    import minicnn

    r = random.Random(args.seed)
    agree = tried = 0
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.onnx"
        for index in range(args.models):
            torch.manual_seed(index)
            model, inputs, size = random_model(r, nn)
            model.eval()
            for module in model.modules():
                if isinstance(module, nn.BatchNorm2d):
                    module.running_mean.uniform_(-1, 1)
                    module.running_var.uniform_(0.5, 1.5)
            x = torch.randn(2, inputs, size, size)
            try:
                with torch.no_grad():
                    expected = model(x).numpy()
            except RuntimeError:  # the random stack does not fit this input
                continue
            dynamo = r.random() < 0.3
            try:
                quiet = io.StringIO()
                with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
                    if dynamo:
                        batch = torch.export.Dim("batch")
                        torch.onnx.export(
                            model,
                            (x,),
                            path,
                            dynamo=True,
                            dynamic_shapes=({0: batch},),
                            external_data=False,
                        )
                    else:
                        torch.onnx.export(
                            model,
                            (x,),
                            path,
                            dynamo=False,
                            input_names=["x"],
                            dynamic_axes={"x": {0: "batch"}},
                        )
            except Exception:  # noqa: BLE001 - PyTorch's exporter refused it: not ours to judge
                continue
            tried += 1
            try:
                got = minicnn.load_onnx(path).predict(x.numpy(), verbose=0)
                error = np.abs(got - expected).max() / max(1.0, float(np.abs(expected).max()))
            except ValueError as e:
                print(f"model {index}: refused: {e}\n{model}")
                continue
            if error < 1e-4:
                agree += 1
            else:
                print(f"model {index}: differs by {error:.2e}\n{model}")
    print(f"{agree} of {tried} random PyTorch CNNs agree with PyTorch to 1e-4")
    return 0 if agree == tried else 1


if __name__ == "__main__":
    raise SystemExit(main())
