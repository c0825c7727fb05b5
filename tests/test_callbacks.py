"""fit's callbacks and validation_split, as Keras has them."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from test_models import compiled, small_cnn, toy_data

import minicnn
from minicnn import backend, load_model
from minicnn.callbacks import (
    BackupAndRestore,
    Callback,
    CSVLogger,
    EarlyStopping,
    LambdaCallback,
    LearningRateScheduler,
    ModelCheckpoint,
    ReduceLROnPlateau,
    TerminateOnNaN,
)
from minicnn.saving import ModelFileError


class ScriptedScore(Callback):
    """Puts a chosen value under ``score`` in each epoch's logs (callbacks after it see it, as
    in Keras, where callbacks share the logs dict), and keeps each epoch's weights."""

    def __init__(self, scores):
        super().__init__()
        self.scores = list(scores)
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        logs["score"] = self.scores[epoch]
        self.weights.append(self.model.get_weights())


class Recorder(Callback):
    def __init__(self):
        super().__init__()
        self.calls = []

    def on_train_begin(self, logs=None):
        self.calls.append(("train_begin",))

    def on_epoch_begin(self, epoch, logs=None):
        self.calls.append(("epoch_begin", epoch))

    def on_train_batch_begin(self, batch, logs=None):
        self.calls.append(("batch_begin", batch))

    def on_train_batch_end(self, batch, logs=None):
        self.calls.append(("batch_end", batch, dict(logs)))

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append(("epoch_end", epoch, dict(logs)))

    def on_train_end(self, logs=None):
        self.calls.append(("train_end", dict(logs)))


def fitted(callbacks, epochs=3, lr=0.01, device="cpu", **kwargs):
    x, y = toy_data(48)
    model = compiled(small_cnn().to(device), lr=lr)
    history = model.fit(
        x, y, batch_size=16, epochs=epochs, verbose=0, callbacks=callbacks, **kwargs
    )
    return model, history


def test_hooks_come_in_keras_order_with_the_logs_fit_records():
    recorder = Recorder()
    x, y = toy_data(48)
    model = compiled(small_cnn())
    history = model.fit(
        x, y, batch_size=16, epochs=2, verbose=0, validation_data=(x, y), callbacks=[recorder]
    )
    names = [c[0] for c in recorder.calls]
    epoch = ["epoch_begin"] + ["batch_begin", "batch_end"] * 3 + ["epoch_end"]
    assert names == ["train_begin", *epoch, *epoch, "train_end"]
    assert recorder.params == {"epochs": 2, "steps": 3, "verbose": 0}
    assert recorder.model is model
    epoch_ends = [c for c in recorder.calls if c[0] == "epoch_end"]
    for epoch_index, (_, number, logs) in enumerate(epoch_ends):
        assert number == epoch_index
        assert logs == {k: v[epoch_index] for k, v in history.history.items()}
    # Batch logs are the running means of the epoch so far; the last equals the epoch's.
    last_batch = [c for c in recorder.calls if c[0] == "batch_end"][2][2]
    assert last_batch == pytest.approx(
        {"loss": history.history["loss"][0], "accuracy": history.history["accuracy"][0]}
    )
    assert recorder.calls[-1][1] == epoch_ends[-1][2]


def test_early_stopping_stops_after_patience_epochs_without_improvement():
    # No epoch can lower the loss by 10, so only the first (against infinity) improves.
    stop = EarlyStopping(monitor="loss", min_delta=10, patience=2)
    _, history = fitted([stop], epochs=10)
    assert len(history.history["loss"]) == 3  # Keras: patience + 1 epochs
    assert stop.stopped_epoch == 2


def test_early_stopping_restores_the_weights_of_the_best_epoch(device, capsys):
    score = ScriptedScore([1.0, 3.0, 2.0, 2.5, 2.9, 9.0])
    stop = EarlyStopping(
        monitor="score", mode="max", patience=3, restore_best_weights=True, verbose=1
    )
    model, history = fitted([score, stop], epochs=6, device=device)
    assert len(history.epoch) == 5
    assert stop.best_epoch == 1 and stop.best == 3.0
    for restored, best in zip(model.get_weights(), score.weights[1], strict=True):
        np.testing.assert_array_equal(restored, best)
    assert not np.array_equal(model.get_weights()[0], score.weights[4][0])
    out = capsys.readouterr().out
    assert "Epoch 5: early stopping" in out
    assert "Restoring model weights from the end of the best epoch: 2." in out


