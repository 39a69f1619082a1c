"""What an estimator of the family fits: its loss on the network's outputs, the pieces the
second-order optimiser needs, its output link and the build's score.

The network's last layer is linear; an objective says what its outputs mean. The optimiser
(:mod:`._optimize`) and the architecture search (:mod:`._architecture`) only ever ask an
objective for these, so a least-squares regressor and a cross-entropy classifier share the
same search, optimiser and pruning:

* ``error(f, y, s)``: the data error that selection compares (a weighted mean over rows,
  ``s`` summing to 1), and ``loss(f, y, s)`` the data term of the training loss;
* ``output_gradient(f, y, s)``: ``(g, loss)`` with ``g = d loss / d f`` per row;
* ``gauss_newton(J, f, y, s)``: ``(B, r)`` with ``B^T B`` the (generalised) Gauss-Newton
  matrix and ``B^T r`` the gradient, for one row block of Jacobians ``J`` (``(rows, k, p)``,
  overwritten);
* ``deviance(error, n)``: ``n`` values' contribution to the information criterion
  (Akaike's: the criterion adds the price of the weights);
* ``residual(f, y)``: what new neurons should explain (where the outputs should move);
* ``constant(y, s)``: the outputs of the best constant model, the baseline a model must
  beat;
* ``link(f)``: the estimator's prediction from the network's outputs, and, unless
  ``link_is_identity``, its derivatives ``link_jvp``, ``link_vjp`` and ``link_jacobian``
  (the derivative API goes through them);
* ``largest_gain(error, factor)``: the most a larger network can be expected to lower the
  deviance per value, below which growing is not worth training;
* ``gauss_newton_is_exact``: whether the loss is half the squared norm of the
  Gauss-Newton residuals (least squares), or must be computed on its own;
* ``restart_at_best_beta``: whether a candidate grown from another starts its
  regularisation path at the other's best stage (else where its path ended);
* ``values_per_row(k)``: how many values a row with ``k`` outputs adds to the criterion's
  count; ``scales_outputs``: whether the targets are normalised (a regression's are; a
  classifier's logits are not).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LeastSquares:
    """Half the weighted mean squared error of linear outputs; selection by ``n ln(MSE)``.

    Parameters
    ----------
    exact_error : float
        Mean squared errors (of outputs normalised to about 1) below this are rounding
        noise: fits that good count as exact, and the smallest of them wins.
    """

    exact_error: float = (1e3 * np.finfo(np.float64).eps) ** 2
    scales_outputs = True
    link_is_identity = True
    restart_at_best_beta = False
    gauss_newton_is_exact = True  # loss = 1/2 ||r||^2 of the Gauss-Newton residuals

    def link(self, f: np.ndarray) -> np.ndarray:
        return f

    def error(self, f: np.ndarray, y: np.ndarray, s: np.ndarray) -> float:
        r = f - y
        return float(s @ np.einsum("ij,ij->i", r, r))

    def loss(self, f: np.ndarray, y: np.ndarray, s: np.ndarray) -> float:
        return 0.5 * self.error(f, y, s)

    def values_per_row(self, n_outputs: int) -> int:
        return n_outputs

    def largest_gain(self, error: float, factor: float) -> float:
        """The most a larger network is expected to lower the deviance per value: a
        ``1 / factor``-fold cut of the MSE."""
        return -np.log(factor)

    def output_gradient(self, f: np.ndarray, y: np.ndarray, s: np.ndarray):
        r = f - y
        g = r * s[:, None]
        return g, 0.5 * float(np.einsum("ij,ij->", g, r))

    def gauss_newton(self, J: np.ndarray, f: np.ndarray, y: np.ndarray, s: np.ndarray):
        root = np.sqrt(s)
        J *= root[:, None, None]
        return J.reshape(-1, J.shape[-1]), ((f - y) * root[:, None]).reshape(-1)

    def residual(self, f: np.ndarray, y: np.ndarray) -> np.ndarray:
        return y - f

    def constant(self, y: np.ndarray, s: np.ndarray) -> np.ndarray:
        """The outputs of the best constant model: the weighted mean."""
        return s @ y

    def deviance(self, error: float, n: float) -> float:
        return n * np.log(max(error, self.exact_error))


LEAST_SQUARES = LeastSquares()


# Probabilities are kept at least this far from 0 where the Gauss-Newton factors divide by
# them (a confidently wrong row then gives a large but finite factor).
_TINY = 1e-300


@dataclass(frozen=True)
class CrossEntropy:
    """The weighted mean log-loss of class probabilities; selection by the deviance
    ``2 n log-loss``.

    With one output (two classes) the probability of the second class is the logistic
    function of it; with ``k > 1`` outputs (``k`` classes) the probabilities are their
    softmax. The targets are 0/1 (one column) or one-hot (``k`` columns). The
    Gauss-Newton matrix is the generalised one, ``J^T H J`` with ``H`` the Hessian of the
    log-loss in the outputs, which is positive semi-definite: for softmax
    ``H = diag(p) - p p^T = L L^T`` with ``L = (I - p 1^T) diag(sqrt(p))``.
    """

    scales_outputs = False
    link_is_identity = False
    restart_at_best_beta = True
    gauss_newton_is_exact = False

    @staticmethod
    def probabilities(f: np.ndarray) -> np.ndarray:
        """``(n, k)`` class probabilities (``k = 2`` for one output)."""
        if f.shape[1] == 1:
            p1 = _sigmoid(f[:, 0])
            return np.column_stack([1.0 - p1, p1])
        z = f - f.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    @staticmethod
    def log_probabilities(f: np.ndarray) -> np.ndarray:
        if f.shape[1] == 1:
            return np.column_stack([-np.logaddexp(0.0, f[:, 0]), -np.logaddexp(0.0, -f[:, 0])])
        z = f - f.max(axis=1, keepdims=True)
        return z - np.log(np.exp(z).sum(axis=1, keepdims=True))

    def link(self, f: np.ndarray) -> np.ndarray:
        return self.probabilities(f)

    def link_jvp(self, f: np.ndarray, df: np.ndarray) -> np.ndarray:
        """``d proba`` for a change ``df`` of the outputs."""
        p = self.probabilities(f)
        if f.shape[1] == 1:
            dp1 = p[:, 1:] * p[:, :1] * df
            return np.hstack([-dp1, dp1])
        return p * (df - np.sum(p * df, axis=1, keepdims=True))

    def link_vjp(self, f: np.ndarray, gp: np.ndarray) -> np.ndarray:
        """The outputs' share of a gradient ``gp`` of the probabilities."""
        p = self.probabilities(f)
        if f.shape[1] == 1:
            return p[:, 1:] * p[:, :1] * (gp[:, 1:] - gp[:, :1])
        return p * (gp - np.sum(p * gp, axis=1, keepdims=True))

    def link_jacobian(self, f: np.ndarray) -> np.ndarray:
        """``d proba / d f`` per row: ``(n, n_classes, n_outputs)``."""
        p = self.probabilities(f)
        if f.shape[1] == 1:
            d = (p[:, 1] * p[:, 0])[:, None, None]
            return np.concatenate([-d, d], axis=1)
        return p[:, :, None] * np.eye(p.shape[1]) - p[:, :, None] * p[:, None, :]

    def _row_losses(self, f: np.ndarray, y: np.ndarray) -> np.ndarray:
        if f.shape[1] == 1:
            return np.logaddexp(0.0, f[:, 0]) - y[:, 0] * f[:, 0]
        return -np.einsum("ij,ij->i", y, self.log_probabilities(f))

    def error(self, f: np.ndarray, y: np.ndarray, s: np.ndarray) -> float:
        return float(s @ self._row_losses(f, y))

    def loss(self, f: np.ndarray, y: np.ndarray, s: np.ndarray) -> float:
        return self.error(f, y, s)

    def _p(self, f: np.ndarray) -> np.ndarray:
        """Probabilities in the shape of the outputs (the second class's for one output)."""
        return _sigmoid(f) if f.shape[1] == 1 else self.probabilities(f)

    def output_gradient(self, f: np.ndarray, y: np.ndarray, s: np.ndarray):
        return (self._p(f) - y) * s[:, None], self.error(f, y, s)

    def gauss_newton(self, J: np.ndarray, f: np.ndarray, y: np.ndarray, s: np.ndarray):
        p = self._p(f)
        root_s = np.sqrt(s)[:, None]
        if f.shape[1] == 1:
            curvature = np.maximum(p * (1.0 - p), _TINY)  # (n, 1)
            root = np.sqrt(curvature)
            J *= (root_s * root)[:, :, None]
            r = root_s * (p - y) / root
        else:
            # B = sqrt(s) diag(sqrt(p)) (I - 1 p^T) J, r = sqrt(s) (p - y) / sqrt(p)
            mean = np.einsum("ik,ikj->ij", p, J)
            J -= mean[:, None, :]
            J *= (root_s * np.sqrt(p))[:, :, None]
            r = root_s * (p - y) / np.sqrt(np.maximum(p, _TINY))
        return J.reshape(-1, J.shape[-1]), r.reshape(-1)

    def residual(self, f: np.ndarray, y: np.ndarray) -> np.ndarray:
        return y - self._p(f)

    def constant(self, y: np.ndarray, s: np.ndarray) -> np.ndarray:
        """The outputs (logits) of the best constant model: the weighted class
        frequencies' log-odds, or their logarithms for a softmax."""
        q = np.clip(s @ y, _TINY, 1.0)
        return np.log(q / np.maximum(1.0 - q, _TINY)) if y.shape[1] == 1 else np.log(q)

    def deviance(self, error: float, n: float) -> float:
        # the likelihood's deviance, 2 n log-loss: Akaike's criterion proper. (n ln(log-loss),
        # as least squares has it, chose hidden neurons on smooth boundaries, halving the
        # error rate there, but overfitted breast cancer and wine: 0.311 and 0.147 test
        # log-loss against 0.161 and 0.018)
        return 2.0 * n * error

    def values_per_row(self, n_outputs: int) -> int:
        return 1

    def largest_gain(self, error: float, factor: float) -> float:
        """The most the deviance per row can fall: to a log-loss of 0."""
        return 2.0 * error


def _sigmoid(z: np.ndarray) -> np.ndarray:
    # exp of a non-positive number only: no overflow either way
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


CROSS_ENTROPY = CrossEntropy()
