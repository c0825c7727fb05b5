"""tf.keras' functional ``model.add_loss`` and ``model.add_metric`` on symbolic tensors, and
the values of a whole batch (a reduction over the batch axis) that they usually take."""

import numpy as np
import pytest

import minicnn
from minicnn import Input, Model, Sequential, load_model, ops
from minicnn import layers as L


def _data(n=48, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6)).astype(np.float32)
    return x, (x[:, :3] * 0.5).astype(np.float32)


def _model(seed=0):
    minicnn.utils.set_random_seed(seed)
    x = Input((6,), name="x")
    h = L.Dense(8, activation="tanh", name="hidden")(x)
    y = L.Dense(3, name="y")(h)
    return Model(x, y), h


def test_a_reduction_over_the_batch_is_one_value_for_the_whole_batch():
    x = Input((4, 3))
    total = ops.sum(x)
    assert total.batch_value and total.shape == () and ops.shape(total) == ()
    per_feature = ops.mean(x, axis=0)
    assert per_feature.batch_value and ops.shape(per_feature) == (4, 3)
    assert "over the batch" in repr(per_feature)
    # Arithmetic and ops go on with it; a tensor per sample stays one per sample.
    assert (-0.5 * total).batch_value
    centred = x - per_feature
    assert not centred.batch_value and ops.shape(centred) == (None, 4, 3)
    mean, variance = ops.moments(x, axes=[0])
    assert mean.batch_value and variance.batch_value and ops.shape(variance) == (4, 3)
    assert ops.mean(x, axis=0)[1].shape == (3,)


def test_a_batch_value_cannot_go_into_a_layer_or_be_an_output():
    x = Input((4,))
    with pytest.raises(ValueError, match="one value for the whole batch"):
        L.Dense(2)(ops.mean(x, axis=0))
    with pytest.raises(ValueError, match="add it with model.add_loss"):
        Model(x, ops.mean(x))
    with pytest.raises(ValueError, match="trailing axes"):
        x + ops.mean(Input((2, 4)), axis=0)


def test_an_added_loss_counts_in_the_loss_evaluate_reports():
    model, hidden = _model()
    model.add_loss(0.1 * ops.mean(ops.square(hidden)))
    model.compile("adam", loss="mse")
    x, y = _data()
    reported = model.evaluate(x, y, batch_size=len(x), verbose=0)
    h = Model(model.input, hidden).predict(x, verbose=0)
    expected = np.mean((model.predict(x, verbose=0) - y) ** 2) + 0.1 * np.mean(h**2)
    np.testing.assert_allclose(reported, expected, rtol=1e-5)
    assert len(model.losses) == 1  # the last pass's added loss, as Keras' model.losses


def test_a_loss_of_several_values_adds_their_sum():
    model, hidden = _model()
    model.add_loss(ops.sum(ops.square(hidden), axis=-1))  # one per sample
    model.compile("sgd", loss="mse")
    x, y = _data()
    reported = model.evaluate(x, y, batch_size=len(x), verbose=0)
    h = Model(model.input, hidden).predict(x, verbose=0)
    expected = np.mean((model.predict(x, verbose=0) - y) ** 2) + np.sum(h**2)
    np.testing.assert_allclose(reported, expected, rtol=1e-5)


def test_compile_without_a_loss_trains_on_the_added_losses_alone(device):
    model, _ = _model()
    model.to(device)
    model.add_loss(ops.mean(ops.square(model.output - 1.0)))
    model.compile(minicnn.optimizers.Adam(0.05))  # tf.keras: compile(optimizer), fit(x)
    x, _ = _data()
    before = model.evaluate(x, verbose=0)
    history = model.fit(x, epochs=30, batch_size=16, verbose=0, validation_data=(x, None))
    assert set(history.history) == {"loss", "val_loss"}
    after = model.evaluate(x, verbose=0)
    assert after < 0.1 * before
    np.testing.assert_allclose(model.predict(x, verbose=0), 1.0, atol=0.3)


def test_an_added_metric_is_logged_by_its_name():
    model, hidden = _model()
    activity = ops.mean(ops.abs(hidden))
    model.add_metric(activity, name="activity")
    model.compile("adam", loss="mse", metrics=["mae"])
    x, y = _data()
    history = model.fit(x, y, epochs=2, batch_size=16, verbose=0, validation_split=0.25)
    assert set(history.history) == {
        "loss",
        "mae",
        "activity",
        "val_loss",
        "val_mae",
        "val_activity",
    }
    logs = model.evaluate(x, y, batch_size=len(x), verbose=0, return_dict=True)
    h = Model(model.input, hidden).predict(x, verbose=0)
    np.testing.assert_allclose(logs["activity"], np.mean(np.abs(h)), rtol=1e-5)
    # A metric adds nothing to the loss.
    np.testing.assert_allclose(
        logs["loss"], np.mean((model.predict(x, verbose=0) - y) ** 2), rtol=1e-5
    )
    assert "activity" in model.metrics_names


