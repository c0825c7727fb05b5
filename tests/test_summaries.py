"""model.summary() against Keras 3.15's own text (tests/keras_files/summaries.json, made by
make_summaries.py from tests/summary_models.py): nested models, branches, recurrent layers,
long names, show_trainable, expand_nested, line_length and positions, on terminals 80 and
120 columns wide: the same characters."""

import json
from pathlib import Path

import pytest
from summary_models import summary_models

import minicnn

CASES = json.loads((Path(__file__).parent / "keras_files" / "summaries.json").read_text())


@pytest.mark.parametrize("columns", [80, 120])
def test_summaries_are_keras_own_text(monkeypatch, columns):
    monkeypatch.setenv("COLUMNS", str(columns))
    minicnn.utils.clear_session()
    expected = [case for case in CASES if case["columns"] == columns]
    found = list(summary_models(minicnn))
    assert len(found) == len(expected)
    for (name, model, kwargs), case in zip(found, expected, strict=True):
        assert (name, kwargs) == (case["model"], case["arguments"])
        lines = []
        model.summary(print_fn=lines.append, **kwargs)
        assert "\n".join(lines) + "\n" == case["text"], (name, kwargs)
