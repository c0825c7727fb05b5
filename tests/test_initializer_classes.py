"""Keras' initializer classes: each equal to its name under the same seed, seeded instances
reproducible, their distributions (variance scaling by fan and mode, truncation, bounds,
orthogonality), instances and custom ones in layers' configs, saved and loaded."""

import json

import numpy as np
import pytest

from minicnn import Input, Sequential, backend, initializers, load_model, saving
from minicnn import layers as L

I = initializers  # noqa: E741

SAME_AS_NAME = [
    (I.GlorotUniform(), "glorot_uniform"),
    (I.GlorotNormal(), "glorot_normal"),
    (I.HeNormal(), "he_normal"),
    (I.HeUniform(), "he_uniform"),
    (I.LecunNormal(), "lecun_normal"),
    (I.LecunUniform(), "lecun_uniform"),
    (I.RandomNormal(), "random_normal"),
    (I.RandomUniform(), "random_uniform"),
    (I.Orthogonal(), "orthogonal"),
    (I.Zeros(), "zeros"),
    (I.Ones(), "ones"),
]


@pytest.mark.parametrize("instance, name", SAME_AS_NAME, ids=[n for _, n in SAME_AS_NAME])
def test_each_class_draws_what_its_name_draws(instance, name):
    backend.set_random_seed(7)
    by_name = I.get(name)((3, 3, 4, 5))
    backend.set_random_seed(7)
    np.testing.assert_array_equal(instance((3, 3, 4, 5)), by_name)
    assert I.get(type(instance).__name__) is not None  # Keras' class names work as strings


def test_seeded_instances_repeat_and_leave_the_global_generator_alone():
    backend.set_random_seed(1)
    first = I.HeNormal(seed=3)((50, 40))
    after = backend.rng().random()
    backend.set_random_seed(1)
    np.testing.assert_array_equal(I.HeNormal(seed=3)((50, 40)), first)
    assert backend.rng().random() == after
    assert not np.array_equal(I.HeNormal(seed=4)((50, 40)), first)


@pytest.mark.parametrize("mode", ["fan_in", "fan_out", "fan_avg"])
@pytest.mark.parametrize("distribution", ["truncated_normal", "untruncated_normal", "uniform"])
def test_variance_scaling_gives_scale_over_the_fan(mode, distribution):
    shape = (3, 3, 40, 60)  # fans 360 and 540
    fan = {"fan_in": 360, "fan_out": 540, "fan_avg": 450}[mode]
    values = I.VarianceScaling(2.0, mode, distribution, seed=0)(shape)
    assert values.dtype == np.float32
    assert values.var() == pytest.approx(2.0 / fan, rel=0.05)
    if distribution == "truncated_normal":
        assert np.abs(values).max() <= 2 * np.sqrt(2.0 / fan) / 0.87962566103423978 + 1e-6


def test_the_other_distributions():
    normal = I.TruncatedNormal(mean=1.0, stddev=0.1, seed=0)((100000,))
    assert normal.min() >= 0.8 - 1e-6 and normal.max() <= 1.2 + 1e-6
    uniform = I.RandomUniform(-2.0, 3.0, seed=0)((100000,))
    assert (
        uniform.min() >= -2 and uniform.max() < 3 and uniform.mean() == pytest.approx(0.5, abs=0.02)
    )
    q = I.Orthogonal(gain=2.0, seed=0)((6, 4))
    np.testing.assert_allclose(q.T @ q, 4 * np.eye(4), atol=1e-5)
    np.testing.assert_array_equal(I.Identity(3.0)((2, 3)), [[3, 0, 0], [0, 3, 0]])
    np.testing.assert_array_equal(I.Constant(0.5)((2,)), [0.5, 0.5])
    with pytest.raises(ValueError, match="2-D kernels only"):
        I.Identity()((2, 2, 2))
    with pytest.raises(ValueError, match="mode 'fan_in', 'fan_out' or 'fan_avg'"):
        I.VarianceScaling(mode="fan")
    with pytest.raises(ValueError, match="Unknown initializer 'he_normall'"):
        I.get("he_normall")


@saving.register_keras_serializable(package="tests")
class HalfOnes(I.Initializer):
    def __call__(self, shape, dtype=None):
        return np.full(shape, 0.5, np.float32)


def test_layers_take_instances_and_save_them(tmp_path, device):
    model = Sequential(
        [
            Input((6,)),
            L.Dense(5, kernel_initializer=I.HeNormal(seed=2), bias_initializer=I.Constant(0.1)),
            L.BatchNormalization(gamma_initializer=I.RandomUniform(0.9, 1.1, seed=0)),
            L.Dense(3, kernel_initializer=HalfOnes()),
        ]
    ).to(device)
    dense = model.layers[0]
    np.testing.assert_allclose(dense.get_weights()[1], 0.1)
    np.testing.assert_array_equal(dense.get_weights()[0], I.HeNormal(seed=2)((6, 5)))
    np.testing.assert_array_equal(model.layers[2].get_weights()[0], 0.5)
    config = dense.get_config()
    assert config["kernel_initializer"]["class_name"] == "HeNormal"
    assert config["kernel_initializer"]["config"] == {
        "seed": 2,
        "input_axes": None,
        "output_axes": None,
    }
    json.dumps([layer.get_config() for layer in model.layers])  # a file can hold them
    assert model.layers[2].get_config()["kernel_initializer"]["registered_name"] == "tests>HalfOnes"
    model.save(tmp_path / "init.minicnn")
    again = load_model(tmp_path / "init.minicnn", device=device)
    x = np.random.default_rng(0).standard_normal((4, 6)).astype(np.float32)
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0))
    rebuilt = L.Dense.from_config(config)
    rebuilt.build((None, 6))
    np.testing.assert_array_equal(rebuilt.get_weights()[0], dense.get_weights()[0])


