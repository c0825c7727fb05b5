"""Keras' scikit-learn wrappers (``minicnn.wrappers``) in scikit-learn's own machinery:
pipelines, cross-validation, grid search, cloning, pickling and its estimator checks; and
pickling a model itself."""

import pickle
import warnings

import numpy as np
import pytest

import minicnn
from minicnn import Input, Sequential
from minicnn import layers as L

pytest.importorskip("sklearn")

from sklearn.base import clone  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402

from minicnn.wrappers import SKLearnClassifier, SKLearnRegressor, SKLearnTransformer  # noqa: E402

QUIET = {"verbose": 0}


def _blobs(n=240, seed=0):
    """Three well separated classes in 4 features, labelled by name."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    centers = np.array([[3, 0, 0, 0], [0, 3, 0, 0], [0, 0, 3, 0]], np.float32)
    x = centers[labels] + rng.normal(scale=0.5, size=(n, 4)).astype(np.float32)
    return x, np.array(["cat", "dog", "fox"])[labels]


def build_classifier(X, y, hidden=16):
    """A builder as Keras' wrapper takes: X, the one-hot labels y, and model_kwargs."""
    minicnn.utils.set_random_seed(0)  # each fit starts from the same weights
    model = Sequential(
        [
            Input(X.shape[1:]),
            L.Flatten(),
            L.Dense(hidden, activation="relu"),
            L.Dense(y.shape[1], activation="softmax"),
        ]
    )
    model.compile(minicnn.optimizers.Adam(0.02), "categorical_crossentropy")
    return model


def build_regressor(X, y):
    minicnn.utils.set_random_seed(0)
    model = Sequential([Input(X.shape[1:]), L.Flatten(), L.Dense(8, activation="relu")])
    model.add(L.Dense(y.shape[1]))
    model.compile(minicnn.optimizers.Adam(0.01), "mse")
    return model


def test_a_classifier_learns_named_classes_in_a_pipeline_and_cross_validates():
    x, labels = _blobs()
    estimator = SKLearnClassifier(build_classifier, fit_kwargs={"epochs": 30, **QUIET})
    with pytest.raises(NotFittedError):
        estimator.predict(x)
    pipeline = make_pipeline(StandardScaler(), estimator).fit(x, labels)
    fitted = pipeline[-1]
    assert list(fitted.classes_) == ["cat", "dog", "fox"] and fitted.n_features_in_ == 4
    assert set(pipeline.predict(x)) <= {"cat", "dog", "fox"}
    assert pipeline.score(x, labels) > 0.95
    assert fitted.decision_function(StandardScaler().fit_transform(x)).shape == (240, 3)
    assert fitted.epoch_ == 30 and len(fitted.history_["loss"]) == 30
    scores = cross_val_score(pipeline, x, labels, cv=3)
    assert scores.shape == (3,) and scores.min() > 0.9


def test_grid_search_tries_model_kwargs_and_clones_share_the_builder():
    x, labels = _blobs(120)
    estimator = SKLearnClassifier(build_classifier, fit_kwargs={"epochs": 10, **QUIET})
    twin = clone(estimator)
    assert twin.model is build_classifier and not hasattr(twin, "model_")
    search = GridSearchCV(estimator, {"model_kwargs": [{"hidden": 2}, {"hidden": 32}]}, cv=2)
    search.fit(x, labels)
    assert search.best_params_ == {"model_kwargs": {"hidden": 32}}
    assert search.best_estimator_.model_.layers[1].units == 32


