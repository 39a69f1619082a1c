"""Automatic architecture: grow a network from linear until validation stops improving.

The search works in normalised space on a training/validation split, for any objective
(:mod:`._objectives`: least squares for a regressor, cross-entropy for a classifier):

1. A *linear* model (inputs linked straight to outputs) is trained first. On wide data
   (many inputs for the rows) only the inputs that least-angle regression ranks as useful
   are linked (:mod:`._input_selection`); new neurons never link to a disconnected input.
2. One hidden layer is added and grown (1, 2, 4, 8, ... 64 neurons) while the validation
   error improves; a second hidden layer is then tried the same way. Each candidate is
   warm-started from the previous one: the old weights are kept, new neurons are placed
   inside the data cloud and their outgoing weights fitted to the current residual
   (:meth:`Builder.place_neurons`), so a candidate never starts worse than the smaller
   network ended.
3. Each candidate is trained along a decreasing path of regularisation strengths
   ``beta = initial_beta_reg, initial_beta_reg / 10, ...`` (for least squares never going
   back up along the build; for cross-entropy a candidate restarts at its parent's
   best-validated beta), warm-started from stage to stage, with early stopping on the
   validation error, and keeps the weights of the stage with the best validation error.
4. Candidates are compared by an information criterion on the validation data
   (:meth:`Builder.score`, AIC on the objective's deviance): a larger network is preferred
   only if its validation error is lower by more than its extra weights cost (for least
   squares each must cut the validation MSE by 2/n, at most 2 %), so the chosen network
   is the smallest whose validation error is within that (size-dependent) tolerance of
   the best. Its weakest links are then pruned while
   the criterion does not get worse (and while the network is above
   ``links_maximum_number``), then (for least squares) whole inputs, least salient
   first; inputs left without links are disconnected.
5. For least squares, if that disconnected a third of the inputs or more, the search
   runs again from a linear network on the inputs left (growing up to twice the first
   search's widest layer), and the better of the two networks by the criterion is chosen.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._input_selection import is_wide, screen_inputs
from ._network import Network
from ._objectives import LEAST_SQUARES, LeastSquares
from ._optimize import LM_FTOL, LM_WINDOW, TrainingProblem, train


@dataclass(frozen=True)
class BuildConfig:
    """The tuning constants of the architecture search, as one frozen value.

    The defaults are what the package uses; a benchmark comparing settings builds with
    another configuration (``NeurEcoRegressor(build_config=BuildConfig(...))``) instead of
    changing a module.
    """

    # Price of one weight in the information criterion that compares networks (AIC: 2), and
    # the least number of validation values it is spread over: on small validation sets AIC
    # would ask every weight to cut the validation MSE by 2/n (10 % with 20 values), which
    # throws away the right model for a near-linear one; the cap asks at most 2 % per weight.
    weight_penalty: float = 2.0
    min_priced_values: int = 100
    # Growth stops before a candidate that would need to divide the validation MSE by more
    # than 1 / min_required_factor to be preferred (its extra weights cost that much),
    # unless one Gauss-Newton product J^T J of it costs under cheap_flops multiply-adds
    # (~10 ms here).
    min_required_factor: float = 0.1
    cheap_flops: float = 1e8
    # With links_maximum_number, growth goes on up to grow_over_limit times the limit and
    # the chosen network is pruned down to it, removing at most limit_step of its links per
    # round (benchmarks/link_limit.py: 1.4 to 53 times lower test RMSE than stopping growth
    # at the limit; with --grow-over-limit 4, worse than twice on most).
    grow_over_limit: float = 2.0
    limit_step: float = 0.25
    # Networks over the limit that are pruned down to it, best-scoring first: the
    # best-scoring one does not always survive (a layer's only neuron may need more links
    # than the limit leaves; 3 of 12 builds at a limit of 20 weights on a 300-row smooth
    # function collapsed from an RMSE of 5e-4 to 8e-2 when only it was pruned).
    limit_tries: int = 3
    # A growing candidate stops training once, after give_up_steps accepted steps, even a
    # validation error give_up_factor times lower than its best so far would not make it
    # the best network (its weights cannot pay for themselves). On the smooth panel of
    # benchmarks/accuracy.py (random states 4 to 7, 319 candidates), every candidate that
    # became the best was within 2.2 times of the error it had to reach after 30 steps;
    # the rule would have saved a fifth of the Levenberg-Marquardt work.
    give_up_steps: int = 30
    give_up_factor: float = 4.0
    # Consecutive candidates without improvement before growth stops, and consecutive
    # regularisation stages without improvement before a candidate's beta path stops.
    growth_patience: int = 3
    beta_patience: int = 2
    hidden_sizes: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64)
    max_hidden_layers: int = 2
    # Random neurons drawn per new neuron; the ones that best explain the residual are kept.
    neuron_candidates: int = 10
    placement_rows: int = 4096
    # Pruning removes this share of the links per round, halving it after each failed round
    # until it drops below min_prune_fraction; max_prune_rounds bounds the rounds.
    prune_fraction: float = 0.2
    min_prune_fraction: float = 0.02
    max_prune_rounds: int = 8
    beta_floor: float = 1e-9
    # A regularisation stage "still binds" if it lowered the training error by this fraction.
    binding: float = 0.01
    # Input screening (see ._input_selection): data are wide when a linear network on every
    # input would have more weights than wide_ratio times the training rows; the fits that
    # choose how many inputs to keep use at most max_screened_terms terms.
    wide_ratio: float = 0.1
    max_screened_terms: int = 200
    # Where pruning disconnected at least this share of the inputs, the search is run
    # again on the inputs left (see Builder.run).
    research_share: float = 0.3
    # On large data the search sees a random sample of the rows (training and validation
    # rows in their proportions): a share search_share of them, at least min_search_rows
    # and at most search_rows (None: every row); the chosen network is then trained on
    # every row (see _engine.build_state). Up to min_search_rows rows, nothing changes.
    # Measured (medians of 4 seeds): diamonds (34,500 training rows, noisy) RMSE 0.114 /
    # 0.107 / 0.102 / 0.100 searching 2,000 / 4,000 / 8,000 / all rows, in 1 / 2 / 9 / 21 s;
    # smooth borehole data gained nothing from searching more than 2,000 rows (10^5 rows:
    # nRMSE 2.5e-4 with 2,000 and 2.6e-4 with 14,000), so the sample grows only slowly.
    search_rows: int | None = 8000
    min_search_rows: int = 2000
    search_share: float = 0.2
    # Levenberg-Marquardt stops a training once its loss fell by less than lm_ftol
    # (relative) over lm_window accepted steps; this applies to every LM run of a build
    # (candidates, pruning, final training). Finer rules buy accuracy with build time:
    # lm_ftol=1e-3 halved the borehole's and OTL circuit's test errors at 1,000 rows, in
    # 7 to 10 times the time (benchmarks page, "Seeds and several builds").
    lm_window: int = LM_WINDOW
    lm_ftol: float = LM_FTOL

    @property
    def lm_stop(self) -> dict:
        """The Levenberg-Marquardt stopping rule, as :func:`._optimize.train`'s keywords."""
        return {"lm_window": self.lm_window, "lm_ftol": self.lm_ftol}

    def search_size(self, n_rows: int) -> int:
        """How many of ``n_rows`` rows the architecture search sees."""
        if self.search_rows is None:
            return n_rows
        wanted = max(self.min_search_rows, round(self.search_share * n_rows))
        return min(n_rows, self.search_rows, wanted)


