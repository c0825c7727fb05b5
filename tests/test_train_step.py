"""Customizing what fit and evaluate do, as in Keras 3 ("Customizing what happens in fit()"
with PyTorch): a Model subclass that replaces train_step or test_step, Keras' metrics list
with its loss tracker, compute_loss and compute_metrics, super().train_step, and a GAN's two
optimizers."""

import numpy as np
import pytest

import minicnn
from minicnn import Input, Model, Sequential, metrics, ops, optimizers
from minicnn import layers as L
from minicnn.training import unpack_x_y_sample_weight


class KerasGuideModel(Model):
    """The first example of Keras' guide, as it is written there."""

    def train_step(self, data):
        x, y = data
        self.zero_grad()
        y_pred = self(x, training=True)
        loss = self.compute_loss(y=y, y_pred=y_pred)
        loss.backward()
        trainable_weights = [v for v in self.trainable_weights]
        gradients = [v.value.grad for v in trainable_weights]
        self.optimizer.apply(gradients, trainable_weights)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}


def _regression(model_class=Model, seed=0):
    minicnn.set_random_seed(seed)
    inputs = Input((8,))
    outputs = L.Dense(1)(L.Dense(6, activation="tanh")(inputs))
    return model_class(inputs, outputs)


def _data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((96, 8)).astype(np.float32)
    y = (x[:, :1] - 0.5 * x[:, 1:2]).astype(np.float32)
    return x, y


def test_the_keras_guide_train_step_trains_as_fit_does(device):
    x, y = _data()
    custom = _regression(KerasGuideModel).to(device)
    custom.compile("adam", "mse", metrics=["mae"])
    assert custom.metrics_names == ["loss", "compile_metrics"]  # Keras 3's
    history = custom.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    plain = _regression().to(device)
    plain.compile("adam", "mse", metrics=["mae"])
    expected = plain.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    for key in ("loss", "mae"):
        np.testing.assert_allclose(history.history[key], expected.history[key], rtol=1e-5)
    for a, b in zip(custom.get_weights(), plain.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    # evaluate keeps fit's fast path: test_step is not replaced.
    np.testing.assert_allclose(custom.evaluate(x, y, verbose=0), plain.evaluate(x, y, verbose=0))


class TrackedModel(Model):
    """The guide's second example: its own metrics, listed by a metrics property, and its own
    loss; fit resets them at each epoch."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.loss_tracker = metrics.Mean(name="loss")
        self.mae_metric = metrics.MeanAbsoluteError(name="mae")

    @property
    def metrics(self):
        return [self.loss_tracker, self.mae_metric]

    def train_step(self, data):
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        self.zero_grad()
        y_pred = self(x, training=True)
        per_sample = ops.mean(ops.square(y_pred - y), axis=-1)
        if sample_weight is not None:
            per_sample = per_sample * sample_weight
        loss = ops.mean(per_sample)
        loss.backward()
        self.optimizer.apply([v.grad for v in self.trainable_weights], self.trainable_weights)
        self.loss_tracker.update_state(loss)
        self.mae_metric.update_state(y, y_pred)
        return {"loss": self.loss_tracker.result(), "mae": self.mae_metric.result()}

    def test_step(self, data):
        x, y = data
        y_pred = self(x, training=False)
        self.loss_tracker.update_state(ops.mean(ops.square(y_pred - y)))
        self.mae_metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}


def test_own_metrics_and_test_step(device):
    x, y = _data()
    model = _regression(TrackedModel).to(device)
    model.compile(optimizer=optimizers.SGD(0.05), loss=None)  # train_step computes it
    history = model.fit(
        x[:64], y[:64], batch_size=16, epochs=2, validation_data=(x[64:], y[64:]), verbose=0
    )
    assert list(history.history) == ["loss", "mae", "val_loss", "val_mae"]
    predicted = model.predict(x[64:], verbose=0)
    assert history.history["val_mae"][-1] == pytest.approx(np.abs(predicted - y[64:]).mean())
    logs = model.evaluate(x, y, batch_size=96, verbose=0, return_dict=True)
    everything = model.predict(x, verbose=0)
    assert logs == pytest.approx(
        {"loss": np.mean((everything - y) ** 2), "mae": np.abs(everything - y).mean()}, rel=1e-5
    )
    assert model.evaluate(x, y, batch_size=96, verbose=0) == pytest.approx(
        [logs["loss"], logs["mae"]]
    )
    weights = np.zeros(16, np.float32)
    before = model.get_weights()
    model.train_on_batch(x[:16], y[:16], sample_weight=weights)  # weight 0: no change
    for a, b in zip(before, model.get_weights(), strict=True):
        np.testing.assert_allclose(a, b)


class ClippedModel(Sequential):
    """super().train_step, then a constraint on the weights (Keras' own pattern)."""

    def train_step(self, data):
        logs = super().train_step(data)
        for w in self.trainable_weights:
            w.data[...] = w.data.clip(-0.05, 0.05)
        return logs


def test_super_train_step_keeps_keras_default_and_running_metrics(device):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, 5)).astype(np.float32)
    labels = rng.integers(0, 3, 64)
    minicnn.set_random_seed(0)
    model = ClippedModel([Input((5,)), L.Dense(3, activation="softmax")]).to(device)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, labels, batch_size=16, epochs=2, verbose=0)
    assert list(history.history) == ["accuracy", "loss"]  # by name, as Keras 3's History
    assert all(np.abs(w).max() <= 0.05 + 1e-7 for w in model.get_weights())
    # The epoch's logs are the running values over all its batches, as Keras reports them.
    assert 0.0 <= history.history["accuracy"][-1] <= 1.0
    assert model.train_on_batch(x[:16], labels[:16], return_dict=True).keys() == {
        "loss",
        "accuracy",
    }


