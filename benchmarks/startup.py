"""Start-up time: importing minicnn plus the first training step of the study's base model.

rm -rf kernels/__pycache__ && python benchmarks/startup.py   # cold Numba cache
python benchmarks/startup.py                                  # warm
"""

import time

start = time.perf_counter()
import minicnn  # noqa: E402, F401
from minicnn import backend, optimizers  # noqa: E402
from minicnn.experiments import zoo  # noqa: E402

imported = time.perf_counter()

import numpy as np  # noqa: E402

backend.set_random_seed(0)
model = zoo.build_model("base")
model.compile(optimizers.Adam(), metrics=["accuracy"])
x = np.random.default_rng(0).random((128, 28, 28, 1), dtype=np.float32)
model.train_on_batch(x, np.arange(128) % 10)
done = time.perf_counter()
print(
    f"import {imported - start:.2f} s, first training step {done - imported:.2f} s, "
    f"total {done - start:.2f} s"
)
