"""An affine change of variables under which least squares is well conditioned.

The optimizer never sees the caller's coefficients. It sees ``theta`` and
``gamma``, tied to the standardized problem by

    beta_std = transform @ theta,      c = intercept_scale * gamma,
    y_std    = (X - x_mean) @ beta_std + c,   y_std = (y - y_mean) / y_scale.

``transform`` comes from a singular value decomposition of the weighted,
centred design: all its rows when there are few, otherwise a CountSketch of
them (:mod:`._sketch`). Either way the decomposed matrix has X's row space,
so the answer does not depend on the branch:

* directions judged singular (at the data's precision) are X's null space
  and are dropped, never scaled up;
* without a penalty, ``transform`` spans X's row space, where the
  minimum-norm least-squares solution lies (as :func:`numpy.linalg.lstsq`);
  with one, it spans every direction that carries data or penalty at the
  data's precision (only X's row space, for wide data, so as never to need
  a dense p x p matrix), the ridge optimum among them;
* the Hessian of the objective in ``theta`` is exactly the identity when
  every row was decomposed, and close to it for a sketch (Blendenpik:
  Avron, Maymounkov & Toledo, SIAM J. Sci. Comput. 2010; LSRN, for
  minimum-length solutions of rank-deficient problems: Meng, Saunders &
  Mahoney, SIAM J. Sci. Comput. 2014).

X itself is never centred, scaled or copied: the centring is folded into
the intercept.
"""

import math
from contextlib import contextmanager
from dataclasses import dataclass

import torch

from ._data import column_moments, matmul_t, take_rows
from ._devices import SMALL_FIT_VALUES, one_thread_if
from ._gram import centred_gram, weighted_sums
from ._refine import refined_start
from ._sketch import count_sketch
from ._reduce import LOCAL

# The sketch never holds more float64 values than this (512 MB).
MAX_SKETCH_VALUES = 1 << 26


@dataclass
class Preconditioner:
    """Statistics and change of variables for one fit (all torch tensors).

    Attributes
    ----------
    x_mean : Tensor of shape (n_features,)
    y_mean, y_scale : Tensor of shape (n_targets,)
    transform : Tensor of shape (n_features, k)
        ``k`` is X's rank without a penalty, at most ``n_features`` with one.
    intercept_scale : float
    theta0 : Tensor of shape (rank, n_targets)
        Least-squares solution on the sketch, in ``theta`` coordinates (the
        exact solution when every row was decomposed; refined on every row
        when :func:`fit_preconditioner` was asked to).
    exact : bool
        Every row was decomposed, so the Hessian in ``theta`` is exactly the
        identity; otherwise it is only close to it (a sketch).
    rank : int or None
        X's rank (centred) at the data's precision: below ``n_features``
        when columns are dependent, whatever the penalty made ``transform``
        span. None where unknown.
    """

    x_mean: torch.Tensor
    y_mean: torch.Tensor
    y_scale: torch.Tensor
    transform: torch.Tensor
    intercept_scale: float
    theta0: torch.Tensor
    exact: bool = True
    rank: int = None

    def coefficients(self, theta, gamma):
        """Map optimizer variables to ``coef`` (n_targets, n_features) and ``intercept``."""
        beta_std = self.transform @ theta
        coef = (beta_std * self.y_scale).T
        intercept = self.y_mean + self.y_scale * (
            self.intercept_scale * gamma - self.x_mean @ beta_std
        )
        return coef, intercept

    def variables(self, coef, intercept):
        """Inverse of :meth:`coefficients` (a projection where ``transform`` is not square)."""
        beta_std = coef.T / self.y_scale
        theta = torch.linalg.pinv(self.transform) @ beta_std
        c = (intercept - self.y_mean) / self.y_scale + self.x_mean @ beta_std
        return theta, c / self.intercept_scale


def sketch_rows(sketch_size, n_samples, n_features):
    """Rows of the decomposed matrix: all ``n_samples`` or a sketch.

    A sketch needs more rows than X's rank to keep X's row space, so it has
    at least twice ``n_features``; when that is every row, every row is used.

    Raises
    ------
    ValueError
        When that many rows of ``n_features`` float64 values would exceed
        :data:`MAX_SKETCH_VALUES`.
    """
    rows = min(n_samples, max(sketch_size, 2 * n_features))
    if rows * n_features > MAX_SKETCH_VALUES:
        raise ValueError(
            f"X has {n_features} features and {n_samples} rows: its preconditioner would "
            f"decompose a dense {rows} x {n_features} matrix (more than "
            f"{MAX_SKETCH_VALUES * 8 >> 20} MB). Reduce the number of features (e.g. "
            "sklearn.feature_selection or TruncatedSVD) or use fewer rows."
        )
    return rows


