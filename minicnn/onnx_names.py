"""ONNX's operators for minicnn's ops and Keras' activations, where one name stands for one
name: ``onnx_export`` and ``onnx_op_export`` read these tables forwards (op -> operator),
``onnx_import`` backwards (``by_onnx``)."""

from __future__ import annotations

# ops of one tensor (minicnn.ops' names)
UNARY = {
    "negative": "Neg",
    "abs": "Abs",
    "exp": "Exp",
    "log": "Log",
    "sqrt": "Sqrt",
    "erf": "Erf",
    "tanh": "Tanh",
    "sigmoid": "Sigmoid",
    "relu": "Relu",
    "floor": "Floor",
    "ceil": "Ceil",
    "sin": "Sin",
    "cos": "Cos",
    "sign": "Sign",
    "round": "Round",
    "reciprocal": "Reciprocal",
    "logical_not": "Not",
}
# arithmetic of two tensors (NumPy's broadcasting, as ONNX's): minicnn.ops' names, which
# TensorArithmetic's operations share
ARITHMETIC = {
    "add": "Add",
    "subtract": "Sub",
    "multiply": "Mul",
    "divide": "Div",
    "power": "Pow",
    "maximum": "Max",
    "minimum": "Min",
}
# comparisons and logic of two tensors
COMPARISONS = {
    "greater": "Greater",
    "less": "Less",
    "greater_equal": "GreaterOrEqual",
    "less_equal": "LessOrEqual",
    "equal": "Equal",
    "logical_and": "And",
    "logical_or": "Or",
}
REDUCTIONS = {
    "mean": "ReduceMean",
    "max": "ReduceMax",
    "min": "ReduceMin",
    "sum": "ReduceSum",
    "prod": "ReduceProd",
}
# Keras' activations that are one ONNX operator with its default settings
ACTIVATIONS = {
    "relu": "Relu",
    "sigmoid": "Sigmoid",
    "tanh": "Tanh",
    "softplus": "Softplus",
    "softsign": "Softsign",
    "selu": "Selu",
    "exponential": "Exp",
}


def by_onnx(table: dict[str, str]) -> dict[str, str]:
    """A table read backwards: ONNX's operator -> minicnn's name."""
    return {onnx: name for name, onnx in table.items()}
