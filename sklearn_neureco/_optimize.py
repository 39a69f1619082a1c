"""Second-order training of a :class:`~sklearn_neureco._network.Network`.

Training minimises an objective's loss (:mod:`._objectives`) plus a weight penalty, in
normalised space; for the regressor's least squares::

    E(w) = 1/2 * sum_i s_i * ||f(x_i; w) - y_i||^2  +  1/2 * beta * ||w||^2 / p

with ``s_i = sample_weight_i / sum(sample_weight)`` (so the data term is half the weighted
mean squared error, independent of the number of samples) and ``p`` the number of weights.
Levenberg-Marquardt uses the objective's (generalised) Gauss-Newton matrix.

Two optimisers minimise it, both with exact derivatives from the network:

* :func:`levenberg_marquardt`, which uses the exact Jacobian. Its normal equations
  ``J^T S J`` are accumulated in row blocks, so memory depends on the number of weights,
  never on the number of samples;
* :func:`lbfgs` (scipy's L-BFGS-B with the exact gradient), for networks whose number of
  weights makes the ``p x p`` normal equations too costly. For least squares it moves
  the hidden weights only and solves the output layer's, in which the outputs are linear,
  exactly at every step (variable projection, :func:`fit_output_layer`).

Both stop when training stops paying: the loss has improved by less than ``ftol``
(relatively) over a window of iterations, the gradient vanishes, or, given a validation
``monitor``, the validation error has clearly risen for several steps (early stopping;
the best weights seen are returned). The iteration cap is a safety net far above what
convergence needs.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace

import numpy as np
from scipy import linalg, optimize
from scipy.linalg import lapack
from threadpoolctl import ThreadpoolController

from ._network import Network, row_chunks
from ._objectives import LEAST_SQUARES, CrossEntropy, LeastSquares

# Rows per block when accumulating J^T J (each block's Jacobian is rows * n_out * p).
_JACOBIAN_ROWS = 1024
# LM is chosen while one normal-equation pass costs at most this many multiply-adds.
LM_MAX_FLOPS = 4e9
LM_MAX_WEIGHTS = 2000
# LM stops when the loss fell by less than LM_FTOL (relative) over LM_WINDOW accepted steps.
LM_FTOL = 1e-2
LM_WINDOW = 10
LBFGS_WINDOW = 50
# L-BFGS on least squares: the output layer solved at each step (variable projection).
# Wide outputs are where it pays: a 3-64-64 network fitting heat-equation fields (64
# values) along the compressor's beta path reached a 2.5 times lower test error in a
# quarter of the time (0.0085 against 0.021, 3.4 s against 13.9 s).
SEPARABLE_LBFGS = True
# Rows grow this many times from one subset to the next in train_on_growing_rows.
GROWTH = 8
# Multiply-adds of one J^T J block above which multi-threaded BLAS pays; below it, idle
# OpenBLAS threads spin and slow the surrounding numpy code (measured: 5x on a small LM run).
_THREADED_FLOPS = 5e7
# Least damping of an input's links relative to the most spread input's (see
# TrainingProblem.damping_diagonal): an input whose spread is rounding noise (under
# 1e-6 of the widest) keeps its links damped, instead of letting them follow the noise.
MIN_INPUT_DAMPING = 1e-12

_blas = {}


def _controller() -> ThreadpoolController:
    if not _blas:
        _blas["controller"] = ThreadpoolController()
        threads = [
            lib.num_threads for lib in _blas["controller"].select(user_api="blas").lib_controllers
        ]
        _blas["threads"] = max(threads, default=1)
    return _blas["controller"]


def set_large_product_threads(threads: int) -> int:
    """Set the BLAS threads of the large ``J^T J`` products (by default, the most BLAS
    offers) and return the previous number. Builds running in parallel processes set 1:
    the builds already occupy the processors (with 2 threads each, two builds in parallel
    on 2 cores took longer than one after the other). The number changes the products'
    rounding."""
    _controller()
    previous, _blas["threads"] = _blas["threads"], int(threads)
    return previous


def single_threaded_blas():
    """Context in which BLAS runs on one thread (training uses it; see ``_THREADED_FLOPS``)."""
    return _controller().limit(limits=1, user_api="blas")


@contextmanager
def one_thread():
    """Context of a build in a worker process: BLAS and the large products on one thread
    (the builds already occupy the processors), the worker's settings restored after it
    (it may run other tasks)."""
    threads = set_large_product_threads(1)
    try:
        with single_threaded_blas():
            yield
    finally:
        set_large_product_threads(threads)


def _threaded_blas_if(flops: float):
    if flops < _THREADED_FLOPS:
        return nullcontext()
    return _controller().limit(limits=_blas["threads"], user_api="blas")


@dataclass
class TrainingProblem:
    """What training minimises for one network on one (normalised) data set: the
    objective's loss plus the weight penalty."""

    network: Network
    x: np.ndarray  # (n, n_inputs), normalised
    y: np.ndarray  # (n, n_outputs), normalised
    sample_weight: np.ndarray  # (n,), sums to 1
    beta: float = 0.0
    objective: LeastSquares | CrossEntropy = LEAST_SQUARES
    # Jacobian block reused across the iterations of one network (LM calls this each step)
    _workspace: np.ndarray | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def _reg(self) -> float:
        return self.beta / max(self.network.n_weights, 1)

    def data_error(self, w) -> float:
        """The objective's data error (for least squares the weighted mean squared error;
        the loss's data term is half of it)."""
        return self.objective.error(self.network.forward(w, self.x), self.y, self.sample_weight)

    def loss(self, w) -> float:
        f = self.network.forward(w, self.x)
        return self.objective.loss(f, self.y, self.sample_weight) + 0.5 * self._reg * float(w @ w)

    def loss_and_gradient(self, w, outputs: np.ndarray | None = None):
        """``(loss, gradient)``; ``outputs``: the network's at ``w``, if known."""
        f = self.network.forward(w, self.x) if outputs is None else outputs
        gy, data_loss = self.objective.output_gradient(f, self.y, self.sample_weight)
        _, gw, _ = self.network.vjp(w, self.x, gy, wrt_inputs=False)
        loss = data_loss + 0.5 * self._reg * float(w @ w)
        return loss, gw + self._reg * w

    def _weighted_jacobian_blocks(self, w):
        """The objective's Gauss-Newton factors ``(B, r)`` per row block (for least squares
        ``(sqrt(s) * J, sqrt(s) * residual)``), ``B`` as ``(rows * n_out, p)`` in a buffer
        reused across blocks and calls."""
        p, n_out = self.network.n_weights, self.network.n_outputs
        shape = (min(self.x.shape[0], _JACOBIAN_ROWS), n_out, p)
        if self._workspace is None or self._workspace.shape != shape:
            self._workspace = np.empty(shape)
        for rows in row_chunks(self.x.shape[0], _JACOBIAN_ROWS):
            size = rows.stop - rows.start
            y, Jw, _ = self.network.jacobians(w, self.x[rows], out=self._workspace[:size])
            yield self.objective.gauss_newton(Jw, y, self.y[rows], self.sample_weight[rows])

    def damping_diagonal(self) -> np.ndarray:
        """Levenberg-Marquardt's damping ``D`` (``A + mu * diag(D)``), one entry per weight.

        Links from input ``j`` are damped in proportion to its variance over the rows,
        relative to the most spread input's; other weights by 1. Inputs normalised by their
        extreme values can have bulks of very different spreads (an outlier squeezes the
        rest), and damping all weights alike then all but freezes the links of the squeezed
        inputs. With this damping, LM takes the same steps whatever the units of an input
        other than the widest (whose spread sets the scale), but for the weight penalty,
        which is not unit-free. On diamonds in ``benchmarks/accuracy.py``: train RMSE
        0.102 -> 0.095, median of 4 seeds.
        """
        damping = np.ones(self.network.n_weights)
        variance = self.input_variance()
        top = variance.max(initial=0.0)
        if top <= 0:
            return damping
        # a constant input's links do nothing: damped like any other weight
        relative = np.where(variance > 0, np.maximum(variance / top, MIN_INPUT_DAMPING), 1.0)
        for _, s, mask, idx, off in self.network.blocks():
            if s == 0:
                damping[off : off + idx.size] = relative[np.unravel_index(idx, mask.shape)[1]]
        return damping

    def input_variance(self) -> np.ndarray:
        """The weighted variance of each (normalised) input over the rows."""
        mean = self.sample_weight @ self.x
        return self.sample_weight @ (self.x - mean) ** 2

    def every_kth_row(self, k: int) -> TrainingProblem:
        """The same problem on rows ``0, k, 2k, ...`` (views, not copies), their weights
        summing to 1."""
        sw = self.sample_weight[::k]
        return replace(self, x=self.x[::k], y=self.y[::k], sample_weight=sw / sw.sum())

    def gauss_newton_diagonal(self, w) -> np.ndarray:
        """The diagonal of ``A = J^T S J + reg * I`` (without forming ``A``)."""
        if isinstance(self.objective, LeastSquares) and self.network.n_outputs > 1:
            # without J, whose rows are n_out times as many (one output: the same bits)
            diagonal = self.network.squared_jacobian_sums(w, self.x, self.sample_weight)
            return diagonal + self._reg
        diagonal = np.zeros(self.network.n_weights)
        for Jw, _ in self._weighted_jacobian_blocks(w):
            diagonal += np.einsum("ij,ij->j", Jw, Jw)
        return diagonal + self._reg

    def normal_equations(self, w):
        """``(loss, g, A)`` with ``g`` the gradient and ``A = J^T S J + reg * I``."""
        p = self.network.n_weights
        A = np.zeros((p, p))
        # each block's product goes to one buffer: no fresh p x p array per block (under
        # a low MALLOC_TRIM_THRESHOLD_, as on Dask's workers, each is a new mapping to
        # page in: 250,000 rows took 1.2 s instead of 0.98 s)
        product = np.empty((p, p))
        g = np.zeros(p)
        sq = 0.0
        block_flops = _JACOBIAN_ROWS * self.network.n_outputs * p * p
        for Jw, r in self._weighted_jacobian_blocks(w):
            with _threaded_blas_if(block_flops):
                A += np.matmul(Jw.T, Jw, out=product)
            g += Jw.T @ r
            sq += float(r @ r)
        A[np.diag_indices_from(A)] += self._reg
        g += self._reg * w
        if self.objective.gauss_newton_is_exact:  # the loss is half the residuals' norm
            data_loss = 0.5 * sq
        else:
            data_loss = self.objective.loss(
                self.network.forward(w, self.x), self.y, self.sample_weight
            )
        return data_loss + 0.5 * self._reg * float(w @ w), g, A