def test_added_losses_and_metrics_are_saved_with_the_model(tmp_path):
    model, hidden = _model()
    model.add_loss(0.01 * ops.sum(ops.square(hidden)))
    model.add_metric(ops.max(hidden), name="peak")
    model.compile("adam", loss="mse")
    x, y = _data()
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    model.save(tmp_path / "added.keras")
    loaded = load_model(tmp_path / "added.keras")
    assert loaded.get_config()["added_losses"] == model.get_config()["added_losses"]
    np.testing.assert_allclose(
        loaded.evaluate(x, y, verbose=0), model.evaluate(x, y, verbose=0), rtol=1e-6
    )


def test_the_functional_vae_of_keras_subclassing_guide_trains():
    minicnn.utils.set_random_seed(1)
    original_dim, intermediate_dim, latent_dim = 20, 16, 4

    class Sampling(L.Layer):
        def call(self, inputs):
            z_mean, z_log_var = inputs
            epsilon = minicnn.random.normal(shape=ops.shape(z_mean))
            return z_mean + ops.exp(0.5 * z_log_var) * epsilon

    original_inputs = Input(shape=(original_dim,), name="encoder_input")
    x = L.Dense(intermediate_dim, activation="relu")(original_inputs)
    z_mean = L.Dense(latent_dim, name="z_mean")(x)
    z_log_var = L.Dense(latent_dim, name="z_log_var")(x)
    z = Sampling()((z_mean, z_log_var))
    latent_inputs = Input(shape=(latent_dim,), name="z_sampling")
    x = L.Dense(intermediate_dim, activation="relu")(latent_inputs)
    outputs = L.Dense(original_dim, activation="sigmoid")(x)
    decoder = Model(inputs=latent_inputs, outputs=outputs, name="decoder")
    vae = Model(inputs=original_inputs, outputs=decoder(z), name="vae")
    kl_loss = -0.5 * ops.mean(z_log_var - ops.square(z_mean) - ops.exp(z_log_var) + 1)
    vae.add_loss(kl_loss)
    vae.compile(minicnn.optimizers.Adam(learning_rate=1e-2), loss=minicnn.losses.MeanSquaredError())
    data = (np.random.default_rng(0).random((256, original_dim)) > 0.5).astype(np.float32)
    history = vae.fit(data, data, epochs=4, batch_size=32, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < losses[0]


def test_add_loss_refuses_what_it_cannot_compute():
    model, hidden = _model()
    with pytest.raises(ValueError, match="computed from the model's inputs alone"):
        model.add_loss(ops.mean(Input((6,))))
    with pytest.raises(ValueError, match="logs 'loss' already"):
        model.add_metric(ops.mean(hidden), name="loss")
    with pytest.raises(ValueError, match="aggregation"):
        model.add_metric(ops.mean(hidden), aggregation="sum")
    sequential = Sequential([Input((6,)), L.Dense(2)])
    with pytest.raises(ValueError, match="functional model"):
        sequential.add_loss(ops.mean(hidden))
    with pytest.raises(ValueError, match="no loss to compute"):
        bare, _ = _model()
        bare.compile("adam", loss=None)
        bare.compute_loss(None, None, bare(np.ones((2, 6), np.float32)))


def test_a_summary_shows_a_batch_value_by_its_own_shape(capsys):
    model, hidden = _model()
    model.add_loss(ops.mean(ops.square(hidden), axis=0))
    model.summary()
    lines = [line for line in capsys.readouterr().out.splitlines() if "mean (Mean)" in line]
    assert lines and "(8,)" in lines[0] and "None" not in lines[0]


class LogisticEndpoint(L.Layer):
    """Keras' guide "Training & evaluation with the built-in methods": a layer that takes
    targets, logits and sample weights one by one, adds the loss and updates a metric."""

    def __init__(self, name=None):
        super().__init__(name=name)
        self.loss_fn = minicnn.losses.BinaryCrossentropy(from_logits=True)
        self.accuracy_fn = minicnn.metrics.BinaryAccuracy()

    def call(self, targets, logits, sample_weights=None):
        loss = self.loss_fn(targets, logits, sample_weights)
        self.add_loss(loss)
        self.accuracy_fn.update_state(targets, logits, sample_weights)
        return ops.softmax(logits)


def test_a_layer_of_several_tensors_adds_the_loss_compile_without_one_trains_on(tmp_path):
    minicnn.utils.set_random_seed(0)
    inputs = Input(shape=(3,), name="inputs")
    targets = Input(shape=(10,), name="targets")
    logits = L.Dense(10)(inputs)
    sample_weight = Input(shape=(1,), name="sample_weight")
    preds = LogisticEndpoint()(targets, logits, sample_weight)
    model = Model([inputs, targets, sample_weight], preds)
    rng = np.random.default_rng(0)
    data = {
        "inputs": rng.random((200, 3)).astype(np.float32),
        "targets": (rng.random((200, 10)) > 0.5).astype(np.float32),
        "sample_weight": rng.random((200, 1)).astype(np.float32),
    }
    model.compile(minicnn.optimizers.Adam(1e-2))  # no loss: the layer's
    history = model.fit(data, epochs=3, batch_size=50, verbose=0)
    assert set(history.history) == {"loss", "binary_accuracy"}
    assert history.history["loss"][-1] < history.history["loss"][0]
    logs = model.evaluate(data, batch_size=200, verbose=0, return_dict=True)
    z = Model(inputs, logits).predict(data["inputs"], verbose=0).astype(np.float64)
    t, w = data["targets"], data["sample_weight"][:, 0]
    per_sample = (np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))).mean(-1)
    np.testing.assert_allclose(logs["loss"], (w * per_sample).sum() / 200, rtol=1e-5)
    hits = ((z > 0.5) == (t > 0.5)).mean(-1)  # Keras thresholds what it is given at 0.5
    np.testing.assert_allclose(logs["binary_accuracy"], (w * hits).sum() / w.sum(), rtol=1e-5)


