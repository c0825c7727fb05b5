"""The inputs that tests/keras_files/make_op_values.py gives each of Keras' ops, and
tests/test_op_values.py gives minicnn's: floats, positive floats, values in (0, 1), ints,
a square and a symmetric positive definite matrix, a vector, a 3-D array; pairs of them;
an array with an axis or a count."""

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
