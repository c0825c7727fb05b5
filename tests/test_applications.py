"""Keras' applications built by minicnn: each architecture's parameter count equals Keras'
(the published numbers), its layers carry Keras' names, a feature extractor pools, a small
input runs and trains, weights saved by minicnn load back, and ImageNet weights are refused
with a reason."""

import numpy as np
import pytest

from minicnn import applications as A
from minicnn.applications.mobilenet import _make_divisible

# Keras' applications table (keras.io/api/applications) and Keras' own counts.
PARAMS = [
    (A.ResNet50, {}, 25_636_712),
    (A.ResNet101, {}, 44_707_176),
    (A.ResNet50V2, {}, 25_613_800),
    (A.MobileNet, {}, 4_253_864),
    (A.MobileNetV2, {}, 3_538_984),
    (A.DenseNet121, {}, 8_062_504),
    (A.DenseNet169, {}, 14_307_880),
    (A.DenseNet201, {}, 20_242_984),
    (A.Xception, {}, 22_910_480),
    (A.InceptionV3, {}, 23_851_784),
    (A.InceptionResNetV2, {}, 55_873_736),
    (A.EfficientNetB0, {}, 5_330_571),
    (A.EfficientNetV2B0, {}, 7_200_312),
    (A.EfficientNetV2S, {}, 21_612_360),
    (A.MobileNetV3Small, {}, 2_554_968),
    (A.NASNetMobile, {}, 5_326_716),
    (A.ConvNeXtTiny, {}, 28_589_128),
    (A.ConvNeXtSmall, {}, 50_223_688),
    (A.MobileNetV3Large, {}, 5_507_432),
    (A.EfficientNetB1, {}, 7_856_239),
    (A.EfficientNetB3, {"include_top": False}, 10_783_535),
    (A.VGG16, {"include_top": False}, 14_714_688),
    (A.VGG16, {"input_shape": (32, 32, 3), "classes": 10}, 33_638_218),
]


@pytest.mark.parametrize(
    "build, kwargs, count", PARAMS, ids=[f"{b.__name__}-{i}" for i, (b, _, _) in enumerate(PARAMS)]
)
def test_parameter_counts_are_kerass(build, kwargs, count):
    assert build(weights=None, **kwargs).count_params() == count


def test_channel_rounding_is_kerass():
    # Keras' _make_divisible: to a multiple of 8, at least 8, never more than 10% down.
    assert [_make_divisible(v) for v in (11.2, 16 * 0.35, 44.8, 1280 * 1.4)] == [16, 8, 48, 1792]
    first = A.MobileNetV2(weights=None, alpha=0.35, input_shape=(96, 96, 3)).get_layer("Conv1")
    assert first.get_weights()[0].shape == (3, 3, 3, 16)


def test_layer_names_and_model_names_are_kerass():
    resnet = A.ResNet50(weights=None)
    names = {layer.name for layer in resnet.layers}
    assert {
        "conv1_pad",
        "conv2_block1_0_conv",
        "conv5_block3_out",
        "avg_pool",
        "predictions",
    } <= names
    assert resnet.name == "resnet50"
    mobile = A.MobileNetV2(weights=None, alpha=0.5, input_shape=(128, 128, 3))
    assert mobile.name == "mobilenetv2_0.50_128"
    assert {"expanded_conv_depthwise", "block_16_project_BN", "out_relu"} <= {
        l.name for l in mobile.layers
    }
    assert "conv_pw_13_relu" in {layer.name for layer in A.MobileNet(weights=None).layers}
    dense = A.DenseNet121(weights=None)
    assert dense.name == "densenet121"
    assert {"pool1", "conv2_block6_concat", "pool4_pool", "conv5_block16_2_conv", "bn"} <= {
        l.name for l in dense.layers
    }