@dataclass
class Candidate:
    network: Network
    w: np.ndarray
    beta: float
    train_error: float
    valid_error: float
    last_beta: float = 0.0  # where the candidate's regularisation path ended
    kept: bool | None = None  # for a pruning trial: whether it replaced the network


@dataclass
class BuildResult:
    """What one build found: the network it chose (pruned), that network's score, and the
    warnings for the caller to give (``(message, category)``; the builder does not know
    where the user's call is)."""

    chosen: Candidate
    score: float
    warnings: list[tuple[str, type[Warning]]]


def build_record(build: int, step: str, cand: Candidate, n_iter: int, seconds: float, **extra):
    """One entry of a build's record (``history_``): the candidate's shape, its training
    and validation errors (as square roots), its regularisation and its cost."""
    return {
        "build": build,
        "step": step,
        "layer_sizes": list(cand.network.layer_sizes),
        "n_weights": int(cand.network.n_weights),
        "n_connected_inputs": int(cand.network.connected_inputs().sum()),
        "train_rmse": float(np.sqrt(cand.train_error)),
        "valid_rmse": float(np.sqrt(cand.valid_error)),
        "beta": float(cand.beta),
        "n_iter": int(n_iter),
        "seconds": float(seconds),
        **extra,
    }


def within_limit(n_weights: int, max_links: int, factor: float = 1.0) -> bool:
    """Whether ``n_weights`` respects ``factor`` times ``links_maximum_number`` (0: none)."""
    return not max_links or n_weights <= factor * max_links


