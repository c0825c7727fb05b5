"""Faults: divergence, checkpoints and resumption, and random layer stacks (hypothesis)."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_models import compiled, small_cnn, toy_data

from minicnn import Input, Sequential, backend, optimizers
from minicnn import layers as L
from minicnn.experiments import runner
from minicnn.experiments.results import ResultsStore
from minicnn.models import TrainingDivergedError
from minicnn.saving import ModelFileError


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_divergence_stops_at_the_first_nan(device):
    # On a GPU the loss is read at the end of the epoch here (no progress line): still epoch 1.
    model = small_cnn().to(device)
    model.compile(optimizers.SGD(learning_rate=1e12, momentum=0.9), metrics=["accuracy"])
    x, y = toy_data()
    with pytest.raises(TrainingDivergedError, match=r"became nan at epoch 1, step \d/6"):
        model.fit(x, y, batch_size=16, epochs=5, verbose=0)


def test_divergence_keeps_the_finished_epochs(monkeypatch):
    model = compiled(small_cnn())
    x, y = toy_data()
    real_step = model._train_step
    calls = []

    def step(xb, yb, wb=None):
        calls.append(1)
        loss, hits = real_step(xb, yb, wb)
        return (float("inf") if len(calls) == 9 else loss), hits  # epoch 2, step 3

    monkeypatch.setattr(model, "_train_step", step)
    with pytest.raises(TrainingDivergedError, match=r"became inf at epoch 2, step 3/6.*1 finished"):
        model.fit(x, y, batch_size=16, epochs=5, verbose=0)
    assert model.history.epoch == [0] and len(model.history.history["loss"]) == 1


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_a_diverged_run_is_recorded_as_failed_and_the_sweep_goes_on(tmp_path, monkeypatch):
    from idx_files import write_fashion_dir

    write_fashion_dir(tmp_path / "data", 64, 32)
    tasks = [
        runner.make_task(m, 0, 2, 32, None, None, str(tmp_path / "data")) for m in ("w1", "mlp")
    ]
    tasks[0]["recipe"]["optimizer"]["learning_rate"] = 1e6  # Adam, far past stable
    store = ResultsStore(tmp_path / "results.jsonl")
    records = runner.run_tasks(tasks, store)
    assert [r["status"] for r in records] == ["failed", "ok"]
    assert "became nan" in records[0]["error"] or "became inf" in records[0]["error"]
    assert set(store.load()) == {t["key"] for t in tasks}


def test_checkpoint_resume_gives_the_uninterrupted_weights(tmp_path):
    x, y = toy_data()

    def fresh():
        backend.clear_session()
        backend.set_random_seed(7)
        return compiled(small_cnn())

    straight = fresh()
    straight.fit(x, y, batch_size=16, epochs=4, verbose=0)

    path = tmp_path / "ckpt.npz"
    first = fresh()
    first.fit(x, y, batch_size=16, epochs=2, verbose=0, checkpoint=path)  # "killed" after 2
    resumed = fresh()  # a new process would build and seed the model the same way
    history = resumed.fit(x, y, batch_size=16, epochs=4, verbose=0, checkpoint=path)
    assert history.epoch == [0, 1, 2, 3]
    assert history.history["loss"] == straight.history.history["loss"]
    for a, b in zip(straight.get_weights(), resumed.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.npz"]


def test_checkpoint_of_another_architecture_is_refused(tmp_path):
    x, y = toy_data(32)
    path = tmp_path / "ckpt.npz"
    compiled(small_cnn()).fit(x, y, epochs=1, verbose=0, checkpoint=path)
    other = Sequential([Input((8, 8, 1)), L.Flatten(), L.Dense(3, activation="softmax")])
    other.compile("adam", metrics=["accuracy"])
    with pytest.raises(ModelFileError, match="another architecture"):
        other.fit(x, y, epochs=2, verbose=0, checkpoint=path)


# --- random stacks ---------------------------------------------------------------------------

conv = st.builds(
    lambda f, k, s, p, a: ("conv", f, k, s, p, a),
    st.integers(1, 4),
    st.integers(1, 4),
    st.integers(1, 2),
    st.sampled_from(["valid", "same"]),
    st.sampled_from([None, "relu"]),
)
pool = st.builds(
    lambda kind, k, s, p: (kind, k, s, p),
    st.sampled_from(["pool", "avgpool"]),
    st.integers(1, 3),
    st.sampled_from([None, 1, 2]),
    st.sampled_from(["valid", "same"]),
)
dense = st.builds(
    lambda u, a: ("dense", u, a),
    st.integers(1, 5),
    st.sampled_from([None, "relu", "sigmoid", "softmax", "tanh"]),
)
drop = st.builds(lambda r: ("drop", r), st.floats(0.0, 0.9))
norm = st.just(("norm",))


def build(spec):
    kind = spec[0]
    if kind == "conv":
        return L.Conv2D(spec[1], spec[2], strides=spec[3], padding=spec[4], activation=spec[5])
    if kind == "pool":
        return L.MaxPooling2D(spec[1], strides=spec[2], padding=spec[3])
    if kind == "avgpool":
        return L.AveragePooling2D(spec[1], strides=spec[2], padding=spec[3])
    if kind == "norm":
        return L.BatchNormalization()
    if kind == "dense":
        return L.Dense(spec[1], activation=spec[2])
    if kind == "drop":
        return L.Dropout(spec[1])
    return L.Flatten()


valid_stacks = st.tuples(
    st.lists(st.one_of(conv, pool, drop, dense, norm), max_size=4),
    st.lists(st.one_of(dense, drop, norm), max_size=3),
)
shapes = st.tuples(st.integers(1, 9), st.integers(1, 9), st.integers(1, 3))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stack=valid_stacks, shape=shapes, batch=st.integers(1, 3))
def test_summary_shapes_and_params_match_the_real_forward(stack, shape, batch):
    head, tail = stack
    layers = [build(s) for s in head] + [L.Flatten()] + [build(s) for s in tail]
    try:
        model = Sequential([Input(shape), *layers])
    except ValueError as e:
        # The only refusal allowed: a window that does not fit, named by its layer.
        assert "does not fit" in str(e) and "Layer '" in str(e)
        return
    x = np.random.default_rng(0).random((batch, *shape), dtype=np.float32)
    out = x
    for layer in model.layers:
        out = layer(out, training=True)
        assert out.shape == (batch, *layer.sample_output_shape), layer
    assert model.count_params() == sum(w.size for w in model.get_weights())
    lines = []
    model.summary(print_fn=lines.append)
    assert f"Total params: {model.count_params():,}" in lines[0]


@settings(max_examples=40, deadline=None)
@given(
    before=st.lists(st.one_of(dense, drop), min_size=1, max_size=2),
    after=st.one_of(conv, pool),
    shape=shapes,
)
def test_spatial_layers_after_flat_ones_raise_the_documented_error(before, after, shape):
    layers = [L.Flatten(), *[build(s) for s in before], build(after)]
    with pytest.raises(
        ValueError,
        match=r"Layer '.*' \((Conv2D|MaxPooling2D|AveragePooling2D)\) expects input of "
        r"shape \(batch, height, width, channels\)",
    ):
        Sequential([Input(shape), *layers])