def test_feature_extractors_pool_or_keep_the_map():
    features = A.ResNet50V2(weights=None, include_top=False, input_shape=(64, 64, 3))
    assert features.sample_output_shape == (2, 2, 2048)
    pooled = A.MobileNetV2(weights=None, include_top=False, pooling="avg", input_shape=(64, 64, 3))
    assert pooled.sample_output_shape == (1280,)
    dense = A.DenseNet121(weights=None, include_top=False, pooling="max", input_shape=(32, 32, 3))
    assert dense.sample_output_shape == (1024,)
    # growth: 64 channels + 6 blocks of 32, halved by the first transition
    assert dense.get_layer("pool2_conv").get_weights()[0].shape == (1, 1, 256, 128)
    x = np.random.default_rng(0).random((2, 32, 32, 3)).astype(np.float32)
    assert np.isfinite(dense.predict(A.preprocess_input(x * 255, mode="torch"), verbose=0)).all()
    with pytest.raises(ValueError, match="pooling must be None, 'avg' or 'max'"):
        A.MobileNet(weights=None, include_top=False, pooling="mean")


@pytest.mark.parametrize(
    "build, size, names",
    [
        (A.Xception, 71, {"block1_conv1_act", "block12_sepconv3_bn", "block14_sepconv2_act"}),
        (A.InceptionV3, 75, {"mixed0", "mixed9_1", "mixed10"}),
        (A.InceptionResNetV2, 75, {"mixed_5b", "block35_10_ac", "block8_10_conv", "conv_7b_ac"}),
        (A.NASNetMobile, 32, {"stem_bn1", "reduction_concat_stem_2", "normal_concat_12"}),
    ],
)
def test_xception_and_inception_at_their_smallest_inputs(build, size, names):
    model = build(weights=None, include_top=False, input_shape=(size, size, 3))
    assert names <= {layer.name for layer in model.layers}
    x = np.random.default_rng(0).random((2, size, size, 3)).astype(np.float32)
    out = model.predict(A.preprocess_input(x * 255, mode="tf"), verbose=0)
    assert out.shape[0] == 2 and out.shape[-1] in (1056, 1536, 2048) and np.isfinite(out).all()
    with pytest.raises(ValueError, match=f"at least {size}x{size}"):
        build(weights=None, include_top=False, input_shape=(size - 1, size - 1, 3))


def test_efficientnet_has_its_preprocessing_inside_and_trains(tmp_path):
    # Keras' EfficientNet takes pixels in [0, 255]: Rescaling, then a Normalization to adapt.
    rng = np.random.default_rng(1)
    x = (rng.random((16, 32, 32, 3)) * 255).astype(np.float32)
    y = np.arange(16) % 2
    x[y == 1, :16] = 255.0
    model = A.EfficientNetB0(weights=None, input_shape=(32, 32, 3), classes=2)
    assert {"block1a_se_excite", "block6d_drop", "block7a_project_bn", "top_dropout"} <= {
        layer.name for layer in model.layers
    }
    from minicnn.layers import Normalization

    normalization = next(layer for layer in model.layers if isinstance(layer, Normalization))
    normalization.adapt(x / 255.0)
    assert normalization.get_weights()[2] == 16 * 32 * 32
    model.compile("adam", "sparse_categorical_crossentropy")
    history = model.fit(x, y, epochs=4, batch_size=8, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    model.save_weights(tmp_path / "b0.weights.npz")
    again = A.EfficientNetB0(
        weights=tmp_path / "b0.weights.npz", input_shape=(32, 32, 3), classes=2
    )
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5)