def fit_preconditioner(X, Y, w, *, alpha, fit_intercept, sketch_size, generator, reducer=None,
                       refine=None, gram=False, normal_equations=False):
    """Compute the change of variables for ``X``, targets ``Y`` and weights ``w``.

    Parameters
    ----------
    X : Tensor of shape (n_samples, n_features)
        Dense or sparse CSR; read, never copied (a sketch reads it once).
    Y : Tensor of shape (n_samples, n_targets)
    w : Tensor of shape (n_samples,)
        Non-negative weights with a positive sum.
    alpha : float
        L2 penalty, folded into the preconditioner so ridge is conditioned too.
    fit_intercept : bool
    sketch_size : int
        Rows of the sketch (see :func:`sketch_rows`); with at most this many
        rows, all are decomposed and the preconditioner is exact.
    generator : torch.Generator
        Source of the sketch's signs and offsets (CPU), for reproducibility.
    reducer : Reducer, default=None
        Combines statistics across processes that each hold a shard of the
        rows (:mod:`skorch_lite.distributed`); None is one process.
    refine : float, default=None
        A tolerance: above the sketch size, move ``theta0`` towards the
        optimum over every row by conjugate gradients (:mod:`._refine`)
        until its relative excess is well within it, when X is dense and
        small (below :data:`._devices.SMALL_FIT_VALUES` values over all
        processes). None keeps the sketch's solution.
    gram : bool, default=False
        Decompose a tall, well-conditioned matrix of full rank through its
        Gram matrix (:func:`_full_rank_from_gram`, a third of the SVD's
        time on a sketch). Least squares' own fit asks for it; the rounds
        of other losses keep the SVD, whose last bits their long L-BFGS
        runs were tuned on (a 300 x 60 least-absolute-error fit that needs
        171 of its 200 iterations needed more than 200 from the other
        decomposition, its equal to 1e-14).
    normal_equations : bool, default=False
        Decompose every row of dense X of at most
        :data:`GRAM_FEATURES` features and :data:`._devices.SMALL_FIT_VALUES`
        values through its centred Gram matrix (the normal equations), when
        that is well conditioned: exact, and cheaper than a sketch and its
        refinement, or than the SVD of every row (:func:`_every_row_through_gram`).

    Returns
    -------
    Preconditioner

    Raises
    ------
    ValueError
        When X or y hold values whose sums or squares overflow float64, or
        when the decomposition would not fit in memory (:func:`sketch_rows`).
    """
    reducer = reducer or LOCAL
    w, alpha = _weights_at_most_one(w, alpha, reducer)
    y_max = _target_magnitude(Y, reducer)
    n_total = X.shape[0] if reducer.world_size == 1 else int(
        reducer.sum(torch.tensor(X.shape[0], device=X.device)))
    rows = sketch_rows(sketch_size, n_total, X.shape[1])
    exact = n_total <= rows
    through_gram = None
    if normal_equations and _gram_of_every_row(X, n_total):
        # Small and narrow: every row through the Gram matrix is exact, and
        # cheaper than a sketch and its refinement (or than the rows' SVD),
        # unless it is ill conditioned: then those after all.
        through_gram = _every_row_through_gram(X, Y, w, y_max, fit_intercept, reducer, n_total)
    if through_gram is not None:
        centred, decomposition = through_gram
        exact = True
    elif exact:
        centred = _every_row(X, Y, w, y_max, fit_intercept, reducer)
        decomposition = _decomposition(centred, X.dtype, n_total, gram)
    else:
        centred, decomposition = _sketched(
            X, Y, w, y_max, rows, fit_intercept, generator, reducer, n_total, gram)
    # Decided on every process's rows together: all refine, or none does.
    small = X.layout == torch.strided and n_total * X.shape[1] < SMALL_FIT_VALUES
    refine_on = (X, Y, w, refine, reducer) if refine is not None and not exact and small else None
    return _assemble(centred, decomposition, alpha, fit_intercept, exact, refine_on,
                     dtype=X.dtype, device=X.device)


# Above the sketch size, dense X of at most this many features and
# SMALL_FIT_VALUES values is decomposed whole through its Gram matrix, when
# that is well conditioned (:func:`_gram_of_every_row`).
GRAM_FEATURES = 32


def _gram_of_every_row(X, n_total):
    """Whether to try every row through the Gram matrix rather than a sketch.

    Its cost is two passes over X (sums, then the centred Gram matrix block
    by block) and ``n p^2`` multiply-adds, against the sketch's pass, its
    decomposition and the refinement's ~10 passes: on 20,000 x 20 float64
    a warm fit of 3.2-3.8 against 5.4 ms. It grows with ``p`` faster than
    theirs.
    """
    return (X.layout == torch.strided and X.shape[1] <= GRAM_FEATURES
            and n_total * X.shape[1] <= SMALL_FIT_VALUES)


@dataclass
class _Centred:
    """Rows to decompose, centred and standardized (float64), and the moments that did it.

    ``A`` is ``sqrt(w) (X - x_mean)`` (or its sketch), with columns constant
    at the data's precision zeroed, ``B`` is ``sqrt(w) (Y - y_mean) /
    y_scale``; ``norms`` are ``A``'s column norms, ``uncentred`` those of
    ``sqrt(w) X`` over every row: the scale of the rounding in ``A``,
    whatever cancelled in a sketch.
    """

    A: torch.Tensor
    B: torch.Tensor
    x_mean: torch.Tensor
    y_mean: torch.Tensor
    y_scale: torch.Tensor
    uncentred: torch.Tensor
    norms: torch.Tensor
    weight_sum: torch.Tensor