def test_a_layer_of_several_tensors_takes_the_later_ones_by_name():
    targets, logits, weights = Input((4,)), Input((4,)), Input((1,))
    endpoint = LogisticEndpoint()
    preds = endpoint(targets, logits, sample_weights=weights)
    model = Model([targets, logits, weights], preds)
    assert len(model.inputs) == 3
    rng = np.random.default_rng(1)
    t, z = (rng.random((8, 4)) > 0.5).astype(np.float32), rng.normal(size=(8, 4))
    out = model.predict([t, z.astype(np.float32), np.ones((8, 1), np.float32)], verbose=0)
    np.testing.assert_allclose(out, np.exp(z) / np.exp(z).sum(-1, keepdims=True), rtol=1e-5)


class OptionalEndpoint(L.Layer):
    """keras.io's endpoint layer pattern (Keras 3): logits, then targets and sample weights
    that may be left out (the inference model's call)."""

    def call(self, logits, targets=None, sample_weight=None):
        if targets is not None:
            weight = 1.0 if sample_weight is None else sample_weight
            self.add_loss(ops.mean(ops.square(targets - logits) * weight))
        return ops.sigmoid(logits)


def test_a_layer_of_one_tensor_and_optional_ones_takes_them_as_keras_does(tmp_path):
    logits_in, targets, weights = Input((2,)), Input((2,)), Input((1,))
    full = OptionalEndpoint()
    model = Model([logits_in, targets, weights], full(logits_in, targets, weights))
    assert full.takes_list
    lines = []
    model.summary(print_fn=lines.append)
    assert "│ input_layer_2[0]… │" in lines[0]  # connected to its three inputs, as in Keras
    z, t = np.array([[0.0, 1.0]], np.float32), np.array([[1.0, 1.0]], np.float32)
    w = np.array([[2.0]], np.float32)
    model([z, t, w])
    assert float(model.losses[0]) == pytest.approx(2 * np.mean((t - z) ** 2))
    # Later tensors by name, one in the middle left out: each reaches its parameter.
    skipping = OptionalEndpoint()
    only_weights = Model([logits_in, weights], skipping(logits_in, sample_weight=weights))
    only_weights([z, w])
    assert only_weights.losses == []  # targets None: no loss, as the call says
    by_name = OptionalEndpoint()
    named = Model([logits_in, targets], by_name(logits=logits_in, targets=targets))
    named([z, t])
    assert float(named.losses[0]) == pytest.approx(np.mean((t - z) ** 2))
    # One tensor: an ordinary layer, built for it, that refuses more later.
    alone = OptionalEndpoint()
    inference = Model(logits_in, alone(logits_in, targets=None))
    np.testing.assert_allclose(inference.predict(z, verbose=0), 1 / (1 + np.exp(-z)), rtol=1e-6)
    assert not alone.takes_list and inference.losses == []
    with pytest.raises(TypeError, match="was built for one input tensor"):
        alone(logits_in, targets)
    with pytest.raises(TypeError, match="called without its input \\('logits'\\)"):
        OptionalEndpoint()(targets=targets)
    # Saved and loaded, the graph calls it with its three tensors again.
    model.save(tmp_path / "endpoint.keras")
    loaded = minicnn.saving.load_model(
        tmp_path / "endpoint.keras", custom_objects={"OptionalEndpoint": OptionalEndpoint}
    )
    loaded([z, t, w])
    assert float(loaded.losses[0]) == pytest.approx(float(model.losses[0]))
