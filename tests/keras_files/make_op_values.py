"""Writes tests/keras_files/op_values.npz: what each of Keras 3's ops gives (values and
dtype) on a few small inputs, floats and ints, one array or two, an axis or a count; the
ops that draw random numbers are left out, and so is every call Keras refuses. And
function_values.npz: each of Keras' loss and metric functions on (y_true, y_pred) pairs,
and class_values.npz: its loss classes (each reduction) and metric classes on them. Run it
where Keras 3 and JAX are installed:

    KERAS_BACKEND=jax python tests/keras_files/make_op_values.py
"""

import os
import sys
import warnings

import keras
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
from op_cases import CASES, METRIC_ARGUMENTS, PAIRS, RANDOM, WEIGHTS  # noqa: E402

warnings.filterwarnings("ignore")
found = {}
for name in sorted(n for n in dir(keras.ops) if not n.startswith("_")):
    function = getattr(keras.ops, name)
    if not callable(function) or any(word in name for word in RANDOM):
        continue
    for case, args in CASES.items():
        try:
            result = function(*args)
            if callable(result):
                continue
            parts = list(result) if isinstance(result, (list, tuple)) else [result]
            arrays = [np.asarray(part) for part in parts]
        except Exception:  # Keras refuses these arguments: nothing to compare
            continue
        if any(a.dtype == object for a in arrays):
            continue
        for i, array in enumerate(arrays):
            found[f"{name}|{case}|{i}|{len(arrays)}"] = array
np.savez_compressed(os.path.join(HERE, "op_values.npz"), **found)
print(len(found), "results of", len({k.split("|")[0] for k in found}), "ops")

# Keras' loss and metric functions (one value per sample, or per value), on (y_true, y_pred).
functions = {}
for namespace in ("losses", "metrics"):
    module = getattr(keras, namespace)
    for name in sorted(dir(module)):
        function = getattr(module, name)
        if name[0] in "_ABCDEFGHIJKLMNOPQRSTUVWXYZ" or not callable(function):
            continue
        if isinstance(function, type) or name in ("get", "serialize", "deserialize"):
            continue
        for case, (y_true, y_pred) in PAIRS.items():
            try:
                functions[f"{namespace}.{name}|{case}"] = np.asarray(function(y_true, y_pred))
            except Exception:
                continue
np.savez_compressed(os.path.join(HERE, "function_values.npz"), **functions)
print(len(functions), "loss and metric function results")

# Keras' loss classes with each reduction, and its metric classes over two batches, with and
# without sample weights (the second batch unweighted).
classes = {}
for case, (y_true, y_pred) in PAIRS.items():
    for weighted in (False, True):
        weights = WEIGHTS if weighted else None
        for name in sorted(n for n in dir(keras.losses) if n[0].isupper()):
            if name in ("Loss", "LossFunctionWrapper", "CTC", "Reduction"):
                continue
            for reduction in (
                "sum_over_batch_size",
                "sum",
                "none",
                "mean",
                "mean_with_sample_weight",
            ):
                try:
                    loss = getattr(keras.losses, name)(reduction=reduction)
                    value = loss(y_true, y_pred, sample_weight=weights)
                except Exception:
                    continue
                classes[f"losses.{name}|{case}|{weighted}|{reduction}"] = np.asarray(value)
        for name in sorted(n for n in dir(keras.metrics) if n[0].isupper()):
            if name in ("Metric", "MeanMetricWrapper", "Sum", "Mean", "MeanTensor"):
                continue
            try:
                metric = getattr(keras.metrics, name)(**METRIC_ARGUMENTS.get(name, {}))
                metric.update_state(y_true, y_pred, sample_weight=weights)
                metric.update_state(y_true[:2], y_pred[:2])
                value = np.asarray(metric.result())
            except Exception:
                continue
            classes[f"metrics.{name}|{case}|{weighted}|"] = value
np.savez_compressed(os.path.join(HERE, "class_values.npz"), **classes)
print(len(classes), "loss and metric class results")
