"""What an estimator of the family fits: its loss on the network's outputs, the pieces the
second-order optimiser needs, its output link and the build's score.

The network's last layer is linear; an objective says what its outputs mean. The optimiser
(:mod:`._optimize`) and the architecture search (:mod:`._architecture`) only ever ask an
objective for these, so a least-squares regressor and a cross-entropy classifier share the
same search, optimiser and pruning:

* ``error(f, y, s)``: the data error that selection compares (a weighted mean over rows,
  ``s`` summing to 1), and the training loss is half of it;
* ``output_gradient(f, y, s)``: ``(g, loss)`` with ``g = d loss / d f`` per row;
* ``gauss_newton(J, f, y, s)``: ``(B, r)`` with ``B^T B`` the (generalised) Gauss-Newton
  matrix and ``B^T r`` the gradient, for one row block of Jacobians ``J`` (``(rows, k, p)``,
  overwritten);
* ``deviance(error, n)``: ``n`` values' contribution to the information criterion
  (Akaike's: the criterion adds the price of the weights);
* ``residual(f, y)``: what new neurons should explain (where the outputs should move);
* ``link(f)``: the estimator's prediction from the network's outputs.
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

    def link(self, f: np.ndarray) -> np.ndarray:
        return f

    def error(self, f: np.ndarray, y: np.ndarray, s: np.ndarray) -> float:
        r = f - y
        return float(s @ np.einsum("ij,ij->i", r, r))

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

    def deviance(self, error: float, n: float) -> float:
        return n * np.log(max(error, self.exact_error))


LEAST_SQUARES = LeastSquares()
