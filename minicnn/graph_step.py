"""A training step captured once in a CUDA graph and replayed (``compile(jit_compile=True)`` on a
GPU).

A small model's step on a GPU is bound by the host: every kernel launch costs microseconds of
Python and CuPy before the GPU does anything. A CUDA graph records the launches of one step and
replays them all with one call. ``fit`` runs the first step of a batch shape uncaptured (it
compiles and loads the kernels the capture will launch, and builds the optimizer's state),
captures the second, and replays the graph for every later step of that shape; another shape
(the last, smaller batch of an epoch) runs uncaptured.

What a replay cannot see, and how it is handled:
- The arrays: a graph reads and writes the memory it was captured with. Each batch is copied
  into input arrays made for the graph; weights, optimizer state and moving statistics are
  updated in place; the loss and metric counts land in arrays that the graph keeps.
- Memory: everything the step allocates comes from a memory pool of the graph's own, so memory
  the capture freed is never handed to other work while the graph still writes there.
- The numbers made on the host each step (dropout and augmentation seeds, the learning rate,
  Adam's step size): ``backend.step_scalar`` puts them in one device buffer that is refilled,
  in the order of the capture, before each replay; so a replayed step draws the same random
  numbers as an uncaptured one, and the optimizer counts its iterations on the host as before.
- cuBLAS: CuPy refuses to call it while a stream captures, so the products of a captured step
  (and of the steps run uncaptured alongside it) go to minicnn's own GEMM kernel
  (``functions.matmul_arrays``, ``kernels.cuda.gemm``); their rounding differs from cuBLAS' in
  the last bits; the per-channel products of DepthwiseConv2D and SeparableConv2D, an
  ``einsum`` elsewhere, become products and sums (``conv_ops._per_channel``).
- Anything else that changes the step (other weights or weight arrays, freezing a layer, another
  optimizer, loss or metric) changes the key of the step, and the next two steps run uncaptured
  and capture again. Hyperparameters other than the learning rate (a dropout rate, Adam's
  betas) are read when the step is captured.
A capture that fails (an operation that needs the host mid-step, or cuBLAS) is reported once
as a warning, and the training goes on uncaptured.
"""

from __future__ import annotations

import contextlib
import warnings
from typing import Any

from . import backend, workspace


def _arrays(*parts: Any) -> list[Any]:
    """The arrays of x, y and w, each an array, None, or a tuple of arrays (several inputs
    or outputs), in one flat list."""
    flat: list[Any] = []
    for part in parts:
        flat.extend(part if isinstance(part, tuple) else [part])
    return flat


def _copied(part: Any) -> Any:
    if part is None:
        return None
    return tuple(a.copy() for a in part) if isinstance(part, tuple) else part.copy()


class CapturedTrainStep:
    """``model._train_step(x, y, w)``, captured and replayed where it can be."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.graph: Any = None
        self.key: tuple | None = None  # of the captured step
        self.warm_key: tuple | None = None  # of the last step run uncaptured
        self.failure: str | None = None
        self.replays = 0
        # Of the captured step: its input and output arrays, step scalars, memory and stream.
        self.inputs: tuple[Any, ...] = ()
        self.outputs: tuple[Any, list[Any]] | None = None
        self.scalars: backend.StepScalars | None = None
        self._keep: tuple[Any, ...] | None = None

    def _key_of(self, x: Any, y: Any, w: Any) -> tuple:
        model = self.model
        return (
            tuple(None if a is None else (a.shape, a.dtype.str) for a in _arrays(x, y, w)),
            tuple(id(t.data) for t in model.weights),
            tuple(id(t) for t in model.trainable_weights),
            id(model.optimizer),
            id(model.loss),
            tuple(id(m) for m in model._compiled_metrics),
        )

    def __call__(self, x: Any, y: Any, w: Any = None) -> tuple[Any, list[Any]]:
        if self.failure is None:
            key = self._key_of(x, y, w)
            if self.graph is not None and key == self.key:
                return self._replay(x, y, w)
            if key == self.warm_key:
                captured = self._capture(x, y, w, key)
                if captured is not None:
                    return captured
            self.warm_key = key
            with backend.capturing_step(backend.DeviceScalars(backend.cupy_module())):
                return self.model._train_step(x, y, w)
        return self.model._train_step(x, y, w)

    def _capture(self, x: Any, y: Any, w: Any, key: tuple) -> tuple[Any, list[Any]] | None:
        """Capture this step and run it; None (after a warning) when it cannot be captured."""
        xp = backend.cupy_module()
        optimizer = self.model.optimizer
        host_state = optimizer.host_state()
        if self.graph is not None:
            # The old graph may still run; its memory and executable go only once it is done.
            backend.synchronize("gpu")
            self.graph = self._keep = None
        # Scratch arrays made before the capture must not serve it: one the workspace let go
        # would go back to the default pool while the graph still writes there.
        workspace.clear()
        inputs = tuple(_copied(a) for a in (x, y, w))
        scalars = backend.StepScalars(xp)
        pool = xp.cuda.MemoryPool()
        stream = xp.cuda.Stream(non_blocking=True)
        try:
            with stream, xp.cuda.using_allocator(pool.malloc), backend.capturing_step(scalars):
                stream.begin_capture()
                try:
                    outputs = self.model._train_step(*inputs)
                except BaseException:
                    with contextlib.suppress(Exception):
                        stream.end_capture()
                    raise
                graph = stream.end_capture()
        except Exception as e:
            optimizer.restore_host(host_state)
            workspace.clear()  # it may hold arrays of the abandoned capture
            self.failure = f"{type(e).__name__}: {e}"
            warnings.warn(
                f"The training step of model '{self.model.name}' could not be captured in a "
                f"CUDA graph ({self.failure}); it runs uncaptured.",
                RuntimeWarning,
                stacklevel=4,
            )
            return None
        self.graph, self.key = graph, key
        self.inputs, self.outputs, self.scalars = inputs, outputs, scalars
        self._keep = (pool, stream)  # the graph's memory and stream live as long as it does
        scalars.upload()
        graph.launch()
        return outputs

    def _replay(self, x: Any, y: Any, w: Any) -> tuple[Any, list[Any]]:
        for static, batch in zip(_arrays(*self.inputs), _arrays(x, y, w), strict=True):
            if static is not None:
                static[...] = batch
        self.model.optimizer.advance()
        self.scalars.refill()
        self.scalars.upload()
        self.graph.launch()
        self.replays += 1
        return self.outputs
