"""Writes tests/keras_files/result_types.json: Keras 3's ``backend.result_type`` of every pair
(and a few triples) of the dtypes and Python types minicnn knows, as Keras' JAX backend gives
it (64-bit results narrowed to 32 bits, as on every backend but TensorFlow's), or the error
it raises. Run it where Keras 3 and JAX are installed:

    KERAS_BACKEND=jax python tests/keras_files/make_result_types.py
"""

import itertools
import json
import os

import keras

HERE = os.path.dirname(os.path.abspath(__file__))
DTYPES = [
    "bool", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64",
    "bfloat16", "float16", "float32", "float64",
]  # fmt: skip
PYTHON = {"int": int, "float": float, "bool": bool}
NAMES = [*DTYPES, *PYTHON]


def keras_type(name):
    return PYTHON.get(name, name)


def answer(names):
    try:
        return keras.backend.result_type(*(keras_type(n) for n in names))
    except ValueError as e:
        return f"error: {e}"


cases = [list(pair) for pair in itertools.product(NAMES, repeat=2)]
cases += [[n] for n in NAMES]
cases += [["int8", "uint8", "float"], ["int", "float", "bool"], ["uint32", "int32", "float16"]]
table = [{"inputs": c, "result": answer(c)} for c in cases]
with open(os.path.join(HERE, "result_types.json"), "w") as f:
    json.dump(table, f, indent=0)
print(len(table), "cases")