def test_early_stopping_min_delta_baseline_and_start_from_epoch():
    # An improvement smaller than min_delta counts as none.
    stop = EarlyStopping(monitor="score", mode="min", min_delta=0.5, patience=1)
    _, history = fitted([ScriptedScore([5.0, 4.8, 4.7, 1.0]), stop], epochs=4)
    assert len(history.epoch) == 2
    # An epoch that improves on the best but not on the baseline leaves patience running.
    scores = [5.0, 4.0, 4.0, 4.0, 4.0]
    stop = EarlyStopping(monitor="score", mode="min", baseline=1.0, patience=2)
    _, history = fitted([ScriptedScore(scores), stop], epochs=5)
    assert len(history.epoch) == 3
    stop = EarlyStopping(monitor="score", mode="min", patience=2)
    _, history = fitted([ScriptedScore(scores), stop], epochs=5)
    assert len(history.epoch) == 4
    # The first epochs are not watched.
    stop = EarlyStopping(monitor="score", mode="min", patience=0, start_from_epoch=2)
    _, history = fitted([ScriptedScore([1.0, 2.0, 3.0, 4.0, 5.0]), stop], epochs=5)
    assert len(history.epoch) == 4


def test_one_early_stopping_serves_several_fits():
    stop = EarlyStopping(monitor="score", mode="min", patience=1)
    for _ in range(2):
        _, history = fitted([ScriptedScore([1.0, 2.0, 3.0]), stop], epochs=3)
        assert len(history.epoch) == 2


def test_monitor_problems_are_named():
    # As Keras: 'auto' asks the model's metrics at the first epoch's end.
    with pytest.raises(ValueError, match="received monitor=f1, but Keras isn't able to"):
        fitted([EarlyStopping(monitor="f1")], epochs=1)
    with pytest.raises(ValueError, match="mode must be"):
        ModelCheckpoint("m.npz", mode="lowest")
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(patience=-1)
    with pytest.raises(ValueError, match="save_freq"):
        ModelCheckpoint("m.npz", save_freq=0)
    with pytest.raises(TypeError, match="Callback instances"):
        fitted([lambda epoch, logs: None], epochs=1)
    # Watching a value no epoch logs warns with what there is, and does not stop training.
    with pytest.warns(RuntimeWarning, match="'val_loss', which is not in the logs; they have"):
        _, history = fitted([EarlyStopping()], epochs=2)
    assert len(history.epoch) == 2


def test_auto_mode_follows_the_direction_of_the_compiled_metric(tmp_path):
    """Keras' MonitorCallback: 'loss' goes down; a metric of compile goes its own way (an
    accuracy up, an error or a wrapped loss down), whatever its name ('acc', 'w')."""
    x, labels = toy_data(48)
    y = np.eye(3, dtype=np.float32)[labels]
    model = small_cnn()
    wrapped = minicnn.metrics.MeanMetricWrapper(minicnn.losses.mean_squared_error, name="w")
    model.compile("adam", "categorical_crossentropy", metrics=["acc", "mae", wrapped])
    watchers = {
        "val_acc": EarlyStopping("val_acc", patience=5),
        "val_loss": ReduceLROnPlateau("val_loss", patience=5),
        "mae": ModelCheckpoint(
            tmp_path / "m.weights.h5", "mae", save_best_only=True, save_weights_only=True
        ),
        "w": EarlyStopping("w", patience=5),
    }
    model.fit(x, y, epochs=1, verbose=0, validation_data=(x, y), callbacks=list(watchers.values()))
    modes = {name: callback._watch.mode for name, callback in watchers.items()}
    assert modes == {"val_acc": "max", "val_loss": "min", "mae": "min", "w": "min"}
    assert minicnn.metrics.AUC()._direction == "up" and minicnn.metrics.Mean()._direction is None


def test_a_callback_can_stop_training_in_the_middle_of_an_epoch():
    def stop_after_second_step(batch, logs):
        if batch == 1:
            stop.model.stop_training = True

    stop = LambdaCallback(on_train_batch_end=stop_after_second_step)
    recorder = Recorder()
    _, history = fitted([stop, recorder], epochs=3)
    assert len(history.epoch) == 1
    assert [c[1] for c in recorder.calls if c[0] == "batch_end"] == [0, 1]
    assert recorder.calls[-2][0] == "epoch_end"


