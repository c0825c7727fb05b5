import re

import pytest
from idx_files import write_fashion_dir

from minicnn.experiments import baseline, cli, zoo


def test_list_prints_every_model(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    for spec in zoo.STUDY:
        assert re.search(rf"^{spec.id}\s+{spec.table}\s+{spec.params:,}\s", out, re.M), spec.id


def test_notation_parser_rejects_unknown_tokens():
    with pytest.raises(ValueError, match="Unknown layer token 'X9'"):
        zoo.parse_layers("C32-3s X9")
    with pytest.raises(ValueError, match="Unknown model id 'w9'"):
        zoo.build_model("w9")


def test_baseline_end_to_end_on_small_data(tmp_path, capsys):
    write_fashion_dir(tmp_path, 512, 200)
    code = cli.main(
        [
            "baseline",
            "--out",
            str(tmp_path / "runs"),
            "--epochs",
            "2",
            "--data-dir",
            str(tmp_path),
            "--model",
            "w1",
            "--max-train",
            "384",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "Total params: 21,002 (82.04 KB)" in out
    assert re.search(r"^Epoch 2/2$", out, re.M)
    assert re.search(r"^3/3 ━{20} .* - val_accuracy: \d\.\d{4} - val_loss: \d\.\d{4}$", out, re.M)
    accuracy = float(re.search(r"Test accuracy (\d+\.\d\d)%", out).group(1))
    report = re.search(r"^\s+accuracy\s+(\d\.\d{4})\s+200$", out, re.M)
    assert report and abs(float(report.group(1)) * 100 - accuracy) < 0.01
    for name in ("T-shirt/top", "Ankle boot"):
        assert re.search(
            rf"^\s+{re.escape(name)}\s+\d\.\d{{4}}\s+\d\.\d{{4}}\s+\d\.\d{{4}}\s+\d+$", out, re.M
        )
    assert "Seconds per epoch" in out and "peak memory" in out
    results = (tmp_path / "runs" / "baseline" / "results.jsonl").read_text().splitlines()
    assert len(results) == 1 and '"model": "w1"' in results[0]
    assert "| w1 |" in (tmp_path / "runs" / "baseline" / "report.md").read_text()


def test_baseline_figures(tmp_path):
    write_fashion_dir(tmp_path, 256, 64)
    figures = baseline.run("mlp", epochs=3, batch_size=32, data_dir=str(tmp_path), verbose=0)
    assert figures["params"] == 146_780
    assert figures["test_accuracy"] > 0.5  # the bands make the classes easy
    assert len(figures["epoch_seconds"]) == 3


def test_missing_data_exits_2_with_the_reason(tmp_path, capsys, monkeypatch):
    from minicnn.datasets import fashion_mnist

    monkeypatch.delenv("MINICNN_DATA", raising=False)
    monkeypatch.setenv("MINICNN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(fashion_mnist, "SYSTEM_DIR", tmp_path / "none")
    monkeypatch.setattr(fashion_mnist, "MIRRORS", [])
    assert (
        cli.main(["baseline", "--out", str(tmp_path), "--data-dir", str(tmp_path / "nowhere")]) == 2
    )
    assert "Fashion-MNIST not found" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv", [["width9"], ["baseline", "--epochs", "0"], ["baseline", "--model", "zz"]]
)
def test_bad_arguments_exit_2(argv):
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2


def test_class_scores_are_scikit_learns():
    import numpy as np
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    from minicnn.experiments.runner import class_scores

    rng = np.random.default_rng(3)
    truth = rng.integers(0, 10, 500)
    # Class 9 never predicted, class 8 never true: the zero divisions are 0, as zero_division=0.
    truth[truth == 8] = 0
    predicted = np.where(rng.random(500) < 0.6, truth, rng.integers(0, 9, 500))
    predicted[predicted == 9] = 1
    matrix, per_class = class_scores(truth, predicted, 10)
    labels = list(range(10))
    assert matrix == confusion_matrix(truth, predicted, labels=labels).tolist()
    expected = precision_recall_fscore_support(truth, predicted, labels=labels, zero_division=0)
    for name, values in zip(("precision", "recall", "f1", "support"), expected, strict=True):
        np.testing.assert_allclose(per_class[name], values, rtol=1e-12, err_msg=name)
