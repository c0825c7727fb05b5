"""Every model of the study, as one declarative table in the study's own notation.

Notation: ``C32-3s`` Conv2D 32 filters 3x3 'same' (``v`` = 'valid') + ReLU; ``P`` MaxPooling2D 2x2;
``F`` Flatten; ``D128`` Dense 128 + ReLU; ``Dr`` Dropout 0.2; ``O10`` Dense 10 + softmax.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .. import layers as L
from ..models import Sequential

DROPOUT_RATE = 0.2


@dataclass(frozen=True)
class ModelSpec:
    id: str
    table: str
    label: str
    layers: str
    params: int
    document_accuracy: float | None


_BASE_TAIL = "C128-3v C128-3v C64-3s P F D128 Dr D64 Dr O10"


def _width(f: tuple[int, int, int, int, int], d: tuple[int, int]) -> str:
    return (
        f"C{f[0]}-3s P C{f[1]}-3s P C{f[2]}-3v C{f[3]}-3v C{f[4]}-3s P F D{d[0]} Dr D{d[1]} Dr O10"
    )


def _window(k: int, first: int = 0) -> str:
    return f"C32-{first or k}s P C64-{k}s P {_BASE_TAIL}"


STUDY: tuple[ModelSpec, ...] = (
    ModelSpec("base", "baseline", "width #3; window 3x3; depth 5 conv", _window(3), 331_274, 90.56),
    ModelSpec(
        "w1",
        "width",
        "#1: 8,16,32,32,16,32,16,10",
        _width((8, 16, 32, 32, 16), (32, 16)),
        21_002,
        73.88,
    ),
    ModelSpec(
        "w2",
        "width",
        "#2: 16,32,64,64,32,64,32,10",
        _width((16, 32, 64, 64, 32), (64, 32)),
        83_210,
        88.24,
    ),
    ModelSpec(
        "w4",
        "width",
        "#4: 64,128,256,256,128,256,128,10",
        _width((64, 128, 256, 256, 128), (256, 128)),
        1_321_994,
        91.64,
    ),
    ModelSpec(
        "w5",
        "width",
        "#5: 32,64,128,128,128,128,64,10",
        _width((32, 64, 128, 128, 128), (128, 64)),
        413_258,
        90.25,
    ),
    ModelSpec(
        "w6",
        "width",
        "#6: 32,64,64,64,64,64,64,10",
        _width((32, 64, 64, 64, 64), (64, 64)),
        138_570,
        89.64,
    ),
    ModelSpec(
        "w7", "width", "#7: 32 x7, 10", _width((32, 32, 32, 32, 32), (32, 32)), 39_754, 86.42
    ),
    ModelSpec("k2", "window", "2x2", _window(2), 320_874, 89.40),
    ModelSpec("k4", "window", "4x4", _window(4), 345_834, 90.53),
    ModelSpec("k5", "window", "5x5", _window(5), 364_554, 90.92),
    ModelSpec(
        "dec",
        "window",
        "beyond the document: falling kernels 7, 5, 3",
        f"C32-7s P C64-5s P {_BASE_TAIL}",
        365_322,
        None,
    ),
    ModelSpec(
        "d3",
        "depth",
        "3 conv, 3 pool, 2 dense, 2 drop",
        "C32-3s P C64-3s P C128-3v P F D128 Dr D64 Dr O10",
        167_242,
        89.73,
    ),
    ModelSpec(
        "d4",
        "depth",
        "4 conv, 3 pool, 2 dense, 2 drop",
        "C32-3s P C64-3s P C128-3v C64-3v P F D128 Dr D64 Dr O10",
        183_690,
        90.75,
    ),
    ModelSpec(
        "d6",
        "depth",
        "6 conv, 3 pool, 2 dense, 2 drop",
        "C32-3s P C64-3s P C128-3v C128-3v C128-3s C64-3s P F D128 Dr D64 Dr O10",
        478_858,
        91.08,
    ),
    ModelSpec(
        "d7",
        "depth",
        "7 conv, 3 pool, 2 dense, 2 drop",
        "C32-3s P C64-3s P C128-3v C128-3v C128-3s C128-3s C64-3s P F D128 Dr D64 Dr O10",
        626_442,
        90.43,
    ),
    ModelSpec(
        "d6x3",
        "depth",
        "6 conv, 3 pool, 3 dense, 3 drop",
        "C32-3s P C64-3s P C128-3v C128-3v C128-3s C64-3s P F D128 Dr D64 Dr D32 Dr O10",
        480_618,
        90.73,
    ),
    ModelSpec(
        "d3x3",
        "depth",
        "3 conv, 3 pool, 3 dense, 3 drop",
        "C32-3s P C64-3s P C128-3v P F D128 Dr D64 Dr D32 Dr O10",
        169_002,
        89.31,
    ),
    ModelSpec(
        "cmp",
        "compare",
        "the CNN compared with the MLP",
        "C32-3s P C64-3s P C128-3v C128-3s C64-3s P F D128 Dr D64 Dr O10",
        355_850,
        90.94,
    ),
    ModelSpec(
        "mlp",
        "compare",
        "the fully connected network (no dropout)",
        "F D128 D160 D150 O10",
        146_780,
        87.03,
    ),
)

BY_ID = {spec.id: spec for spec in STUDY}

_TOKEN = re.compile(r"^(?:C(\d+)-(\d+)([sv])|P|F|D(\d+)|Dr|O(\d+))$")


def parse_layers(notation: str) -> list[L.Layer]:
    """Layers from the study's notation, e.g. ``"C32-3s P F D128 Dr O10"``."""
    result: list[L.Layer] = []
    for token in notation.split():
        m = _TOKEN.match(token)
        if not m:
            raise ValueError(f"Unknown layer token {token!r} in {notation!r}.")
        if token.startswith("C"):
            padding = "same" if m.group(3) == "s" else "valid"
            result.append(
                L.Conv2D(int(m.group(1)), int(m.group(2)), padding=padding, activation="relu")
            )
        elif token == "P":
            result.append(L.MaxPooling2D(2))
        elif token == "F":
            result.append(L.Flatten())
        elif token == "Dr":
            result.append(L.Dropout(DROPOUT_RATE))
        elif token.startswith("D"):
            result.append(L.Dense(int(m.group(4)), activation="relu"))
        else:
            result.append(L.Dense(int(m.group(5)), activation="softmax"))
    return result


def get_spec(model_id: str) -> ModelSpec:
    try:
        return BY_ID[model_id]
    except KeyError:
        raise ValueError(f"Unknown model id {model_id!r}; known: {', '.join(BY_ID)}.") from None


def build_model(
    model_id: str, input_shape: tuple[int, ...] = (28, 28, 1), device: str | None = None
) -> Sequential:
    """The study's model ``model_id``, built for samples of ``input_shape`` on ``device``."""
    spec = get_spec(model_id)
    return Sequential([L.Input(input_shape), *parse_layers(spec.layers)], device=device)
