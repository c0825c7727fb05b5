"""The fake CuPy behind the emulated GPU tests offers what the real CuPy offers, and no more."""

from __future__ import annotations

import re
from pathlib import Path

import cupy_api
import fake_cupy
import numpy as np
import pytest

import minicnn


@pytest.fixture
def fake():
    return fake_cupy.FakeCupy()


def test_it_refuses_what_cupy_does_not_have(fake):
    assert hasattr(np, "busday_count") and "busday_count" not in cupy_api.recorded()["module"]
    with pytest.raises(AttributeError, match="'busday_count' .*not in CuPy"):
        _ = fake.busday_count
    a = fake.zeros(3, np.float32)
    with pytest.raises(AttributeError, match="'ctypes' .*not in CuPy"):
        _ = a.ctypes  # NumPy has it, CuPy does not


def test_it_refuses_keywords_cupy_does_not_take(fake):
    a = fake.arange(6, dtype=np.float32)
    with pytest.raises(TypeError, match="unexpected keyword argument 'initial'"):
        a.max(initial=0.0)  # NumPy takes it, CuPy does not
    with pytest.raises(TypeError, match="unexpected keyword argument 'like'"):
        fake.zeros(3, like=a)
    assert float(a.max(axis=0, keepdims=True)[0]) == 5.0


def test_everything_it_defines_by_hand_is_in_cupy():
    module = cupy_api.recorded()["module"]
    ndarray = cupy_api.recorded()["ndarray"]
    for name in vars(fake_cupy.FakeCupy):
        if not name.startswith("_"):
            assert name in module or name in cupy_api.recorded()["nested"], name
    # The array protocol the fake implements: its special names that NumPy arrays have too.
    protocol = set(dir(np.ndarray)) - set(dir(object))
    for name in vars(fake_cupy.FakeArray):
        if not name.startswith("_") or name in protocol:
            assert name in ndarray, name
    fake = fake_cupy.FakeCupy()
    for path in [p for p in cupy_api.NESTED if p.startswith("cuda.runtime.")] + [
        "cuda.get_current_stream"
    ]:
        assert path in cupy_api.recorded()["nested"]
        assert callable(cupy_api.resolve(fake, path))


def _xp_names() -> set[str]:
    sources = Path(minicnn.__file__).parent.rglob("*.py")
    return {m for path in sources for m in re.findall(r"\bxp\.([a-z]\w*)", path.read_text())}


def test_minicnn_calls_only_what_cupy_has():
    assert {"empty", "matmul", "exp"} <= _xp_names()
    assert _xp_names() <= set(cupy_api.recorded()["module"])


def test_the_record_is_the_installed_cupys():
    """Where CuPy is installed (the device machine, or a machine with minicnn[gpu]), the record
    must match it; write it again with ``python tests/cupy_api.py --write``."""
    cupy = pytest.importorskip("cupy")
    if isinstance(cupy, fake_cupy.FakeCupy):
        pytest.skip("'cupy' is the fake here (benchmarks/gpu_rehearsal.sh)")
    if cupy.__version__ != cupy_api.recorded()["cupy_version"]:
        # Another release: it must still have every function minicnn calls through xp, and
        # every NESTED path (record() raises AttributeError for one that is gone).
        live = cupy_api.record(cupy)
        assert _xp_names() <= set(live["module"])
        pytest.skip(f"the record is of CuPy {cupy_api.recorded()['cupy_version']}")
    assert cupy_api.record(cupy) == cupy_api.recorded()


def test_a_capture_records_instead_of_running_and_a_launch_replays(fake):
    """The semantics the captured-step tests lean on, checked against what a GPU does."""
    a = fake.arange(4, dtype=np.float32)
    total = fake.zeros((), np.float32)
    stream = fake.cuda.Stream(non_blocking=True)
    with pytest.raises(RuntimeError, match="private memory pool"):
        with stream:
            stream.begin_capture()
    with stream, fake.cuda.using_allocator(fake.cuda.MemoryPool().malloc):
        stream.begin_capture()
        assert stream.is_capturing()
        doubled = a * 2  # a new array: garbage until the graph runs
        total += doubled.sum()  # in place: recorded, not run
        view = doubled[1:]  # a view: no work of its own
        for host_side in (lambda: float(total), lambda: fake.asarray(np.ones(2)), a.get):
            with pytest.raises(RuntimeError, match="not permitted when stream is capturing"):
                host_side()
        with pytest.raises(RuntimeError, match="not permitted"):
            stream.synchronize()
        for use_cublas in (lambda: a @ a, lambda: fake.matmul(a, a), lambda: a.dot(a)):
            with pytest.raises(NotImplementedError, match="cuBLAS API during stream capture"):
                use_cublas()  # as CuPy's cublas.setStream refuses
        for shape_from_values in (lambda: a[a > 1], lambda: fake.nonzero(a), a.nonzero):
            with pytest.raises(RuntimeError, match="not permitted"):
                shape_from_values()  # CuPy reads the count back first
        graph = stream.end_capture()
    assert np.isnan(doubled.get()).all() and float(total) == 0.0
    graph.launch()
    assert float(total) == 12.0 and view.get().tolist() == [2.0, 4.0, 6.0]
    a[...] = 1.0  # a replay reads what the arrays hold when it runs
    graph.launch()
    assert float(total) == 20.0 and doubled.get().tolist() == [2.0] * 4
    with pytest.raises(RuntimeError, match="legacy"):
        fake.cuda.Stream.null.begin_capture()
