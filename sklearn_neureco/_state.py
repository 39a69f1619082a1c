"""The fitted state of an estimator of the family, as one value.

A :class:`FittedState` is everything a fitted model is: which estimator it belongs to, the
network's structure and weights, the normalisation, the shapes of the data it was fitted
on, its classes where it has any, and the build's record. The build returns one, the
estimator stores it (its fitted attributes read it), model files and checkpoints are
written from and read into it, and a pickle carries it: none of them assembles a model on
its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np

from ._network import (
    FEW_ROWS,
    FOLD_SHIFT_LIMIT,
    BoundWeights,
    Network,
    first_rows,
    row_chunks,
    tile_rows,
)


@dataclass(frozen=True, eq=False)
class FittedState:
    """A fitted model (see the module docstring). Frozen: changing the weights makes a new
    state (:meth:`with_weights`)."""

    estimator: str  # the class name, e.g. "NeurEcoRegressor"
    network: Network
    weights: np.ndarray  # (n_weights,), float64
    input_shift: np.ndarray  # (n_features,)
    input_scale: np.ndarray
    output_shift: np.ndarray  # (n_outputs,)
    output_scale: np.ndarray
    beta_reg: float
    n_features_in: int
    n_outputs: int
    output_1d: bool = False  # the targets were 1-D: predictions are too
    feature_names: tuple[str, ...] | None = None
    classes: tuple | None = None
    history: list[dict] = field(default_factory=list)

    def to_plain(self) -> dict:
        """The state as plain data (numbers, strings, lists, dicts and numeric arrays):
        what a pickle of it holds, so that pickles do not depend on this module's
        classes."""
        plain = {name: getattr(self, name) for name in self.__dataclass_fields__}
        plain["network"] = {
            "layer_sizes": list(self.network.layer_sizes),
            "masks": self.network.masks,
        }
        return plain

    @classmethod
    def from_plain(cls, plain: dict) -> FittedState:
        plain = dict(plain)
        network = plain.pop("network")
        return cls(network=Network(network["layer_sizes"], network["masks"]), **plain)

    def __reduce__(self):
        return (_state_from_plain, (self.to_plain(),))

    def with_weights(self, weights: np.ndarray) -> FittedState:
        return replace(self, weights=weights)

    @property
    def normalisation(self) -> dict[str, np.ndarray]:
        return {
            "input_shift": self.input_shift,
            "input_scale": self.input_scale,
            "output_shift": self.output_shift,
            "output_scale": self.output_scale,
        }

    def normalize(self, X: np.ndarray) -> np.ndarray:
        """Raw inputs to the network's inputs."""
        return (X - self.input_shift) / self.input_scale

    def normalized_blocks(
        self, X: np.ndarray, scaled: bool = True
    ) -> Iterator[tuple[slice, np.ndarray]]:
        """``(rows, normalize(X[rows]))`` in blocks of the network's
        :attr:`~sklearn_neureco._network.Network.block_rows`: a pass over many rows
        normalises each block just before it needs it, in cache. Not ``scaled``: only
        shifted, ``X[rows] - input_shift``."""
        block = self.network.block_rows
        n_rows = min(X.shape[0], block)
        shift = tile_rows(self.input_shift, n_rows)
        scale = tile_rows(self.input_scale, n_rows)
        for rows in row_chunks(X.shape[0], block):
            n = rows.stop - rows.start
            xn = X[rows] - first_rows(shift, n)
            if scaled:
                xn /= first_rows(scale, n)
            yield rows, xn

    def bind(
        self, w: np.ndarray, X: np.ndarray, raw_input_derivatives: bool = False
    ) -> BoundWeights:
        """``w`` bound for passes over :meth:`normalized_blocks` of ``X`` (contiguous
        transposes: see :meth:`~sklearn_neureco._network.Network.bind`); with
        ``raw_input_derivatives`` the passes' input derivatives are in ``X``'s units."""
        scale = self.input_scale if raw_input_derivatives else None
        n_rows = min(X.shape[0], self.network.block_rows)
        return self.network.bind(w, n_rows, input_scale=scale, copy_transposes=True)

    def outputs(self, X: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        """Raw outputs ``(n, n_outputs)`` for raw inputs, at ``weights`` (default: the
        state's). Below ``FEW_ROWS`` rows the sums run in another order (see
        :meth:`~sklearn_neureco._network.Network.few_rows_forward`), and from there on
        the normalisation is folded into the weights where it can be (:meth:`fold`):
        the last bits differ."""
        w = self.weights if weights is None else np.reshape(weights, -1)  # (fold's cache)
        if X.shape[0] < FEW_ROWS:  # one product per layer: a one-row call costs its calls
            y = self.network.few_rows_forward(w, self.normalize(X))
        else:
            folded, folds_shift = self.fold(w)
            if folded is not None:  # raw outputs out
                folded = self.bind(folded, X)
                if folds_shift:  # raw rows in: one call (a call per block: 5 % slower)
                    return self.network.forward(folded, X, self.network.block_rows)
                y = np.empty((X.shape[0], self.n_outputs))
                for rows, shifted in self.folded_blocks(X, folds_shift):
                    y[rows] = self.network.forward(folded, shifted)
                return y
            w = self.bind(w, X)
            y = np.empty((X.shape[0], self.n_outputs))
            for rows, xn in self.normalized_blocks(X):
                y[rows] = self.network.forward(w, xn)
        y *= self.output_scale
        y += self.output_shift
        return y

    # ------------------------------------------------ the normalisation folded
    # Passes over many rows (predict and the derivative API, from FEW_ROWS rows on) take
    # the normalisation folded into the weights (Network.with_normalisation): raw (or
    # only shifted) rows in, raw outputs out, two to four elementwise passes over the
    # rows fewer. Their derivatives in the folded weights are pulled back to the state's
    # (unfold_gradient); those in the inputs are in raw units already.

    def fold(self, w: np.ndarray) -> tuple[np.ndarray | None, bool]:
        """``(v, folds_shift)``: weights ``v`` of the network that reads inputs shifted by
        ``input_shift`` (raw ones if ``folds_shift``: :meth:`folded_blocks`) and gives
        raw outputs, or ``(None, False)`` where some weight would leave float64's normal
        range (inputs and outputs in units some 10^270 apart).

        The inputs' shift is folded where none is more than :data:`FOLD_SHIFT_LIMIT` of
        its scales from 0, so that the sums ``v x`` lose few bits to the bias taking
        ``v shift`` back; otherwise the passes shift each row block first."""
        return self._folded if w is self.weights else self._fold(w)

    @cached_property
    def _folded(self) -> tuple[np.ndarray | None, bool]:
        # the state's own weights folded once (the fold costs about 20 us, what a
        # prediction on a few hundred rows costs): a state is never changed in place
        return self._fold(self.weights)

    def _fold(self, w: np.ndarray) -> tuple[np.ndarray | None, bool]:
        folds_shift = self._folds_shift
        with np.errstate(over="ignore", under="ignore"):
            v = self.network.with_normalisation(
                w,
                self._folded_shift(folds_shift),
                self.input_scale,
                self.output_shift,
                self.output_scale,
            )
        links = self.network.link_positions
        tiny = np.finfo(np.float64).tiny
        if not np.isfinite(v).all() or np.any((np.abs(v[links]) < tiny) & (w[links] != 0)):
            return None, False
        return v, folds_shift

    @property
    def _folds_shift(self) -> bool:
        ratio = np.abs(self.input_shift) / self.input_scale
        return bool(ratio.max(initial=0.0) <= FOLD_SHIFT_LIMIT)

    def _folded_shift(self, folds_shift: bool) -> np.ndarray:
        return self.input_shift if folds_shift else np.zeros_like(self.input_shift)

    def folded_blocks(self, X: np.ndarray, folds_shift: bool) -> Iterator[tuple[slice, np.ndarray]]:
        """``(rows, inputs)`` for the folded weights of :meth:`fold`: ``X``'s own rows if
        ``folds_shift``, else shifted (:meth:`normalized_blocks` unscaled)."""
        if not folds_shift:
            yield from self.normalized_blocks(X, scaled=False)
            return
        for rows in row_chunks(X.shape[0], self.network.block_rows):
            yield rows, X[rows]

    def fold_tangent(self, dw: np.ndarray, folds_shift: bool) -> np.ndarray:
        """A change ``dw`` of the weights as the change of their :meth:`fold`."""
        zero = np.zeros_like(self.output_shift)  # the fold is affine; its linear part
        return self.network.with_normalisation(
            dw, self._folded_shift(folds_shift), self.input_scale, zero, self.output_scale
        )

    def unfold_gradient(self, g: np.ndarray, folds_shift: bool) -> np.ndarray:
        """A gradient with respect to the folded weights as one with respect to the
        weights (the transpose of :meth:`fold_tangent`)."""
        return self.network.with_normalisation_transposed(
            g, self._folded_shift(folds_shift), self.input_scale, self.output_scale
        )


def _state_from_plain(plain: dict) -> FittedState:
    return FittedState.from_plain(plain)


def state_of(estimator: str, network: Network, weights, normalisation: dict, **rest) -> FittedState:
    """A :class:`FittedState` from a normalisation mapping (as :attr:`normalisation`)."""
    return FittedState(
        estimator,
        network,
        np.ascontiguousarray(weights, dtype=np.float64),
        normalisation["input_shift"],
        normalisation["input_scale"],
        normalisation["output_shift"],
        normalisation["output_scale"],
        **rest,
    )