class TinyGAN(Model):
    """Two models, two optimizers, one train_step: the discriminator learns to tell real
    samples from generated ones, then the generator learns to fool it."""

    def __init__(self, generator, discriminator):
        super().__init__()
        self.generator, self.discriminator = generator, discriminator
        self.d_tracker = metrics.Mean(name="d_loss")
        self.g_tracker = metrics.Mean(name="g_loss")

    def call(self, noise, training=False):
        return self.generator(noise, training=training)

    @property
    def metrics(self):
        return [self.d_tracker, self.g_tracker]

    def compile(self, d_optimizer, g_optimizer):
        super().compile()
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer
        self.bce = minicnn.losses.BinaryCrossentropy()

    def train_step(self, data):
        real = data[0] if isinstance(data, tuple) else data
        n = len(real)
        noise = minicnn.backend.rng().standard_normal((n, 2)).astype(np.float32)
        fake = self.generator(noise).data  # no gradient to the generator here
        both = np.concatenate([minicnn.backend.to_numpy(real), minicnn.backend.to_numpy(fake)])
        labels = np.concatenate([np.ones((n, 1)), np.zeros((n, 1))]).astype(np.float32)
        d_loss = self.bce(labels, self.discriminator(both, training=True))
        weights = self.discriminator.trainable_weights
        self.d_optimizer.apply(minicnn.grad(d_loss, weights), weights)
        fooled = self.discriminator(self.generator(noise, training=True), training=True)
        g_loss = self.bce(np.ones((n, 1), np.float32), fooled)
        weights = self.generator.trainable_weights
        self.g_optimizer.apply(minicnn.grad(g_loss, weights), weights)
        self.d_tracker.update_state(d_loss)
        self.g_tracker.update_state(g_loss)
        return {"d_loss": self.d_tracker.result(), "g_loss": self.g_tracker.result()}


def test_a_gan_trains_two_models_with_two_optimizers():
    minicnn.set_random_seed(0)
    generator = Sequential([Input((2,)), L.Dense(8, activation="relu"), L.Dense(2)])
    discriminator = Sequential(
        [Input((2,)), L.Dense(8, activation="relu"), L.Dense(1, activation="sigmoid")]
    )
    gan = TinyGAN(generator, discriminator)
    gan.compile(optimizers.Adam(0.01), optimizers.Adam(0.01))
    real = (np.random.default_rng(3).standard_normal((256, 2)) * 0.3 + 2.0).astype(np.float32)
    before = generator.predict(np.zeros((1, 2), np.float32), verbose=0)
    history = gan.fit(real, epochs=3, batch_size=32, verbose=0)
    assert list(history.history) == ["d_loss", "g_loss"]
    assert all(np.isfinite(history.history["d_loss"]))
    after = generator.predict(np.zeros((1, 2), np.float32), verbose=0)
    # The generator moved its samples towards the real ones around (2, 2).
    assert np.abs(after - 2.0).sum() < np.abs(before - 2.0).sum()


def test_a_train_step_must_return_logs():
    class Broken(Sequential):
        def train_step(self, data):
            return 1.0

    model = Broken([Input((2,)), L.Dense(1)])
    model.compile("sgd", "mse")
    with pytest.raises(TypeError, match="train_step must return a dict of logs"):
        model.fit(np.zeros((4, 2), np.float32), np.zeros((4, 1), np.float32), verbose=0)
    assert unpack_x_y_sample_weight((1, 2)) == (1, 2, None)
    assert unpack_x_y_sample_weight(5) == (5, None, None)


class MonteCarloDropout(Sequential):
    """predict_step replaced: dropout stays on, and the prediction averages 8 passes (a
    common use: uncertainty by Monte Carlo dropout)."""

    def predict_step(self, data):
        runs = [self(data, training=True) for _ in range(8)]
        return sum(r.data for r in runs) / len(runs)