@dataclass
class _Decomposition:
    """``A D = U diag(S) V^T``, truncated to ``rank`` at the data's precision."""

    A: torch.Tensor  # None when every row went through the Gram matrix
    D: torch.Tensor
    U: torch.Tensor  # None when the decomposition came from the Gram matrix (full rank)
    S: torch.Tensor
    V: torch.Tensor
    rank: int
    n_rows: int
    AtB: torch.Tensor = None  # A^T B, where A is None

    @property
    def AD(self):
        return self.A * self.D

    def project(self, B):
        """``U^T B``; without ``U``, ``(V / S)^T (D A^T B)``."""
        if self.U is not None:
            return self.U.T @ B
        AtB = self.AtB if self.A is None else matmul_t(self.A, B)
        return (self.V / self.S).T @ (self.D[:, None] * AtB)


def _weights_at_most_one(w, alpha, reducer):
    """``w`` and ``alpha`` divided by the largest weight (of every process)."""
    # Scaling every weight by c and alpha by c leaves the optimum unchanged;
    # weights at most 1 keep their square roots and sums finite (1e-300..1e300).
    w_max = float(w.max() if reducer.world_size == 1 else reducer.cat(w.max().reshape(1)).max())
    if w_max == 1:  # the estimator passes weights scaled already: no copy
        return w, alpha
    return w.double() / w_max, alpha / w_max


def _target_magnitude(Y, reducer):
    """Each target's largest ``|y|`` (1 for a zero target), the unit of its moments."""
    y_max = Y.abs().amax(0).double()
    if reducer.world_size > 1:
        y_max = reducer.cat(y_max[None]).amax(0)
    largest = float(y_max.max())
    if not math.isfinite(largest * largest):
        raise ValueError(
            "y holds values too large: their squares overflow float64 (|y| above ~1e150); "
            "rescale y (e.g. TransformedTargetRegressor)."
        )
    # A unit of at least tiny / eps (1e-292): a subnormal largest |y| (a
    # zero target beside rows of weight 0 holding 2e-313) made the inverse
    # of the target's scale infinite, and the objective NaN.
    floor = torch.finfo(torch.float64).tiny / torch.finfo(torch.float64).eps
    return y_max.masked_fill(y_max == 0, 1.0).clamp_min(floor)


def _x_mean(x_sums, weight_sum, fit_intercept):
    """X's weighted column means (zero without an intercept), checked finite."""
    if not fit_intercept:
        return torch.zeros_like(x_sums)
    x_mean = x_sums / weight_sum
    if not bool(torch.isfinite(x_mean).all()):
        raise ValueError(
            "X holds values too large to average in float64; rescale X (e.g. StandardScaler)."
        )
    return x_mean


def _every_row(X, Y, w, y_max, fit_intercept, reducer):
    """:class:`_Centred` of every row, weighted, centred and scaled.

    Every process decomposes the same rows: all shards', in rank order, and
    computes every statistic from them, so that a data-parallel fit starts
    from the very preconditioner of one process, bit for bit (sums of
    per-process sums round otherwise). X's means come from these float64
    rows, summed pairwise (a BLAS
    product sums sequentially: ~n eps, and the centring of a one-hot block
    beside a heavy row then leaves its null space visible).
    """
    w, Y = reducer.cat(w), reducer.cat(Y)
    weight_sum = torch.sum(w, dtype=torch.float64)
    y_mean, y_scale = _target_moments(Y, w, weight_sum, fit_intercept, LOCAL, y_max)
    dense = X if X.layout == torch.strided else take_rows(
        X, torch.arange(X.shape[0], device=X.device))
    rows = reducer.cat(dense.double())
    if bool((w == 1).all()):
        # The same values as below with root weights of 1, in two copies
        # fewer (a float64 X is not copied until it is centred).
        uncentred = _norms(rows)
        x_mean = _x_mean(rows.sum(0), weight_sum, fit_intercept)
        A, B = rows - x_mean, Y.double() - y_mean
    else:
        root = torch.sqrt(w.double())[:, None]
        A = rows * root
        uncentred = _norms(A)
        x_mean = _x_mean((A * root).sum(0), weight_sum, fit_intercept)
        B = Y.double() * root
        if fit_intercept:
            A -= root * x_mean
            B -= root * y_mean
    norms = _zero_constant_columns(A, uncentred, X.dtype, A.shape[0])
    return _Centred(A, B / y_scale, x_mean, y_mean, y_scale, uncentred, norms, weight_sum)


