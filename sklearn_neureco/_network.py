"""The network and its exact derivatives, as pure functions of (weights, inputs).

A :class:`Network` is only a *structure*: layer sizes and which links exist. It holds no
weights. Every method takes the packed weight vector ``w`` and the (normalised) inputs ``x``
and returns new arrays, in the spirit of ``jax.example_libraries.stax``: forward pass,
forward-mode derivative (JVP), reverse-mode derivative (VJP) and per-sample Jacobians live
together here, and the estimator is a thin shell around them.

Topology
--------
Layers are numbered ``0`` (the inputs) to ``L + 1`` (the outputs). Layer ``l >= 1`` may
receive links from *any* earlier layer ``s < l`` through a weight block ``W[l, s]`` of shape
``(n_l, n_s)``, restricted by a boolean mask of the same shape. Links that skip layers (for
example direct input-to-output links, which give the network a linear part) are therefore
allowed, and a single weight can be absent. Each layer is described once
(:class:`Layer`: its incoming :class:`Block` s, its biases, its :class:`Activation`), and
every pass walks that description: hidden layers apply ``tanh``, the output layer is linear
(an estimator's output link, such as a softmax, belongs to its objective, not the network).

Weight order
------------
The packed vector lists, for ``l = 1, ..., L + 1`` (hidden layers in order, then the
output layer): for each source ``s = 0, ..., l - 1`` that has a block, the *active* entries
of ``W[l, s]`` row by row (target neuron, then source unit, C order); then the bias
``b[l]`` (``n_l`` entries). This order is stable: it depends only on the structure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

# Row-block size: large enough to keep BLAS efficient, small enough that temporaries stay
# in cache-friendly memory (measured: ~40% faster than whole-array passes at 1e5 rows).
CHUNK_ROWS = 4096
# The derivative API's row blocks keep a block's activations within about this many bytes
# (Network.block_rows). `benchmarks/derivatives.py --max-rows 100000 --block-bytes B`, one
# core: on 10^5 rows a 10-32-16-3 network's gradient took 32 ms on blocks of 1,024 rows
# against 36 ms on 4,096 (B = 10^9), with 9.6 against 15.4 MB peak; a 5-3-1 one's 4.1 ms on
# 4,096 against 6.7 ms on 1,024 (B = 1)
BLOCK_BYTES = 512 * 1024
# On fewer rows than this, copying a short row out (tile_rows) or a block transposed
# (Network.bind's copy_transposes) costs more than it saves
FEW_ROWS = 64
# Predictions and derivatives on many rows fold the inputs' shift into the biases
# (Network.with_normalisation) where no input's shift exceeds this many of its scales: the
# rounding error is then at most about 17 times the normalised pass's (4 of 52 bits)
FOLD_SHIFT_LIMIT = 16.0
# Rows per block of squared_jacobian_sums: its widest layer's sensitivities (rows x outputs
# x units) hold about this many values (8 MB).
SENSITIVITY_VALUES = 2**20


def row_chunks(n_rows: int, chunk_rows: int | None = None) -> Iterator[slice]:
    """Yield slices covering ``range(n_rows)`` in blocks of at most ``chunk_rows``
    (default :data:`CHUNK_ROWS`)."""
    chunk_rows = CHUNK_ROWS if chunk_rows is None else chunk_rows
    for start in range(0, n_rows, chunk_rows):
        yield slice(start, min(start + chunk_rows, n_rows))


def tile_rows(v: np.ndarray, n_rows: int) -> np.ndarray:
    """``v`` on ``n_rows`` rows, or ``v`` itself where broadcasting it is as fast.

    numpy broadcasts a short row with an inner loop as long as the row (adding a width-3 row
    to 4096 rows takes 4 times as long as adding a contiguous array), so short rows are
    copied out on many rows (on a few, the copy costs more than it saves)."""
    if v.size > 64 or n_rows < FEW_ROWS:
        return v
    return np.tile(v, (n_rows, 1))


def _matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``a @ b`` for 2-D arrays. numpy's matmul does not call BLAS when the inner dimension
    is 1 (a layer of one neuron, one input): there ``np.dot`` is 3 times as fast (on 4,096
    rows), and exact alike, each entry being one product."""
    if a.shape[1] == 1:
        return np.dot(a, b, out=out)
    return np.matmul(a, b, out=out)


def column_sums(a: np.ndarray, ones: np.ndarray) -> np.ndarray:
    """``a.sum(axis=0)`` of a 2-D array as ``ones @ a``, ``ones`` holding at least ``a``'s
    rows: numpy's strided reduction takes 20 times as long on 4,096 rows of 3 columns."""
    return ones[: a.shape[0]] @ a