def init_linear(network: Network, x, y, sample_weight) -> np.ndarray:
    """Weights of a network whose direct input-output links hold the weighted least-squares
    linear fit on its connected inputs, and whose hidden neurons are silent. Requires the
    (L+1, 0) block."""
    W, b = network.unpack(np.zeros(network.n_weights))
    last = network.n_layers
    sw = np.sqrt(sample_weight)[:, None]
    inputs = network.connected_inputs()
    design = np.hstack([x[:, inputs], np.ones((x.shape[0], 1))]) * sw
    coef, *_ = np.linalg.lstsq(design, y * sw, rcond=None)
    if (last, 0) in W:
        W[last, 0][:, inputs] = coef[:-1].T
    b[last] = coef[-1]
    return network.pack(W, b)


def _embed(old: Network, w, new: Network, layer_map) -> np.ndarray:
    """Weights of ``new`` that reproduce ``(old, w)``: old weights are copied (through
    ``layer_map``), every new weight is zero (new neurons are silent until
    :meth:`Builder.place_neurons` gives them a start)."""
    W_old, b_old = old.unpack(w)
    W, b = new.unpack(np.zeros(new.n_weights))
    for (l, s), Wls in W_old.items():
        W[layer_map[l], layer_map[s]][: Wls.shape[0], : Wls.shape[1]] = Wls
    for l, bl in b_old.items():
        b[layer_map[l]][: bl.size] = bl
    return new.pack(W, b)


def widen(network: Network, w, layer: int, size: int):
    """Give hidden ``layer`` ``size`` neurons; the new ones link like the existing ones,
    but never to a disconnected input.

    The wider network computes the same function as ``(network, w)``.
    """
    sizes = list(network.layer_sizes)
    old = sizes[layer]
    sizes[layer] = size
    connected = network.connected_inputs()
    masks = {}
    for (l, s), m in network.masks.items():
        grown = np.zeros((sizes[l], sizes[s]), dtype=bool)
        grown[: m.shape[0], : m.shape[1]] = m
        if l == layer:
            grown[old:, :] = connected if s == 0 else True
        if s == layer:
            grown[:, old:] = True
        masks[l, s] = grown
    wider = Network(sizes, masks)
    identity = {l: l for l in range(len(sizes))}
    return wider, _embed(network, w, wider, identity)


def deepen(network: Network, w, size: int):
    """Insert a hidden layer of ``size`` neurons just before the outputs.

    It reads the previous last layer (the connected inputs, for a linear network) and
    feeds the outputs; every existing link is kept, so the deeper network computes the same
    function.
    """
    old_last = network.n_layers
    sizes = network.layer_sizes[:-1] + (size, network.n_outputs)
    layer_map = {l: l for l in range(old_last)}
    layer_map[old_last] = old_last + 1
    masks = {(layer_map[l], s): m for (l, s), m in network.masks.items()}
    reads = np.ones((size, sizes[old_last - 1]), dtype=bool)
    if old_last == 1:
        reads[:, ~network.connected_inputs()] = False
    masks[old_last, old_last - 1] = reads
    masks[old_last + 1, old_last] = np.ones((network.n_outputs, size), dtype=bool)
    deeper = Network(sizes, masks)
    return deeper, _embed(network, w, deeper, layer_map)