def _sketched(X, Y, w, y_max, rows, fit_intercept, generator, reducer, n_rows, gram):
    """:class:`_Centred` of a CountSketch of the rows, and its :class:`_Decomposition`.

    A rank below the column count may come from rows that collided in the
    sketch's buckets: a second, independent sketch stacked below the first
    loses a direction only if both collide.
    """
    weight_sum = reducer.sum(torch.sum(w, dtype=torch.float64))
    y_mean, y_scale = _target_moments(Y, w, weight_sum, fit_intercept, reducer, y_max)
    SX, SY, Sr, x_sums, uncentred = _sketch(X, Y, w, rows, generator, reducer)
    x_mean = _x_mean(x_sums, weight_sum, fit_intercept)
    centred = _centre(SX, SY, Sr, x_mean, y_mean, y_scale, uncentred, X.dtype, n_rows,
                      weight_sum)
    decomposition = _decomposition(centred, X.dtype, n_rows, gram)
    if decomposition.rank == X.shape[1]:
        return centred, decomposition
    SX, SY, Sr, _, _ = _sketch(X, Y, w, rows, generator, reducer)
    second = _centre(SX, SY, Sr, x_mean, y_mean, y_scale, uncentred, X.dtype, n_rows,
                     weight_sum)
    A = torch.cat([centred.A, second.A]) / 2**0.5
    both = _Centred(A, torch.cat([centred.B, second.B]) / 2**0.5, x_mean, y_mean, y_scale,
                    uncentred, _norms(A), weight_sum)
    return both, _decomposition(both, X.dtype, n_rows, gram)


def _target_moments(Y, w, weight_sum, fit_intercept, reducer, y_max):
    """Weighted mean and standard deviation of each target, from 1e-300 to 1e150."""
    # Squares of y of order 1e-160 underflow: take moments of y / max|y|.
    sums, squares = (
        reducer.sum(m)
        for m in column_moments(Y, w, block_bytes=1 << 20, float64=True, scale=y_max)
    )
    mean = sums / weight_sum if fit_intercept else torch.zeros_like(sums)
    # Standardizing y makes the optimizer's tolerances and learning rates
    # independent of the target's units (diabetes' targets are in the hundreds).
    scale = torch.sqrt(torch.clamp(squares / weight_sum - mean**2, min=0))
    return mean * y_max, scale.masked_fill(scale == 0, 1.0) * y_max


def _sketch(X, Y, w, rows, generator, reducer):
    """The sketch of ``sqrt(w) * [X, Y, 1]`` over every process's rows, ``w @ X`` and norms.

    Each process sketches its own rows with the signs and buckets one
    process would give them (rank 0's seed, for unseeded estimators); the
    sketch of all rows is the sum.
    """
    seed = torch.randint(0, 2**62, (1,), generator=generator).to(X.device)
    shared = torch.Generator().manual_seed(int(reducer.cat(seed)[0]))
    sizes = reducer.cat(torch.tensor([X.shape[0]], device=X.device))
    start, n_total = int(sizes[: reducer.rank].sum()), int(sizes.sum())
    *sketch, squares = (
        reducer.sum(t) for t in count_sketch(X, Y, w, rows, shared, start=start, n_total=n_total)
    )
    if bool(torch.isfinite(squares).all()):
        return (*sketch, torch.sqrt(squares))
    # Squares beyond the dtype's range (|X| above ~1e19 in float32, ~1e154
    # in float64): one more pass, on X divided by its largest value.
    return (*sketch, _scaled_norms(X, w, reducer))


def _scaled_norms(X, w, reducer):
    """``sqrt(w @ X**2)`` in float64, computed on X divided by its largest value."""
    values = X.values() if X.layout != torch.strided else X
    largest = reducer.cat(values.abs().max().reshape(1).double()).max()
    largest = largest if largest > 0 else torch.ones_like(largest)
    scale = torch.full((X.shape[1],), float(largest), dtype=torch.float64, device=X.device)
    if X.layout != torch.strided:
        X = torch.sparse_csr_tensor(X.crow_indices(), X.col_indices(),
                                    values.double() / largest, X.shape, check_invariants=False)
        squares = column_moments(X, w.double())[1]
    else:
        squares = column_moments(X, w, float64=True, scale=scale)[1]
    return torch.sqrt(reducer.sum(squares)) * largest


def _centre(SX, SY, Sr, x_mean, y_mean, y_scale, uncentred, dtype, n_rows, weight_sum):
    """:class:`_Centred` of sketched rows, ``S (X - 1 m) = SX - Sr m``."""
    A = SX - Sr[:, None] * x_mean
    B = (SY - Sr[:, None] * y_mean) / y_scale
    norms = _zero_constant_columns(A, uncentred, dtype, n_rows)
    return _Centred(A, B, x_mean, y_mean, y_scale, uncentred, norms, weight_sum)


