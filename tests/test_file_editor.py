"""keras.saving.KerasFileEditor: a Keras file's weights as a tree, compared with a model,
edited and saved as a weight file that load_weights reads (Keras 3.15 read the edited file
of tests/keras_files/cnn.keras and loaded it into its own model, weights equal)."""

from pathlib import Path

import numpy as np
import pytest

import minicnn
from minicnn import Input, Sequential
from minicnn import layers as L
from minicnn.saving import KerasFileEditor

pytest.importorskip("h5py", reason="Keras' files need h5py")
FILES = Path(__file__).parent / "keras_files"


def _model(extra: bool = False) -> Sequential:
    minicnn.set_random_seed(0)
    stack = [Input((6,)), L.Dense(4, activation="relu")]
    if extra:
        stack.append(L.Dense(4))
    return Sequential([*stack, L.Dense(2)])


def test_a_keras_file_reads_as_a_tree_and_matches_its_model(capsys):
    editor = KerasFileEditor(FILES / "cnn.keras")
    assert editor.metadata["keras_version"].startswith("3.")
    layers = editor.weights_dict["layers"]
    assert list(layers) == ["conv2d", "conv2d_1", "dense"]
    assert layers["dense"]["0"].shape == (576, 10) and layers["dense"]["1"].shape == (10,)
    assert list(editor.weights_dict["optimizer"])[:3] == ["0", "1", "2"]  # in number order
    editor.summary()
    shown = capsys.readouterr().out
    assert "Saved with Keras 3.15" in shown and "0: shape=(576, 10), dtype=float32" in shown
    model = minicnn.load_model(FILES / "cnn.keras")
    assert editor.compare(model) == {"status": "success", "error_count": 0, "match_count": 20}
    uncompiled = minicnn.load_model(FILES / "cnn.keras", compile=False)
    result = editor.compare(uncompiled)  # the file's optimizer is not the model's
    assert result["status"] == "error" and result["error_count"] == 1
    assert "Object /optimizer present in saved file, missing from reference model" in (
        capsys.readouterr().out
    )


def test_edits_make_an_old_file_fit_a_changed_model(tmp_path):
    old = _model()
    old.save_weights(tmp_path / "old.weights.h5")
    new = _model(extra=True)  # a Dense inserted: Keras numbers the last one dense_2 now
    editor = KerasFileEditor(tmp_path / "old.weights.h5")
    assert editor.compare(new)["error_count"] == 3  # dense_1 of other shapes, no dense_2
    with pytest.raises(ValueError, match="occurs more than once"):
        editor.delete_weight("0", "0")  # ("0" is a weight of both layers)
    editor.rename_object("layers/dense_1", "dense_2")
    middle = new.layers[1].get_weights()
    editor.add_object("layers/dense_1", {"0": middle[0], "1": middle[1]})
    assert editor.compare(new) == {"status": "success", "error_count": 0, "match_count": 6}
    editor.save(tmp_path / "new.weights.h5")
    new.load_weights(tmp_path / "new.weights.h5")
    for mine, theirs in zip(new.layers[::2], old.layers, strict=True):
        for a, b in zip(mine.get_weights(), theirs.get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)
    editor.delete_weight("dense_2", "1")
    result = editor.compare(new)
    assert result["error_count"] == 1 and result["match_count"] == 5
    editor.add_weights("layers/dense_2", {"1": np.zeros(3, np.float32)})
    assert editor.compare(new)["error_count"] == 1  # a bias of the wrong shape
    editor.delete_object("dense_2")
    assert "dense_2" not in editor.weights_dict["layers"]


def test_bad_names_and_files_are_refused(tmp_path):
    _model().save_weights(tmp_path / "w.weights.h5")
    editor = KerasFileEditor(tmp_path / "w.weights.h5")
    with pytest.raises(ValueError, match="Path 'layers/conv2d' not found"):
        editor.delete_object("layers/conv2d")
    with pytest.raises(ValueError, match="does not appear in the model"):
        editor.rename_object("conv2d", "c")
    with pytest.raises(ValueError, match="should be a leaf name"):
        editor.rename_object("dense", "layers/d")
    with pytest.raises(ValueError, match="already exists beside"):
        editor.rename_object("dense", "dense_1")
    with pytest.raises(ValueError, match="Weight 7 not found in object dense"):
        editor.delete_weight("dense", "7")
    with pytest.raises(ValueError, match="should be a dict"):
        editor.add_weights("dense", [np.zeros(2)])
    with pytest.raises(ValueError, match="expected a `.weights.h5` extension"):
        editor.save(tmp_path / "w.h5")
    with pytest.raises(ValueError, match="expected a `.keras` `.weights.h5` extension"):
        KerasFileEditor(tmp_path / "w.h5")
    assert [p.name for p in tmp_path.iterdir()] == ["w.weights.h5"]