def test_a_scheduled_learning_rate_is_the_one_the_optimizer_uses(device):
    backend.set_random_seed(2)
    constant, _ = fitted([LearningRateScheduler(lambda epoch, rate: 0.02)], device=device)
    backend.set_random_seed(2)
    plain, _ = fitted([], lr=0.02, device=device)
    for a, b in zip(constant.get_weights(), plain.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    halving = LearningRateScheduler(lambda epoch, rate: rate if epoch == 0 else rate / 2)
    _, history = fitted([halving], epochs=3)
    assert history.history["learning_rate"] == pytest.approx([0.01, 0.005, 0.0025])
    # Keras' older one-argument form.
    _, history = fitted([LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1))], epochs=2)
    assert history.history["learning_rate"] == pytest.approx([0.1, 0.05])
    with pytest.raises(ValueError, match="LearningRateScheduler got learning rate None"):
        fitted([LearningRateScheduler(lambda epoch, rate: None)], epochs=1)


def test_reduce_lr_on_plateau_with_patience_cooldown_and_floor(capsys):
    flat = ScriptedScore([1.0] * 6)
    reduce = ReduceLROnPlateau("score", factor=0.5, patience=2, cooldown=1, mode="min", verbose=1)
    _, history = fitted([flat, reduce], epochs=6)
    # Logs hold the rate the epoch trained with; the cut comes after.
    assert history.history["learning_rate"] == pytest.approx([0.01] * 3 + [0.005] * 2 + [0.0025])
    # The rate is a float32 variable's, as in Keras, which shows all its digits.
    printed = capsys.readouterr().out
    assert "Epoch 3: ReduceLROnPlateau reducing learning rate to 0.004999999888241291." in printed
    reduce = ReduceLROnPlateau("score", factor=0.1, patience=1, min_lr=0.004, mode="min")
    model, history = fitted([ScriptedScore([1.0] * 4), reduce], epochs=4)
    assert history.history["learning_rate"] == pytest.approx([0.01, 0.01, 0.004, 0.004])
    assert model.optimizer.learning_rate == pytest.approx(0.004)
    # An improvement by more than min_delta resets the wait: the only cut is after epoch 6.
    reduce = ReduceLROnPlateau("score", factor=0.5, patience=2, mode="min")
    model, history = fitted([ScriptedScore([5.0, 4.0, 4.5, 3.0, 3.5, 3.9]), reduce], epochs=6)
    assert history.history["learning_rate"] == pytest.approx([0.01] * 6)
    assert model.optimizer.learning_rate == pytest.approx(0.005)
    with pytest.raises(ValueError, match="factor must be in"):
        ReduceLROnPlateau(factor=1.0)
    with pytest.raises(ValueError, match="ReduceLROnPlateau cooldown must be an int >= 0"):
        ReduceLROnPlateau(cooldown=-1)
    with pytest.raises(ValueError, match="min_lr must be >= 0"):
        ReduceLROnPlateau(min_lr=-1e-3)


def test_model_checkpoint_saves_each_epoch_under_a_formatted_name(tmp_path):
    x, y = toy_data(48)
    template = str(tmp_path / "ckpt" / "model-{epoch:02d}-{val_loss:.3f}.npz")
    saved = {}

    class KeepPredictions(Callback):
        def on_epoch_end(self, epoch, logs=None):
            saved[epoch] = (logs["val_loss"], self.model.predict(x, verbose=0))

    model = compiled(small_cnn())
    model.fit(
        x,
        y,
        batch_size=16,
        epochs=3,
        verbose=0,
        validation_data=(x, y),
        callbacks=[ModelCheckpoint(template), KeepPredictions()],
    )
    files = sorted(p.name for p in (tmp_path / "ckpt").iterdir())
    assert files == [f"model-{e + 1:02d}-{saved[e][0]:.3f}.npz" for e in range(3)]
    first = load_model(tmp_path / "ckpt" / files[0])
    np.testing.assert_allclose(first.predict(x, verbose=0), saved[0][1], rtol=1e-6)


def test_model_checkpoint_best_only_keeps_the_best_epoch(tmp_path, capsys):
    path = tmp_path / "best.npz"
    score = ScriptedScore([3.0, 1.0, 2.0])
    best = ModelCheckpoint(path, monitor="score", mode="min", save_best_only=True, verbose=1)
    model, _ = fitted([score, best], epochs=3)
    loaded = load_model(path)
    for kept, wanted in zip(loaded.get_weights(), score.weights[1], strict=True):
        np.testing.assert_array_equal(kept, wanted)
    out = capsys.readouterr().out
    assert "Epoch 1: score improved from None to 3.00000, saving model to" in out
    assert "Epoch 3: score did not improve from 1.00000" in out
    assert f"\nEpoch 2: finished saving model to {path}\n" in out  # Keras 3.15's lines
    # A threshold that no epoch beats means no file at all.
    path.unlink()
    threshold = ModelCheckpoint(
        path, monitor="score", mode="min", save_best_only=True, initial_value_threshold=0.5
    )
    fitted([ScriptedScore([3.0, 1.0]), threshold], epochs=2)
    assert not path.exists()


