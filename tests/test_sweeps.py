"""End to end sweeps on small generated data: results lines, resumption, reports and plots."""

import json
import re
import struct

import pytest
from idx_files import write_fashion_dir

from minicnn.experiments import cli, runner, sweep, zoo
from minicnn.experiments.results import ResultsStore

SMALL = ["--epochs", "1", "--max-train", "128", "--max-test", "64", "--batch-size", "64"]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("fashion")
    write_fashion_dir(d, 160, 80)
    return str(d)


def read_lines(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def report_rows(text):
    return [
        line
        for line in text.splitlines()
        if re.match(r"^\| [a-z0-9]+ \| ", line) and not line.startswith("| id |")
    ]


def test_width_with_two_seeds(tmp_path, data_dir, capsys, monkeypatch):
    out = tmp_path / "runs"
    argv = ["width", "--seeds", "2", "--out", str(out), "--data-dir", data_dir, *SMALL]
    assert cli.main(argv) == 0
    records = read_lines(out / "width" / "results.jsonl")
    assert len(records) == 14
    assert len({r["key"] for r in records}) == 14
    assert {(r["model"], r["seed"]) for r in records} == {
        (m, s) for m in sweep.EXPERIMENTS["width"][1] for s in (0, 1)
    }
    first = records[0]
    for field in (
        "params",
        "test_loss",
        "test_accuracy",
        "per_class",
        "confusion_matrix",
        "history",
        "seconds_per_epoch",
        "device",
        "versions",
        "git_commit",
    ):
        assert field in first
    assert sum(map(sum, first["confusion_matrix"])) == 64
    assert set(first["history"]) == {"accuracy", "loss", "val_accuracy", "val_loss"}

    text = (out / "width" / "report.md").read_text()
    rows = report_rows(text)
    assert len(rows) == 7
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        model_id = cells[0]
        accs = [100 * r["test_accuracy"] for r in records if r["model"] == model_id]
        mean = sum(accs) / 2
        m = re.match(r"(\d+\.\d\d) ± (\d+\.\d\d) \((\d+)\)", cells[4])
        assert m and abs(float(m.group(1)) - mean) < 0.006 and m.group(3) == "2", row
        assert cells[5] == f"{min(accs):.2f}–{max(accs):.2f}"
        params = next(r["params"] for r in records if r["model"] == model_id)
        assert cells[2] == f"{params:,}"
    assert "Welch's t-test" in text or "Not significantly different" in text
    assert "Best accuracy per training second" in text
    assert "C8-3s P C16-3s P C32-3v C32-3v C16-3s P F D32 Dr D16 Dr O10" in text
    for name in ("accuracy_vs_params.png", "curves.png", "confusion_base.png"):
        assert f"]({name})" in text
        width, height = png_size(out / "width" / name)
        assert width > 200 and height > 200
    assert "[14/14]" in capsys.readouterr().out

    # The same command again trains nothing.
    def must_not_train(task, verbose=0, keep=None):
        raise AssertionError("re-run trained again")

    monkeypatch.setattr(runner, "train_run", must_not_train)
    assert cli.main(argv) == 0
    assert len(read_lines(out / "width" / "results.jsonl")) == 14


def test_interrupted_sweep_resumes_with_only_the_missing_runs(tmp_path, data_dir, monkeypatch):
    out = tmp_path / "runs"
    argv = [
        "depth",
        "--variants",
        "d3,d3x3",
        "--seeds",
        "2",
        "--out",
        str(out),
        "--data-dir",
        data_dir,
        *SMALL,
    ]
    real = runner.train_run
    calls = []

    def interrupted_after_one(task, verbose=0, keep=None):
        if calls:
            raise KeyboardInterrupt
        calls.append(task["key"])
        return real(task, verbose, keep)

    monkeypatch.setattr(runner, "train_run", interrupted_after_one)
    assert cli.main(argv) == 130
    assert len(read_lines(out / "depth" / "results.jsonl")) == 1

    trained = []

    def counting(task, verbose=0, keep=None):
        trained.append((task["model"], task["seed"]))
        return real(task, verbose, keep)

    monkeypatch.setattr(runner, "train_run", counting)
    assert cli.main(argv) == 0
    records = read_lines(out / "depth" / "results.jsonl")
    assert len(records) == 4 and len(trained) == 3
    assert (records[0]["model"], records[0]["seed"]) not in trained


def test_compare_writes_side_by_side_reports(tmp_path, data_dir):
    out = tmp_path / "runs"
    argv = ["compare", "--seeds", "0,3", "--out", str(out), "--data-dir", data_dir, *SMALL]
    assert cli.main(argv) == 0
    text = (out / "compare" / "report.md").read_text()
    assert "| class | cmp precision | recall | f1 | mlp precision | recall | f1 |" in text
    assert re.search(r"^\| Shirt \| (\d\.\d{4} \| ){5}\d\.\d{4} \|$", text, re.M)
    assert re.search(r"^\| weighted avg \| (\d\.\d{4} \| ){5}\d\.\d{4} \|$", text, re.M)
    png_size(out / "compare" / "recall_per_class.png")
    assert {r["seed"] for r in read_lines(out / "compare" / "results.jsonl")} == {0, 3}


def test_base_is_shared_between_experiments(tmp_path, data_dir, monkeypatch):
    out = tmp_path / "runs"
    common = ["--variants", "base", "--seeds", "1", "--out", str(out), "--data-dir", data_dir]
    assert cli.main(["width", *common, *SMALL]) == 0
    monkeypatch.setattr(runner, "train_run", lambda *a, **k: pytest.fail("base trained twice"))
    assert cli.main(["window", *common, *SMALL]) == 0
    assert read_lines(out / "window" / "results.jsonl") == read_lines(
        out / "width" / "results.jsonl"
    )


def test_corrupt_line_is_skipped_with_a_warning_and_kept(tmp_path, capsys):
    path = tmp_path / "results.jsonl"
    store = ResultsStore(path)
    store.append({"key": "a", "value": 1})
    with open(path, "a") as f:
        f.write('{"key": "b", "val')  # a torn line, as a kill mid-write could leave
    store.append({"key": "c", "value": 3})
    assert set(store.load()) == {"a", "c"}
    assert "results.jsonl:2: skipping" in capsys.readouterr().err
    assert '{"key": "b", "val' in path.read_text()
    assert path.read_text().count("\n") == 3


def test_fresh_moves_old_results_aside(tmp_path):
    store = ResultsStore(tmp_path / "results.jsonl")
    store.append({"key": "a"})
    moved = store.start_fresh()
    assert moved.exists() and not store.path.exists() and store.load() == {}


@pytest.mark.parametrize(
    "argv,message",
    [
        (["width", "--variants", "w1,zz"], "unknown model id(s) in --variants: zz"),
        (["width", "--device", "gpu"], "--device gpu"),
    ],
)
def test_bad_sweep_arguments_exit_2(argv, message, tmp_path, capsys):
    assert cli.main([*argv, "--out", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv", [["width", "--seeds", "0"], ["nonsense"], ["width", "--seeds", "x"]]
)
def test_argument_errors_exit_2(argv):
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2


def test_unwritable_out_fails_before_training(tmp_path, capsys, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setattr(runner, "train_run", lambda *a, **k: pytest.fail("trained"))
    assert cli.main(["width", "--out", str(blocker / "sub")]) == 2
    assert "cannot be created" in capsys.readouterr().err


def test_parallel_jobs_record_every_run_once(tmp_path, data_dir):
    out = tmp_path / "runs"
    argv = [
        "compare",
        "--seeds",
        "2",
        "--jobs",
        "2",
        "--out",
        str(out),
        "--data-dir",
        data_dir,
        *SMALL,
    ]
    assert cli.main(argv) == 0
    records = read_lines(out / "compare" / "results.jsonl")
    assert sorted((r["model"], r["seed"]) for r in records) == [
        ("cmp", 0),
        ("cmp", 1),
        ("mlp", 0),
        ("mlp", 1),
    ]
    assert len({r["key"] for r in records}) == 4


def test_all_trains_each_distinct_run_once_biggest_first(tmp_path, data_dir, monkeypatch, capsys):
    out = tmp_path / "runs"
    trained = []
    real_train_run = runner.train_run

    def counting(task, *args, **kwargs):
        trained.append(task["model"])
        return real_train_run(task, *args, **kwargs)

    monkeypatch.setattr(runner, "train_run", counting)
    argv = ["all", "--variants", "mlp,base,k2", "--seeds", "1", "--out", str(out)]
    assert cli.main([*argv, "--data-dir", data_dir, *SMALL]) == 0
    # base is in three tables but trained once; the biggest model goes first.
    params = {m: zoo.get_spec(m).params for m in trained}
    assert sorted(trained) == ["base", "k2", "mlp"]
    assert trained == sorted(trained, key=params.get, reverse=True)
    tables = {
        name: sorted(r["model"] for r in read_lines(out / name / "results.jsonl"))
        for name in ("width", "window", "depth", "compare")
    }
    assert tables == {
        "width": ["base"],
        "window": ["base", "k2"],
        "depth": ["base"],
        "compare": ["mlp"],
    }
    assert (out / "index.md").exists()
    printed = capsys.readouterr().out
    assert "all: 3 distinct runs to train for 4 tables" in printed
    assert (
        "window: 2 runs (2 models x 1 seeds); 1 already recorded, 1 taken from other "
        "experiments, 0 to train" in printed
    )
    # Run again: nothing to train; with --fresh, everything once more.
    assert cli.main([*argv, "--data-dir", data_dir, *SMALL]) == 0
    assert len(trained) == 3
    assert cli.main([*argv, "--data-dir", data_dir, *SMALL, "--fresh"]) == 0
    assert len(trained) == 6