def test_a_regressor_clones_a_compiled_model_and_warm_starts():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 3)).astype(np.float32)
    y = x @ np.array([1.5, -2.0, 0.5], np.float32) + 0.3
    model = Sequential([Input((3,)), L.Dense(1)])
    model.compile(minicnn.optimizers.Adam(0.1), "mse")
    before = model.get_weights()
    regressor = SKLearnRegressor(model, fit_kwargs={"epochs": 40, **QUIET}).fit(x, y)
    assert regressor.model_ is not model  # a clone, compiled as the model was
    for kept, now in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(kept, now)
    assert regressor.predict(x).shape == (200,) and regressor.score(x, y) > 0.95
    assert isinstance(regressor.model_.optimizer, minicnn.optimizers.Adam)
    first = regressor.history_["loss"][-1]
    warm = SKLearnRegressor(model, warm_start=True, fit_kwargs={"epochs": 5, **QUIET})
    warm.model_ = regressor.model_
    warm.fit(x, y)
    assert warm.model_ is regressor.model_ and warm.history_["loss"][0] < first * 2
    two = SKLearnRegressor(build_regressor, fit_kwargs={"epochs": 2, **QUIET})
    assert two.fit(x, np.stack([y, -y], axis=1)).predict(x).shape == (200, 2)


def test_a_transformer_feeds_its_outputs_to_the_next_estimator():
    """Keras' recipe: a transformer fitted on its own (here a small classifier on one-hot
    targets), frozen, its outputs the features of the next step."""
    from sklearn.frozen import FrozenEstimator

    x, labels = _blobs(150)
    codes = np.unique(labels, return_inverse=True)[1]
    transformer = SKLearnTransformer(build_classifier, fit_kwargs={"epochs": 20, **QUIET})
    transformer.fit(x, np.eye(3, dtype=np.float32)[codes])
    assert transformer.transform(x).shape == (150, 3)
    pipeline = make_pipeline(FrozenEstimator(transformer), LogisticRegression()).fit(x, labels)
    assert pipeline.score(x, labels) > 0.9


def test_images_go_through_as_they_are():
    rng = np.random.default_rng(2)
    images = rng.random((60, 6, 6, 1)).astype(np.float32)
    labels = (images[:, :3].mean(axis=(1, 2, 3)) > images[:, 3:].mean(axis=(1, 2, 3))).astype(int)
    estimator = SKLearnClassifier(build_classifier, fit_kwargs={"epochs": 2, **QUIET})
    assert estimator.fit(images, labels).predict(images).shape == (60,)


def test_a_fitted_estimator_pickles_with_its_model():
    x, labels = _blobs(90)
    estimator = SKLearnClassifier(build_classifier, fit_kwargs={"epochs": 3, **QUIET})
    estimator.fit(x, labels)
    again = pickle.loads(pickle.dumps(estimator))
    np.testing.assert_array_equal(again.decision_function(x), estimator.decision_function(x))


def test_bad_targets_and_models_are_refused():
    x, labels = _blobs(30)
    estimator = SKLearnClassifier(build_classifier, fit_kwargs=QUIET)
    with pytest.raises(ValueError, match="Only binary and multiclass"):
        estimator.fit(x, np.linspace(0, 1, 30))
    with pytest.raises(ValueError, match="only one class"):
        estimator.fit(x, np.zeros(30, int))
    with pytest.raises(RuntimeError, match="needs to be compiled"):
        SKLearnRegressor(Sequential([Input((4,)), L.Dense(1)])).fit(x, np.ones(30))
    with pytest.raises(TypeError, match="compiled minicnn model or a function"):
        SKLearnRegressor("model").fit(x, np.ones(30))


# What scikit-learn's checks ask that a neural network trained for a few epochs cannot
# promise: a high training score, and for binary labels a 1-D decision function.
_ALLOWED = {"check_classifiers_train", "check_regressors_train", "check_classifiers_classes"}


@pytest.mark.parametrize("kind", [SKLearnClassifier, SKLearnRegressor, SKLearnTransformer])
def test_scikit_learns_estimator_checks(kind):
    builder = build_classifier if kind is SKLearnClassifier else build_regressor
    estimator = kind(builder, fit_kwargs={"epochs": 5, **QUIET})
    with np.errstate(all="ignore"), warnings.catch_warnings():  # the checks' own warnings
        warnings.simplefilter("ignore")
        results = check_estimator(estimator, on_fail=None)
    failed = {r["check_name"] for r in results if r["status"] == "failed"}
    passed = [r for r in results if r["status"] == "passed"]
    assert failed <= _ALLOWED, failed
    assert len(passed) > 35