@dataclass
class OptimizeResult:
    w: np.ndarray
    loss: float
    n_iter: int
    gave_up: bool = False  # stopped by ``give_up``: the weights cannot pay for themselves


def _stalled(history: list[float], ftol: float, window: int) -> bool:
    if len(history) <= window:
        return False
    old, new = history[-1 - window], history[-1]
    return old - new <= ftol * max(abs(old), np.finfo(float).tiny)


class _EarlyStopping:
    """Tracks the best weights by a monitored (validation) error, and says when to stop:
    after ``patience`` accepted steps whose error is over ``1 + OVERFIT`` times the best,
    or as soon as ``give_up`` (called with each accepted step's error) says so.

    A plateau does not stop training (a larger network often needs a while to put its new
    neurons to use); only a validation error that clearly rises again, overfitting, does.
    """

    OVERFIT = 0.1

    def __init__(self, monitor, patience: int, w, loss: float, give_up=None):
        self.monitor, self.patience, self.give_up = monitor, patience, give_up
        self.best = (np.inf if monitor is None else monitor(w), w.copy(), loss)
        self.waited = 0
        self.gave_up = False

    def update(self, w, loss: float) -> bool:
        """Record accepted weights; True when it is time to stop."""
        if self.monitor is None:
            return False
        error = self.monitor(w)
        if self.give_up is not None and self.give_up(error):
            self.gave_up = True
        if error < self.best[0]:
            self.best, self.waited = (error, w.copy(), loss), 0
        elif error > self.best[0] * (1 + self.OVERFIT):
            self.waited += 1
        return self.gave_up or self.waited >= self.patience

    def result(self, w, loss: float):
        return (w, loss) if self.monitor is None else (self.best[1], self.best[2])