class Builder:
    """Runs the search on one normalised data set and records every candidate."""

    def __init__(
        self,
        x,
        y,
        sample_weight,
        train_idx,
        valid_idx,
        *,
        initial_beta_reg: float,
        disconnect_inputs_if_possible: bool,
        links_maximum_number: int,
        rng: np.random.Generator,
        config: BuildConfig | None = None,
        objective: LeastSquares = LEAST_SQUARES,
        log: Callable[[str], None] | None = None,
        on_candidate: Callable[[Candidate, dict], None] | None = None,
        history: list[dict] | None = None,
        build: int = 0,
    ):
        self.config = BuildConfig() if config is None else config
        self.x, self.y = x, y
        sw = sample_weight / sample_weight[train_idx].sum()
        self.objective = objective
        self.train_problem = TrainingProblem(
            None, x[train_idx], y[train_idx], sw[train_idx], objective=objective
        )
        if valid_idx.size and sample_weight[valid_idx].sum() > 0:
            sv = sample_weight[valid_idx] / sample_weight[valid_idx].sum()
            self.valid_problem = TrainingProblem(
                None, x[valid_idx], y[valid_idx], sv, objective=objective
            )
        else:  # no usable validation data: select on training error
            self.valid_problem = self.train_problem
        v = self.valid_problem.sample_weight
        # Kish's effective number of validation values, for the information criterion
        per_row = objective.values_per_row(y.shape[1])
        self.n_effective = float(v.sum() ** 2 / (v @ v)) * per_row
        self.initial_beta_reg = float(initial_beta_reg)
        self.disconnect_inputs = disconnect_inputs_if_possible
        self.max_links = int(links_maximum_number)
        self.rng = rng
        self.log = log
        self.on_candidate = on_candidate
        # several builds on one data set may share one record; ``build`` tells them apart
        self.history: list[dict] = [] if history is None else history
        self.build = build

    # ----------------------------------------------------------------- training
    def _monitor(self, network):
        if self.valid_problem is self.train_problem:
            return None
        v = self.valid_problem
        valid = TrainingProblem(network, v.x, v.y, v.sample_weight, objective=self.objective)
        return valid.data_error

    def _errors(self, network, w):
        self.train_problem.network = network
        self.valid_problem.network = network
        return self.train_problem.data_error(w), self.valid_problem.data_error(w)

    def fit_candidate(
        self,
        network: Network,
        w0,
        beta0: float,
        step: str,
        *,
        init_beta: float,
        accept=None,
        must_beat: float | None = None,
    ) -> Candidate:
        """Train along a decreasing beta path and keep the stage with the best validation.

        The path goes on while the training error still moves (the regularisation still
        binds) or the validation error still improves; each stage starts from the last.
        With ``must_beat`` (the best network's score), training gives up once it is
        clear the candidate will not score below it (``BuildConfig.give_up_steps``).
        The candidate's ``beta`` is the one its weights were trained with (``init_beta``
        for ``w0``, when early stopping keeps the starting weights of a stage), which is
        what final learning reuses.
        """
        start = time.perf_counter()
        problem = self.train_problem
        problem.network = network
        best = None
        stale = 0
        beta, w, n_iter, w_beta = beta0, w0, 0, init_beta
        previous_train = np.inf
        give_up = None if must_beat is None else self._give_up(network.n_weights, must_beat)
        while True:
            problem.beta = beta
            result = train(
                problem,
                w,
                monitor=self._monitor(network),
                give_up=give_up,
                **self.config.lm_stop,
            )
            if not np.array_equal(result.w, w):
                w_beta = beta
            w, n_iter = result.w, n_iter + result.n_iter
            train_err, valid_err = self._errors(network, w)
            if best is None or valid_err < best.valid_error * (1 - 1e-3):
                best = Candidate(network, w.copy(), w_beta, train_err, valid_err)
                stale = 0
            else:
                stale += 1
            still_binding = train_err < previous_train * (1 - self.config.binding)
            previous_train = train_err
            if (
                result.gave_up
                or beta <= 1.5 * self.config.beta_floor
                or (stale >= self.config.beta_patience and not still_binding)
            ):
                break
            beta /= 10.0
        # where the next candidate's path starts: for least squares where this path ended
        # (going back up would shrink warm-started neurons to zero, a saddle they never
        # leave); for an objective whose training loss keeps falling as beta does
        # (separable classes), at the beta that validated best
        best.last_beta = best.beta if self.objective.restart_at_best_beta else beta
        extra = {}
        if accept is not None:
            best.kept = extra["kept"] = bool(accept(best))
        self._record(best, step, time.perf_counter() - start, n_iter, **extra)
        return best

    def _give_up(self, n_weights: int, must_beat: float) -> Callable[[float], bool]:
        """The ``give_up`` test of a candidate of ``n_weights`` weights: over the accepted
        steps of its whole beta path, whether even ``give_up_factor`` times its best
        validation error so far would score no better than ``must_beat``."""
        seen = {"steps": 0, "best": np.inf}
        config = self.config

        def give_up(error: float) -> bool:
            seen["steps"] += 1
            seen["best"] = min(seen["best"], error)
            if seen["steps"] < config.give_up_steps:
                return False
            hoped = seen["best"] / config.give_up_factor
            return self.criterion(hoped, n_weights) >= must_beat

        return give_up

    def _record(self, cand: Candidate, step: str, seconds: float, n_iter: int, **extra):
        entry = build_record(self.build, step, cand, n_iter, seconds, **extra)
        self.history.append(entry)
        if self.log is not None:
            # numbered within the build: builds run in parallel number their lines alike
            position = sum(record["build"] == self.build for record in self.history)
            self.log(
                f"[{position:3d}] build={self.build} {step:<8} "
                f"sizes={entry['layer_sizes']} "
                f"weights={entry['n_weights']} train_rmse={entry['train_rmse']:.3e} "
                f"valid_rmse={entry['valid_rmse']:.3e} beta={entry['beta']:.0e} "
                f"iter={n_iter} time={seconds:.2f}s"
            )
        if self.on_candidate is not None:
            self.on_candidate(cand, entry)

    def place_neurons(self, network: Network, w, layer: int, rows: slice) -> np.ndarray:
        """Data-aware start for new neurons ``rows`` of hidden ``layer``.

        Each new neuron's pre-activation is scaled to unit spread over the training data and
        centred on a random training point, so that it bends inside the data cloud whatever
        the input scaling. Where the layer feeds the outputs, ``neuron_candidates`` random
        neurons are drawn per new neuron and those that best explain the current residual
        are kept (as in cascade-correlation), and their outgoing weights are the ridge
        least-squares fit of that residual: the candidate starts no worse, and usually much
        better, than the smaller network ended.
        """
        problem = self.train_problem
        W, b = network.unpack(w)
        h = network.activations(W, b, problem.x)  # new neurons feed nothing yet
        n, m = problem.x.shape[0], rows.stop - rows.start
        last = network.n_layers
        feeds_outputs = (last, layer) in W
        k = m * self.config.neuron_candidates if feeds_outputs else m
        sources = [s for (l, s) in W if l == layer]
        fan_in = sum(W[layer, s].shape[1] for s in sources)
        drawn = {s: self.rng.normal(size=(k, W[layer, s].shape[1])) for s in sources}
        drawn = {s: d / np.sqrt(fan_in) for s, d in drawn.items()}
        # candidates are placed and scored on at most placement_rows rows: memory stays
        # bounded by the network's own activations, whatever the number of candidates
        sub = np.arange(n)
        if n > self.config.placement_rows:
            sub = np.sort(self.rng.choice(n, size=self.config.placement_rows, replace=False))
        u = sum(h[s][sub] @ drawn[s].T for s in sources)
        spread = u.std(axis=0)
        spread[spread == 0] = 1.0
        centre = u[self.rng.integers(0, sub.size, size=k), np.arange(k)]
        pick = np.arange(m)
        if feeds_outputs:
            t = np.tanh((u - centre) / spread)
            residual = problem.objective.residual(h[-1], problem.y)[sub]
            sw = problem.sample_weight[sub, None]
            tc = t - (sw.T @ t) / sw.sum()  # centred: the output bias absorbs a constant
            spread_t = (sw.T @ (tc * tc)).T
            # a neuron constant over the rows (one or two training rows) explains nothing
            gain = ((tc * sw).T @ residual) ** 2 / np.where(spread_t > 0, spread_t, np.inf)
            pick = np.argsort(-gain.sum(axis=1), kind="stable")[:m]
        for s in sources:
            W[layer, s][rows] = drawn[s][pick] / spread[pick, None]
        b[layer][rows] = -centre[pick] / spread[pick]
        if feeds_outputs:
            u = sum(h[s] @ W[layer, s][rows].T for s in sources) + b[layer][rows]
            t, root_w = np.tanh(u), np.sqrt(problem.sample_weight)[:, None]
            residual = problem.objective.residual(h[-1], problem.y)
            gram = (t * root_w).T @ (t * root_w)
            ridge = 1e-8 * np.trace(gram) / m + 1e-12
            coef = np.linalg.solve(gram + ridge * np.eye(m), (t * root_w).T @ (residual * root_w))
            W[last, layer][:, rows] = coef.T
        return network.pack(W, b)

    def record_final(self, network: Network, w, beta: float, seconds: float, n_iter: int):
        """Record the final training on all data (its validation rows were trained on)."""
        train_err, valid_err = self._errors(network, w)
        self._record(Candidate(network, w, beta, train_err, valid_err), "final", seconds, n_iter)

    def _within_limit(self, network: Network, factor: float = 1.0) -> bool:
        return within_limit(network.n_weights, self.max_links, factor)

    # ------------------------------------------------------------------ search
    def run(self, start: Candidate | None = None, freeze_structure: bool = False) -> BuildResult:
        """Search from a linear network, or from ``start`` (a resumed build); with
        ``freeze_structure`` only ``start``'s weights are trained."""
        if start is None:
            n_in = self.x.shape[1]
            keep = np.ones(n_in, dtype=bool)
            wide = is_wide(n_in, self.train_problem.x.shape[0], self.config.wide_ratio)
            # the screening ranks inputs by least squares: for a least-squares objective
            if self.disconnect_inputs and wide and isinstance(self.objective, LeastSquares):
                screened = self._screen_inputs()
                if screened is not None:
                    keep = screened
            best = self._fit_linear(keep)
        else:
            best = self.fit_candidate(
                start.network, start.w, start.beta, "resume", init_beta=start.beta
            )
            if freeze_structure:
                return BuildResult(best, self.score(best), [])
        pruned = self._grow_and_prune(best)
        before, kept = best.network.connected_inputs(), pruned.network.connected_inputs()
        dropped = before.sum() - kept.sum()
        research = self._prunes_inputs and start is None and kept.any()
        if research and dropped >= self.config.research_share * before.sum():
            # a network grown among inputs that do not matter is worse than one grown
            # without them, even once they are pruned: the search runs again on the
            # inputs left, up to twice the first one's width, and the better of the two
            # by the criterion is kept (Friedman #1, 1,000 rows, 5 of its 10 inputs
            # inert: median test RMSE over random states 8 to 15 from 5.8e-3 to 1.0e-3)
            widest = max(pruned.network.layer_sizes[1:-1], default=1)
            again = self._grow_and_prune(self._fit_linear(kept), largest=2 * widest)
            if self._better(again, pruned):
                pruned = again
        said = []
        if not self._within_limit(pruned.network):
            said.append(
                (
                    f"links_maximum_number={self.max_links} cannot be reached: the smallest "
                    f"network found has {pruned.network.n_weights} weights (biases count)",
                    UserWarning,
                )
            )
        return BuildResult(pruned, self.score(pruned), said)

    def _fit_linear(self, keep: np.ndarray) -> Candidate:
        """The linear network on the inputs ``keep``, trained."""
        n_in, n_out = self.x.shape[1], self.y.shape[1]
        linear = Network((n_in, n_out), {(1, 0): np.tile(keep, (n_out, 1))})
        problem = self.train_problem
        w0 = init_linear(linear, problem.x, problem.y, problem.sample_weight)
        return self.fit_candidate(linear, w0, self.initial_beta_reg, "linear", init_beta=0.0)

    def _grow_and_prune(self, best: Candidate, largest: int | None = None) -> Candidate:
        """Grow hidden layers from ``best`` (up to ``largest`` neurons each), choose among
        the candidates and prune."""
        candidates = [best]
        # widen the last hidden layer, then add one on top of the best network so far
        for layer in range(max(best.network.n_layers - 1, 1), self.config.max_hidden_layers + 1):
            if best.network.n_layers - 1 < layer - 1:
                break  # the previous layer did not help: a deeper one will not either
            current, stale = best, 0
            for size in self.config.hidden_sizes:
                if largest is not None and size > largest:
                    break
                if current.network.n_layers - 1 < layer:
                    network, w = deepen(current.network, current.w, size)
                    fresh = slice(0, size)
                elif size > current.network.layer_sizes[layer]:
                    old = current.network.layer_sizes[layer]
                    network, w = widen(current.network, current.w, layer, size)
                    fresh = slice(old, size)
                else:
                    continue
                too_large = not self._within_limit(network, self.config.grow_over_limit)
                if too_large or self._hopeless(network, best):
                    break
                w = self.place_neurons(network, w, layer, fresh)
                # the regularisation only ever decreases along the build: going back up
                # would shrink the warm-started neurons to zero, a saddle they never leave
                current = self.fit_candidate(
                    network,
                    w,
                    current.last_beta,
                    f"layer{layer}",
                    init_beta=current.beta,
                    must_beat=self.score(best),
                )
                candidates.append(current)
                if self._better(current, best):
                    best, stale = current, 0
                else:
                    stale += 1
                    if stale >= self.config.growth_patience:
                        break
        ranked = sorted(candidates, key=self.score)
        if self._within_limit(ranked[0].network):
            pruned = self.prune(ranked[0])
        else:
            # pruning a larger network down to the limit usually beats stopping at it, but
            # which network survives the pruning varies: the limit_tries best over the
            # limit and the best within it are pruned, and the best that fits is kept
            over = [c for c in ranked if not self._within_limit(c.network)][
                : self.config.limit_tries
            ]
            within = [c for c in ranked if self._within_limit(c.network)][:1]
            results = [self.prune(c) for c in over + within]
            fitting = [r for r in results if self._within_limit(r.network)]
            pruned = min(fitting, key=self.score) if fitting else results[0]
        return pruned

    def score(self, cand: Candidate) -> float:
        """Akaike's information criterion on the validation data (lower is better): the
        objective's deviance plus the weights' price, for least squares
        ``n ln(validation MSE) + 2 n_weights``, with ``n`` the effective number of
        validation values. A network with ``k`` more weights must lower the validation MSE
        by a factor ``exp(-2 k / n)`` to be preferred: every weight must pay for itself.
        Below ``min_priced_values`` values, the price of a weight is that of
        ``min_priced_values`` values."""
        return self.criterion(cand.valid_error, cand.network.n_weights)

    def criterion(self, valid_error: float, n_weights: int) -> float:
        """:meth:`score` of a model with this validation MSE and number of weights."""
        n = self.n_effective
        # n / priced is exactly 1 from min_priced_values values on: plain AIC
        price = self.config.weight_penalty * (n / self._priced_values)
        return self.objective.deviance(valid_error, n) + price * n_weights

    def _screen_inputs(self) -> np.ndarray | None:
        """The inputs worth connecting, for wide data (see :mod:`._input_selection`)."""
        t, v = self.train_problem, self.valid_problem
        return screen_inputs(
            (t.x, t.y, t.sample_weight),
            (v.x, v.y, v.sample_weight),
            self.criterion,
            self.config.max_screened_terms,
        )

    @property
    def _priced_values(self) -> float:
        return max(self.n_effective, self.config.min_priced_values)

    def _hopeless(self, network: Network, best: Candidate) -> bool:
        """Whether ``network`` would have to lower the best validation error more than the
        objective allows to win on the criterion (for least squares: cut the MSE more
        than ``1 / min_required_factor``-fold; for cross-entropy: below zero): not worth
        training.

        Cheap candidates (one Gauss-Newton product under ``cheap_flops``) are always
        worth it: on small data sets (few validation values, so a steep price per weight)
        the step from a near-linear model to the right one can be that large.
        """
        if self.train_problem.y.size * network.n_weights**2 < self.config.cheap_flops:
            return False
        extra = network.n_weights - best.network.n_weights
        margin = self.objective.largest_gain(best.valid_error, self.config.min_required_factor)
        return self.config.weight_penalty * extra / self._priced_values > margin

    def _better(self, cand: Candidate, than: Candidate) -> bool:
        return self.score(cand) < self.score(than)

    # ----------------------------------------------------------------- pruning
    def prune(self, chosen: Candidate) -> Candidate:
        """Remove the least salient links while the information criterion does not get
        worse (and, regardless of it, while the network exceeds the link limit, in steps
        of at most ``limit_step`` of its links).

        Saliency is the optimal-brain-damage estimate ``1/2 * A_kk * w_k^2`` with ``A`` the
        Gauss-Newton matrix of the training loss. Without ``disconnect_inputs_if_possible``
        an input's last link is never removed.
        """
        current = chosen
        fraction = self.config.prune_fraction
        failed_at = np.inf  # smallest removal that failed from the current network
        rounds = 0  # rounds by the criterion; rounds towards the link limit are not capped
        while rounds < self.config.max_prune_rounds:
            over_limit = not self._within_limit(current.network)
            links = self._removable_links(current)
            if over_limit:
                # towards the limit in steps: retraining repairs a network that lost a
                # share of its links, not one that lost most of them at once
                excess = current.network.n_weights - self.max_links
                step = max(1, int(np.ceil(self.config.limit_step * links.size)))
                n_remove = min(links.size, excess, step)
            else:
                rounds += 1
                n_remove = max(1, int(fraction * links.size)) if links.size else 0
                if n_remove >= failed_at or fraction < self.config.min_prune_fraction:
                    break
            if n_remove == 0:
                break
            removal = links[:n_remove]
            if not self.disconnect_inputs:
                removal = _keep_inputs_connected(current.network, removal)
                if removal.size == 0:
                    break  # only the inputs' last links are left
            trial = self._pruning_trial(current, removal, over_limit)
            if trial.kept:
                current, failed_at = trial, np.inf
            else:
                fraction, failed_at = fraction / 2.0, n_remove
        return self._prune_inputs(current) if self._prunes_inputs else current

    @property
    def _prunes_inputs(self) -> bool:
        """Whether whole inputs are pruned and the search rerun without them: for least
        squares (a regressor). For the classifier both were measured worse
        (``benchmarks/classification.py``, random states 4 to 7: test log-loss 0.027 ->
        0.105 on wine and 0.13 -> 0.22 on digits, in twice the time)."""
        return self.disconnect_inputs and isinstance(self.objective, LeastSquares)

    def _prune_inputs(self, chosen: Candidate) -> Candidate:
        """Disconnect whole inputs, least salient first, while the information criterion
        does not get worse: half of the connected inputs are tried at once, then half as
        many after each failure.

        An input that does not matter keeps a few links of spurious saliency when links
        are pruned one by one (Friedman #1: its 5 inert inputs survived link pruning in one
        build of four); its saliency as a whole, the sum of its links', is small.
        """
        current = chosen
        while self._within_limit(current.network):
            # ranked once per network: a failed trial leaves it, and its saliencies, as
            # they were
            saliency = self._link_saliency(current)
            links = _links_by_input(current.network)
            inputs = np.array(sorted(links))
            by_input = [saliency[links[j]].sum() for j in inputs]
            order = inputs[np.argsort(by_input, kind="stable")]
            n_remove = inputs.size // 2
            while n_remove:
                positions = np.concatenate([links[j] for j in order[:n_remove]])
                trial = self._pruning_trial(current, positions)
                if trial.kept:
                    break
                n_remove //= 2
            if not n_remove:
                return current
            current = trial
        return current

    def _pruning_trial(self, current: Candidate, positions, over_limit: bool = False):
        """``current`` without the links at ``positions``, retrained; kept (``.kept``) if
        it scores no worse, or whatever its score when ``current`` is over the link limit."""
        network, w = remove_links(current.network, current.w, positions)
        return self.fit_candidate(
            network,
            w,
            current.last_beta,
            "prune",
            init_beta=current.beta,
            accept=lambda c: over_limit or not self._better(current, c),
        )

    def _link_saliency(self, cand: Candidate) -> np.ndarray:
        """Optimal-brain-damage saliency of each weight, ``1/2 * A_kk * w_k^2``."""
        self.train_problem.network = cand.network
        self.train_problem.beta = cand.beta
        return 0.5 * self.train_problem.gauss_newton_diagonal(cand.w) * cand.w * cand.w

    def _removable_links(self, cand: Candidate) -> np.ndarray:
        """Indices (in the packed vector) of link weights, least salient first."""
        network = cand.network
        saliency = self._link_saliency(cand)
        is_link = np.zeros(network.n_weights, dtype=bool)
        for _, _, _, idx, off in network.blocks():
            is_link[off : off + idx.size] = True
        candidates = np.flatnonzero(is_link)
        return candidates[np.argsort(saliency[candidates], kind="stable")]


