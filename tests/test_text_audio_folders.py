"""Keras' text_dataset_from_directory and audio_dataset_from_directory: folders of .txt and
.wav files written here, labels by folder, max_length, padding to the batch's longest or to
output_sequence_length, 8/16-bit PCM scaling, the split, and a text model that trains."""

import wave

import numpy as np
import pytest

from minicnn import Input, Sequential, optimizers
from minicnn import layers as L
from minicnn.utils import audio_dataset_from_directory, text_dataset_from_directory

TEXTS = {
    "neg": ["awful bad film", "bad plot and bad acting", "boring awful", "bad bad bad"],
    "pos": ["great fun film", "good acting and great plot", "lovely great", "good good"],
}


def write_texts(root):
    for label, texts in TEXTS.items():
        (root / label).mkdir(parents=True)
        for i, text in enumerate(texts):
            (root / label / f"{i}.txt").write_text(text, encoding="utf-8")
        (root / label / "notes.md").write_text("not read")


def test_texts_load_by_folder_and_train_a_classifier(tmp_path, capsys):
    write_texts(tmp_path)
    data = text_dataset_from_directory(tmp_path, batch_size=3, shuffle=False)
    assert "Found 8 files belonging to 2 classes." in capsys.readouterr().out
    assert data.class_names == ["neg", "pos"] and len(data) == 3
    texts, labels = data[0]
    assert list(texts) == TEXTS["neg"][:3] and list(labels) == [0, 0, 0]
    short = text_dataset_from_directory(tmp_path, max_length=5, shuffle=False, verbose=False)
    assert short[0][0][1] == "bad p"
    vectorize = L.TextVectorization(max_tokens=20, output_mode="multi_hot")
    vectorize.adapt([t for texts in TEXTS.values() for t in texts])
    x = np.concatenate([vectorize(texts).data for texts, _ in data])
    y = np.concatenate([labels for _, labels in data])
    model = Sequential([Input((x.shape[1],)), L.Dense(2, activation="softmax")])
    model.compile(optimizers.Adam(0.1), "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=60, verbose=0)
    assert history.history["accuracy"][-1] == 1.0
    train, valid = text_dataset_from_directory(
        tmp_path, validation_split=0.25, subset="both", seed=1, verbose=False
    )
    assert len(train.file_paths) == 6 and len(valid.file_paths) == 2
    assert not set(train.file_paths) & set(valid.file_paths)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="No text files found in directory"):
        text_dataset_from_directory(tmp_path / "empty", verbose=False)


def write_wav(path, samples, rate=8000, width=2):
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as f:
        f.setnchannels(samples.shape[1])
        f.setsampwidth(width)
        f.setframerate(rate)
        if width == 2:
            data = np.round(samples * 32767).astype("<i2")
        else:
            data = np.round(samples * 127 + 128).astype(np.uint8)
        f.writeframes(data.tobytes())


def test_audio_loads_scaled_and_padded(tmp_path):
    tone = np.sin(np.linspace(0, 20, 100))[:, None] * 0.5
    write_wav(tmp_path / "a" / "long.wav", tone)
    write_wav(tmp_path / "a" / "short.wav", tone[:40])
    write_wav(tmp_path / "b" / "bytes.wav", tone[:60], width=1)
    data = audio_dataset_from_directory(tmp_path, batch_size=3, shuffle=False, verbose=False)
    audio, labels = data[0]
    assert audio.shape == (3, 100, 1) and audio.dtype == np.float32
    np.testing.assert_allclose(audio[0, :, 0], tone[:, 0], atol=1 / 32767)
    np.testing.assert_allclose(audio[1, :40, 0], tone[:40, 0], atol=1 / 32767)
    assert not audio[1, 40:].any()  # zero-padded to the batch's longest
    np.testing.assert_allclose(audio[2, :60, 0], tone[:60, 0], atol=1 / 127)
    assert list(labels) == [0, 0, 1]
    fixed = audio_dataset_from_directory(
        tmp_path, output_sequence_length=50, shuffle=False, verbose=False
    )
    assert fixed[0][0].shape == (3, 50, 1)
    with pytest.raises(ValueError, match="sampled at 8000 Hz, not the sampling_rate 16000"):
        audio_dataset_from_directory(tmp_path, sampling_rate=16000, verbose=False)[0]
    with pytest.raises(ValueError, match="ragged=True is not available"):
        audio_dataset_from_directory(tmp_path, ragged=True)
    (tmp_path / "a" / "broken.wav").write_bytes(b"RIFF....not a wav")
    with pytest.raises(ValueError, match="broken.wav is not a PCM .wav file"):
        audio_dataset_from_directory(tmp_path, shuffle=False, verbose=False)[0]