def levenberg_marquardt(
    problem: TrainingProblem,
    w0: np.ndarray,
    *,
    ftol: float | None = None,
    gtol: float = 1e-10,
    window: int | None = None,
    max_iter: int = 2000,
    monitor: Callable[[np.ndarray], float] | None = None,
    patience: int = 10,
    give_up: Callable[[float], bool] | None = None,
) -> OptimizeResult:
    """Minimise ``problem.loss`` by Levenberg-Marquardt with Nielsen's damping update,
    the damping scaled per input (:meth:`TrainingProblem.damping_diagonal`).

    With ``monitor`` (the validation error of a weight vector), training also stops once
    ``patience`` accepted steps have not improved it, and returns the best weights seen
    (early stopping: training that no longer pays on held-out data stops); and once
    ``give_up``, given each accepted step's validation error, returns True.
    """
    ftol = LM_FTOL if ftol is None else ftol
    window = LM_WINDOW if window is None else window
    w = np.array(w0, dtype=np.float64)
    loss, g, A = problem.normal_equations(w)
    watch = _EarlyStopping(monitor, patience, w, loss, give_up)
    damping = problem.damping_diagonal()
    mu = 1e-3 * max(float(np.max(np.diag(A))), 1e-12)
    nu = 2.0
    history = [loss]
    n_iter = 0
    while n_iter < max_iter:
        n_iter += 1
        if np.max(np.abs(g)) <= gtol:
            break
        try:
            damped = A.copy()
            damped.flat[:: A.shape[0] + 1] += mu * damping
            factor = linalg.cho_factor(damped, overwrite_a=True, check_finite=False)
            step = -linalg.cho_solve(factor, g, check_finite=False)
        except linalg.LinAlgError:
            mu *= nu
            nu *= 2.0
            continue
        w_new = w + step
        loss_new = problem.loss(w_new)
        predicted = 0.5 * float(step @ (mu * damping * step - g))
        rho = (loss - loss_new) / predicted if predicted > 0 else -1.0
        if np.isfinite(loss_new) and rho > 0:
            w = w_new
            loss, g, A = problem.normal_equations(w)
            # Nielsen's update; every rho >= 1 gives 1/3 (clamped: no overflow when the
            # predicted decrease is tiny)
            mu *= max(1.0 / 3.0, 1.0 - (2.0 * min(rho, 1.0) - 1.0) ** 3)
            nu = 2.0
            history.append(loss)
            if _stalled(history, ftol, window) or watch.update(w, loss):
                break
        else:
            mu *= nu
            nu *= 2.0
            if mu > 1e16 * max(1.0, float(np.max(np.diag(A)))):
                break  # no step decreases the loss: a (numerical) minimum
    w, loss = watch.result(w, loss)
    return OptimizeResult(w, loss, n_iter, watch.gave_up)