def test_a_model_pickles_with_its_weights_compile_and_optimizer_state():
    minicnn.utils.set_random_seed(3)
    model = Sequential([Input((4,)), L.Dense(5, activation="relu"), L.Dense(2)])
    model.compile("adam", "mse", metrics=["mae"])
    x = np.random.default_rng(3).random((16, 4)).astype(np.float32)
    model.fit(x, x[:, :2], epochs=2, verbose=0)
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))
    assert int(again.optimizer.iterations) == int(model.optimizer.iterations) == 2
    assert again.get_compile_config() == model.get_compile_config()
    unbuilt = pickle.loads(pickle.dumps(Sequential([L.Dense(3)], name="later")))
    assert unbuilt.name == "later" and not unbuilt.built and len(unbuilt.layers) == 1


def test_a_layer_pickles_with_its_build_and_state():
    """A layer alone pickles (and deep-copies) as Keras' do: config, build and state (batch
    norm's moving statistics, an int4 kernel's bytes and scales); a lambda cannot be."""
    import copy

    from minicnn import quantizers
    from minicnn.autograd import Tensor

    rng = np.random.default_rng(4)
    x = rng.random((8, 6)).astype(np.float32)
    norm = L.BatchNormalization()
    norm(Tensor(x), training=True)
    dense = L.Dense(4)
    dense.build((None, 6))
    dense.quantize("int4", config=quantizers.Int4QuantizationConfig(block_size=4))
    for layer in (norm, dense, L.LSTM(3)):
        if not layer.built:
            layer(Tensor(x[:, None, :].repeat(2, axis=1)))
        again = pickle.loads(pickle.dumps(layer))
        assert type(again) is type(layer) and again.get_config() == layer.get_config()
        for kept, now in zip(layer.get_weights(), again.get_weights(), strict=True):
            np.testing.assert_array_equal(kept, now)
    twin = copy.deepcopy(dense)
    np.testing.assert_array_equal(twin(Tensor(x)).data, dense(Tensor(x)).data)
    assert not pickle.loads(pickle.dumps(L.Dense(5))).built
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(L.Lambda(lambda t: t * 2))


class Tower(minicnn.Model):
    """A subclassed model with Keras' get_config (its __init__'s arguments)."""

    def __init__(self, units=2, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.hidden, self.head = L.Dense(units, activation="relu"), L.Dense(1)

    def call(self, x):
        return self.head(self.hidden(x))

    def get_config(self):
        return {"units": self.units, "name": self.name}


class Bare(minicnn.Model):
    def __init__(self, inner=None):
        super().__init__()
        self.dense = inner or L.Dense(2)

    def call(self, x):
        return self.dense(x)


def test_a_subclassed_model_pickles_by_its_class_and_config():
    """As in Keras: its class (by reference), its own get_config (or Keras' automatic one,
    the plain arguments it was made with), its build and weights; one made with an argument
    no config holds is refused, where it used to come back as another model."""
    x = np.random.default_rng(5).random((4, 3)).astype(np.float32)
    tower = Tower(5)
    tower(x)
    again = pickle.loads(pickle.dumps(tower))
    assert type(again) is Tower and again.units == 5
    np.testing.assert_array_equal(again.predict(x, verbose=0), tower.predict(x, verbose=0))
    assert not pickle.loads(pickle.dumps(Tower(3))).built
    bare = Bare()
    bare(x)
    back = pickle.loads(pickle.dumps(bare))
    assert type(back) is Bare
    np.testing.assert_array_equal(back.predict(x, verbose=0), bare.predict(x, verbose=0))
    held = Bare(L.Dense(2))
    held(x)
    with pytest.raises(TypeError, match="made with arguments a config cannot hold"):
        pickle.dumps(held)