def first_rows(v: np.ndarray, n: int) -> np.ndarray:
    """A row (a bias, a shift) to combine with ``n`` rows: ``v`` or, if it came from
    :func:`tile_rows` tiled, its first ``n`` rows."""
    return v[:n] if v.ndim == 2 else v


class BoundWeights(NamedTuple):
    """Weights read for the passes (:meth:`Network.bind`)."""

    flat: np.ndarray  # (n_weights,)
    W: dict  # (layer, source) -> dense block (n_target, n_source), a view where it can be
    b: dict  # layer -> biases, tiled to n_rows rows where that pays
    n_rows: int
    ones: np.ndarray  # (n_rows,): column sums as BLAS products (column_sums)
    # W with the input blocks as the input derivatives use them (W itself without
    # Network.bind's input_scale)
    W_dx: dict
    input_scale: np.ndarray | None
    # W and W_dx transposed as the forward products take them (h @ WT): views, or with
    # Network.bind's copy_transposes contiguous copies
    WT: dict
    WT_dx: dict
    copy_transposes: bool


@dataclass(frozen=True)
class Activation:
    """An elementwise activation, with its derivative written in terms of its output
    (what the backward passes keep)."""

    name: str
    apply: Callable[[np.ndarray], np.ndarray]  # may work in place on its argument
    slope: Callable[[np.ndarray], np.ndarray] | None  # d output / d input; None: 1
    apply_few: Callable[[np.ndarray], np.ndarray]  # ``apply`` for the few-row passes

    def __repr__(self) -> str:
        return self.name


def _numpy_tanh(z: np.ndarray) -> np.ndarray:
    return np.tanh(z, out=z)


def _exp_tanh(z: np.ndarray) -> np.ndarray:
    # tanh|z| = (1 - e) / (1 + e) with e = exp(-2|z|) <= 1 (no overflow), the sign
    # restored: within one epsilon of np.tanh (absolute: near 0 the relative error grows as
    # 1e-16 / |z|, which nothing downstream sees), from numpy's vectorised exp
    e = np.abs(z)
    e *= -2.0
    np.exp(e, out=e)
    d = e + 1.0
    np.subtract(1.0, e, out=e)
    e /= d
    return np.copysign(e, z, out=z)


def _numpy_tanh_is_vectorised() -> bool:
    """Whether numpy runs its float64 tanh on AVX-512 (SIMD), not libm's scalar one."""
    try:
        from numpy.lib.introspect import opt_func_info
    except ImportError:  # numpy < 2.1 does not say
        return False
    loops = opt_func_info(func_name="^tanh$", signature="float64").get("tanh", {})
    return any(loop["current"].startswith(("X86_V4", "AVX512")) for loop in loops.values())


# benchmarks/activation.py, one core. An AMD EPYC with AVX2 (numpy 2.4, scalar float64
# tanh, 19 ns a value): the exp form 1.6 to 1.9 times faster from 3,000 values on, the
# passes on 10^5 rows 1.2 to 1.6 times. An AMD EPYC with AVX-512, where numpy's tanh is
# vectorised: np.tanh 1.35 to 4.3 times faster than the exp form, the passes 1.05 to 1.2
# times. Either gives each value the bits of a one-value call, so a row gets the same
# bits in any batch (Dask's chunks give the in-memory result); they differ from each
# other in the last bits, as BLAS kernels do from machine to machine. The few-row passes
# (whose last bits differ anyway) take np.tanh: on a handful of values one call costs
# less than the exp form's seven.
_tanh_in_place = _numpy_tanh if _numpy_tanh_is_vectorised() else _exp_tanh


def _tanh_slope(t: np.ndarray) -> np.ndarray:
    slope = np.multiply(t, t)
    return np.subtract(1.0, slope, out=slope)


def _identity(z: np.ndarray) -> np.ndarray:
    return z


# module-level functions, not lambdas: a network (in a fitted state) must pickle
TANH = Activation("tanh", _tanh_in_place, _tanh_slope, _numpy_tanh)
IDENTITY = Activation("identity", _identity, None, _identity)


@dataclass(frozen=True)
class Block:
    """The links from one source layer into a layer: ``W[l, source]`` restricted to
    ``mask``, its active entries stored at ``w[offset : offset + index.size]``."""

    source: int
    mask: np.ndarray  # (n_l, n_source) bool
    index: np.ndarray  # flat indices of the active links, C order = weight order
    rows: np.ndarray  # their target neurons
    cols: np.ndarray  # their source units
    offset: int

    @property
    def full(self) -> bool:
        return self.index.size == self.mask.size


@dataclass(frozen=True)
class Layer:
    """One layer of weights: its incoming blocks (by source layer), its biases and its
    activation. The passes below walk these and nothing else."""

    index: int
    size: int
    blocks: tuple[Block, ...]
    bias_offset: int
    activation: Activation


