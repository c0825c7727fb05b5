"""Conv1DTranspose, DepthwiseConv1D and SeparableConv1D: each equals its 2-D twin on an image
one row high (whose loops test_depthwise checks), with Keras' shapes, weight layouts and
parameter counts, float64 gradient checks on every device, and saving."""

import numpy as np
import pytest
from test_layers import check_layer_gradients

from minicnn import Input, Sequential, load_model
from minicnn import layers as L

# (1-D layer, its 2-D twin, input (batch, steps, channels), Keras' output shape, params)
TWINS = [
    (
        lambda: L.Conv1DTranspose(4, 3, strides=2, padding="valid"),
        lambda: L.Conv2DTranspose(4, (1, 3), strides=(1, 2), padding="valid"),
        (2, 7, 3),
        (15, 4),  # (7 - 1) * 2 + 3
        3 * 4 * 3 + 4,
    ),
    (
        lambda: L.Conv1DTranspose(2, 4, strides=3, padding="same", use_bias=False),
        lambda: L.Conv2DTranspose(2, (1, 4), strides=(1, 3), padding="same", use_bias=False),
        (2, 5, 2),
        (15, 2),  # 5 * 3
        4 * 2 * 2,
    ),
    (
        lambda: L.DepthwiseConv1D(3, depth_multiplier=2, padding="same", dilation_rate=2),
        lambda: L.DepthwiseConv2D((1, 3), depth_multiplier=2, padding="same", dilation_rate=(1, 2)),
        (2, 9, 3),
        (9, 6),
        3 * 3 * 2 + 6,
    ),
    (
        lambda: L.SeparableConv1D(5, 3, strides=2, depth_multiplier=2, activation="relu"),
        lambda: L.SeparableConv2D(5, (1, 3), strides=(1, 2), depth_multiplier=2, activation="relu"),
        (2, 9, 3),
        (4, 5),
        3 * 3 * 2 + 6 * 5 + 5,
    ),
]


@pytest.mark.parametrize("case", range(len(TWINS)))
def test_each_is_its_2d_twin_on_one_row(case, device):
    make, make_twin, shape, output_shape, params = TWINS[case]
    x = np.random.default_rng(case).standard_normal(shape).astype(np.float32)
    layer, twin = make(), make_twin()
    model = Sequential([Input(shape[1:]), layer]).to(device)
    assert model.output_shape == (None, *output_shape) and model.count_params() == params
    Sequential([Input((1, *shape[1:])), twin])
    twin.set_weights([w[None] if w.ndim == 3 else w for w in layer.get_weights()])
    expected = Sequential([Input((1, *shape[1:])), twin]).predict(x[:, None], verbose=0)[:, 0]
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", range(len(TWINS)))
def test_gradients_check_in_float64(case, device):
    make, _, shape, _, _ = TWINS[case]
    x = np.random.default_rng(10 + case).standard_normal(shape)
    check_layer_gradients(make(), x, device=device)


def test_weight_layouts_config_and_saving(tmp_path):
    model = Sequential(
        [
            Input((12, 3)),
            L.Conv1DTranspose(4, 3, strides=2, padding="same"),
            L.DepthwiseConv1D(3, depth_multiplier=2),
            L.SeparableConv1D(5, 3, padding="same"),
        ]
    )
    assert [w.shape for w in model.get_weights()] == [
        (3, 4, 3),
        (4,),
        (3, 4, 2),
        (8,),
        (3, 8, 1),
        (1, 8, 5),
        (5,),
    ]
    config = model.layers[0].get_config()
    assert config["kernel_size"] == (3,) and config["strides"] == (2,)  # tuples, as Keras
    assert model.layers[1].get_config()["dilation_rate"] == (1,)
    x = np.random.default_rng(0).standard_normal((4, 12, 3)).astype(np.float32)
    model.compile("adam", "mse")
    model.fit(x, np.zeros((4, 22, 5), np.float32), verbose=0)
    model.save(tmp_path / "twins.minicnn")
    loaded = load_model(tmp_path / "twins.minicnn")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    with pytest.raises(ValueError, match="expects input of shape \\(batch, steps, channels\\)"):
        Sequential([Input((4, 4, 1)), L.DepthwiseConv1D(3)])