def test_model_checkpoint_weights_only_and_every_n_steps(tmp_path):
    path = tmp_path / "w-{epoch}-{batch}.weights.npz"
    model, _ = fitted([ModelCheckpoint(path, save_weights_only=True, save_freq=2)], epochs=2)
    # 3 steps an epoch, a save every 2 steps: after steps 2, 4 and 6 of the run.
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["w-1-2.weights.npz", "w-2-1.weights.npz", "w-2-3.weights.npz"]
    other = small_cnn()
    other.build((None, 8, 8, 1))
    other.load_weights(tmp_path / "w-2-1.weights.npz")
    with pytest.raises(ModelFileError, match="not a minicnn model file"):
        load_model(tmp_path / "w-2-1.weights.npz")


def test_model_checkpoint_path_problems_are_named(tmp_path):
    with pytest.raises(KeyError, match="names 'val_loss', which is none of accuracy, epoch"):
        fitted([ModelCheckpoint(tmp_path / "{val_loss}.npz")], epochs=1)
    (tmp_path / "taken").mkdir()
    with pytest.raises(IsADirectoryError, match="existing directory"):
        fitted([ModelCheckpoint(tmp_path / "taken")], epochs=1)


def test_csv_logger_writes_a_row_per_epoch_and_can_append(tmp_path):
    path = tmp_path / "log.csv"
    x, y = toy_data(48)
    model = compiled(small_cnn())
    history = model.fit(
        x, y, epochs=2, verbose=0, validation_data=(x, y), callbacks=[CSVLogger(path)]
    )
    model.fit(
        x, y, epochs=1, verbose=0, validation_data=(x, y), callbacks=[CSVLogger(path, append=True)]
    )
    rows = list(csv.reader(path.open()))
    assert rows[0] == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert [r[0] for r in rows[1:]] == ["0", "1", "0"]
    assert float(rows[2][2]) == history.history["loss"][1]
    # Without append, a new fit starts the file again.
    model.fit(x, y, epochs=1, verbose=0, callbacks=[CSVLogger(path)])
    assert list(csv.reader(path.open())) == [
        ["epoch", "accuracy", "loss"],
        ["0", repr(model.history.history["accuracy"][0]), repr(model.history.history["loss"][0])],
    ]


def test_validation_split_holds_out_the_last_samples():
    x, y = toy_data(60)
    backend.set_random_seed(1)
    split = compiled(small_cnn()).fit(x, y, epochs=1, verbose=0, validation_split=0.25)
    backend.set_random_seed(1)
    explicit = compiled(small_cnn()).fit(
        x[:45], y[:45], epochs=1, verbose=0, validation_data=(x[45:], y[45:])
    )
    assert split.history == explicit.history
    assert split.params["steps"] == 2  # 45 training samples at the default batch of 32
    # As in Keras, validation_data wins: nothing is held out of the training data.
    both = compiled(small_cnn()).fit(
        x,
        y,
        batch_size=16,
        epochs=1,
        verbose=0,
        validation_split=0.25,
        validation_data=(x[:8], y[:8]),
    )
    assert both.params["steps"] == 4  # all 60 samples (45 would make 3 steps)


@pytest.mark.parametrize(
    "fraction, match",
    [(1.0, r"must be in \[0, 1\)"), (-0.1, r"must be in \[0, 1\)"), (0.99, "leaves no")],
)
def test_bad_validation_split_is_named(fraction, match):
    x, y = toy_data(48)
    with pytest.raises(ValueError, match=match):
        compiled(small_cnn()).fit(x, y, epochs=1, verbose=0, validation_split=fraction)