@dataclass(frozen=True)
class StackedLayer:
    """A layer as one dense block from every unit before it (:attr:`Network.stacked`)."""

    width: int  # its block's columns: the constant unit, then every unit before it
    size: int
    units: slice  # its units among the few-row passes' rows (the constant unit first)
    span: slice  # its block, (size, width) flattened, among the stacked blocks
    activation: Activation


class Stacked(NamedTuple):
    """The network as one dense block per layer (:attr:`Network.stacked`)."""

    layers: tuple[StackedLayer, ...]
    gather: np.ndarray  # the blocks, flat, as indices into w with a zero appended
    scatter: np.ndarray  # each weight's place among the blocks, flat
    n_dense: int


class Network:
    """Structure of a feed-forward network with prunable links (holds no weights).

    Parameters
    ----------
    layer_sizes : sequence of int
        ``(n_inputs, n_hidden_1, ..., n_hidden_L, n_outputs)``.
    masks : mapping ``(l, s) -> bool ndarray of shape (n_l, n_s)``
        Which links exist from layer ``s`` to layer ``l > s``. Blocks that are absent or
        all ``False`` carry no weights.
    """

    def __init__(self, layer_sizes, masks: Mapping[tuple[int, int], np.ndarray]):
        sizes = tuple(int(n) for n in layer_sizes)
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"layer_sizes must hold at least 2 positive sizes, got {sizes}")
        self.layer_sizes = sizes
        self.n_layers = len(sizes) - 1  # layers that carry weights
        layers = []
        offset = 0
        for l in range(1, len(sizes)):
            blocks = []
            for s in range(l):
                mask = masks.get((l, s))
                if mask is None:
                    continue
                mask = np.asarray(mask, dtype=bool)
                if mask.shape != (sizes[l], sizes[s]):
                    raise ValueError(
                        f"mask ({l}, {s}) has shape {mask.shape}, expected {(sizes[l], sizes[s])}"
                    )
                idx = np.flatnonzero(mask)
                if idx.size == 0:
                    continue
                rows, cols = np.unravel_index(idx, mask.shape)
                blocks.append(Block(s, mask, idx, rows, cols, offset))
                offset += idx.size
            activation = IDENTITY if l == len(sizes) - 1 else TANH
            layers.append(Layer(l, sizes[l], tuple(blocks), offset, activation))
            offset += sizes[l]
        self.layers: tuple[Layer, ...] = tuple(layers)
        self.n_weights = offset
        self.link_positions = np.ones(offset, dtype=bool)  # False at the biases
        for layer in self.layers:
            self.link_positions[layer.bias_offset : layer.bias_offset + layer.size] = False
        self._stacked = None  # built on first use (stacked)

    def __repr__(self) -> str:
        return f"Network(layer_sizes={self.layer_sizes}, n_weights={self.n_weights})"

    # ------------------------------------------------------------------ structure
    @property
    def masks(self) -> dict[tuple[int, int], np.ndarray]:
        """The active link masks, keyed by ``(target layer, source layer)``."""
        return {(l, s): mask.copy() for l, s, mask, _, _ in self.blocks()}

    def blocks(self):
        """``(l, s, mask, active flat indices, offset in w)`` for each weight block, in
        weight order."""
        return [
            (layer.index, b.source, b.mask, b.index, b.offset)
            for layer in self.layers
            for b in layer.blocks
        ]

    @property
    def n_inputs(self) -> int:
        return self.layer_sizes[0]

    @property
    def n_outputs(self) -> int:
        return self.layer_sizes[-1]

    @property
    def block_rows(self) -> int:
        """Rows per block for passes over many rows (the derivative API's): a power-of-two
        fraction of :data:`CHUNK_ROWS`, down to 1,024 rows, whose activations (every
        layer's) fit in :data:`BLOCK_BYTES`."""
        rows, per_row = CHUNK_ROWS, 8 * sum(self.layer_sizes)
        while rows > 1024 and rows * per_row > BLOCK_BYTES:
            rows //= 2
        return rows

    def connected_inputs(self) -> np.ndarray:
        """Boolean array: which inputs have at least one outgoing link."""
        used = np.zeros(self.n_inputs, dtype=bool)
        for _, s, mask, _, _ in self.blocks():
            if s == 0:
                used |= mask.any(axis=0)
        return used

    def output_layer_index(self) -> np.ndarray:
        """Where the output layer's weights sit in ``w``: ``(m, n_outputs)``, row ``j``
        for the ``j``-th column of :meth:`output_layer_inputs` (the sources' units, block
        by block, then the constant unit of the biases), ``-1`` on pruned links."""
        layer = self.layers[-1]
        parts = []
        for block in layer.blocks:
            where = np.full(block.mask.size, -1)
            where[block.index] = block.offset + np.arange(block.index.size)
            parts.append(where.reshape(block.mask.shape).T)
        parts.append(layer.bias_offset + np.arange(layer.size)[None, :])
        return np.vstack(parts)

    def output_layer_inputs(self, w, x: np.ndarray) -> np.ndarray:
        """What the (linear) output layer reads at weights ``w`` for inputs ``x``:
        ``(n, m)``, the columns of :meth:`output_layer_index`. The outputs are this
        times the output layer's weights."""
        layer, n = self.layers[-1], x.shape[0]
        bound = self._bound(w, min(n, CHUNK_ROWS))
        features = np.empty((n, sum(self.layer_sizes[b.source] for b in layer.blocks) + 1))
        features[:, -1] = 1.0
        for rows in row_chunks(n):
            h = self._activations(bound.WT, bound.b, x[rows])
            column = 0
            for block in layer.blocks:
                width = self.layer_sizes[block.source]
                features[rows, column : column + width] = h[block.source]
                column += width
        return features

    def unpack(self, w: np.ndarray):
        """Split a packed vector into dense weight blocks and biases.

        Returns ``(W, b)`` where ``W[(l, s)]`` is ``(n_l, n_s)`` with zeros on absent links
        and ``b[l]`` is ``(n_l,)``. The blocks are the caller's to change.
        """
        bound = self.bind(w, 1)
        return {key: block.copy() for key, block in bound.W.items()}, bound.b

    def bind(
        self,
        w: np.ndarray,
        n_rows: int,
        input_scale: np.ndarray | None = None,
        copy_transposes: bool = False,
    ) -> BoundWeights:
        """The weights ``w`` read once for passes over blocks of up to ``n_rows`` rows.

        The passes take flat weights or these: a caller that passes block by block binds
        once. A full block is a view of ``w`` (a pass on one row costs about as much as
        copying it), and the biases are tiled to ``n_rows`` rows (:func:`tile_rows`).

        With ``input_scale`` (``(n_inputs,)``), the input derivatives of the passes (``dx``
        of :meth:`jvp`, ``gx`` of :meth:`vjp`, ``Jx`` of :meth:`jacobians`) are with
        respect to ``u = x * input_scale`` instead of ``x``: the raw inputs of a model that
        feeds the network ``(u - shift) / input_scale``. The scale is folded into the
        input blocks once, where dividing every row block by it would cost a pass over
        the data.

        With ``copy_transposes``, the forward products ``h @ W.T`` take a contiguous copy
        of ``W.T``: twice as fast on blocks of about 1,000 rows (9 against 18 us for
        1,024 x 10 @ 10 x 32), but BLAS then sums in another order, so the last bits
        differ from the products on views. The derivative API's calls use them (from
        :data:`FEW_ROWS` rows on); training does not, so that its models stay as they
        were bit for bit.
        """
        w = np.asarray(w, dtype=np.float64).reshape(-1)
        if w.size != self.n_weights:
            raise ValueError(f"expected {self.n_weights} weights, got {w.size}")
        W, b = {}, {}
        for layer in self.layers:
            for block in layer.blocks:
                part = w[block.offset : block.offset + block.index.size]
                if not block.full:
                    dense = np.zeros(block.mask.size)
                    dense[block.index] = part
                    part = dense
                W[layer.index, block.source] = part.reshape(block.mask.shape)
            bias = w[layer.bias_offset : layer.bias_offset + layer.size]
            b[layer.index] = tile_rows(bias, n_rows)
        copy = copy_transposes and n_rows >= FEW_ROWS  # on few rows they cost more than they save
        WT = self.transposed(W, copy)
        W_dx, WT_dx = W, WT
        if input_scale is not None:
            Wx = {key: block / input_scale for key, block in W.items() if key[1] == 0}
            W_dx, WT_dx = {**W, **Wx}, {**WT, **self.transposed(Wx, copy)}
        ones = np.ones(n_rows)
        return BoundWeights(w, W, b, n_rows, ones, W_dx, input_scale, WT, WT_dx, copy_transposes)

    @staticmethod
    def transposed(W: dict, copy: bool = False) -> dict:
        """The blocks ``W`` transposed: views, or (``copy``) contiguous copies."""
        if copy:
            return {key: np.ascontiguousarray(block.T) for key, block in W.items()}
        return {key: block.T for key, block in W.items()}

    def _bound(self, w, n_rows: int) -> BoundWeights:
        if not isinstance(w, BoundWeights):
            return self.bind(w, n_rows)
        if w.n_rows < n_rows:  # tiled for fewer rows
            return self.bind(w.flat, n_rows, w.input_scale, w.copy_transposes)
        return w

    def with_normalisation(
        self,
        w: np.ndarray,
        input_shift: np.ndarray,
        input_scale: np.ndarray,
        output_shift: np.ndarray,
        output_scale: np.ndarray,
    ) -> np.ndarray:
        """Weights that take raw inputs ``u`` to raw outputs: :meth:`forward` at them is
        ``forward(w, (u - input_shift) / input_scale) * output_scale + output_shift``, to
        rounding.

        The input blocks are divided by the scale and the shift moves into the biases of
        the layers they feed; the output layer (linear) is scaled and shifted. A pass over
        raw rows then skips two elementwise passes in and two out. The sums ``W u`` then
        carry ``W shift / scale`` that the bias takes back: a rounding error about
        ``1 + max |shift / scale|`` times the normalised pass's, so callers fold only
        where that ratio is small (:data:`FOLD_SHIFT_LIMIT`).
        """
        v = np.array(w, dtype=np.float64).reshape(-1)
        last = self.layers[-1]
        for layer in self.layers:
            bias = slice(layer.bias_offset, layer.bias_offset + layer.size)
            for block in layer.blocks:
                part = slice(block.offset, block.offset + block.index.size)
                if block.source == 0:
                    v[part] /= input_scale[block.cols]
                    moved = v[part] * input_shift[block.cols]
                    v[bias] -= np.bincount(block.rows, moved, minlength=layer.size)
                if layer is last:
                    v[part] *= output_scale[block.rows]
            if layer is last:
                v[bias] = v[bias] * output_scale + output_shift
        return v

    def with_normalisation_transposed(
        self,
        g: np.ndarray,
        input_shift: np.ndarray,
        input_scale: np.ndarray,
        output_scale: np.ndarray,
    ) -> np.ndarray:
        """The transpose of :meth:`with_normalisation`'s linear part: from a gradient
        ``g`` with respect to the folded weights, the gradient with respect to ``w``."""
        g = np.array(g, dtype=np.float64).reshape(-1)
        last = self.layers[-1]
        for layer in self.layers:
            bias = slice(layer.bias_offset, layer.bias_offset + layer.size)
            if layer is last:  # the output scaling's transpose first: it came last
                g[bias] *= output_scale
            for block in layer.blocks:
                part = slice(block.offset, block.offset + block.index.size)
                if layer is last:
                    g[part] *= output_scale[block.rows]
                if block.source == 0:
                    g[part] -= g[bias][block.rows] * input_shift[block.cols]
                    g[part] /= input_scale[block.cols]
        return g

    def pack(self, W, b) -> np.ndarray:
        """Inverse of :meth:`unpack`: entries on absent links are ignored."""
        w = np.empty(self.n_weights)
        for layer in self.layers:
            for block in layer.blocks:
                end = block.offset + block.index.size
                w[block.offset : end] = W[layer.index, block.source].reshape(-1)[block.index]
            w[layer.bias_offset : layer.bias_offset + layer.size] = b[layer.index]
        return w

    # ------------------------------------------------------------------ passes
    def activations(self, W, b, x):
        """All layer outputs ``h[0] = x, ..., h[L+1] = y`` for one row block, from the
        unpacked weights ``(W, b)`` (biases as rows, or tiled to at least ``x``'s rows)."""
        return self._activations(self.transposed(W), b, x)

    def _activations(self, WT, b, x):
        """:meth:`activations` from the blocks transposed (:meth:`transposed`)."""
        h = [x]
        n = x.shape[0]
        for layer in self.layers:
            z = None
            bias = first_rows(b[layer.index], n)
            for block in layer.blocks:
                product = _matmul(h[block.source], WT[layer.index, block.source])
                if z is None:  # the bias first: (b + p1) + p2 + ..., in every pass
                    z = np.add(product, bias, out=product)
                else:
                    z += product
            if z is None:  # a layer whose links were all pruned
                z = np.broadcast_to(bias, (n, layer.size)).copy()
            h.append(layer.activation.apply(z))
        return h

    def forward(self, w: np.ndarray, x: np.ndarray, chunk_rows: int | None = None) -> np.ndarray:
        """Outputs ``(n, n_outputs)`` of the network at weights ``w`` (flat, or bound by
        :meth:`bind`, as in every pass) for inputs ``x``, in blocks of ``chunk_rows``
        (default :data:`CHUNK_ROWS`)."""
        chunk_rows = CHUNK_ROWS if chunk_rows is None else chunk_rows
        bound = self._bound(w, min(x.shape[0], chunk_rows))
        y = np.empty((x.shape[0], self.n_outputs))
        for rows in row_chunks(x.shape[0], chunk_rows):
            y[rows] = self._activations(bound.WT, bound.b, x[rows])[-1]
        return y

    def jvp(self, w, x, dw=None, dx=None):
        """Forward-mode derivative: ``(y, dy)`` with ``dy = dy/dw · dw + dy/dx · dx``.

        ``dw=None`` or ``dx=None`` means no perturbation of the weights or inputs.
        """
        n_rows = min(x.shape[0], CHUNK_ROWS)
        bound = self._bound(w, n_rows)
        WT, WT_dx, b = bound.WT, bound.WT_dx, bound.b  # WT_dx: dx in the inputs' units
        dWT, db = {}, {}
        if dw is not None:
            dbound = self._bound(dw, n_rows)
            dWT, db = dbound.WT, dbound.b
        y = np.empty((x.shape[0], self.n_outputs))
        dy = np.empty_like(y)
        for rows in row_chunks(x.shape[0]):
            h = self._activations(WT, b, x[rows])
            dh = [None if dx is None else dx[rows]]
            n = h[0].shape[0]
            for layer in self.layers:
                l = layer.index
                dz = None
                for block in layer.blocks:
                    s = block.source
                    for change in (
                        None if dh[s] is None else _matmul(dh[s], WT_dx[l, s]),
                        _matmul(h[s], dWT[l, s]) if dWT else None,
                    ):
                        if change is None:
                            continue
                        if dz is None:  # (db + c1) + c2 + ..., the order of activations
                            dz = np.add(change, first_rows(db[l], n), out=change) if db else change
                        else:
                            dz += change
                if dz is None:
                    bias = first_rows(db[l], n) if db else 0.0
                    dz = np.broadcast_to(bias, (n, layer.size)).copy()
                if layer.activation.slope is not None:
                    dz *= layer.activation.slope(h[l])
                dh.append(dz)
            y[rows] = h[-1]
            dy[rows] = dh[-1]
        return y, dy

    def vjp(self, w, x, gy, *, wrt_inputs: bool = True):
        """Reverse-mode derivative.

        Returns ``(y, gw, gx)``: the outputs, ``gw = sum_i (dy_i/dw)^T gy_i`` of shape
        ``(p,)`` and ``gx[i] = (dy_i/dx_i)^T gy_i`` of shape ``(n, n_inputs)`` (``None`` when
        ``wrt_inputs`` is false, which saves the last back-propagation step).
        """
        bound = self._bound(w, min(x.shape[0], CHUNK_ROWS))
        W = bound.W_dx  # back-propagation into the inputs: gx in their units
        gw = np.zeros(self.n_weights)  # written in weight order: no dense blocks to pack
        y = np.empty((x.shape[0], self.n_outputs))
        gx = np.empty_like(x) if wrt_inputs else None
        for rows in row_chunks(x.shape[0]):
            h = self._activations(bound.WT, bound.b, x[rows])
            y[rows] = h[-1]
            g = [None] * (self.n_layers + 1)
            g[-1] = np.asarray(gy[rows], dtype=np.float64)
            for layer in reversed(self.layers):
                l = layer.index
                gz = g[l]
                if gz is None:  # nothing flows back through this layer
                    continue
                if layer.activation.slope is not None:
                    slope = layer.activation.slope(h[l])
                    gz = np.multiply(gz, slope, out=slope)
                gw[layer.bias_offset : layer.bias_offset + layer.size] += column_sums(
                    gz, bound.ones
                )
                for block in layer.blocks:
                    s = block.source
                    grad = (gz.T @ h[s]).reshape(-1)
                    end = block.offset + block.index.size
                    gw[block.offset : end] += grad if block.full else grad[block.index]
                    if s == 0 and not wrt_inputs:
                        continue
                    if g[s] is None:  # the inputs' share goes straight into gx
                        g[s] = _matmul(gz, W[l, s], out=gx[rows] if s == 0 else None)
                    else:
                        g[s] += _matmul(gz, W[l, s])
            if wrt_inputs and g[0] is None:
                gx[rows] = 0.0
        return y, gw, gx

    def jacobians(self, w, x, *, wrt_weights: bool = True, wrt_inputs: bool = False, out=None):
        """Per-sample Jacobians for one row block (no chunking: callers chunk).

        Returns ``(y, Jw, Jx)``: outputs ``(n, n_out)``, ``Jw`` of shape ``(n, n_out, p)`` and
        ``Jx`` of shape ``(n, n_out, n_inputs)`` (each ``None`` unless requested). ``out``, a
        float64 array shaped like ``Jw``, is overwritten and returned as ``Jw``: a caller
        that loops reuses it instead of paging in a fresh array every time.
        """
        bound = self._bound(w, x.shape[0])
        W = bound.W_dx
        h = self._activations(bound.WT, bound.b, x)
        n, n_out = x.shape[0], self.n_outputs
        Jw = None
        if wrt_weights and out is None:
            Jw = np.zeros((n, n_out, self.n_weights))
        elif wrt_weights:
            if out.shape != (n, n_out, self.n_weights) or out.dtype != np.float64:
                raise ValueError(f"out must be float64 of shape {(n, n_out, self.n_weights)}")
            Jw = out
            Jw.fill(0.0)
        g = self._output_sensitivities(n)
        for layer, gz in self._backward(W, h, g, to_inputs=wrt_inputs):
            if not wrt_weights:
                continue
            Jw[:, :, layer.bias_offset : layer.bias_offset + layer.size] = gz
            for block in layer.blocks:
                s, off, size = block.source, block.offset, block.index.size
                if block.full:
                    # a full block: the outer product, without gathering (C order = weight order)
                    view = Jw[:, :, off : off + size].reshape(n, n_out, *block.mask.shape)
                    np.multiply(gz[:, :, :, None], h[s][:, None, None, :], out=view)
                else:
                    Jw[:, :, off : off + size] = gz[:, :, block.rows] * h[s][:, None, block.cols]
        Jx = None
        if wrt_inputs:
            Jx = np.zeros((n, n_out, self.n_inputs)) if g[0] is None else np.array(g[0])
        return h[-1], Jw, Jx

    def squared_jacobian_sums(self, w, x, s: np.ndarray) -> np.ndarray:
        """``sum_i s_i sum_o (dy_io / dw_k)^2`` for each weight ``k``: the diagonal of the
        least-squares Gauss-Newton matrix ``J^T S J``, without forming ``J``.

        A link's entry is the rows' weighted sum of its source's value squared times
        its target's output-summed squared sensitivity, so the pass costs the
        sensitivities (``n x n_out`` per unit) and not ``J`` (``n x n_out`` per weight):
        800 rows of a 3-64-64-64 network's ``J`` take 5.3 GB.
        """
        diagonal = np.zeros(self.n_weights)
        widest = self.n_outputs * max(self.layer_sizes)
        rows_per_block = max(1, SENSITIVITY_VALUES // widest)
        bound = self._bound(w, min(x.shape[0], rows_per_block))  # once for every block
        for rows in row_chunks(x.shape[0], rows_per_block):
            self._add_squared_jacobian_sums(bound, x[rows], s[rows], diagonal)
        return diagonal

    def _add_squared_jacobian_sums(self, bound: BoundWeights, x, s, diagonal) -> None:
        h = self._activations(bound.WT, bound.b, x)
        g = self._output_sensitivities(x.shape[0])
        for layer, gz in self._backward(bound.W, h, g, to_inputs=False):
            sensitivity = np.einsum("iok,iok->ik", gz, gz) * s[:, None]  # (n, n_l)
            diagonal[layer.bias_offset : layer.bias_offset + layer.size] += sensitivity.sum(0)
            for block in layer.blocks:
                source = h[block.source]
                sums = (sensitivity.T @ (source * source)).reshape(-1)  # (n_l, n_source), flat
                diagonal[block.offset : block.offset + block.index.size] += sums[block.index]

    def _output_sensitivities(self, n_rows: int) -> list:
        """``g`` for :meth:`_backward`: ``g[l]`` will be ``(n, n_out, n_l)``, the derivatives
        of every output with respect to ``h[l]``; the outputs' own, the identity, set."""
        g = [None] * (self.n_layers + 1)
        g[-1] = np.broadcast_to(np.eye(self.n_outputs), (n_rows, self.n_outputs, self.n_outputs))
        return g

    def _backward(self, W, h, g, *, to_inputs: bool):
        """The layers, last first, as ``(layer, gz)``: ``gz`` ``(n, n_out, n_l)`` the
        derivatives of every output with respect to the layer's pre-activations. After
        each, its propagation through the layer's blocks ``W`` is added to ``g`` (see
        :meth:`_output_sensitivities`), to the inputs' ``g[0]`` only with ``to_inputs``."""
        for layer in reversed(self.layers):
            gz = g[layer.index]
            if gz is None:
                continue
            if layer.activation.slope is not None:
                gz = gz * layer.activation.slope(h[layer.index])[:, None, :]
            yield layer, gz
            for block in layer.blocks:
                s = block.source
                if s == 0 and not to_inputs:
                    continue
                contrib = gz @ W[layer.index, s]
                g[s] = contrib if g[s] is None else g[s] + contrib

    # ------------------------------------------------- passes on a few rows
    # On a few rows a pass costs what its numpy calls cost, not their arithmetic: one
    # product per layer, from a constant unit (the biases) and every unit before it (one
    # column per row: np.dot writes each layer's units in place), instead of one per
    # block and one per bias (half the calls on a 10-32-16-3 network with direct links).
    # The sums run in another order than the block passes', so the last bits differ;
    # predict and the derivative API use these below FEW_ROWS rows (as they use
    # contiguous transposes from there on), training never.

    @property
    def stacked(self) -> Stacked:
        """Each layer's links and biases as one dense block ``D`` of shape ``(size, 1 +
        units before it)``: column 0 holds the biases (the weights of a constant unit,
        so that a layer costs one product), zero where a link is absent:
        ``np.append(w, 0)[gather][layer.span]``."""
        if self._stacked is None:
            starts = np.cumsum((0,) + self.layer_sizes)
            p = self.n_weights
            gather, layers, at = [], [], 0
            scatter = np.empty(p, dtype=np.intp)
            for layer in self.layers:
                first = 1 + int(starts[layer.index])  # the constant unit, then the units
                D = np.full((layer.size, first), p)  # p: the zero appended to w
                D[:, 0] = layer.bias_offset + np.arange(layer.size)
                for b in layer.blocks:
                    D[b.rows, 1 + starts[b.source] + b.cols] = b.offset + np.arange(b.index.size)
                flat = D.reshape(-1)
                links = np.flatnonzero(flat < p)
                scatter[flat[links]] = at + links
                units = slice(first, first + layer.size)
                span = slice(at, at + flat.size)
                layers.append(StackedLayer(first, layer.size, units, span, layer.activation))
                gather.append(flat)
                at += flat.size
            self._stacked = Stacked(tuple(layers), np.concatenate(gather), scatter, at)
        return self._stacked

    def stacked_bind(self, w: np.ndarray) -> list[tuple[StackedLayer, np.ndarray]]:
        """Each layer's ``(layer, D)`` from flat weights ``w`` (:attr:`stacked`)."""
        stacked = self.stacked
        dense = np.concatenate((w, [0.0]))[stacked.gather]
        return [(L, dense[L.span].reshape(L.size, L.width)) for L in stacked.layers]

    def _stacked_units(self, bound, x: np.ndarray) -> np.ndarray:
        """The constant unit (ones) and every layer's outputs, one column per row:
        ``(1 + sum(layer_sizes), n)``."""
        H = np.empty((1 + sum(self.layer_sizes), x.shape[0]))
        H[0] = 1.0
        H[1 : 1 + self.n_inputs] = x.T
        for L, D in bound:
            L.activation.apply_few(np.dot(D, H[: L.width], out=H[L.units]))  # in place
        return H

    def few_rows_forward(self, w, x) -> np.ndarray:
        """:meth:`forward` from flat weights, one product per layer (for a few rows)."""
        return self._stacked_units(self.stacked_bind(w), x)[-self.n_outputs :].T.copy()

    def few_rows_jvp(self, w, x, dw=None, dx=None):
        """:meth:`jvp` from flat weights, one product per layer (for a few rows)."""
        bound = self.stacked_bind(w)
        H = self._stacked_units(bound, x)
        dH = np.empty_like(H)  # every layer's rows are written by its product
        dH[0] = 0.0  # the constant unit's
        dH[1 : 1 + self.n_inputs] = 0.0 if dx is None else dx.T
        dbound = None if dw is None else self.stacked_bind(dw)
        for i, (L, D) in enumerate(bound):
            dz = np.dot(D, dH[: L.width], out=dH[L.units])
            if dbound is not None:
                dz += np.dot(dbound[i][1], H[: L.width])
            if L.activation.slope is not None:
                dz *= L.activation.slope(H[L.units])
        return H[-self.n_outputs :].T.copy(), dH[-self.n_outputs :].T.copy()

    def few_rows_vjp(self, w, x, gy):
        """:meth:`vjp` from flat weights, one product per layer (for a few rows):
        ``(y, gw, gx)``."""
        stacked = self.stacked
        bound = self.stacked_bind(w)
        H = self._stacked_units(bound, x)
        G = np.zeros_like(H)
        G[-self.n_outputs :] = gy.T
        # every block's derivative (biases included), gathered into weight order at the end
        buffer = np.empty(stacked.n_dense)
        for L, D in reversed(bound):
            gz = G[L.units]
            if L.activation.slope is not None:
                gz *= L.activation.slope(H[L.units])
            np.dot(gz, H[: L.width].T, out=buffer[L.span].reshape(L.size, L.width))
            G[: L.width] += np.dot(D.T, gz)
        y, gx = H[-self.n_outputs :].T.copy(), G[1 : 1 + self.n_inputs].T.copy()
        return y, buffer[stacked.scatter], gx


def dense_masks(layer_sizes, *, direct_links: bool = True) -> dict:
    """Masks of a plain multilayer network: each layer fully linked to the previous one,
    plus (with ``direct_links``) every input linked to every output."""
    sizes = tuple(layer_sizes)
    masks = {
        (l, l - 1): np.ones((sizes[l], sizes[l - 1]), dtype=bool) for l in range(1, len(sizes))
    }
    last = len(sizes) - 1
    if direct_links and last > 1:
        masks[last, 0] = np.ones((sizes[last], sizes[0]), dtype=bool)
    return masks