class OutputLayerPatterns:
    """The output layer's links grouped for :func:`fit_output_layer`: outputs that share
    a pattern of pruned links share one solve. Built once per network (L-BFGS solves the
    same layer at every evaluation): each pattern's gathers of the normal equations and
    the weights its solution fills.

    ``index`` is the network's ``output_layer_index()``.
    """

    def __init__(self, index: np.ndarray):
        self.index = index
        m, n_outputs = index.shape
        patterns, group = np.unique((index >= 0).T, axis=0, return_inverse=True)
        # (the pattern's gram and moments as flat gathers, which take a quarter of the
        # time of np.ix_ indexing, and the weights its solution fills)
        self.patterns = []
        for number, pattern in enumerate(patterns):
            outputs, linked = np.flatnonzero(group.reshape(-1) == number), np.flatnonzero(pattern)
            square = (linked[:, None] * m + linked).reshape(-1)
            rect = (linked[:, None] * n_outputs + outputs).reshape(-1)
            shape = (linked.size, outputs.size)
            self.patterns.append((square, rect, shape, index[np.ix_(linked, outputs)]))


def fit_output_layer(
    problem: TrainingProblem,
    w: np.ndarray,
    index: np.ndarray | OutputLayerPatterns,
    with_outputs: bool = False,
):
    """``w`` with the output layer's weights replaced by those that minimise
    ``problem.loss`` given the other weights (least squares: the outputs are linear in
    them). ``index`` is the network's ``output_layer_index()``, or its
    :class:`OutputLayerPatterns`. With ``with_outputs``, ``(w, outputs)``: the network's
    outputs at ``w`` on the problem's rows as well.

    A weighted ridge regression of the targets on what the output layer reads, the ridge
    being the weight penalty's; outputs sharing a pattern of pruned links share one solve.
    Without a penalty, the least-norm solution.
    """
    layer = index if isinstance(index, OutputLayerPatterns) else OutputLayerPatterns(index)
    features = problem.network.output_layer_inputs(w, problem.x)
    weighted = features * problem.sample_weight[:, None]
    gram = weighted.T @ features
    gram[np.diag_indices_from(gram)] += problem._reg
    moments = weighted.T @ problem.y
    w = np.array(w, dtype=np.float64)
    for square, rect, (k, r), positions in layer.patterns:
        A, B = gram.take(square).reshape(k, k), moments.take(rect).reshape(k, r)
        coef = None
        if problem._reg > 0:  # else singular where units coincide: least norm
            # LAPACK's Cholesky as scipy's cho_factor and cho_solve call it, without their
            # checks: a few microseconds each, on up to one solve per output per evaluation
            factor, info = lapack.dpotrf(A, lower=0, clean=0)
            if info == 0:
                coef, info = lapack.dpotrs(factor, B, lower=0)
            if info != 0:
                coef = None
        if coef is None:
            coef = linalg.lstsq(A, B, check_finite=False)[0]
        w[positions] = coef
    if not with_outputs:
        return w
    return w, features @ np.where(layer.index >= 0, w[np.maximum(layer.index, 0)], 0.0)


