"""The inputs that tests/keras_files/make_op_values.py gives each of Keras' ops, and
tests/test_op_values.py gives minicnn's: floats, positive floats, values in (0, 1), ints,
a square and a symmetric positive definite matrix, a vector, a 3-D array, complex values;
pairs of them; an array with an axis or a count."""

import numpy as np

rng = np.random.default_rng(0)
A = rng.normal(size=(3, 4)).astype("float32")
B = rng.normal(size=(3, 4)).astype("float32")
P = (np.abs(A) + 0.5).astype("float32")
Q = (np.abs(B) + 0.5).astype("float32")
U = rng.uniform(0.05, 0.95, size=(3, 4)).astype("float32")
INTS = rng.integers(0, 4, size=(3, 4)).astype("int32")
S = rng.normal(size=(4, 4)).astype("float32")
SPD = (S @ S.T + 4 * np.eye(4)).astype("float32")
V = rng.normal(size=(5,)).astype("float32")
T3 = rng.normal(size=(2, 3, 4)).astype("float32")
# Complex values, of a generator of their own (the others keep their values).
complex_rng = np.random.default_rng(1)
C = (complex_rng.normal(size=(3, 4)) + 1j * complex_rng.normal(size=(3, 4))).astype("complex64")
CSQ = (complex_rng.normal(size=(3, 3)) + 1j * complex_rng.normal(size=(3, 3))).astype("complex64")
CASES = {
    "x": [A],
    "px": [P],
    "ux": [U],
    "ix": [INTS],
    "sq": [S],
    "spd": [SPD],
    "v": [V],
    "t3": [T3],
    "xy": [A, B],
    "pxy": [P, Q],
    "ixy": [INTS, (INTS + 1).astype("int32")],
    "sqsq": [S, S.T.copy()],
    "x_axis0": [A, 0],
    "x_axis1": [A, 1],
    "t3_axis1": [T3, 1],
    "x_k2": [A, 2],
    "c": [C],
    "csq": [CSQ],
    "cxy": [C, C[::-1].copy()],
    "cx_x": [C, A],
}
RANDOM = (
    "dropout",
    "shuffle",
    "normal",
    "uniform",
    "randint",
    "categorical",
    "gamma",
    "binomial",
    "beta",
)

# The (y_true, y_pred) pairs that Keras' loss and metric functions are given.
LOGITS = rng.normal(size=(4, 3)).astype("float32")
PROBS = (np.exp(LOGITS) / np.exp(LOGITS).sum(1, keepdims=True)).astype("float32")
ONEHOT = np.eye(3, dtype="float32")[[0, 2, 1, 2]]
SPARSE = np.array([0, 2, 1, 2], "int32")
BINARY = (rng.uniform(size=(4, 3)) > 0.5).astype("float32")
TARGET, PREDICTED = (rng.normal(size=(4, 3)).astype("float32") for _ in range(2))
PAIRS = {
    "onehot_probs": (ONEHOT, PROBS),
    "sparse_probs": (SPARSE, PROBS),
    "binary_u": (BINARY, rng.uniform(0.05, 0.95, size=(4, 3)).astype("float32")),
    "reg": (TARGET, PREDICTED),
    "pos": (np.abs(TARGET) + 0.1, np.abs(PREDICTED) + 0.1),
    "signs_reg": (np.where(BINARY > 0, 1.0, -1.0).astype("float32"), PREDICTED),
    "sparse_logits": (SPARSE, LOGITS),
    "onehot_logits": (ONEHOT, LOGITS),
}

# The sample weights and the arguments of Keras' metric classes that need some.
WEIGHTS = np.array([1.0, 0.5, 2.0, 0.0], "float32")
METRIC_ARGUMENTS = {
    "IoU": {"num_classes": 3, "target_class_ids": [0, 1]},
    "MeanIoU": {"num_classes": 3},
    "OneHotIoU": {"num_classes": 3, "target_class_ids": [0, 2]},
    "OneHotMeanIoU": {"num_classes": 3},
    "PrecisionAtRecall": {"recall": 0.5},
    "RecallAtPrecision": {"precision": 0.5},
    "SensitivityAtSpecificity": {"specificity": 0.5},
    "SpecificityAtSensitivity": {"sensitivity": 0.5},
}