def test_weights_and_checkpoints_match_layers_by_config_not_name(tmp_path):
    model = small_cnn()
    model.build((None, 8, 8, 1))
    model.save_weights(tmp_path / "w.npz")
    model.save(tmp_path / "m.npz")
    # A model file's weights load too, and layer names may differ (conv2d_2 for conv2d).
    same = small_cnn()
    same.build((None, 8, 8, 1))
    same.load_weights(tmp_path / "m.npz")
    same.load_weights(tmp_path / "w.npz")
    for a, b in zip(same.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    from minicnn import Input, Sequential
    from minicnn import layers as L

    # A checkpoint resumes into a model whose layers count their names on from earlier ones.
    x, y = toy_data(48)
    compiled(same).fit(x, y, epochs=1, verbose=0, checkpoint=tmp_path / "run.npz")
    resumed = compiled(small_cnn())
    assert resumed.layers[0].name != same.layers[0].name
    history = resumed.fit(x, y, epochs=2, verbose=0, checkpoint=tmp_path / "run.npz")
    assert history.epoch == [0, 1]

    other = Sequential([Input((8, 8, 1)), L.Flatten(), L.Dense(3)])
    with pytest.raises(ModelFileError, match="another architecture"):
        other.load_weights(tmp_path / "w.npz")
    # As in Keras, weights go into layers of other settings when their shapes fit...
    dense = Sequential([Input((8, 8, 1)), L.Flatten(), L.Dense(3, activation="softmax")])
    dense.save_weights(tmp_path / "dense.npz")
    other.load_weights(tmp_path / "dense.npz")
    np.testing.assert_array_equal(other.get_weights()[0], dense.get_weights()[0])
    # ...and not when they do not.
    wider = Sequential([Input((8, 8, 1)), L.Flatten(), L.Dense(4)])
    with pytest.raises(ModelFileError, match="do not fit the model"):
        wider.load_weights(tmp_path / "dense.npz")


def test_callbacks_read_nothing_back_from_the_gpu_unless_they_look(gpu):
    """On a GPU a step does not wait for the device; callbacks that ignore batch logs must
    keep it so. Only the epoch-end reads remain."""
    if gpu.__class__.__name__ != "FakeCupy":
        pytest.skip("counting transfers needs the emulated backend")
    import fake_cupy

    x, y = toy_data(96)
    counts = []
    ignoring_batches = [
        EarlyStopping(monitor="loss"),
        Callback(),
        LambdaCallback(on_train_batch_end=lambda batch, logs: None),
    ]
    for callbacks in ([], ignoring_batches):
        model = compiled(small_cnn().to("gpu"))
        x_dev, y_dev = backend.to_device(x, "gpu"), backend.to_device(y, "gpu")
        fake_cupy.traffic.clear()
        model.fit(x_dev, y_dev, batch_size=16, epochs=2, verbose=0, callbacks=callbacks)
        counts.append(dict(fake_cupy.traffic))
    assert counts[0]["d2h"] == counts[1]["d2h"], counts
    # A callback that reads the batch logs makes each step wait, as it must.
    fake_cupy.traffic.clear()
    model.fit(x_dev, y_dev, batch_size=16, epochs=2, verbose=0, callbacks=[Recorder()])
    assert fake_cupy.traffic["d2h"] >= counts[0]["d2h"] + 2 * 6, fake_cupy.traffic


def test_callback_messages_come_before_the_epochs_progress_line(capsys):
    x, y = toy_data(48)
    model = compiled(small_cnn())
    reduce = ReduceLROnPlateau("loss", patience=0, min_delta=10, verbose=1)
    model.fit(x, y, batch_size=16, epochs=2, verbose=1, callbacks=[reduce])
    lines = capsys.readouterr().out.splitlines()
    # Keras 3: Epoch 2/2, then the callback's message, then the line with learning_rate.
    message = lines.index(
        "Epoch 2: ReduceLROnPlateau reducing learning rate to 0.0009999999776482583."
    )
    assert lines[message - 2] == "Epoch 2/2"
    assert lines[message + 1].startswith("3/3 ━")
    assert lines[message + 1].endswith("- learning_rate: 0.0100")


def test_a_resumed_checkpoint_goes_on_from_the_rate_a_callback_set(tmp_path):
    x, y = toy_data(48)

    def run(epochs, **kwargs):
        backend.clear_session()
        backend.set_random_seed(3)
        model = compiled(small_cnn())
        halving = LearningRateScheduler(lambda epoch, rate: rate / 2)
        model.fit(x, y, batch_size=16, epochs=epochs, verbose=0, callbacks=[halving], **kwargs)
        return model

    straight = run(4)
    run(2, checkpoint=tmp_path / "ckpt.npz")  # "killed" after 2 epochs
    resumed = run(4, checkpoint=tmp_path / "ckpt.npz")
    halved = float(np.float32(0.01)) / 16  # halving a float32 is exact
    assert resumed.optimizer.learning_rate == straight.optimizer.learning_rate == halved
    assert resumed.history.history == straight.history.history
    for a, b in zip(straight.get_weights(), resumed.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_terminate_on_nan_stops_quietly_and_keeps_the_history(device, capsys):
    """Without it fit raises TrainingDivergedError (test_robustness); with it, Keras' quiet
    stop at the first bad step, with Keras' message."""
    x, y = toy_data(96)
    model = compiled(small_cnn().to(device))
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    poison = LambdaCallback(
        on_epoch_end=lambda epoch, logs: model.set_weights(
            [np.full_like(w, np.nan) for w in model.get_weights()]
        )
    )
    history = model.fit(
        x, y, batch_size=16, epochs=4, verbose=0, callbacks=[poison, TerminateOnNaN()]
    )
    assert history.epoch == [0, 1] and np.isnan(history.history["loss"][1])
    assert "Batch 0: Invalid loss, terminating training" in capsys.readouterr().out
    with pytest.raises(RuntimeError, match="NaN or Inf found in loss at batch 0"):
        model.fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=[TerminateOnNaN(True)])


class Crash(Callback):
    """A crash (a kill, a power cut) at the end of one epoch."""

    def __init__(self, at_epoch):
        super().__init__()
        self.at_epoch = at_epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.at_epoch:
            raise KeyboardInterrupt


def test_backup_and_restore_resumes_a_crashed_fit_exactly(tmp_path):
    x, y = toy_data(48)
    backup_dir = tmp_path / "backup"

    def run(*callbacks):
        backend.clear_session()
        backend.set_random_seed(6)
        model = compiled(small_cnn())
        model.fit(x, y, batch_size=16, epochs=4, verbose=0, callbacks=list(callbacks))
        return model

    straight = run()
    with pytest.raises(KeyboardInterrupt):
        run(BackupAndRestore(backup_dir), Crash(at_epoch=2))
    # The backup of epoch 2 had been written before the crash in epoch 3's end.
    assert (backup_dir / BackupAndRestore.FILENAME).exists()
    resumed = run(BackupAndRestore(backup_dir))
    assert resumed.history.history == straight.history.history
    for a, b in zip(straight.get_weights(), resumed.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not (backup_dir / BackupAndRestore.FILENAME).exists()  # deleted at a normal end
    run(BackupAndRestore(backup_dir, delete_checkpoint=False))
    assert (backup_dir / BackupAndRestore.FILENAME).exists()


def test_backup_and_restore_arguments_are_checked(tmp_path):
    x, y = toy_data(16)
    model = compiled(small_cnn())
    with pytest.raises(ValueError, match="save_freq must be 'epoch'"):
        BackupAndRestore(tmp_path, save_freq=100)
    with pytest.raises(ValueError, match="Give one BackupAndRestore callback or fit's checkpoint="):
        model.fit(
            x, y, verbose=0, checkpoint=tmp_path / "c.npz", callbacks=[BackupAndRestore(tmp_path)]
        )


class _Recorder(Callback):
    """Every test and predict hook, in order."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def on_test_begin(self, logs=None):
        self.calls.append("test_begin")

    def on_test_batch_end(self, batch, logs=None):
        self.calls.append(("test_batch_end", batch, round(logs["loss"], 6)))

    def on_test_end(self, logs=None):
        self.calls.append(("test_end", sorted(logs)))

    def on_predict_batch_end(self, batch, logs=None):
        self.calls.append(("predict_batch_end", batch, logs["outputs"].shape))

    def on_predict_end(self, logs=None):
        self.calls.append("predict_end")


def test_evaluate_predict_and_validation_call_keras_test_and_predict_hooks():
    x, y = toy_data(40)
    model = compiled(small_cnn())
    recorder = _Recorder()
    loss, accuracy = model.evaluate(x, y, batch_size=16, verbose=0, callbacks=[recorder])
    assert recorder.calls[0] == "test_begin"
    assert [c[1] for c in recorder.calls[1:4]] == [0, 1, 2]  # 16 + 16 + 8 samples
    assert recorder.calls[3][2] == round(loss, 6)
    assert recorder.calls[4] == ("test_end", ["accuracy", "loss"])
    recorder.calls.clear()
    model.predict(x, batch_size=32, verbose=0, callbacks=[recorder])
    assert recorder.calls == [
        ("predict_batch_end", 0, (32, 3)),
        ("predict_batch_end", 1, (8, 3)),
        "predict_end",
    ]
    recorder.calls.clear()
    model.fit(x, y, epochs=2, batch_size=16, validation_split=0.25, verbose=0, callbacks=[recorder])
    assert recorder.calls.count("test_begin") == 2  # one validation per epoch


def test_swap_ema_weights_evaluates_on_the_moving_averages(device):
    """Keras' SwapEMAWeights: evaluate and predict (and fit's validation) see the optimizer's
    moving averages, the training goes on with the weights; swap_on_epoch leaves the averages
    in the model between epochs, and the end of fit keeps them."""
    from minicnn import Input, Sequential, optimizers
    from minicnn import layers as L
    from minicnn.callbacks import SwapEMAWeights

    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 3)).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0], [0.5]], np.float32)

    def fitted(callbacks, epochs=2):
        minicnn.set_random_seed(0)
        model = Sequential([Input((3,)), L.Dense(1)]).to(device)
        model.compile(optimizers.SGD(0.1, use_ema=True, ema_momentum=0.5), "mse")
        history = model.fit(
            x,
            y,
            batch_size=8,
            epochs=epochs,
            verbose=0,
            validation_data=(x, y),
            callbacks=callbacks,
            shuffle=False,
        )
        return model, history

    plain, plain_history = fitted([])
    swapped, history = fitted([SwapEMAWeights()])
    # Training is the same; the averages replace the weights at the end either way.
    np.testing.assert_allclose(swapped.get_weights()[0], plain.get_weights()[0], rtol=1e-6)
    assert history.history["loss"] == pytest.approx(plain_history.history["loss"], rel=1e-6)
    # The validation loss is the averages' (the plain fit validated the raw weights).
    assert history.history["val_loss"][-1] == pytest.approx(
        plain.evaluate(x, y, verbose=0), rel=1e-5
    )
    assert history.history["val_loss"][0] != pytest.approx(plain_history.history["val_loss"][0])
    # Between fits, evaluate with the callback sees the averages and puts the weights back.
    model, _ = fitted([], epochs=1)
    raw = [w.copy() for w in model.get_weights()]
    averages = [backend.to_numpy(s["ema"]) for s in model.optimizer._slots]
    callback = SwapEMAWeights()
    on_average = model.evaluate(x, y, verbose=0, callbacks=[callback])
    model.set_weights(averages)
    assert on_average == pytest.approx(model.evaluate(x, y, verbose=0), rel=1e-6)
    model.set_weights(raw)
    model.predict(x, verbose=0, callbacks=[callback])
    np.testing.assert_array_equal(model.get_weights()[0], raw[0])
    on_epoch, _ = fitted([SwapEMAWeights(swap_on_epoch=True)])
    np.testing.assert_allclose(on_epoch.get_weights()[0], plain.get_weights()[0], rtol=1e-6)
    sgd = Sequential([Input((3,)), L.Dense(1)])
    sgd.compile("sgd", "mse")
    with pytest.raises(ValueError, match="use_ema=True"):
        sgd.fit(x, y, epochs=1, verbose=0, validation_data=(x, y), callbacks=[SwapEMAWeights()])


def test_remote_monitor_posts_each_epoch_as_keras_does():
    import http.server
    import json
    import threading
    import urllib.parse

    from minicnn import callbacks

    received = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the standard library's name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, self.headers["Content-Type"], body.decode()))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        root = f"http://127.0.0.1:{server.server_address[1]}"
        x, y = toy_data(32)
        model = compiled(small_cnn())
        monitors = [
            callbacks.RemoteMonitor(root=root),
            callbacks.RemoteMonitor(root=root, path="/json/", send_as_json=True),
        ]
        history = model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=monitors)
    finally:
        server.shutdown()
    forms = [r for r in received if r[0] == "/publish/epoch/end/"]
    jsons = [r for r in received if r[0] == "/json/"]
    assert len(forms) == 2 and len(jsons) == 2
    sent = json.loads(urllib.parse.parse_qs(forms[1][2])["data"][0])
    assert sent["epoch"] == 1 and sent["loss"] == pytest.approx(history.history["loss"][1])
    assert jsons[0][1] == "application/json" and json.loads(jsons[0][2])["epoch"] == 0
    with pytest.warns(UserWarning, match="Could not reach RemoteMonitor root server"):
        model.fit(
            x, y, epochs=1, verbose=0, callbacks=[callbacks.RemoteMonitor(root=root, timeout=1)]
        )


def _lines(text):
    """Progress output with its times blanked, so runs can be compared."""
    import re

    return [re.sub(r"\d+(\.\d+)?(s|ms|us)(/step)?", "T", line) for line in text.splitlines()]


def test_a_progbar_logger_draws_fits_evaluates_and_predicts_lines_once(capsys):
    from minicnn.callbacks import ProgbarLogger

    x, y = toy_data(64)
    model = compiled(small_cnn())
    model.fit(x, y, epochs=2, batch_size=16, verbose=2)
    model.evaluate(x, y, verbose=2)
    model.predict(x, verbose=2)
    plain = _lines(capsys.readouterr().out)
    logger = ProgbarLogger()
    model.fit(x, y, epochs=2, batch_size=16, verbose=2, callbacks=[logger])
    model.evaluate(x, y, verbose=2, callbacks=[logger])
    model.predict(x, verbose=2, callbacks=[logger])
    drawn = _lines(capsys.readouterr().out)
    assert [line.split(" - ")[0] for line in drawn] == [line.split(" - ")[0] for line in plain]
    assert drawn[0] == "Epoch 1/2" and len(drawn) == 6  # two epochs, evaluate, predict
    assert "loss:" in drawn[1] and "accuracy:" in drawn[1]
    model.fit(x, y, epochs=1, batch_size=16, verbose=0, callbacks=[ProgbarLogger()])
    assert capsys.readouterr().out == ""  # as Keras: the logger follows fit's verbose


def test_callback_list_runs_a_loop_of_your_own(capsys):
    from minicnn.callbacks import CallbackList, History, ProgbarLogger

    calls = []
    seen = LambdaCallback(
        on_epoch_begin=lambda epoch, logs: calls.append(("epoch", epoch)),
        on_train_batch_end=lambda batch, logs: calls.append(("batch", batch, logs["loss"])),
    )
    model = compiled(small_cnn())
    hooks = CallbackList(
        [seen], add_history=True, add_progbar=True, model=model, verbose=2, epochs=2, steps=3
    )
    assert [type(cb) for cb in hooks] == [LambdaCallback, History, ProgbarLogger]
    assert all(cb.model is model and cb.params["steps"] == 3 for cb in hooks)
    hooks.on_train_begin()
    for epoch in range(2):
        hooks.on_epoch_begin(epoch)
        for step in range(3):
            hooks.on_train_batch_end(step, {"loss": 1.0 / (step + 1)})
        hooks.on_epoch_end(epoch, {"loss": 0.5})
    hooks.on_train_end()
    assert calls[:4] == [("epoch", 0), ("batch", 0, 1.0), ("batch", 1, 0.5), ("batch", 2, 1 / 3)]
    out = _lines(capsys.readouterr().out)
    assert out[0] == "Epoch 1/2" and out[1].startswith("3/3") and out[1].endswith("loss: 0.5000")
    late = Callback()
    hooks.append(late)
    assert late.model is model and late.params["epochs"] == 2


def test_rate_callbacks_set_each_of_a_multi_optimizers_rates_as_keras(capsys):
    """A MultiOptimizer has no rate of its own: LearningRateScheduler and ReduceLROnPlateau
    set each of its optimizers', name them and log ``learning_rate_<name>`` (Keras 3.15's
    lines and logs for this program)."""
    from minicnn import Input, Sequential, optimizers
    from minicnn import layers as L

    minicnn.utils.clear_session()
    rng = np.random.default_rng(0)
    x, y = rng.random((32, 3)).astype("float32"), rng.random((32, 2)).astype("float32")
    model = Sequential([Input((3,)), L.Dense(2, name="d")], name="s")
    mapping = optimizers.OptimizerMap(optimizers.SGD(0.5), {"s/d/kernel": optimizers.Adam(0.25)})
    model.compile(optimizers.MultiOptimizer(mapping), "mse")
    scheduler = LearningRateScheduler(lambda epoch, rate: rate * 0.5, verbose=1)
    plateau = ReduceLROnPlateau("loss", factor=0.5, patience=0, min_delta=10, verbose=1)
    history = model.fit(x, y, epochs=2, verbose=0, callbacks=[scheduler, plateau])
    out = capsys.readouterr().out
    assert out == "".join(
        f"\nEpoch {e}: {line}\n"
        for e, line in [
            (1, "LearningRateScheduler setting adam learning rate to 0.125."),
            (1, "LearningRateScheduler setting sgd learning rate to 0.25."),
            (2, "LearningRateScheduler setting adam learning rate to 0.0625."),
            (2, "LearningRateScheduler setting sgd learning rate to 0.125."),
            (2, "ReduceLROnPlateau reducing adam learning rate to 0.03125."),
            (2, "ReduceLROnPlateau reducing sgd learning rate to 0.0625."),
        ]
    )
    assert history.history["learning_rate_adam"] == [0.125, 0.0625]
    assert history.history["learning_rate_sgd"] == [0.25, 0.125]
