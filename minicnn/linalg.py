"""Keras' ``keras.ops.linalg`` for minicnn Tensors (``minicnn.ops.linalg``, and each op also
at ``minicnn.ops``): solve, inv, det, slogdet and logdet, cholesky and cholesky_inverse, eigh,
qr, svd, lstsq, solve_triangular and lu_factor, on stacks of matrices (lstsq: one matrix), by
NumPy's or CuPy's linalg (cuSOLVER). Each is differentiable by its textbook adjoint (Giles'
matrix identities; Murray's for the Cholesky factor; Townsend's for the SVD), checked by float64
finite differences. A decomposition with several outputs runs as one Function whose outputs
are packed along one axis (the autograd's Functions return one array) and sliced apart, so
each output's gradient reaches the one backward. Keras' ``eig`` (complex eigenpairs) and
``jvp`` are not here."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import backend
from . import ops as O
from .autograd import Function, Tensor, grad
from .functions import _unbroadcast

__all__ = [
    "cholesky",
    "cholesky_inverse",
    "det",
    "eig",
    "eigh",
    "inv",
    "jvp",
    "logdet",
    "lstsq",
    "lu_factor",
    "matrix_rank",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "solve_triangular",
    "svd",
]


def _t(a: Any) -> Any:
    """Each matrix of a stack transposed."""
    return a.swapaxes(-1, -2)


def _eye_like(xp: Any, a: Any) -> Any:
    return xp.broadcast_to(xp.eye(a.shape[-1], dtype=a.dtype), a.shape)


def _matrices(x: Any, owner: str, square: bool = True) -> Tensor:
    x = O.convert_to_tensor(x)
    if x.dtype.kind not in "fc":  # (complex matrices are solved as such, without gradients)
        x = O.cast(x, "float32")
    if x.ndim < 2 or (square and x.shape[-1] != x.shape[-2]):
        kind = "square matrices" if square else "matrices"
        raise ValueError(f"{owner}: {kind} (..., n, n), got shape {x.shape}.")
    return x


class _Decomposition(Function):
    """Several outputs packed along one last axis; ``outputs`` slices them apart."""

    def forward(self, a: Any) -> Any:
        xp = backend.get_array_module(a)
        parts = self.decompose(xp, a)
        self.batch = a.shape[:-2]
        self.shapes = [p.shape for p in parts]
        return xp.concatenate([p.reshape(*self.batch, -1) for p in parts], axis=-1)

    def backward(self, grad: Any) -> Any:
        pieces, start = [], 0
        for shape in self.shapes:
            size = math.prod(shape[len(self.batch) :])
            pieces.append(grad[..., start : start + size].reshape(shape))
            start += size
        return self.adjoint(backend.get_array_module(grad), *pieces)

    def decompose(self, xp: Any, a: Any) -> list[Any]:
        raise NotImplementedError

    def adjoint(self, xp: Any, *grads: Any) -> Any:
        raise NotImplementedError

    def outputs(self, a: Tensor) -> list[Tensor]:
        packed, start, out = self(a), 0, []
        for shape in self.shapes:
            size = math.prod(shape[len(self.batch) :])
            out.append(O.reshape(packed[..., start : start + size], shape))
            start += size
        return out


# --- solves, inverses, determinants --------------------------------------------------------------


class _Solve(Function):
    def forward(self, a: Any, b: Any) -> Any:
        xp = backend.get_array_module(a)
        self.vector, self.b_shape = b.ndim == 1, b.shape
        self.a, self.x = a, xp.linalg.solve(a, b[:, None] if self.vector else b)
        return self.x[..., 0] if self.vector else self.x

    def backward(self, grad: Any) -> tuple[Any, Any]:
        xp = backend.get_array_module(grad)
        gb = xp.linalg.solve(_t(self.a), grad[..., None] if self.vector else grad)
        ga = -gb @ _t(self.x)
        gb = gb[..., 0] if self.vector else gb
        return _unbroadcast(ga, self.a.shape), _unbroadcast(gb, self.b_shape)


def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A002
    """Keras' ``ops.linalg.norm``, which is ``ops.norm``: a vector's or a matrix's norm.
    (Left out of ``__all__``: ops takes linalg's names, and has its own norm.)"""
    return O.norm(x, ord=ord, axis=axis, keepdims=keepdims)


def solve(a: Any, b: Any) -> Tensor:
    """x with a @ x = b: a (..., n, n); b (..., n, k), or (n,) for one vector."""
    a = _matrices(a, "solve")
    b = O.convert_to_tensor(b)
    return _Solve()(a, O.cast(b, a.dtype) if b.dtype != a.dtype else b)


def solve_triangular(a: Any, b: Any, lower: bool = False) -> Tensor:
    """solve with the lower (or upper) triangle of a; the other triangle is not read and
    takes no gradient."""
    a = _matrices(a, "solve_triangular")
    return solve(O.tril(a) if lower else O.triu(a), b)


class _Inv(Function):
    def forward(self, a: Any) -> Any:
        self.inverse = backend.get_array_module(a).linalg.inv(a)
        return self.inverse

    def backward(self, grad: Any) -> Any:
        inverse_t = _t(self.inverse)
        return -inverse_t @ grad @ inverse_t


def inv(x: Any) -> Tensor:
    """The inverse of each matrix."""
    return _Inv()(_matrices(x, "inv"))


class _Det(Function):
    """det, or with ``log`` the log of |det|: their slopes are det A^-T and A^-T."""

    def __init__(self, log: bool) -> None:
        self.log = log

    def forward(self, a: Any) -> Any:
        xp = backend.get_array_module(a)
        self.a = a
        if self.log:
            return xp.linalg.slogdet(a)[1]
        self.det = xp.linalg.det(a)
        return self.det

    def backward(self, grad: Any) -> Any:
        xp = backend.get_array_module(grad)
        scale = grad if self.log else grad * self.det
        return scale[..., None, None] * _t(xp.linalg.inv(self.a))


def det(x: Any) -> Tensor:
    """The determinant of each matrix."""
    return _Det(log=False)(_matrices(x, "det"))


def slogdet(x: Any) -> tuple[Tensor, Tensor]:
    """(sign, log |det|) of each matrix, as NumPy's; the sign takes no gradient."""
    a = _matrices(x, "slogdet")
    sign = backend.get_array_module(a.data).linalg.slogdet(a.data)[0]
    return Tensor(sign), _Det(log=True)(a)


def logdet(x: Any) -> Tensor:
    """Keras' logdet: the log of the determinant of each (positive definite) matrix."""
    return _Det(log=True)(_matrices(x, "logdet"))


# --- Cholesky ----------------------------------------------------------------------------------


class _Cholesky(Function):
    """L with A = L L^T, read from A's lower triangle; the gradient is Murray's, made symmetric
    (A is symmetric, so only A's symmetric part has a slope)."""

    def forward(self, a: Any) -> Any:
        self.factor = backend.get_array_module(a).linalg.cholesky(a)
        return self.factor

    def backward(self, grad: Any) -> Any:
        xp = backend.get_array_module(grad)
        low = self.factor
        phi = xp.tril(_t(low) @ grad)
        phi = phi - 0.5 * _diag_part(xp, phi)
        inverse = xp.linalg.inv(low)
        s = _t(inverse) @ phi @ inverse
        return 0.5 * (s + _t(s))


def _diag_part(xp: Any, m: Any) -> Any:
    return m * xp.eye(m.shape[-1], dtype=m.dtype)


def cholesky(x: Any, upper: bool = False) -> Tensor:
    """The Cholesky factor of each symmetric positive definite matrix: lower L (A = L L^T),
    or with ``upper`` its transpose."""
    low = _Cholesky()(_matrices(x, "cholesky"))
    return O.swapaxes(low, -1, -2) if upper else low


def cholesky_inverse(x: Any, upper: bool = False) -> Tensor:
    """A^-1 from A's Cholesky factor (lower L, or upper U = L^T): (L L^T)^-1."""
    factor = _matrices(x, "cholesky_inverse")
    low = O.swapaxes(factor, -1, -2) if upper else factor
    xp = backend.get_array_module(low.data)
    inverse_low = solve_triangular(low, Tensor(_eye_like(xp, low.data)), lower=True)
    return O.matmul(O.swapaxes(inverse_low, -1, -2), inverse_low)


# --- eigh, qr, svd -------------------------------------------------------------------------------


class _Eigh(_Decomposition):
    """Eigenvalues (ascending) and eigenvectors of a symmetric matrix (its lower triangle)."""

    def decompose(self, xp: Any, a: Any) -> list[Any]:
        self.values, self.vectors = xp.linalg.eigh(a)
        return [self.values, self.vectors]

    def adjoint(self, xp: Any, g_values: Any, g_vectors: Any) -> Any:
        w, v = self.values, self.vectors
        gap = w[..., None, :] - w[..., :, None]  # [i, j] = w_j - w_i
        off = ~xp.eye(w.shape[-1], dtype=bool)
        f = xp.where(off, 1.0 / xp.where(off, gap, 1.0), 0.0).astype(w.dtype)
        inner = f * (_t(v) @ g_vectors)
        inner = inner + g_values[..., None, :] * xp.eye(w.shape[-1], dtype=w.dtype)
        ga = v @ inner @ _t(v)
        return 0.5 * (ga + _t(ga))


def eig(x: Any) -> tuple[Tensor, Tensor]:
    """(eigenvalues, eigenvectors as unit columns) of each square matrix, complex (complex64
    for float32), as NumPy's and Keras' eig give them; no gradient. CuPy has no general
    eigensolver: on a GPU the host computes them."""
    a = _matrices(x, "eig")
    xp = backend.get_array_module(a.data)
    values, vectors = np.linalg.eig(backend.to_numpy(a.data))
    dtype = np.complex128 if a.dtype in (np.float64, np.complex128) else np.complex64
    device = backend.device_of(a.data)
    return tuple(
        Tensor(backend.to_device(v.astype(dtype), device) if xp is not np else v.astype(dtype))
        for v in (values, vectors)
    )


def eigh(x: Any) -> tuple[Tensor, Tensor]:
    """(eigenvalues ascending, eigenvectors as columns) of each symmetric matrix; the
    gradient assumes distinct eigenvalues (as every framework's does)."""
    values, vectors = _Eigh().outputs(_matrices(x, "eigh"))
    return values, vectors


class _QR(_Decomposition):
    def __init__(self, mode: str) -> None:
        self.mode = mode

    def decompose(self, xp: Any, a: Any) -> list[Any]:
        self.q, self.r = xp.linalg.qr(a, mode=self.mode)
        return [self.q, self.r]

    def adjoint(self, xp: Any, gq: Any, gr: Any) -> Any:
        q, r = self.q, self.r
        m, n = q.shape[-2], r.shape[-1]
        if m < n or q.shape[-1] != n:
            raise ValueError(
                "qr: the gradient is defined for matrices with at least as many rows as "
                "columns, in mode 'reduced' (PyTorch's rule too)."
            )
        mm = r @ _t(gr) - _t(gq) @ q
        lower = xp.tril(mm, -1)
        copied = lower + _t(lower) + _diag_part(xp, mm)
        right = gq + q @ copied  # then times R^-T: solve R X^T = right^T
        return _t(xp.linalg.solve(r, _t(right)))


def qr(x: Any, mode: str = "reduced") -> tuple[Tensor, Tensor]:
    """(Q, R) of each matrix, mode 'reduced' (Q (m, k), R (k, n), k = min(m, n)) or
    'complete' (Q (m, m))."""
    if mode not in ("reduced", "complete"):
        raise ValueError(f"qr: mode 'reduced' or 'complete', got {mode!r}.")
    q, r = _QR(mode).outputs(_matrices(x, "qr", square=False))
    return q, r


class _SVD(_Decomposition):
    def __init__(self, full_matrices: bool, compute_uv: bool) -> None:
        self.full, self.compute_uv = full_matrices, compute_uv

    def decompose(self, xp: Any, a: Any) -> list[Any]:
        self.u, self.s, self.vh = xp.linalg.svd(a, full_matrices=self.full)
        return [self.u, self.s, self.vh] if self.compute_uv else [self.s]

    def adjoint(self, xp: Any, *grads: Any) -> Any:
        k = self.s.shape[-1]
        u, s, v = self.u[..., :k], self.s, _t(self.vh[..., :k, :])
        gs = grads[-1] if not self.compute_uv else grads[1]
        ga = (u * gs[..., None, :]) @ _t(v)
        if not self.compute_uv:
            return ga
        gu, gv = grads[0], _t(grads[2])
        if self.full and (bool(xp.any(gu[..., k:])) or bool(xp.any(gv[..., k:]))):
            raise ValueError(
                "svd: a full SVD's extra columns are not unique and take no gradient; use "
                "full_matrices=False."
            )
        gu, gv = gu[..., :k], gv[..., :k]
        gap = s[..., None, :] ** 2 - s[..., :, None] ** 2  # [i, j] = s_j^2 - s_i^2
        off = ~xp.eye(k, dtype=bool)
        f = xp.where(off, 1.0 / xp.where(off, gap, 1.0), 0.0).astype(s.dtype)
        j = f * (_t(u) @ gu - _t(gu) @ u)
        kk = f * (_t(v) @ gv - _t(gv) @ v)
        middle = j * s[..., None, :] + s[..., :, None] * kk
        ga = ga + u @ middle @ _t(v)
        m, n = u.shape[-2], v.shape[-2]
        if m > k:
            ga = ga + ((gu - u @ (_t(u) @ gu)) / s[..., None, :]) @ _t(v)
        if n > k:
            ga = ga + (u / s[..., None, :]) @ _t(gv - v @ (_t(v) @ gv))
        return ga


def svd(x: Any, full_matrices: bool = True, compute_uv: bool = True) -> Any:
    """(U, S, V^H) of each matrix, as NumPy's, or S alone; the gradient assumes distinct,
    nonzero singular values."""
    a = _matrices(x, "svd", square=False)
    if a.dtype.kind == "c":  # complex matrices: NumPy's, real singular values, no gradient
        found = backend.get_array_module(a.data).linalg.svd(
            a.data, full_matrices=bool(full_matrices), compute_uv=bool(compute_uv)
        )
        return tuple(Tensor(p) for p in found) if compute_uv else Tensor(found)
    decomposition = _SVD(bool(full_matrices), bool(compute_uv))
    parts = decomposition.outputs(a)
    return tuple(parts) if compute_uv else parts[0]


def _default_cutoff(xp: Any, s: Any, shape: tuple[int, ...]) -> Any:
    """NumPy's: the largest singular value times max(m, n) times the dtype's epsilon."""
    return s.max(axis=-1, keepdims=True) * max(shape[-2:]) * np.finfo(s.dtype).eps


class _Pinv(Function):
    """The Moore-Penrose pseudoinverse by SVD; its gradient is Golub and Pereyra's (for a
    rank that the change keeps): -A+' G A+' + (I - A A+) G' A+ A+' + A+' A+ G' (I - A+ A),
    each ' the (batched) transpose."""

    def __init__(self, rcond: float | None) -> None:
        self.rcond = rcond

    def forward(self, a: Any) -> Any:
        xp = backend.get_array_module(a)
        u, s, vh = xp.linalg.svd(a, full_matrices=False)
        if self.rcond is None:
            cutoff = _default_cutoff(xp, s, a.shape)
        else:
            cutoff = self.rcond * s.max(axis=-1, keepdims=True)
        inverse = xp.where(s > cutoff, 1 / xp.where(s > cutoff, s, 1), 0).astype(a.dtype)
        self.a = a
        self.p = (_t(vh) * inverse[..., None, :]) @ _t(u)
        return self.p

    def backward(self, grad: Any) -> Any:
        xp = backend.get_array_module(grad)
        a, p = self.a, self.p
        eye_m = xp.eye(a.shape[-2], dtype=a.dtype)
        eye_n = xp.eye(a.shape[-1], dtype=a.dtype)
        return (
            -_t(p) @ grad @ _t(p)
            + (eye_m - a @ p) @ _t(grad) @ p @ _t(p)
            + _t(p) @ p @ _t(grad) @ (eye_n - p @ a)
        )


def pinv(x: Any, rcond: float | None = None) -> Tensor:
    """The pseudoinverse (..., n, m) of each matrix (..., m, n): singular values at most
    ``rcond`` times the largest count as 0 (by default NumPy's max(m, n) * eps times it)."""
    a = _matrices(x, "pinv", square=False)
    if a.dtype.kind == "c":  # complex matrices: conjugate transposes, no gradient
        xp = backend.get_array_module(a.data)
        u, s, vh = xp.linalg.svd(a.data, full_matrices=False)
        largest = s.max(axis=-1, keepdims=True)
        cutoff = _default_cutoff(xp, s, a.shape) if rcond is None else rcond * largest
        inverse = xp.where(s > cutoff, 1 / xp.where(s > cutoff, s, 1), 0)
        adjoint_v, adjoint_u = xp.conj(_t(vh)), xp.conj(_t(u))
        return Tensor(((adjoint_v * inverse[..., None, :]) @ adjoint_u).astype(a.dtype))
    return _Pinv(rcond)(a)


def matrix_rank(x: Any, tol: float | None = None) -> Tensor:
    """The number of singular values of each matrix above ``tol`` (by default NumPy's
    threshold, the largest times max(m, n) * eps); integers, no gradient."""
    a = _matrices(x, "matrix_rank", square=False).data
    xp = backend.get_array_module(a)
    s = xp.linalg.svd(a, compute_uv=False)
    cutoff = _default_cutoff(xp, s, a.shape) if tol is None else tol
    return Tensor((s > cutoff).sum(axis=-1))


# --- least squares and LU ----------------------------------------------------------------------


class _Lstsq(Function):
    """x minimizing |a x - b|: the slope of a full-column-rank solution."""

    def __init__(self, rcond: float | None) -> None:
        self.rcond = rcond

    def forward(self, a: Any, b: Any) -> Any:
        xp = backend.get_array_module(a)
        self.a, self.b = a, b
        self.x = xp.linalg.lstsq(a, b, rcond=self.rcond)[0]
        return self.x

    def backward(self, grad: Any) -> tuple[Any, Any]:
        xp = backend.get_array_module(grad)
        a, x = self.a, self.x
        vector = x.ndim == 1
        g, xs, b = (grad[:, None], x[:, None], self.b[:, None]) if vector else (grad, x, self.b)
        z = xp.linalg.solve(a.T @ a, g)
        residual = b - a @ xs
        ga = residual @ z.T - a @ z @ xs.T
        gb = a @ z
        return ga, gb[:, 0] if vector else gb


def lstsq(a: Any, b: Any, rcond: float | None = None) -> Tensor:
    """The least-squares solution of a @ x = b, a one (m, n) matrix, b (m,) or (m, k)."""
    a = _matrices(a, "lstsq", square=False)
    if a.ndim != 2:
        raise ValueError(f"lstsq: one matrix (m, n), got shape {a.shape}.")
    b = O.convert_to_tensor(b)
    return _Lstsq(rcond)(a, O.cast(b, a.dtype) if b.dtype != a.dtype else b)


def lu_factor(x: Any) -> tuple[Tensor, Tensor]:
    """SciPy's lu_factor on each square matrix: (lu, pivots), L's multipliers below the
    diagonal of lu and U on and above it, row i swapped with row pivots[i] (0-based) on the
    way; partial pivoting, one column at a time, the whole stack at once. Not differentiable."""
    a = _matrices(x, "lu_factor")
    xp = backend.get_array_module(a.data)
    lu = a.data.copy()
    n = lu.shape[-1]
    pivots = xp.zeros((*lu.shape[:-2], n), dtype=np.int32)
    rows = xp.arange(n)
    for k in range(n):
        pivot = (k + xp.argmax(xp.abs(lu[..., k:, k]), axis=-1))[..., None]
        pivots[..., k] = pivot[..., 0]
        # Rows k and pivot trade places, in every matrix of the stack at once.
        order = xp.where(rows == k, pivot, xp.where(rows == pivot, k, rows))
        lu = xp.take_along_axis(lu, xp.broadcast_to(order[..., None], lu.shape), axis=-2)
        below = lu[..., k + 1 :, k] / lu[..., k : k + 1, k]
        lu[..., k + 1 :, k] = below
        lu[..., k + 1 :, k + 1 :] -= below[..., :, None] * lu[..., k : k + 1, k + 1 :]
    return Tensor(lu), Tensor(pivots)


def jvp(fun: Any, primals: Any, tangents: Any, has_aux: bool = False) -> tuple[Any, ...]:
    """Keras' ops.linalg.jvp: ``(fun(*primals), J t)``, the Jacobian of ``fun`` at the
    primals times the tangents (each of a primal's structure and shapes), and ``aux`` third
    with ``has_aux`` (``fun`` then returns ``(output, aux)``). minicnn differentiates in
    reverse only, so each output value costs a run of ``fun`` forward and back: exact, and
    meant for small outputs. Integer primals are constants, as JAX's (their tangents are not
    read); ``fun`` must give the same values on each run (no dropout)."""
    from . import tree

    if not isinstance(primals, (list, tuple)) or not isinstance(tangents, (list, tuple)):
        raise TypeError("jvp: primals and tangents are a tuple or list each, of fun's arguments.")
    if len(primals) != len(tangents):
        raise ValueError(
            f"jvp: {len(primals)} primals and {len(tangents)} tangents; give one tangent each."
        )
    tree.assert_same_structure(list(primals), list(tangents))
    given = tree.flatten(list(primals))
    flat = [O.convert_to_tensor(p) for p in given]
    flat_tangents = [O._data(O.convert_to_tensor(t)) for t in tree.flatten(list(tangents))]
    for p, t in zip(flat, flat_tangents, strict=True):
        if p.dtype.kind == "f" and tuple(t.shape) != tuple(p.shape):
            raise ValueError(f"jvp: a tangent of shape {tuple(t.shape)} for a primal of {p.shape}.")

    def run() -> tuple[list[Tensor], Any, Any]:
        leaves = [
            Tensor(p.data.copy(), requires_grad=True) if p.dtype.kind == "f" else value
            for p, value in zip(flat, given, strict=True)
        ]
        found = fun(*tree.pack_sequence_as(list(primals), leaves))
        output, aux = found if has_aux else (found, None)
        return leaves, output, aux

    _, output, aux = run()
    outputs = [O.convert_to_tensor(o) for o in tree.flatten(output)]
    differentiated = [t for p, t in zip(flat, flat_tangents, strict=True) if p.dtype.kind == "f"]
    products = []
    for k, value in enumerate(outputs):
        found = np.zeros(value.shape, value.dtype if value.dtype.kind == "f" else np.float32)
        for index in np.ndindex(*value.shape):
            leaves, again, _ = run()
            picked = O.convert_to_tensor(tree.flatten(again)[k])
            if not picked.requires_grad:
                continue  # not computed from the primals: its tangent is 0
            position = int(np.ravel_multi_index(index, value.shape)) if index else 0
            weights = [leaf for leaf in leaves if getattr(leaf, "requires_grad", False)]
            gradients = grad(O.reshape(picked, (-1,))[position], weights)
            found[index] = sum(
                float(backend.to_numpy((g * t.astype(g.dtype)).sum()))
                for g, t in zip(gradients, differentiated, strict=True)
                if g is not None
            )
        products.append(Tensor(backend.to_device(found, backend.device_of(value.data))))
    tangent_out = tree.pack_sequence_as(output, products)
    primal_out = tree.pack_sequence_as(output, [Tensor(o.data) for o in outputs])
    return (primal_out, tangent_out, aux) if has_aux else (primal_out, tangent_out)
