"""What the real CuPy offers, recorded from an installed CuPy, so that the fake CuPy of the
emulated GPU tests refuses what the real one would refuse: a function or array method CuPy does
not have, or a keyword argument it does not take.

CI has no CuPy, so the record is a file, ``cupy_api.json``. Write it again on a machine where
CuPy imports (no GPU is needed)::

    python tests/cupy_api.py --write

The ``linalg.*`` entries were added by hand from CuPy 14's documentation (the session that
wrote ``ops.linalg`` had no CuPy); on the device machine ``test_the_record_is_the_installed_cupys``
compares them with CuPy's own, and ``--write`` replaces them.
"""

from __future__ import annotations

import ast
import inspect
import json
import re
import sys
from functools import cache
from pathlib import Path
from typing import Any

RECORD_PATH = Path(__file__).with_name("cupy_api.json")

# Things minicnn reaches below the top level of the cupy module (the fake defines these by hand).
NESTED = (
    "cuda.runtime.getDeviceCount",
    "cuda.runtime.getDeviceProperties",
    "cuda.runtime.runtimeGetVersion",
    "cuda.get_current_stream",
    "cuda.Stream",
    "cuda.Stream.null",
    "cuda.Stream.synchronize",
    "cuda.Stream.begin_capture",
    "cuda.Stream.end_capture",
    "cuda.Stream.is_capturing",
    "cuda.graph.Graph.launch",
    "cuda.MemoryPool",
    "cuda.MemoryPool.malloc",
    "cuda.using_allocator",
    "cuda.MemoryPool.total_bytes",
    "cuda.MemoryPool.used_bytes",
    "get_default_memory_pool",
    "RawModule",
    "RawModule.get_function",
    "RawKernel.__call__",
    "linalg.cholesky",
    "linalg.det",
    "linalg.eigh",
    "linalg.inv",
    "linalg.lstsq",
    "linalg.qr",
    "linalg.slogdet",
    "linalg.solve",
    "linalg.svd",
)

# The ndarray's special methods that minicnn and the fake rely on. The others are left out of
# the record: which of them a type shows depends on the Python version (3.12 adds __buffer__).
ARRAY_PROTOCOL = (
    "__array__",
    "__array_priority__",
    "__array_ufunc__",
    "__bool__",
    "__float__",
    "__getitem__",
    "__int__",
    "__len__",
    "__matmul__",
    "__setitem__",
)

# A signature: the names a caller may pass as keywords, and whether **kwargs takes any other.
Signature = dict[str, Any]


def _from_docstring(obj: Any) -> Signature | None:
    """Cython functions carry their signature only as the first line of their docstring."""
    first = (getattr(obj, "__doc__", None) or "").strip().splitlines()
    match = re.match(r"^[\w.]*\((.*)\)", first[0]) if first else None
    if match is None:
        return None
    params = ", ".join(_untyped(p) for p in _split(match.group(1).replace("\\*", "*")))
    try:
        args = ast.parse(f"def f({params}): pass").body[0].args
    except SyntaxError:
        return None
    names = [a.arg for a in (*args.args, *args.kwonlyargs)]
    return {"keywords": [n for n in names if n != "self"], "any": args.kwarg is not None}


def _split(params: str) -> list[str]:
    """Split a parameter list at its top-level commas."""
    pieces, depth, start = [], 0, 0
    for i, ch in enumerate(params):
        depth += (ch in "([{") - (ch in ")]}")
        if ch == "," and depth == 0:
            pieces.append(params[start:i])
            start = i + 1
    return [p.strip() for p in (*pieces, params[start:]) if p.strip()]


def _untyped(param: str) -> str:
    """'str code=None' -> 'code=None': drop the Cython type in front of a parameter's name."""
    name, eq, default = param.partition("=")
    return name.split()[-1] + eq + default if name.split() else param


def signature_of(obj: Any) -> Signature | None:
    """The keyword arguments ``obj`` takes, or None where CuPy does not say."""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return _from_docstring(obj)
    keywords, any_keyword = [], False
    for p in sig.parameters.values():
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != "self":
            keywords.append(p.name)
        any_keyword |= p.kind == p.VAR_KEYWORD
    if any_keyword and keywords == [] and len(sig.parameters) == 2:
        # (*args, **kwargs): a generic wrapper; its docstring may say more.
        return _from_docstring(obj) or {"keywords": [], "any": True}
    return {"keywords": keywords, "any": any_keyword}


def _entry(obj: Any) -> Any:
    if isinstance(obj, type):
        # A class's record is its constructor's signature (Cython classes give it in __doc__).
        return _from_docstring(obj) or "type"
    if callable(obj):
        return signature_of(obj) or "callable"
    return "value"


def resolve(module: Any, path: str) -> Any:
    """``module.a.b`` for the path 'a.b' (AttributeError where a part is missing)."""
    obj = module
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def record(cupy: Any) -> dict[str, Any]:
    """What ``cupy`` offers: its public names, its ndarray's attributes, and NESTED."""
    nested = {path: _entry(resolve(cupy, path)) for path in NESTED}
    return {
        "cupy_version": cupy.__version__,
        "module": {n: _entry(getattr(cupy, n)) for n in dir(cupy) if not n.startswith("_")},
        "ndarray": {
            n: _entry(getattr(cupy.ndarray, n))
            for n in dir(cupy.ndarray)
            if not n.startswith("_") or n in ARRAY_PROTOCOL
        },
        "nested": nested,
    }


@cache
def recorded() -> dict[str, Any]:
    return json.loads(RECORD_PATH.read_text())


def check_call(where: str, entry: Any, kwargs: dict[str, Any]) -> None:
    """Raise TypeError as CuPy would for a keyword argument that ``entry`` does not take."""
    if not isinstance(entry, dict) or entry["any"]:
        return
    unknown = sorted(set(kwargs) - set(entry["keywords"]))
    if unknown:
        version = recorded()["cupy_version"]
        raise TypeError(
            f"{where}() got an unexpected keyword argument {unknown[0]!r} (CuPy {version})"
        )


def entry(table: str, name: str, where: str) -> Any:
    """The record of ``name`` in ``table`` ('module', 'ndarray' or 'nested'); AttributeError,
    as CuPy raises it, where CuPy has no such thing."""
    found = recorded()[table].get(name)
    if found is None:
        version = recorded()["cupy_version"]
        raise AttributeError(f"{where} has no attribute {name!r} (not in CuPy {version})")
    return found


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit(__doc__)
    import cupy

    RECORD_PATH.write_text(json.dumps(record(cupy), indent=1, sort_keys=True) + "\n")
    print(f"wrote {RECORD_PATH} from CuPy {cupy.__version__}")