def _constant_ratio(dtype, n_rows):
    """The centred over the uncentred norm of a column at or below which it is constant.

    A spread of two units in the last place of X's dtype (2 eps) is the
    rounding of values that were meant to be equal (one unit either way),
    not variation; the means, summed in float64, add their own rounding,
    growing with log(n). (Float32 data keep a spread of a few units in the
    last place around 1e6 or 1e7 through a float64 centring: the bound of
    4 eps32 log2(n) used before, 36 units at 500 rows, zeroed such columns,
    and the fit explained nothing of them.)
    """
    return 2 * torch.finfo(dtype).eps + 4 * torch.finfo(torch.float64).eps * math.log2(n_rows + 2)


def _zero_constant_columns(A, uncentred, dtype, n_rows):
    """Zero, in place, the columns of centred ``A`` constant at X's precision; ``A``'s norms.

    A column whose centred values are rounding noise of its mean is
    constant at the data's precision (:func:`_constant_ratio`): scaled up,
    the noise would fit y.
    """
    norms = _norms(A)
    constant = norms <= _constant_ratio(dtype, n_rows) * uncentred
    if bool(constant.any()):
        A[:, constant] = 0
        norms = norms.masked_fill(constant, 0.0)
    return norms


def _decomposition(centred, dtype, n_rows, gram=False):
    """Scale ``A``'s columns (:func:`_scaling`) and decompose it (:func:`_decompose`)."""
    D, cancellation = _scaling(centred.norms, centred.uncentred)
    factors = _decompose(centred.A, D, dtype, cancellation, n_rows, gram)
    return _Decomposition(centred.A, D, *factors, n_rows=centred.A.shape[0])


def _scaling(norms, uncentred):
    """Inverse column norms ``D`` of ``A``, and the largest cancellation of its centring.

    Columns are scaled first, so the decomposition resolves small singular
    values that only come from columns in different units. The cancellation
    is the largest ratio of a column's norm before centring to its norm
    after: centring a column whose mean dwarfs its spread cancels digits,
    and its rounding error, ``eps`` of the values before centring, is that
    many times larger once the column is scaled to unit norm. Columns
    zeroed as constant have no digits left to lose.
    """
    varies = norms > 0
    D = 1.0 / norms.masked_fill(~varies, 1.0)
    ratios = uncentred / norms.masked_fill(~varies, math.inf)
    return D, float(ratios.max()) or 1.0


def _assemble(centred, decomposition, alpha, fit_intercept, exact, refine_on, *, dtype,
              device):
    """The :class:`Preconditioner`, in X's dtype, of a decomposition.

    ``refine_on``, ``(X, Y, w, tol, reducer)`` or None: the rows on which
    ``theta0`` is refined, and to what relative excess.
    """
    d = decomposition
    n_targets = centred.y_mean.shape[0]
    # Hessian of the objective (normalized by k * sum(w)) is 2 (G + alpha I) /
    # (k sum(w)); this scale makes it the identity in theta.
    hessian_root = torch.sqrt(2.0 / (n_targets * centred.weight_sum))
    transform, theta0 = _change_of_variables(d, d.project(centred.B), alpha, dtype)
    if refine_on is not None:
        X, Y, w, tol, reducer = refine_on
        theta0 = refined_start(theta0, transform, X, Y, w, alpha, centred.x_mean,
                               centred.y_mean, centred.y_scale, tol, reducer)
    cast = dict(dtype=dtype, device=device)
    same = dtype == torch.float64 and device == centred.x_mean.device

    def to_x(tensor):  # a no-op call costs as much as an operation on small data
        return tensor if same else tensor.to(**cast)

    return Preconditioner(
        x_mean=to_x(centred.x_mean),
        y_mean=to_x(centred.y_mean),
        y_scale=to_x(centred.y_scale),
        transform=to_x(transform / hessian_root),
        intercept_scale=(n_targets / 2.0) ** 0.5 if fit_intercept else 0.0,
        theta0=to_x(theta0 * hessian_root),
        exact=exact,
        rank=d.rank,
    )


def _decompose(A, D, dtype, cancellation=1.0, n_rows=1, gram=False):
    """Thin SVD ``U, S, V`` of ``AD = A * D`` and its rank at the precision of the data.

    With ``gram``, a tall ``AD`` of full rank whose singular values lie
    within a factor 1000 is decomposed through its Gram matrix
    (:func:`_full_rank_from_gram`), and ``U`` is then None.
    """
    if gram and 0 < A.shape[1] <= A.shape[0]:
        fast = _full_rank_from_gram(_scaled_gram(A, D), dtype, cancellation, n_rows)
        if fast is not None:
            return fast
    U, S, V = _thin_svd(A * D)
    if not S.numel() or S[0] == 0:
        return U[:, :0], S[:0], V[:, :0], 0
    rank = int((S > _rank_cutoff(float(S[0]), dtype, cancellation, n_rows)).sum())
    return U[:, :rank], S[:rank], V[:, :rank], rank