def _keep_inputs_connected(network: Network, removal: np.ndarray) -> np.ndarray:
    """``removal`` minus, for each input it would disconnect, the most salient of that
    input's links (the one listed last, as ``removal`` is sorted by saliency)."""
    removal = [int(p) for p in removal]
    for positions in _links_by_input(network).values():
        if set(positions).issubset(removal):
            removal.remove(max(positions, key=removal.index))
    return np.asarray(removal, dtype=int)


def _links_by_input(network: Network) -> dict[int, list[int]]:
    """For each connected input, the positions of its links in the packed vector."""
    links: dict[int, list[int]] = {}
    for _, s, mask, idx, off in network.blocks():
        if s == 0:
            for k, j in enumerate(np.unravel_index(idx, mask.shape)[1]):
                links.setdefault(int(j), []).append(off + k)
    return links


def remove_links(network: Network, w, positions) -> tuple[Network, np.ndarray]:
    """The network without the links at ``positions`` of the packed vector; hidden neurons
    left without outgoing links are removed too (they no longer affect the outputs)."""
    keep = np.ones(network.n_weights, dtype=bool)
    keep[np.asarray(positions, dtype=int)] = False
    masks = {}
    for l, s, mask, idx, off in network.blocks():
        new = np.zeros_like(mask)
        new.flat[idx[keep[off : off + idx.size]]] = True
        masks[l, s] = new
    pruned = Network(network.layer_sizes, masks)
    W, b = network.unpack(w)
    return drop_dead_neurons(pruned, pruned.pack(W, b))