def test_mobilenet_v3_hard_sigmoid_is_graph_arithmetic_and_it_trains():
    model = A.MobileNetV3Small(weights=None, input_shape=(32, 32, 3), classes=3)
    kinds = {type(layer).__name__ for layer in model.operations}
    assert {"TensorArithmetic", "Multiply", "Rescaling"} <= kinds
    assert "expanded_conv_10_squeeze_excite_mul" in {layer.name for layer in model.layers}
    rng = np.random.default_rng(3)
    x = (rng.random((12, 32, 32, 3)) * 255).astype(np.float32)
    y = np.arange(12) % 3
    model.compile("adam", "sparse_categorical_crossentropy")
    history = model.fit(x, y, epochs=2, batch_size=6, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert model.predict(x, verbose=0).shape == (12, 3)
    minimal = A.MobileNetV3Large(weights=None, minimalistic=True, include_top=False)
    assert "TensorArithmetic" not in {type(layer).__name__ for layer in minimal.layers}


def test_a_convnext_block_trains_saves_and_loads(tmp_path):
    # Keras' ConvNeXt block: grouped 7x7, LayerNorm, Dense, GELU, Dense, LayerScale,
    # StochasticDepth, added back by graph arithmetic; the prestem Normalization's constants.
    from minicnn import Input, Model, load_model
    from minicnn import layers as L
    from minicnn.applications import convnext

    inputs = Input((8, 8, 3))
    x = L.Normalization(mean=[120.0] * 3, variance=[3600.0] * 3)(inputs)
    x = L.Conv2D(16, 2, strides=2)(x)
    x = convnext._block(x, 16, 0.1, 1e-6, "tiny_block")
    x = L.GlobalAveragePooling2D()(x)
    model = Model(inputs, L.Dense(2, activation="softmax")(x))
    scale = model.get_layer("tiny_block_layer_scale").get_weights()[0]
    np.testing.assert_array_equal(scale, np.full(16, 1e-6, np.float32))
    rng = np.random.default_rng(4)
    images = (rng.random((16, 8, 8, 3)) * 255).astype(np.float32)
    labels = np.arange(16) % 2
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(images, labels, epochs=2, batch_size=8, verbose=0)
    assert not np.allclose(model.get_layer("tiny_block_layer_scale").get_weights()[0], scale)
    model.save(tmp_path / "block.minicnn")
    again = load_model(tmp_path / "block.minicnn")
    np.testing.assert_allclose(
        again.predict(images, verbose=0), model.predict(images, verbose=0), rtol=1e-5
    )
    tiny = A.ConvNeXtTiny(weights=None, include_top=False, pooling="avg", input_shape=(32, 32, 3))
    assert tiny.sample_output_shape == (768,)
    assert np.isfinite(tiny.predict(images[:2].repeat(4, 1).repeat(4, 2), verbose=0)).all()


def test_efficientnet_v2_fused_blocks_train():
    model = A.EfficientNetV2B0(weights=None, input_shape=(32, 32, 3), classes=2)
    names = {layer.name for layer in model.layers}
    assert {"block1a_project_activation", "block2b_drop", "block4a_dwconv2"} <= names
    assert "block2a_dwconv2" not in names  # fused: no depthwise convolution
    rng = np.random.default_rng(9)
    x = (rng.random((8, 32, 32, 3)) * 255).astype(np.float32)
    model.compile("adam", "sparse_categorical_crossentropy")
    history = model.fit(x, np.arange(8) % 2, epochs=2, batch_size=4, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    plain = A.EfficientNetV2S(weights=None, include_top=False, include_preprocessing=False)
    assert "Rescaling" not in {type(layer).__name__ for layer in plain.layers}


def test_a_small_mobilenet_trains_and_reloads_its_weights(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random((24, 32, 32, 3)).astype(np.float32)
    y = np.arange(24) % 3
    x[y == 1, :8] += 1.0
    x[y == 2, :, :8] -= 1.0
    model = A.MobileNetV2(weights=None, alpha=0.35, input_shape=(32, 32, 3), classes=3)
    model.compile("adam", "sparse_categorical_crossentropy")
    history = model.fit(x, y, epochs=6, batch_size=8, verbose=0)
    # Batch norm over 8 images makes one epoch's loss jump; the last three, on average, fall.
    assert np.mean(history.history["loss"][-3:]) < history.history["loss"][0]
    model.save_weights(tmp_path / "small.weights.npz")
    again = A.MobileNetV2(
        weights=tmp_path / "small.weights.npz", alpha=0.35, input_shape=(32, 32, 3), classes=3
    )
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5)


def test_imagenet_weights_and_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="ImageNet weights are .h5 files"):
        A.ResNet50()
    with pytest.raises(ValueError, match="at least 32x32"):
        A.ResNet50(weights=None, input_shape=(16, 16, 3))
    with pytest.raises(ValueError, match="path to the weights file"):
        A.VGG16(weights="nowhere.npz")


def test_each_keras_module_preprocesses_as_its_family():
    """keras.applications.resnet50.preprocess_input(x) and the others: each module's mode
    (Keras 3.15's), channels first too."""
    x = np.arange(12, dtype=np.float32).reshape(1, 2, 2, 3) * 20
    for module, mode in [
        (A.resnet50, "caffe"),
        (A.resnet, "caffe"),
        (A.vgg16, "caffe"),
        (A.vgg19, "caffe"),
        (A.resnet_v2, "tf"),
        (A.mobilenet_v2, "tf"),
        (A.mobilenet, "tf"),
        (A.xception, "tf"),
        (A.inception_v3, "tf"),
        (A.inception_resnet_v2, "tf"),
        (A.nasnet, "tf"),
        (A.densenet, "torch"),
    ]:
        np.testing.assert_array_equal(module.preprocess_input(x), A.preprocess_input(x, mode=mode))
        assert module.decode_predictions is A.decode_predictions
    for module in (A.efficientnet, A.efficientnet_v2, A.mobilenet_v3, A.convnext):
        assert module.preprocess_input(x) is x  # their models preprocess inside
    assert A.resnet50.ResNet50 is A.ResNet50 and A.vgg19.VGG19 is A.VGG19
    first = A.preprocess_input(x.transpose(0, 3, 1, 2), data_format="channels_first")
    np.testing.assert_allclose(first, A.preprocess_input(x).transpose(0, 3, 1, 2))
    with pytest.raises(ValueError, match="give the mode by name"):
        A.preprocess_input(x, "tf")


def test_preprocess_input_modes():
    x = np.full((1, 2, 2, 3), 255.0, np.float32)
    x[..., 0] = 0.0
    np.testing.assert_allclose(A.preprocess_input(x, mode="tf")[0, 0, 0], [-1, 1, 1])
    np.testing.assert_allclose(
        A.preprocess_input(x, mode="caffe")[0, 0, 0],
        [255 - 103.939, 255 - 116.779, -123.68],
        rtol=1e-6,
    )
    torch_mode = A.preprocess_input(x, mode="torch")[0, 0, 0]
    np.testing.assert_allclose(torch_mode[0], -0.485 / 0.229, rtol=1e-6)


def test_decode_predictions_reads_the_class_index_through_get_file(tmp_path, monkeypatch):
    import hashlib
    import json

    from minicnn.applications import imagenet_utils

    index = {str(i): [f"n{i:08d}", f"class_{i}"] for i in range(1000)}
    served = tmp_path / "imagenet_class_index.json"
    served.write_text(json.dumps(index))
    monkeypatch.setenv("MINICNN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(imagenet_utils, "CLASS_INDEX_PATH", served.as_uri())
    digest = hashlib.md5(served.read_bytes()).hexdigest()
    monkeypatch.setattr(imagenet_utils, "CLASS_INDEX_HASH", digest)
    scores = np.zeros((2, 1000), np.float32)
    scores[0, [7, 3, 999]] = [0.5, 0.3, 0.2]
    scores[1, 42] = 1.0
    decoded = A.decode_predictions(scores, top=3)
    assert decoded[0] == [
        ("n00000007", "class_7", 0.5),
        ("n00000003", "class_3", pytest.approx(0.3)),
        ("n00000999", "class_999", pytest.approx(0.2)),
    ]
    assert decoded[1][0] == ("n00000042", "class_42", 1.0)
    assert (tmp_path / "cache" / "models" / "imagenet_class_index.json").exists()
    with pytest.raises(ValueError, match=r"shape \(samples, 1000\)"):
        A.decode_predictions(np.zeros((2, 10)))


def test_lpips_is_kerass_distance():
    model = A.LPIPS(weights=None, input_shape=(32, 32, 3))
    assert model.count_params() == 14_714_688 + 64 + 128 + 256 + 512 + 512  # VGG16 and the heads
    assert [t.name for t in model.inputs] == ["input1", "input2"]
    rng = np.random.default_rng(0)
    first, second = (rng.random((3, 32, 32, 3)).astype(np.float32) for _ in range(2))
    distance = model.predict([first, second], verbose=0)
    assert distance.shape == (3,)
    np.testing.assert_allclose(model.predict([first, first], verbose=0), 0.0, atol=1e-7)
    np.testing.assert_allclose(model.predict([second, first], verbose=0), distance, rtol=1e-5)
    # The oracle: the same features, normalized, weighted and averaged in NumPy.
    backbone = model.get_layer("vgg_backbone")
    heads = model.get_layer("linear_model")
    expected = np.zeros(3)
    features = backbone.predict(first, verbose=0), backbone.predict(second, verbose=0)
    pairs = zip(*features, strict=True)
    for i, (a, b) in enumerate(pairs):
        a = a / np.sqrt(1e-8 + (a * a).sum(-1, keepdims=True))
        b = b / np.sqrt(1e-8 + (b * b).sum(-1, keepdims=True))
        weight = heads.get_layer(f"linear_{i}").get_weights()[0].reshape(-1)
        expected += ((a - b) ** 2 @ weight).mean(axis=(1, 2))
    np.testing.assert_allclose(distance, expected, rtol=1e-4)
    any_size = A.LPIPS(weights=None)  # Keras' default: (None, None, 3)
    any_size.set_weights(model.get_weights())
    np.testing.assert_allclose(any_size.predict([first, second], verbose=0), distance, rtol=1e-5)
    wider = rng.random((2, 40, 56, 3)).astype(np.float32)
    assert any_size.predict([wider, wider[::-1]], verbose=0).shape == (2,)
    with pytest.raises(ValueError, match="only VGG"):
        A.LPIPS(weights=None, network_type="alex")
    np.testing.assert_allclose(
        A.lpips.preprocess_input(np.full((1, 1, 1, 3), 255.0))[0, 0, 0],
        (1 - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225]),
        rtol=1e-6,
    )


@pytest.mark.parametrize("build", [A.MobileNetV2, A.EfficientNetB0, A.ResNet50])
def test_feature_extractors_take_images_of_any_size(build):
    model = build(weights=None, include_top=False, input_shape=(None, None, 3), pooling="avg")
    features = model.predict(np.random.default_rng(0).random((1, 40, 56, 3)), verbose=0)
    assert features.shape == (1, model.output_shape[-1])


def test_nasnet_says_it_needs_a_fixed_size():
    with pytest.raises(ValueError, match="NASNet needs a fixed input size"):
        A.NASNetMobile(weights=None, include_top=False, input_shape=(None, None, 3))


def test_input_tensor_is_the_models_input_as_in_keras():
    """Keras' input_tensor: an Input is the model's own; a layer's output on one brings the
    layers before it into the model (its inputs are the Inputs it comes from)."""
    from minicnn import Input
    from minicnn import layers as L

    image = Input((32, 32, 3))
    model = A.MobileNetV2(weights=None, alpha=0.35, include_top=False, input_tensor=image)
    assert model.inputs[0] is image and model.output_shape == (None, 1, 1, 1280)
    raw = Input((32, 32, 3), name="raw")
    scaled = L.Rescaling(1 / 255, name="scale")(raw)
    resnet = A.ResNet50(weights=None, include_top=False, input_tensor=scaled, pooling="avg")
    assert resnet.inputs[0] is raw and resnet.layers[1].name == "scale"
    plain = A.ResNet50(weights=None, include_top=False, input_shape=(32, 32, 3), pooling="avg")
    assert resnet.count_params() == plain.count_params()
    with pytest.raises(ValueError, match="input_tensor must be a symbolic tensor"):
        A.VGG16(weights=None, input_tensor=np.zeros((1, 32, 32, 3)))