def _rank_cutoff(largest, dtype, cancellation, n_rows):
    """The singular value of ``AD`` below which a direction is rounding.

    What X's dtype resolves relative to the largest singular value (a few
    eps; for float64 data, 1e3 eps for the rounding of the decomposition),
    plus the rounding of the centring, amplified in columns whose mean
    dwarfs their spread (``cancellation``, see :func:`_scaling`): that of
    the rows' products and of the means, both formed in float64 whatever
    X's dtype (eps64, and eps64 times sqrt(n), the typical error of a sum
    of n terms). Only that last part grows with the rows, and only for
    columns whose centring cancels digits. (A cutoff at eps32 for float32
    data dropped directions of columns around 1e6 that the data resolve,
    and the fit stopped 57% to 550% above the optimum without a warning.)
    """
    eps = torch.finfo(dtype).eps
    f64_eps = torch.finfo(torch.float64).eps
    return (largest * max(4 * eps, 1e3 * f64_eps)
            + 4 * cancellation * (f64_eps + f64_eps * math.sqrt(n_rows)))


# The Gram matrix's eigenvalues are accurate to ~p eps of the largest: its
# decomposition is used when the smallest is at least this fraction of the
# largest (singular values within a factor 1000), where the SVD it gives is
# accurate to ~1e-9, relative. A preconditioner needs no more: training and
# the refinement solve on the data themselves, and their stopping rules
# measure the objective, not the decomposition.
GRAM_EIGENVALUE_RATIO = 1e-6


def _scaled_gram(A, D):
    """The Gram matrix of ``A * D``, without forming it where A's squares stay in range."""
    low, high = torch.aminmax(D)
    with _few_threads(A):
        if float(low) >= 1e-100 and float(high) <= 1e100:
            return (A.T @ A) * D[:, None] * D
        M = A * D
        return M.T @ M


def _full_rank_from_gram(gram, dtype, cancellation, n_rows):
    """``(None, S, V, p)``: the SVD of ``AD`` from its Gram matrix, or None.

    None unless its singular values lie within a factor 1000
    (:data:`GRAM_EIGENVALUE_RATIO`) and above the rank cutoff
    (:func:`_rank_cutoff`): a rank below full is decided on the SVD's
    singular values, which resolve them to eps rather than eps cond^2. The
    eigendecomposition of a p x p matrix replaces LAPACK's SVD of the tall
    ``AD`` (a 2,000 x 20 sketch: 0.15 against 0.48 ms, the Gram matrix
    included). ``U = AD V / S`` is not formed: only ``U^T B`` is needed
    (:meth:`_Decomposition.project`).
    """
    # Squares beyond float64's range (inf, NaN) fail here, before LAPACK. A
    # Gram matrix of columns of norm at most 1 has entries of at most 1: its
    # sum overflows only where they do.
    if not math.isfinite(float(gram.sum())):
        return None
    with _few_threads(gram):
        eigenvalues, eigenvectors = torch.linalg.eigh(gram)
    # Ascending: one transfer of the extremes (a strided view) decides.
    extremes = eigenvalues[:: max(1, eigenvalues.numel() - 1)].tolist()
    smallest, largest = extremes[0], extremes[-1]
    if not (largest > 0 and smallest >= GRAM_EIGENVALUE_RATIO * largest and math.sqrt(smallest)
            > _rank_cutoff(math.sqrt(largest), dtype, cancellation, n_rows)):
        return None
    return None, torch.sqrt(eigenvalues.flip(0)), eigenvectors.flip(1), gram.shape[0]


def _every_row_through_gram(X, Y, w, y_max, fit_intercept, reducer, n_rows):
    """:class:`_Centred` and :class:`_Decomposition` of every row from the centred Gram matrix.

    Neither holds rows (``A`` is None): the decomposition's ``AtB`` holds
    ``A^T B``. None where the Gram matrix cannot decompose them (singular
    values beyond a factor 1000 apart, constant or dependent columns,
    squares beyond float64's range): the caller sketches instead. Processes
    that each hold a shard of the rows (``n_rows`` in all) sum their sums
    and Gram matrices, and decide alike.
    """
    n_features, dtype = X.shape[1], X.dtype
    weight_sum = reducer.sum(torch.sum(w, dtype=torch.float64))
    unit = bool((w == 1).all())
    w64 = None if unit else w.double()
    low, high = torch.aminmax(y_max)
    # Targets whose squares neither underflow nor overflow take their moments
    # from the same sums and Gram matrix; others those of y / max|y|.
    y_in_range = 1e-100 < float(low) and float(high) < 1e100
    if y_in_range:
        y_mean = (reducer.sum(weighted_sums(Y, w64)) / weight_sum if fit_intercept
                  else torch.zeros(Y.shape[1], dtype=torch.float64, device=Y.device))
    else:
        y_mean, y_scale = _target_moments(Y, w, weight_sum, fit_intercept, reducer, y_max)
    sums = reducer.sum(weighted_sums(X, w64))
    x_mean = _x_mean(sums, weight_sum, fit_intercept)
    root = None if unit else torch.sqrt(w64)[:, None]
    gram = reducer.sum(centred_gram(X, Y, root, x_mean, y_mean))
    if y_in_range:
        # Standardizing y (as _target_moments does) makes tolerances and
        # learning rates independent of the target's units.
        y_scale = torch.sqrt(torch.diagonal(gram)[n_features:] / weight_sum)
        y_scale = y_scale.masked_fill(y_scale == 0, 1.0)
    squares = torch.diagonal(gram)[:n_features]
    norms = torch.sqrt(squares)
    # sum w x^2 = sum w (x - mean)^2 + sum(w) mean^2: the scale of the rounding.
    uncentred = torch.sqrt(squares + weight_sum * x_mean**2)
    # The largest cancellation of the centring (see _scaling). A column
    # constant at the data's precision (:func:`_zero_constant_columns`), a
    # zero one (inf, NaN) or squares beyond float64's range (NaN) leave the
    # decision to the SVD or the sketch.
    cancellation = float((uncentred / norms).max())
    if not cancellation < 1 / _constant_ratio(dtype, n_rows):
        return None
    D = 1 / norms
    factors = _full_rank_from_gram(gram[:n_features, :n_features] * D[:, None] * D, dtype,
                                   cancellation, n_rows)
    if factors is None:
        return None
    centred = _Centred(None, None, x_mean, y_mean, y_scale, uncentred, norms, weight_sum)
    AtB = gram[:n_features, n_features:] / y_scale
    return centred, _Decomposition(None, D, *factors, n_rows=n_rows, AtB=AtB)


