"""Keras' Wrapper: the base of the layers that wrap one other layer (TimeDistributed,
Bidirectional's halves aside, SpectralNormalization), and of a user's own wrappers."""

from __future__ import annotations

from typing import Any

from .autograd import Tensor
from .layer_base import Layer, Shape, sample_shape, wrapped_layer


class Wrapper(Layer):
    """A layer around ``layer`` (``self.layer``): the wrapped layer is built with the
    wrapper, its weights are the wrapper's (the same Tensors, then any the wrapper adds in
    ``own_weights``), its penalties count in the wrapper's ``losses``, and the config keeps
    it under ``"layer"``. By default the call goes through to the layer; subclass it and
    write ``call`` to do more, as with Keras' ``keras.layers.Wrapper``."""

    def __init__(self, layer: Layer, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(layer, Layer) or layer.takes_list:
            raise TypeError(f"{self.describe()} wraps one layer of one input, got {layer!r}.")
        self.layer = layer

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return self.layer._output_shape_for(self.inner_shape(input_shape))

    def inner_shape(self, input_shape: Shape) -> Shape:
        """The shape (without the batch) that the wrapped layer sees."""
        return input_shape

    def own_weights(self) -> list[Tensor]:
        """Weights of the wrapper's own, after the layer's (made once the layer is built)."""
        return []

    def build(self, input_shape: Shape) -> None:
        input_shape = sample_shape(input_shape)
        self.layer.device = self.device
        if not self.layer.built:
            self.layer._build_sample_shape(self.inner_shape(input_shape))
        self._weights = [*self.layer.weights, *self.own_weights()]
        self.sample_input_shape = input_shape
        self.sample_output_shape = self._output_shape_for(input_shape)
        self.built = True
        self._settle_trainable()

    def _inner_layers(self) -> list[Layer]:
        return [self.layer]

    def to(self, device: str) -> None:
        super().to(device)
        self.layer.device = device

    def call(self, x: Tensor, training: bool) -> Tensor:
        return self.layer(x, training=training)

    @property
    def losses(self) -> list[Tensor]:
        return [*super().losses, *self.layer.losses]

    @property
    def serializable(self) -> bool:  # a wrapped Lambda cannot be written to a file either
        return self.layer.serializable

    def get_config(self) -> dict[str, Any]:
        from .serialization import serialize_keras_object

        return {**super().get_config(), "layer": serialize_keras_object(self.layer)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        config = dict(config)
        return cls(wrapped_layer(config.pop("layer"), cls.__name__), **config)