def drop_dead_neurons(network: Network, w) -> tuple[Network, np.ndarray]:
    """Remove hidden neurons that feed nothing, and hidden layers left empty."""
    sizes = list(network.layer_sizes)
    masks = network.masks
    last = len(sizes) - 1
    alive = {0: np.ones(sizes[0], bool), last: np.ones(sizes[last], bool)}
    for l in range(last - 1, 0, -1):  # from the top: a neuron lives if it feeds a live one
        feeds = np.zeros(sizes[l], dtype=bool)
        for (t, s), m in masks.items():
            if s == l:
                feeds |= m[alive[t]].any(axis=0)
        alive[l] = feeds
    if all(alive[l].all() for l in alive):
        return network, w
    kept_layers = [l for l in range(last + 1) if alive[l].any() or l in (0, last)]
    renumber = {old: new for new, old in enumerate(kept_layers)}
    W, b = network.unpack(w)
    new_masks, new_W, new_b = {}, {}, {}
    for (t, s), m in masks.items():
        if t in renumber and s in renumber:
            key = (renumber[t], renumber[s])
            new_masks[key] = m[np.ix_(alive[t], alive[s])]
            new_W[key] = W[t, s][np.ix_(alive[t], alive[s])]
    for l in kept_layers[1:]:
        new_b[renumber[l]] = b[l][alive[l]]
    smaller = Network([int(alive[l].sum()) for l in kept_layers], new_masks)
    return smaller, smaller.pack(new_W, new_b)