def _linear_output_layer(problem: TrainingProblem) -> np.ndarray | None:
    """The output layer's ``output_layer_index()`` where L-BFGS solves it exactly."""
    if SEPARABLE_LBFGS and isinstance(problem.objective, LeastSquares):
        return problem.network.output_layer_index()
    return None


def lbfgs(
    problem: TrainingProblem,
    w0: np.ndarray,
    *,
    ftol: float | None = None,
    gtol: float = 1e-10,
    window: int | None = None,
    max_iter: int = 20000,
    monitor: Callable[[np.ndarray], float] | None = None,
    patience: int = 10,
    give_up: Callable[[float], bool] | None = None,
) -> OptimizeResult:
    """Minimise ``problem.loss`` with scipy's L-BFGS-B and the exact gradient.

    It stops as :func:`levenberg_marquardt` does: when the loss fell by less than ``ftol``
    over ``window`` iterations (L-BFGS steps being cheaper and shorter, the window is
    ``LBFGS_WINDOW``), or early on ``monitor`` and ``give_up``.

    For least squares (with ``SEPARABLE_LBFGS``) it minimises over the hidden weights
    the loss with the output layer solved exactly (:func:`fit_output_layer`); by the
    envelope theorem that function's gradient is the loss's gradient in the hidden
    weights. The output layer's many weights, often the worst conditioned, then take no
    iterations.
    """
    ftol = LM_FTOL if ftol is None else ftol
    window = LBFGS_WINDOW if window is None else window
    w0 = np.array(w0, dtype=np.float64)
    index = _linear_output_layer(problem)
    if index is None:
        free = slice(None)

        def complete(theta):  # the weights and, if known, the outputs on the rows
            return theta, None

    else:
        free = np.ones(w0.size, dtype=bool)
        free[index[index >= 0]] = False
        layer = OutputLayerPatterns(index)

        def complete(theta):
            w = w0.copy()
            w[free] = theta
            return fit_output_layer(problem, w, layer, with_outputs=True)

    last = {}  # the weights of the last evaluation: most often the step accepted

    def weights(theta):
        if "theta" in last and np.array_equal(last["theta"], theta):
            return last["w"]
        return complete(theta)[0]

    def loss_and_gradient(theta):
        w, outputs = complete(theta)
        last.update(theta=theta.copy(), w=w)
        loss, g = problem.loss_and_gradient(w, outputs)
        return loss, g[free]

    start = complete(w0[free])[0]
    loss0 = problem.loss(start)
    if not start[free].size:  # a linear network: solved
        return OptimizeResult(start, loss0, 0)
    watch = _EarlyStopping(monitor, patience, start, loss0, give_up)
    history = [loss0]

    def callback(intermediate_result):
        history.append(float(intermediate_result.fun))
        overfit = watch.update(weights(intermediate_result.x), history[-1])
        if overfit or _stalled(history, ftol, window):
            raise StopIteration

    res = optimize.minimize(
        loss_and_gradient,
        w0[free],
        jac=True,
        method="L-BFGS-B",
        callback=callback,
        # scipy's own ftol is per step; the callback's window rule above decides instead
        options={"maxiter": max_iter, "ftol": 1e-12, "gtol": gtol, "maxcor": 30},
    )
    w, loss = watch.result(weights(res.x), float(res.fun))
    return OptimizeResult(w, loss, int(res.nit), watch.gave_up)


