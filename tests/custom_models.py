"""A subclassed model written once for Keras and for minicnn (``lib`` is either module):
layers as attributes, in a list, and a get_config of its __init__'s arguments, registered by
name. Keras' files of it are keras_files/subclassed_model.keras and .weights.h5 (made by
make_keras_files.py): its layers under their attributes' paths ("hidden", "blocks/dense_1"),
and "layers/dense_1" for the one Keras meets first in its layers."""


def define(lib):
    """The class, registered with ``lib`` (Keras or minicnn)."""
    L = lib.layers

    @lib.saving.register_keras_serializable(package="tests")
    class TwoStage(lib.Model):
        def __init__(self, units=4, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.hidden = L.Dense(units, activation="relu")
            self.out = L.Dense(2)
            self.blocks = [L.Dense(units, activation="tanh"), L.Dense(units)]

        def call(self, x):
            h = self.hidden(x)
            for block in self.blocks:
                h = block(h)
            return self.out(h)

        def get_config(self):
            return {**super().get_config(), "units": self.units}

    return TwoStage