def test_predict_step_can_be_replaced(device):
    minicnn.set_random_seed(0)
    model = MonteCarloDropout([Input((6,)), L.Dropout(0.5), L.Dense(2)]).to(device)
    x = np.ones((10, 6), np.float32)
    averaged = model.predict(x, batch_size=4, verbose=0)
    plain = Sequential.predict_step(model, minicnn.backend.to_device(x, model.device))
    assert averaged.shape == (10, 2)
    assert not np.allclose(averaged, minicnn.backend.to_numpy(plain.data))  # dropout was on


class TfKeras2Model(Model):
    """A train_step written for tf.keras 2 (compiled_loss, compiled_metrics), which Keras 3
    still runs, with a deprecation warning."""

    def train_step(self, data):
        x, y = data
        self.zero_grad()
        y_pred = self(x, training=True)
        loss = self.compiled_loss(y, y_pred, regularization_losses=self.losses)
        loss.backward()
        self.optimizer.apply([v.value.grad for v in self.trainable_weights], self.trainable_weights)
        self.compiled_metrics.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}


@pytest.mark.filterwarnings("ignore:`model.compiled_metrics\\(\\)` is deprecated")
def test_a_tf_keras_2_train_step_trains_as_fit_does():
    x, y = _data()
    custom = _regression(TfKeras2Model)
    custom.compile("adam", "mse", metrics=["mae"])
    with pytest.warns(UserWarning, match="compiled_loss\\(\\)` is deprecated"):
        history = custom.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    plain = _regression()
    plain.compile("adam", "mse", metrics=["mae"])
    expected = plain.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    for key in ("loss", "mae"):
        np.testing.assert_allclose(history.history[key], expected.history[key], rtol=1e-5)
    assert set(custom.compiled_metrics.result()) == {"mae"}


class SquaredErrorPlusSeven(Model):
    """Keras 3's way to change the loss alone: replace compute_loss (Keras' own train_step
    and test_step call it), with a Mean kept as an attribute, which Keras tracks and logs."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.offset_tracker = metrics.Mean(name="offset")

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        loss = ops.mean(ops.square(y_pred - y)) + 7.0
        self.offset_tracker.update_state(7.0)
        return loss


def test_a_replaced_compute_loss_is_what_fit_and_evaluate_use():
    """Keras 3.15 on this model: history {'loss': [...], 'offset': [7.0]}, metrics
    ['loss', 'offset']; minicnn's fast path left compute_loss uncalled before."""
    x, y = _data()
    model = _regression(SquaredErrorPlusSeven)
    model.compile(optimizers.SGD(0.05), "mae")  # the compiled loss is not the one used
    assert [m.name for m in model.metrics] == ["loss", "offset"]
    before = model.evaluate(x, y, verbose=0, return_dict=True)
    expected = float(np.mean((model.predict(x, verbose=0) - y) ** 2)) + 7.0
    assert before["loss"] == pytest.approx(expected, rel=1e-5)
    assert before["offset"] == pytest.approx(7.0)
    history = model.fit(x, y, batch_size=32, epochs=5, verbose=0)
    assert set(history.history) == {"loss", "offset"}
    assert history.history["loss"][-1] < history.history["loss"][0]  # squared error falls
    assert min(history.history["loss"]) > 7.0


def test_model_metrics_hold_kerass_compile_metrics():
    """As Keras 3.15: model.metrics is the loss tracker, one CompileMetrics named
    "compile_metrics" for the metrics given to compile, then each output's loss; its
    result() is a dict by name, which get_metrics_result and a train_step's logs take
    apart; a model compiled without metrics has the loss alone."""
    inputs = Input((3,))
    model = Model(inputs, [L.Dense(1, name="a")(inputs), L.Dense(2, name="b")(inputs)])
    model.compile("sgd", ["mse", "mse"], metrics=[["mae"], ["mse"]])
    assert model.metrics_names == ["loss", "compile_metrics", "a_loss", "b_loss"]
    compiled = model.metrics[1]
    assert type(compiled).__name__ == "CompileMetrics"
    assert [m.name for m in compiled.metrics] == ["a_mae", "b_mse"]
    x = np.ones((4, 3), np.float32)
    targets = [np.zeros((4, 1), np.float32), np.zeros((4, 2), np.float32)]
    outputs = model.predict(x, verbose=0)
    compiled.reset_state()
    compiled.update_state(targets, outputs)
    result = compiled.result()
    assert list(result) == ["a_mae", "b_mse"]
    assert float(result["a_mae"]) == pytest.approx(np.abs(outputs[0]).mean(), rel=1e-5)
    assert float(result["b_mse"]) == pytest.approx((outputs[1] ** 2).mean(), rel=1e-5)
    logs = model.get_metrics_result()
    assert {"a_mae", "b_mse"} <= set(logs) and "compile_metrics" not in logs
    compiled.reset_state()
    assert float(compiled.result()["a_mae"]) == 0.0
    with pytest.raises(NotImplementedError, match="no config"):
        compiled.get_config()
    plain = _regression()
    plain.compile("sgd", "mse")
    assert plain.metrics_names == ["loss"]
