"""What Keras 3.15 records of its layers in a model's config beyond their own configs. Its
``Layer.__call__`` fills in ``training`` where the call's signature gives it a default other
than None, and ``mask`` (the input's, None where there is none) where the call takes one
and is given one tensor: each call's ``kwargs`` keep them. A layer built as it is made has
no ``build_config``."""

from __future__ import annotations

import inspect
from typing import Any

# The default ``training`` of Keras' layers' calls where it is not None (from their
# signatures): the image preprocessing layers augment (True); the rest are in inference.
_AUGMENTING = (
    "AugMix AutoContrast CenterCrop ContrastLimitedAdaptiveHistogramEqualization CutMix "
    "Equalization MixUp Pipeline RandAugment RandomBrightness RandomColorDegeneration "
    "RandomColorJitter RandomContrast RandomCrop RandomElasticTransform RandomErasing "
    "RandomFlip RandomGaussianBlur RandomGrayscale RandomHue RandomInvert RandomPerspective "
    "RandomPosterization RandomRotation RandomSaturation RandomSharpness RandomShear "
    "RandomTranslation RandomZoom Resizing Solarization"
).split()
_INFERENCE = (
    "AlphaDropout ConvLSTM1D ConvLSTM2D ConvLSTM3D Dropout GRU GaussianDropout GaussianNoise "
    "LSTM RNN SimpleRNN SpatialDropout1D SpatialDropout2D SpatialDropout3D "
    "SpectralNormalization"
).split()
TRAINING_DEFAULTS = {**dict.fromkeys(_AUGMENTING, True), **dict.fromkeys(_INFERENCE, False)}
# Keras' layers whose call takes ``mask`` for its one input (models' calls do too: see
# ``recorded``).
TAKES_MASK = set(
    (
        "BatchNormalization Bidirectional ConvLSTM1D ConvLSTM2D ConvLSTM3D GRU "
        "GlobalAveragePooling1D LSTM Lambda Pipeline RNN SimpleRNN Softmax TimeDistributed"
    ).split()
)


def _builtin_name(layer: Any) -> str | None:
    """The name of minicnn's class (Keras' of that name) that the layer is, or None for a
    user's class."""
    from .layers import LAYER_CLASSES

    name = type(layer).__name__
    if LAYER_CLASSES.get(name) is type(layer):
        return name
    if getattr(layer, "is_model", False) and not getattr(layer, "_subclassed", False):
        return name  # Sequential, a functional Model (Keras' Functional)
    return None


def _user_call(layer: Any) -> tuple[Any, bool]:
    """A user's layer as Keras reads its call's signature: the default of ``training``
    (None where it has none) and whether it takes ``mask``."""
    parameters = inspect.signature(type(layer).call).parameters
    training = parameters.get("training")
    default = None
    if training is not None and training.default is not inspect.Parameter.empty:
        default = training.default
    return default, "mask" in parameters


def _call_signature(layer: Any) -> tuple[Any, bool]:
    """Keras' reading of the layer's call: the default of ``training`` it records (None:
    none) and whether it takes ``mask``."""
    name = _builtin_name(layer)
    if name is not None and getattr(layer, "is_model", False):
        return None, True  # Keras' Model.call(inputs, training=None, mask=None)
    if name is not None:
        return TRAINING_DEFAULTS.get(name), name in TAKES_MASK
    if not callable(getattr(type(layer), "call", None)):  # an op of the graph: a function
        return None, False
    return _user_call(layer)


def records_training_false(layer: Any) -> bool:
    """Whether Keras records ``training=False`` for every call of the layer (its call's
    default): then a recorded False says nothing of the call that was written."""
    return _call_signature(layer)[0] is False


def recorded(layer: Any, one_tensor: bool, masks_in_graph: bool) -> dict[str, Any]:
    """The arguments Keras' call of ``layer`` records for itself (``one_tensor``: it is
    given one tensor, not several or a list). A graph with masks (an Embedding's
    ``mask_zero``, a Masking layer, a user's compute_mask) records no mask here, as Keras
    records the mask's own tensor, which minicnn's graph does not hold."""
    training, takes_mask = _call_signature(layer)
    found: dict[str, Any] = {}
    if training is not None:
        found["training"] = training
    if takes_mask and one_tensor and not masks_in_graph:
        found["mask"] = None
    return found


# Keras' layers that build themselves as they are made (their __init__ calls
# _build_at_init): their entries in a config have no build_config. A user's subclass of one
# that does not define build is built so too.
BUILT_AT_INIT = set(
    (
        "Activation ActivityRegularization AlphaDropout AveragePooling1D AveragePooling2D "
        "AveragePooling3D Dropout ELU GaussianDropout GaussianNoise GlobalAveragePooling1D "
        "GlobalAveragePooling2D GlobalAveragePooling3D GlobalMaxPooling1D GlobalMaxPooling2D "
        "GlobalMaxPooling3D Identity LeakyReLU Masking MaxPooling1D MaxPooling2D MaxPooling3D "
        "ReLU Reshape Softmax SpatialDropout1D SpatialDropout2D SpatialDropout3D "
        "UnitNormalization"
    ).split()
)


def built_at_init(layer: Any) -> bool:
    """Whether Keras builds the layer as it is made (so writes no build_config for it):
    its class, or the first of minicnn's classes it derives from, is one of BUILT_AT_INIT,
    and no user's class on the way defines ``build``."""
    for klass in type(layer).__mro__:
        if klass.__module__.startswith("minicnn."):
            return klass.__name__ in BUILT_AT_INIT
        if "build" in vars(klass):
            return False
    return False


def makes_masks(layers: list[Any]) -> bool:
    """Whether any of the layers starts a mask."""
    for layer in layers:
        if getattr(layer, "mask_zero", False) or type(layer).__name__ == "Masking":
            return True
        if _builtin_name(layer) is None and "compute_mask" in _own_methods(layer):
            return True
    return False


def _own_methods(layer: Any) -> set[str]:
    """The methods a user's classes (those outside minicnn) define."""
    names: set[str] = set()
    for klass in type(layer).__mro__:
        if not klass.__module__.startswith("minicnn."):
            names |= set(vars(klass))
    return names
