"""Keras' Wrapper (a user's own wrapper around a layer: its weights, penalties, config and
saving; TimeDistributed and SpectralNormalization are Wrappers too) and InputSpec (a layer's
declared inputs, checked on eager calls, in Sequential and in functional models, with
Keras' messages)."""

import numpy as np
import pytest
from test_models import toy_data

from minicnn import Input, Model, Sequential, load_model
from minicnn import layers as L


class Residual(L.Wrapper):
    """x + layer(x): a user's wrapper, as in Keras' guide."""

    def call(self, inputs):
        return inputs + self.layer(inputs)


def test_a_users_wrapper_shares_the_layers_weights_and_trains(tmp_path, device):
    x, y = toy_data(96)
    wrapped = L.Dense(64, activation="relu")
    model = Sequential(
        [Input((8, 8, 1)), L.Flatten(), Residual(wrapped), L.Dense(3, activation="softmax")]
    ).to(device)
    residual = model.layers[1]
    assert [id(w) for w in residual.weights] == [id(w) for w in wrapped.weights]
    assert residual.sample_output_shape == (64,) and residual.count_params() == 64 * 65
    model.compile("adam", "sparse_categorical_crossentropy")
    history = model.fit(x, y, epochs=8, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.8 * history.history["loss"][0]
    model.save(tmp_path / "residual.minicnn")
    again = load_model(tmp_path / "residual.minicnn", custom_objects={"Residual": Residual})
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5)
    assert again.layers[1].layer.get_config()["units"] == 64


def test_wrapped_penalties_count_and_the_plain_wrapper_goes_through():
    dense = L.Dense(3, kernel_regularizer="l2")
    wrapper = L.Wrapper(dense)
    out = wrapper(np.ones((2, 4), np.float32))
    np.testing.assert_allclose(out.data, dense(np.ones((2, 4), np.float32)).data)
    assert len(wrapper.losses) == 1
    steps = L.TimeDistributed(L.Dense(2, kernel_regularizer="l1"))
    steps(np.ones((2, 5, 3), np.float32))
    assert len(steps.losses) == 1
    rebuilt = L.Wrapper.from_config(wrapper.get_config())
    assert isinstance(rebuilt.layer, L.Dense) and rebuilt.layer.units == 3
    with pytest.raises(TypeError, match="wraps one layer of one input"):
        L.Wrapper(L.Add())