def _thin_svd(M):
    """``U, S, V`` with ``M = U diag(S) V.T``; a wide ``M`` through a QR of its transpose.

    LAPACK's divide and conquer on a wide matrix is far slower than a QR
    followed by the SVD of the square factor (measured on 2 cores for
    2500 x 10000: 146 s against 36 s).
    """
    with _few_threads(M):
        if M.shape[1] <= 2 * M.shape[0]:
            U, S, Vh = torch.linalg.svd(M, full_matrices=False)
            return U, S, Vh.T
        Q, R = torch.linalg.qr(M.T)
        U, S, Wh = torch.linalg.svd(R.T)
        return U, S, Q @ Wh.T


def _change_of_variables(d, UB, alpha, dtype=torch.float64):
    """``transform`` (p x k) and ``theta0`` such that the Hessian is the identity.

    ``d`` is the :class:`_Decomposition` ``AD = U S V^T``; ``UB`` is ``U^T
    B``, the standardized targets in the basis of ``U``
    (:meth:`_Decomposition.project`; ``U`` itself is needed only below full
    rank). Without a penalty, ``AD = U S V^T`` gives it directly, on X's row space
    (``k = rank``). With one, in scaled coordinates ``u`` (``beta = D u``)
    the objective over ``u = P z`` has Hessian ``(AD P)^T (AD P) + alpha (D
    P)^T (D P)``: a decomposition of ``[AD P; sqrt(alpha) D P]``. As ``AD =
    U S V^T`` with orthonormal ``U``, that is ``diag(U, I)`` times ``[S V^T
    P; sqrt(alpha) D P]``, of (rank + p) rows: decomposing the small factor
    spares a second SVD of the tall matrix (which took half a classifier's
    refresh on 8000 sparse one-hot rows). ``P`` is the identity, or for
    wide data a basis of the span holding the optimum (:func:`_penalized_space`).
    Directions of that decomposition singular at the data's precision carry
    neither data nor penalty, and are dropped (:func:`_penalized_rank`).
    """
    S, V, D, rank = d.S, d.V, d.D, d.rank
    n_rows, n_features = d.n_rows, d.V.shape[0]
    if alpha == 0:
        transform = D[:, None] * V / S
        if 0 < rank < n_features:
            transform = _onto_row_space(d.AD, d.U, S, V, D, transform)
        return transform, UB
    P = _penalized_space(V, D, rank, n_rows)
    SVP = S[:, None] * (V.T if P is None else V.T @ P)
    DP = torch.diag(D) if P is None else D[:, None] * P
    Z = torch.cat([SVP, alpha**0.5 * DP])
    B = torch.cat([UB, UB.new_zeros(Z.shape[0] - UB.shape[0], UB.shape[1])])
    # Columns of Z scaled to unit norm first (Jacobi scaling of the penalized
    # Hessian): a column of X of order 1e-20 beside columns of order 1 has a
    # penalty row sqrt(alpha) D of order 1e20, and the SVD, accurate only
    # relative to its largest singular value, then lost the data's singular
    # values of order 1 (fits 50% off in probability, silently).
    E = 1.0 / _norms(Z).clamp_min(torch.finfo(Z.dtype).tiny)
    U2, S2, W2 = _thin_svd(Z * E)
    k = _penalized_rank(S2, dtype)
    basis = E[:, None] * W2[:, :k] / S2[:k]
    transform = D[:, None] * (basis if P is None else P @ basis)
    return transform, U2[:, :k].T @ B