def test_a_plain_function_initializer():
    def small(shape, dtype=None):
        return np.full(shape, 0.01, np.float32)

    layer = L.Dense(2, kernel_initializer=small)
    layer.build((None, 3))
    np.testing.assert_array_equal(layer.get_weights()[0], np.float32(0.01))


def test_stft_kernels_are_the_fourier_basis_times_the_window():
    """Keras' STFT initializer (Keras 3.15 gave the same to 7e-7, its float32 rounding, for
    hann, periodic hamming, no window and given values)."""
    frames, bins = 8, 5
    t, k = np.arange(frames)[:, None], np.arange(bins)[None, :]
    angle = -2 * np.pi * t * k / (2 * (bins - 1))
    plain = initializers.STFT("real", window=None, scaling=None)((frames, 1, bins))
    np.testing.assert_allclose(plain[:, 0, :], np.cos(angle), atol=1e-6)
    taps = np.array([0.5, 1.0, 1.0, 0.5, 0.2, 0.1, 0.3, 0.9])
    imag = initializers.STFT("imag", window=taps, scaling="spectrum")((frames, 1, bins))
    np.testing.assert_allclose(imag[:, 0, :], np.sin(angle) * taps[:, None] / 4.5, atol=1e-6)
    hann = initializers.get({"class_name": "STFTInitializer", "config": {"periodic": True}})
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(frames) / frames)  # periodic hann
    np.testing.assert_allclose(
        hann((frames, 1, bins))[:, 0, 0], window / np.sqrt((window**2).sum()), atol=1e-6
    )
    again = initializers.get(initializers.serialize(initializers.STFT(window=list(taps))))
    np.testing.assert_allclose(again((frames, 1, bins)), initializers.STFT(window=taps)((8, 1, 5)))
    with pytest.raises(ValueError, match="side should be 'real' or 'imag'"):
        initializers.STFT("both")
    with pytest.raises(ValueError, match="Scaling is invalid"):
        initializers.STFT(scaling="l2")
    with pytest.raises(ValueError, match=r"kernels of shape \(frame_length, 1, bins\)"):
        initializers.STFT()((8, 5))


def test_a_name_gives_kerass_class_which_draws_what_the_name_always_drew():
    """As Keras: initializers.get("he_normal") is a HeNormal (keras.io's Antirectifier
    serializes it; before, a function whose name was '<lambda>'), and its draws are the
    ones a layer's "he_normal" gives, so seeded models stay as they were."""
    for name, cls in [
        ("he_normal", initializers.HeNormal),
        ("glorot_uniform", initializers.GlorotUniform),
        ("uniform", initializers.RandomUniform),
        ("truncated_normal", initializers.TruncatedNormal),
        ("Orthogonal", initializers.Orthogonal),
    ]:
        assert type(initializers.get(name)) is cls
    backend.set_random_seed(4)
    drawn = initializers.get("he_normal")((3, 3, 2, 4))
    backend.set_random_seed(4)
    layer = L.Conv2D(4, 3, kernel_initializer="he_normal")
    layer.build((None, 5, 5, 2))
    np.testing.assert_array_equal(layer.get_weights()[0], drawn)
    assert initializers.serialize(initializers.get("he_normal")) == {
        "module": "keras.initializers",
        "class_name": "HeNormal",
        "config": {"seed": None, "input_axes": None, "output_axes": None},
        "registered_name": None,
    }


def test_variance_scaling_takes_kerass_fan_axes():
    """Keras 3.15's input_axes and output_axes: the fans are the products of those axes."""
    kernel = initializers.VarianceScaling(
        scale=2.0, mode="fan_in", distribution="uniform", input_axes=[0, 1], output_axes=[2]
    )((40, 5, 3), None)
    limit = np.sqrt(3.0 * 2.0 / (40 * 5))
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.9 * limit
    assert initializers.GlorotUniform(input_axes=[0], output_axes=[1]).get_config() == {
        "seed": None,
        "input_axes": [0],
        "output_axes": [1],
    }
    assert initializers.get("zeros")(()).shape == ()


def test_constant_takes_an_array_as_kerass_does(tmp_path):
    """keras.io's pretrained word embeddings give Embedding Constant(embedding_matrix):
    before, Constant took a number only (float(value) failed on the matrix)."""
    matrix = np.arange(12, dtype=np.float32).reshape(4, 3)
    layer = L.Embedding(4, 3, embeddings_initializer=initializers.Constant(matrix))
    layer.build((None, 2))
    np.testing.assert_array_equal(layer.get_weights()[0], matrix)
    config = initializers.Constant(matrix).get_config()
    assert config["value"]["class_name"] == "__numpy__"
    again = initializers.Constant.from_config(json.loads(json.dumps(config)))
    np.testing.assert_array_equal(again((4, 3)), matrix)
    assert initializers.Constant(2).get_config() == {"value": 2}  # kept as given
    np.testing.assert_array_equal(initializers.Constant([1.0, 2.0])((2, 2)), [[1, 2], [1, 2]])
    model = Sequential(
        [
            Input((2,)),
            L.Embedding(
                4,
                3,
                embeddings_initializer=initializers.get(
                    {"class_name": "Constant", "config": config}
                ),
            ),
        ]
    )
    model.save(tmp_path / "m.keras")
    np.testing.assert_array_equal(load_model(tmp_path / "m.keras").get_weights()[0], matrix)
    with pytest.raises(ValueError, match=r"shape \(4, 3\) does not broadcast to the weight's"):
        initializers.Constant(matrix)((3, 3))
    with pytest.raises(ValueError, match="must be a number or an array of numbers"):
        initializers.Constant("big")
