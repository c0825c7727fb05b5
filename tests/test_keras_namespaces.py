"""Keras 3.15's smaller namespaces: lowercase regularizer and constraint names and their
deserialize, config's debugging caps and dtype policy, keras.preprocessing's image and
sequence helpers, and utils' (de)serialize_keras_object."""

import warnings

import numpy as np
import pytest

import minicnn
from minicnn import Input, Sequential, config, constraints, preprocessing, regularizers, utils
from minicnn import layers as L


def test_lowercase_names_and_deserialize():
    assert regularizers.l1 is regularizers.L1 and regularizers.l2 is regularizers.L2
    assert regularizers.orthogonal_regularizer is regularizers.OrthogonalRegularizer
    assert constraints.max_norm is constraints.MaxNorm and constraints.non_neg is constraints.NonNeg
    assert constraints.unit_norm is constraints.UnitNorm
    assert constraints.min_max_norm is constraints.MinMaxNorm
    again = regularizers.deserialize(regularizers.serialize(regularizers.l1_l2(0.1, 0.2)))
    assert again.get_config() == {"l1": 0.1, "l2": 0.2}
    assert constraints.deserialize(constraints.serialize(constraints.max_norm(3.0))).max_value == 3

    class Scaled(regularizers.Regularizer):
        def __init__(self, k=1.0):
            self.k = k

        def __call__(self, w):
            return self.k * minicnn.ops.sum(w)

        def get_config(self):
            return {"k": self.k}

    found = regularizers.deserialize(
        {"class_name": "Scaled", "config": {"k": 2.5}}, custom_objects={"Scaled": Scaled}
    )
    assert isinstance(found, Scaled) and found.k == 2.5
    text = utils.serialize_keras_object(regularizers.l2(0.5))
    assert utils.deserialize_keras_object(text).get_config() == {"l2": 0.5}


