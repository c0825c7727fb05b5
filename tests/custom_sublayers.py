"""A user's layers that keep layers as attributes, written once for Keras and for minicnn
(``lib`` is either module): a layer in a list, in a dict, the same layer under two
attributes, a private attribute, a nested user's layer and a Sequential, and weights of its
own. Keras' file keeps each under its attribute's path (keras_files/custom_sublayers.keras,
made by make_keras_files.py)."""


def define(lib):
    """The classes, registered with ``lib`` (Keras or minicnn); returns the outer one."""
    L = lib.layers

    @lib.saving.register_keras_serializable(package="demo2")
    class Inner(L.Layer):
        def __init__(self, units=3, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.z_dense = L.Dense(units)
            self.a_norm = L.LayerNormalization()

        def call(self, x):
            return self.a_norm(self.z_dense(x))

        def get_config(self):
            return {**super().get_config(), "units": self.units}

    @lib.saving.register_keras_serializable(package="demo2")
    class Outer(L.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.stack = [L.Dense(5, activation="tanh"), L.Dense(4), L.Dropout(0.0)]
            self.heads = {"b": L.Dense(2), "a": L.Dense(2)}
            self._private = Inner(4)
            self.seq = lib.Sequential([L.Dense(3), L.Dense(4)])
            self.again = self.stack[1]  # the same layer twice

        def build(self, input_shape):
            self.gain = self.add_weight(shape=(4,), initializer="ones", name="gain")
            self.bias2 = self.add_weight(shape=(2,), initializer="zeros", name="bias2")

        def call(self, x):
            h = x
            for layer in self.stack:
                h = layer(h)
            h = self._private(h) * self.gain
            h = self.seq(h)
            return self.heads["a"](h) + self.heads["b"](h) + self.bias2

    return Outer