def _penalized_space(V, D, rank, n_rows):
    """Orthonormal ``P`` (p x rank) spanning, in ``u``, the ridge optimum; None: all of ``u``.

    The optimum lies in ``D^-2`` times the span of ``V`` (X's row space, in
    ``u``). An orthonormal basis of that span is accurate only relative to
    its largest row, and ``D^-2 V`` is graded by rows when columns' norms
    differ: from ~1e15 on, the directions of the small rows were lost.
    Measured on ``[x, x, 1e20 z]`` (alpha=1): ``D`` = (0.074, 0.074,
    6.9e-22), the pair's rows of ``V`` differ by 1e-15 (rounding), and ``P``
    came out as ``e_z, e_1``: the pair was fitted by its second column
    alone (coefficients 7e-40 and 1.06 in place of 0.51 and 0.51, the
    objective 0.24% above the optimum; beside a one-hot block, the
    drop-one-level model). So the whole space is searched whenever that
    costs no more than the decomposition of the rows did (p at most twice
    the rows decomposed, as for every sketch): the axes keep the scales
    apart, and X's null space carries its penalty and nothing else. Only
    wide data (more than twice as many columns as rows) keeps the basis of
    ``D^-2 V``, so as never to decompose a dense p x p matrix.
    """
    n_features = V.shape[0]
    if rank == n_features or n_features <= 2 * n_rows:
        return None
    # D^-2 V in two steps of D^-1: norms from 1e-150 to 1e150 would overflow squared.
    scale = 1.0 / D
    scale = scale / scale.max()
    return torch.linalg.qr(scale[:, None] * torch.linalg.qr(scale[:, None] * V).Q).Q


def _penalized_rank(S, dtype):
    """How many singular values of the Jacobi-scaled penalized factor to keep.

    A direction of X's null space among columns of norm 1e20 has a penalty
    row ``sqrt(alpha) D`` of order 1e-20 and no data: its singular value is
    rounding, and scaled up by its inverse it would be noise. Dropped at
    the cutoff of :func:`_decompose`, it changes the objective by a
    relative ~1e-13 at most (float64), as the penalty it carries.
    """
    if not S.numel() or S[0] == 0:
        return 0
    eps = torch.finfo(dtype).eps
    cutoff = float(S[0]) * max(4 * eps, 1e3 * torch.finfo(torch.float64).eps)
    return int((S > cutoff).sum())


@contextmanager
def _few_threads(matrix, small=1 << 21):
    """Decompose a small sketch on one CPU thread.

    LAPACK's threads only cost there: measured on 2 busy cores, the SVD of a
    2000 x 100 float64 sketch took 0.31 s on 2 threads and 0.006 s on one.
    """
    with one_thread_if(matrix.device.type == "cpu" and matrix.numel() <= small):
        yield


def _onto_row_space(AD, U, S, V, D, transform):
    """Project ``transform`` (``D V / S``) onto X's row space, spanned by ``M = D^-1 V``.

    Descent from theta0 or zero then lands on the minimum-norm solution, as
    lstsq's. In exact arithmetic the projection is ``M (M^T M)^-1 / S`` (as
    ``V^T V = I``) and leaves ``AD D^-1 transform = U``. Columns whose norms
    differ by ~1e170 make it ill conditioned, and either way of computing it
    can then fail: triangular solves with M's R factor (rows of tiny
    columns stay of order 1), or a Householder Q (whose rows carry an
    absolute error of eps that D then magnifies). The first whose result
    still maps to ``U`` is kept; if neither does, the unprojected transform
    (a solution, not the minimum-norm one).
    """
    norms = torch.where(V.abs().sum(1) > 0, 1.0 / D, torch.zeros_like(D))
    largest = norms.max()
    M = (norms / largest)[:, None] * V
    Q, R = torch.linalg.qr(M)

    def solved():
        rows = torch.linalg.solve_triangular(R, M, upper=True, left=False)
        return rows @ torch.linalg.solve_triangular(R.T, torch.diag(1.0 / S), upper=False) / largest

    for candidate in (solved, lambda: Q @ (Q.T @ transform)):
        projected = candidate()
        if bool(torch.isfinite(projected).all()):
            mapped = AD @ (projected / D[:, None])
            if float((mapped - U).abs().max()) <= 1e-6:
                return projected
    return transform


def _norms(A):
    """Column norms that neither overflow nor underflow (|values| from 1e-300 to 1e300)."""
    # The square root of the sum of squares: vector_norm's scaled sums took
    # 0.4 ms on 20,000 x 20, against 0.12 ms; the check below catches what
    # the squares lose.
    norms = torch.sqrt(torch.linalg.vecdot(A, A, dim=0))
    if A.shape[0] and A.shape[1]:
        low, high = torch.aminmax(norms)
        # Squares neither overflowed nor lost terms to underflow that would
        # matter against the norm: no need to rescale.
        if float(low) > 1e-100 and float(high) < math.inf:
            return norms
    largest = A.abs().amax(0) if A.shape[0] else torch.zeros(A.shape[1], dtype=A.dtype)
    safe = torch.where(largest > 0, largest, torch.ones_like(largest))
    return torch.linalg.vector_norm(A / safe, dim=0) * safe
