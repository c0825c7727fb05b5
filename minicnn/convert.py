"""``python -m minicnn.convert SOURCE TARGET``: a model from one file format to another,
through minicnn's layers.

SOURCE is an ONNX model (PyTorch's ``torch.onnx.export``, Keras', minicnn's), a Keras 3
``.keras`` archive, a Keras 2 ``.h5`` file or minicnn's own. TARGET's name says what it
becomes: ``.keras`` Keras 3's archive (which ``keras.saving.load_model`` reads), ``.onnx``
an ONNX graph, ``.h5`` Keras 2's legacy file, anything else minicnn's own file. So
``python -m minicnn.convert resnet.onnx resnet.keras`` takes a PyTorch model to Keras."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any


def convert(
    source: str | os.PathLike,
    target: str | os.PathLike,
    channels_last: bool = False,
    input_shape: tuple[int, ...] | None = None,
) -> Any:
    """Read ``source`` and write it as ``target``'s name asks; the model read.
    ``channels_last`` and ``input_shape`` are load_onnx's, for ONNX sources."""
    from .onnx_import import load_onnx
    from .onnx_reading import is_onnx
    from .saving import load_model

    source, target = Path(source), Path(target)
    if is_onnx(source):
        model = load_onnx(source, channels_last=channels_last, input_shape=input_shape)
    elif channels_last or input_shape is not None:
        raise ValueError("convert: --channels-last and --input-shape are for ONNX sources.")
    else:
        model = load_model(source, compile=False)
    suffix = target.suffix.lower()
    if suffix in (".keras", ".onnx"):
        model.export(target, format=suffix[1:])
    else:
        model.save(target)
    return model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m minicnn.convert", description=__doc__.splitlines()[0]
    )
    parser.add_argument("source", help="an .onnx, .keras, .h5 or minicnn model file")
    parser.add_argument("target", help=".keras, .onnx, .h5, or another name: minicnn's file")
    parser.add_argument(
        "--channels-last",
        action="store_true",
        help="an ONNX source's images taken as (N, H, W, C) instead of its (N, C, H, W)",
    )
    parser.add_argument(
        "--input-shape",
        help="an ONNX source's open sizes fixed, without the batch: e.g. 3,256,256",
    )
    parser.add_argument("--quiet", action="store_true", help="no summary")
    args = parser.parse_args(argv)
    try:
        shape = None
        if args.input_shape:
            try:
                shape = tuple(int(d) for d in args.input_shape.split(","))
            except ValueError:
                raise ValueError(
                    f"--input-shape takes sizes such as 3,256,256; got {args.input_shape!r}."
                ) from None
        model = convert(args.source, args.target, args.channels_last, shape)
    except (OSError, ValueError) as e:
        print(f"convert: {e}", file=sys.stderr)
        return 2
    if not args.quiet:
        model.summary()
    print(f"wrote {args.target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
