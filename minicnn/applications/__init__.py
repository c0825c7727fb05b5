"""Keras' ``keras.applications`` architectures as minicnn models: VGG16 and VGG19,
ResNet50/101/152 and their V2 forms, MobileNet, MobileNetV2, MobileNetV3Small/Large,
NASNetMobile/Large, DenseNet121/169/201, Xception, InceptionV3, InceptionResNetV2,
EfficientNetB0-B7, EfficientNetV2B0-B3/S/M/L, ConvNeXtTiny to XLarge and the LPIPS
perceptual distance, layer for layer as Keras builds them (the same layer names and
parameter counts: ResNet50 has 25,636,712).
ImageNet weights are Keras' .h5 files, which minicnn does not read: ``weights`` is None
(random initialization, to train from scratch) or the path of weights saved by minicnn
(``save_weights``). ``preprocess_input(x, data_format=None, mode="caffe")`` is Keras'
("caffe", "tf" or "torch"), and each of Keras' modules (``applications.resnet50``,
``vgg16``, ``mobilenet_v2``, ``efficientnet``, ...) has its family's ``preprocess_input(x)``
and ``decode_predictions``, as in Keras (EfficientNet's (V1 and V2), MobileNetV3's and
ConvNeXt's preprocessing is inside the model: theirs return the input)."""

from . import mobilenet_v2, resnet50, resnet_v2, vgg16, vgg19  # noqa: F401 - Keras' modules
from .convnext import (
    ConvNeXtBase,
    ConvNeXtLarge,
    ConvNeXtSmall,
    ConvNeXtTiny,
    ConvNeXtXLarge,
)
from .densenet import DenseNet121, DenseNet169, DenseNet201
from .efficientnet import (
    EfficientNetB0,
    EfficientNetB1,
    EfficientNetB2,
    EfficientNetB3,
    EfficientNetB4,
    EfficientNetB5,
    EfficientNetB6,
    EfficientNetB7,
)
from .efficientnet_v2 import (
    EfficientNetV2B0,
    EfficientNetV2B1,
    EfficientNetV2B2,
    EfficientNetV2B3,
    EfficientNetV2L,
    EfficientNetV2M,
    EfficientNetV2S,
)
from .imagenet_utils import decode_predictions, preprocess_input
from .inception_resnet_v2 import InceptionResNetV2
from .inception_v3 import InceptionV3
from .lpips import LPIPS
from .mobilenet import MobileNet, MobileNetV2
from .mobilenet_v3 import MobileNetV3Large, MobileNetV3Small
from .nasnet import NASNetLarge, NASNetMobile
from .resnet import ResNet50, ResNet50V2, ResNet101, ResNet101V2, ResNet152, ResNet152V2
from .vgg import VGG16, VGG19
from .xception import Xception

__all__ = [
    "VGG16",
    "VGG19",
    "ResNet50",
    "ResNet101",
    "ResNet152",
    "ResNet50V2",
    "ResNet101V2",
    "ResNet152V2",
    "MobileNet",
    "MobileNetV2",
    "MobileNetV3Small",
    "MobileNetV3Large",
    "NASNetMobile",
    "NASNetLarge",
    "DenseNet121",
    "DenseNet169",
    "DenseNet201",
    "Xception",
    "InceptionV3",
    "InceptionResNetV2",
    "EfficientNetB0",
    "EfficientNetB1",
    "EfficientNetB2",
    "EfficientNetB3",
    "EfficientNetB4",
    "EfficientNetB5",
    "EfficientNetB6",
    "EfficientNetB7",
    "EfficientNetV2B0",
    "EfficientNetV2B1",
    "EfficientNetV2B2",
    "EfficientNetV2B3",
    "EfficientNetV2S",
    "EfficientNetV2M",
    "EfficientNetV2L",
    "ConvNeXtTiny",
    "ConvNeXtSmall",
    "ConvNeXtBase",
    "ConvNeXtLarge",
    "ConvNeXtXLarge",
    "LPIPS",
    "decode_predictions",
    "preprocess_input",
]