def train_on_growing_rows(
    problem: TrainingProblem,
    w0: np.ndarray,
    start_rows: int,
    growth: int = GROWTH,
    monitor=None,
    **lm_stop,
) -> OptimizeResult:
    """Train on every row of ``problem``, from weights already trained on about
    ``start_rows`` of them, through nested subsets of rows growing ``growth`` times each.

    A network trained on a sample is near its optimum on all rows; reaching it on the
    full data costs about as many Levenberg-Marquardt steps as on a subset ``growth``
    times smaller, so each subset takes the steps it needs at its cost, and all rows take
    only the last few. Subsets are every k-th row: spread over the data's order, and
    views, not copies. Uses LM (whatever the number of rows) up to ``LM_MAX_WEIGHTS``;
    ``lm_stop`` (``lm_window``, ``lm_ftol``) goes to :func:`train`.
    """
    n = problem.x.shape[0]
    steps, size = [], start_rows * growth
    while n // size >= 2:  # a subset of every row would train on all rows twice
        steps.append(n // size)
        size *= growth
    w, n_iter = np.array(w0, dtype=np.float64), 0
    for k in [*steps, 1]:
        subset = problem.every_kth_row(k)
        result = train(subset, w, monitor=monitor if k == 1 else None, any_rows=True, **lm_stop)
        w, n_iter = result.w, n_iter + result.n_iter
    return OptimizeResult(w, result.loss, n_iter)


def train(
    problem: TrainingProblem,
    w0: np.ndarray,
    monitor=None,
    any_rows: bool = False,
    give_up: Callable[[float], bool] | None = None,
    lm_window: int | None = None,
    lm_ftol: float | None = None,
) -> OptimizeResult:
    """Train with Levenberg-Marquardt when its normal equations are affordable, else L-BFGS.

    ``monitor`` (validation error of a weight vector) enables early stopping, and
    ``give_up`` (see :func:`levenberg_marquardt`) stopping as soon as it says so.
    ``any_rows``: LM whatever the number of rows, for up to ``LM_MAX_WEIGHTS`` weights.
    ``lm_window`` and ``lm_ftol``: LM's stopping rule (default ``LM_WINDOW``, ``LM_FTOL``).
    """
    p = problem.network.n_weights
    rows = problem.x.shape[0] * problem.network.n_outputs
    if p <= LM_MAX_WEIGHTS and (any_rows or rows * p * p <= LM_MAX_FLOPS):
        return levenberg_marquardt(
            problem, w0, monitor=monitor, give_up=give_up, window=lm_window, ftol=lm_ftol
        )
    return lbfgs(problem, w0, monitor=monitor, give_up=give_up)