def test_config_caps_fit_evaluate_and_predict_as_keras():
    """Keras' set_max_epochs and set_max_steps_per_epoch (its trainer test's numbers)."""
    model = Sequential([Input((4,)), L.Dense(1)])
    model.compile("sgd", "mse")
    x, y = np.ones((80, 4), np.float32), np.ones((80, 1), np.float32)
    try:
        config.set_max_epochs(2)
        config.set_max_steps_per_epoch(3)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            history = model.fit(x, y, batch_size=8, epochs=4, verbose=0)
        said = {str(w.message) for w in caught}
        assert {"Limiting epochs to 2", "Limiting steps_per_epoch to 3"} <= said
        assert len(history.epoch) == 2 and model.optimizer.iterations == 6
        with pytest.warns(UserWarning, match="Limiting steps_per_epoch to 3"):
            assert model.predict(x, batch_size=8, verbose=0).shape == (24, 1)
        with pytest.raises(ValueError, match="max_epochs must be a positive integer"):
            config.set_max_epochs(0)
    finally:
        config.set_max_epochs(None)
        config.set_max_steps_per_epoch(None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(model.fit(x, y, batch_size=8, epochs=3, verbose=0).epoch) == 3
    assert config.dtype_policy().name == "float32"
    config.set_dtype_policy("float32")
    with pytest.raises(ValueError, match="computes in float32"):
        config.set_dtype_policy("float16")


def test_preprocessing_image_and_sequence():
    """smart_resize crops the centered window of the target's shape, then resizes: Keras
    3.15 gave the same (to 3e-7; nearest exactly)."""
    image = np.arange(10 * 20 * 1, dtype=np.float32).reshape(10, 20, 1)
    out = preprocessing.image.smart_resize(image, (10, 10), interpolation="nearest")
    assert isinstance(out, np.ndarray) and out.shape == (10, 10, 1)
    np.testing.assert_array_equal(out, image[:, 5:15])  # the centered 10 x 10 window
    assert preprocessing.image.load_img is utils.load_img
    assert preprocessing.sequence.pad_sequences([[1, 2], [3]]).tolist() == [[1, 2], [0, 3]]
    assert preprocessing.image_dataset_from_directory is utils.image_dataset_from_directory
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        preprocessing.nothing  # noqa: B018
    # Modules, as Keras' are: ``from keras.preprocessing.image import load_img`` ports.
    from minicnn.preprocessing.image import load_img
    from minicnn.preprocessing.sequence import pad_sequences

    assert load_img is utils.load_img and pad_sequences is utils.pad_sequences
    assert preprocessing.Rescaling is minicnn.layers.Rescaling


def test_disabled_interactive_logging_sends_messages_to_logging(capsys, caplog):
    """Keras' disable_interactive_logging: fit's epoch lines, its progress line (once, at
    the end of each epoch) and the summary go to the "minicnn" logger, nothing to stdout."""
    import logging

    model = Sequential([Input((3,)), L.Dense(1)])
    model.compile("sgd", "mse")
    x, y = np.ones((40, 3), np.float32), np.ones((40, 1), np.float32)
    assert config.is_interactive_logging_enabled()
    try:
        config.disable_interactive_logging()
        assert not utils.is_interactive_logging_enabled()
        with caplog.at_level(logging.INFO, logger="minicnn"):
            model.fit(x, y, batch_size=8, epochs=2, verbose=1)
            model.summary()
    finally:
        utils.enable_interactive_logging()
    assert capsys.readouterr().out == ""
    said = [r.getMessage() for r in caplog.records if r.name == "minicnn"]
    assert said[0] == "Epoch 1/2" and said[2] == "Epoch 2/2"
    assert said[1].startswith("5/5 ━") and " - loss: " in said[1]
    assert said[4].startswith('Model: "sequential')
    model.fit(x, y, batch_size=8, epochs=1, verbose=2)
    assert capsys.readouterr().out.startswith("Epoch 1/1\n5/5 - ")


def test_dtype_policies_are_keras_objects_with_keras_dicts():
    """keras.dtype_policies: the float32 policy and the quantized ones, their dicts as
    Keras 3.15 serializes them, and the policies minicnn has not got refused by name."""
    from minicnn import dtype_policies

    plain = dtype_policies.get("float32")
    assert (
        plain == dtype_policies.DTypePolicy("float32") and repr(plain) == '<DTypePolicy "float32">'
    )
    assert plain.compute_dtype == plain.variable_dtype == "float32"
    assert dtype_policies.serialize(plain) == {
        "module": "keras",
        "class_name": "DTypePolicy",
        "config": {"name": "float32"},
        "registered_name": None,
    }
    quantized = dtype_policies.QuantizedDTypePolicy("int8", "float32")
    assert quantized.name == "int8_from_float32" and quantized.quantization_mode == "int8"
    written = dtype_policies.serialize(quantized)
    assert written["class_name"] == "QuantizedDTypePolicy"
    assert written["config"] == {"mode": "int8", "source_name": "float32"}
    assert dtype_policies.deserialize(written) == quantized
    assert dtype_policies.get("int8_from_float32") == quantized
    assert dtype_policies.get(None) == config.dtype_policy()
    layer = L.Dense(3, dtype=dtype_policies.DTypePolicy("float32"))
    assert layer.dtype_policy == plain
    assert dtype_policies.get("mixed_bfloat16").compute_dtype == "float32"
    with pytest.raises(ValueError, match="computes in float32"):
        dtype_policies.get("bfloat16")
    with pytest.raises(ValueError, match="int8 or int4 from float32"):
        dtype_policies.QuantizedDTypePolicy("float8", "float32")
    blocks = dtype_policies.get("int4/128_from_float32")
    assert isinstance(blocks, dtype_policies.Int4DTypePolicy) and blocks.block_size == 128
    assert repr(blocks) == '<Int4DTypePolicy "int4/128_from_float32">'
    assert dtype_policies.serialize(blocks) == {
        "module": "keras.dtype_policies",
        "class_name": "Int4DTypePolicy",
        "config": {"mode": "int4/128", "source_name": "float32"},
        "registered_name": None,
    }
    assert dtype_policies.deserialize(dtype_policies.serialize(blocks)) == blocks
    # Keras' older int4 name: a scale per unit, as block size -1.
    older = dtype_policies.get("int4_from_float32")
    assert older.quantization_mode == "int4" and older.block_size is None
    assert L.Dense(3, dtype=older).quantization_block_size is None
    assert L.Dense(3, dtype="int4/32_from_float32").quantization_block_size == 32
    with pytest.raises(ValueError, match="computes in float32"):
        dtype_policies.get("int8/128_from_float32")


def test_keras_backend_functions_answer_as_keras_does():
    """``from keras import backend as K`` code: the settings, dtype questions and uids."""
    from minicnn import backend as K

    assert K.backend() == "minicnn" and K.floatx() == "float32"
    assert K.epsilon() == config.epsilon() == 1e-7
    K.set_epsilon(1e-4)
    try:
        assert config.epsilon() == 1e-4
    finally:
        K.set_epsilon(1e-7)
    assert K.image_data_format() == "channels_last"
    assert K.is_float_dtype("float16") and K.is_float_dtype(np.float32)
    assert K.is_int_dtype("uint8") and not K.is_int_dtype("bool")
    assert not K.is_float_dtype("int32")
    assert K.standardize_dtype(np.int64) == "int64"
    K.clear_session()
    assert [K.get_uid("x"), K.get_uid("x"), K.get_uid("y")] == [1, 2, 1]
    K.clear_session()
    assert K.get_uid("x") == 1
    assert K.is_keras_tensor(Input((3,))) and not K.is_keras_tensor(np.zeros(3))
    with pytest.raises(ValueError, match="float32 only"):
        K.set_floatx("float16")


def test_result_type_follows_keras_promotion_table():
    """Keras 3.15's backend.result_type on every pair of minicnn's dtypes and Python's
    numbers (tests/keras_files/result_types.json, which Keras wrote)."""
    import json
    from pathlib import Path

    from minicnn import backend as K

    table = json.loads((Path(__file__).parent / "keras_files" / "result_types.json").read_text())
    python = {"int": int, "float": float, "bool": bool}
    for case in table:
        assert K.result_type(*(python.get(n, n) for n in case["inputs"])) == case["result"], case
    assert len(table) == 275 and K.result_type() == "float32"
    with pytest.raises(ValueError, match="not a valid dtype for Keras type promotion"):
        K.result_type("int32", "complex64")


def test_keras_other_names_of_linalg_norm_stft_and_schedule_serialize():
    matrix = np.array([[3.0, 4.0], [0.0, 12.0]])
    assert float(minicnn.ops.linalg.norm(matrix[0]).data) == pytest.approx(5.0)
    assert float(minicnn.ops.linalg.norm(matrix, ord="fro").data) == pytest.approx(13.0)
    assert minicnn.initializers.STFTInitializer is minicnn.initializers.stft
    assert minicnn.initializers.stft is minicnn.initializers.STFT
    schedules = minicnn.optimizers.schedules
    written = schedules.serialize(schedules.ExponentialDecay(0.1, 10, 0.5))
    assert written["module"] == "keras.optimizers.schedules"
    assert written["class_name"] == "ExponentialDecay" and written["registered_name"] is None
    again = schedules.deserialize(written)
    assert float(again(10)) == pytest.approx(0.05)
    with pytest.raises(ValueError, match="LearningRateSchedule"):
        schedules.serialize(0.1)
