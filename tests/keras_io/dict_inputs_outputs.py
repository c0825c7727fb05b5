import os
import sys

if sys.argv[1] == "keras":
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras
    from keras import layers
else:
    import minicnn as keras
    from minicnn import layers
import numpy as np

keras.utils.set_random_seed(0)
b = keras.Input((3,), name="zeta")
a = keras.Input((2,), name="alpha")
x = layers.concatenate([b, a])
m = keras.Model(
    {"zeta": b, "alpha": a},
    {"z_out": layers.Dense(1, name="z_out")(x), "a_out": layers.Dense(2, name="a_out")(x)},
)
print(
    [t.name for t in m.inputs],
    m.input_shape,
    m.output_shape,
    m.output_names if hasattr(m, "output_names") else None,
)
print([l.name for l in m.layers])
m.compile("adam", {"z_out": "mse", "a_out": "mse"}, metrics={"a_out": "mae"})
d = {"zeta": np.ones((4, 3)), "alpha": np.ones((4, 2))}
h = m.fit(d, {"z_out": np.ones((4, 1)), "a_out": np.ones((4, 2))}, verbose=0)
print(sorted(h.history))
print(list(m.predict(d, verbose=0)))
print(m.evaluate(d, {"z_out": np.ones((4, 1)), "a_out": np.ones((4, 2))}, verbose=0) and "ok")
print([w.shape for w in m.get_weights()])