class Images(L.Layer):
    """A layer that declares its inputs: RGB images."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.input_spec = L.InputSpec(ndim=4, axes={-1: 3})

    def call(self, inputs):
        return inputs * 2.0


def test_input_spec_checks_eager_calls_with_kerass_messages():
    layer = Images(name="images")
    assert layer(np.ones((2, 4, 4, 3), np.float32)).shape == (2, 4, 4, 3)
    with pytest.raises(
        ValueError,
        match=r'Input 0 of layer "images" is incompatible with the layer: expected ndim=4, '
        r"found ndim=2\. Full shape received: \(2, 3\)",
    ):
        layer(np.ones((2, 3), np.float32))
    with pytest.raises(
        ValueError,
        match=r"expected axis -1 of input shape to have value 3, but received input with "
        r"shape \(2, 4, 4, 1\)",
    ):
        layer(np.ones((2, 4, 4, 1), np.float32))


def test_input_spec_checks_models_graphs():
    with pytest.raises(ValueError, match="expected axis -1 of input shape to have value 3"):
        Sequential([Input((8, 8, 1)), Images()])
    inputs = Input((8, 8))
    with pytest.raises(ValueError, match="expected ndim=4, found ndim=3"):
        Model(inputs, Images()(inputs))
    fine = Input((8, 8, 3))
    assert Model(fine, Images()(fine)).output_shape == (None, 8, 8, 3)


@pytest.mark.parametrize(
    "spec, shape, dtype, message",
    [
        (dict(min_ndim=3), (2, 5), "float32", "expected min_ndim=3, found ndim=2"),
        (dict(max_ndim=2), (2, 5, 1), "float32", "expected max_ndim=2, found ndim=3"),
        (
            dict(shape=(None, 5)),
            (2, 4),
            "float32",
            r"expected shape=\(None, 5\), found shape=\(2, 4\)",
        ),
        (dict(dtype="int32"), (2, 5), "float32", "expected dtype=int32, found dtype=float32"),
    ],
)
def test_each_kind_of_spec(spec, shape, dtype, message):
    layer = L.Identity()
    layer.input_spec = L.InputSpec(**spec)
    with pytest.raises(ValueError, match=message):
        layer(np.ones(shape, dtype))
    again = L.InputSpec.from_config(layer.input_spec.get_config())
    assert repr(again) == repr(layer.input_spec)


def test_a_list_of_specs_for_a_layer_of_several_inputs():
    add = L.Add(name="adder")
    add.input_spec = [L.InputSpec(ndim=2), L.InputSpec(ndim=2)]
    assert add([np.ones((2, 3), np.float32), np.ones((2, 3), np.float32)]).shape == (2, 3)
    with pytest.raises(ValueError, match='Layer "adder" expects 2 input\\(s\\), but it received 3'):
        add([np.ones((2, 3), np.float32)] * 3)


def test_state_inside_a_wrapper_or_pipeline_is_never_trained(device):
    # A layer's moving statistics (BatchNormalization) or adapted mean (Normalization) stay
    # out of the optimizer's reach when a TimeDistributed or a Pipeline holds the layer.
    rng = np.random.default_rng(5)
    x = rng.random((32, 3, 4, 4, 2)).astype(np.float32)
    y = rng.integers(0, 2, 32)
    norm = L.Normalization()
    norm.adapt(x.reshape(-1, 4, 4, 2))
    mean = norm.get_weights()[0]
    batch_norm = L.BatchNormalization()
    model = Sequential(
        [
            Input((3, 4, 4, 2)),
            L.TimeDistributed(L.Pipeline([norm])),
            L.TimeDistributed(batch_norm),
            L.Flatten(),
            L.Dense(2, activation="softmax"),
        ]
    ).to(device)
    assert [w.shape for w in model.trainable_weights] == [(2,), (2,), (96, 2), (2,)]
    assert len(model.non_trainable_weights) == 3 + 2
    model.compile("adamw", "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    np.testing.assert_array_equal(norm.get_weights()[0], mean)
    assert not np.allclose(batch_norm.get_weights()[2], 0)  # the moving mean moved by itself
    model.layers[1].trainable = False
    assert not batch_norm.trainable and model.trainable_weights[0].shape == (96, 2)
    model.layers[1].trainable = True
    assert [w.shape for w in model.layers[1].trainable_weights] == [(2,), (2,)]


def test_layer_scale_and_stochastic_depth(device):
    from gradcheck import check_gradients

    scale = L.LayerScale(0.5, 3)
    rng = np.random.default_rng(6)
    check_gradients(lambda t: scale(t), rng.standard_normal((2, 4, 3)), device=device)
    with pytest.raises(ValueError, match="scales 3 channels; its input has 4"):
        L.LayerScale(0.5, 3)(Input((4,)))
    drop = L.StochasticDepth(0.25, seed=3)
    x = np.ones((4000, 2, 3), np.float32)
    kept = host_array(drop(x, training=True))
    per_sample = kept.reshape(4000, -1)
    assert set(np.unique(per_sample)) <= {0.0, np.float32(1 / 0.75)}
    assert (per_sample == per_sample[:, :1]).all()  # whole samples dropped or kept
    assert abs((per_sample[:, 0] == 0).mean() - 0.25) < 0.03
    np.testing.assert_array_equal(host_array(drop(x)), x)  # inference: as it is
    again = L.StochasticDepth.from_config(drop.get_config())
    assert again.drop_path_rate == 0.25


def host_array(t):
    from minicnn import backend

    return backend.to_numpy(t.data)
