"""The build engine of the family: from validated data to one fitted state.

An estimator validates its data and hands them down once, with itself for its parameters
and its objective; :func:`build_state` merges duplicate rows, normalises, splits off the
validation rows, runs the builds (one after the other, or in worker processes), trains
the chosen network on all rows, writes the checkpoint as it goes, and returns the
:class:`~sklearn_neureco._state.FittedState` with the warnings the estimator's ``fit``
should give its caller.
"""

from __future__ import annotations

import sys
import time
import warnings
from dataclasses import dataclass, replace

import numpy as np
from joblib import effective_n_jobs
from joblib.parallel import get_active_backend
from sklearn.utils import check_random_state
from sklearn.utils.parallel import Parallel, delayed

from ._architecture import BuildConfig, Builder, BuildResult, Candidate, within_limit
from ._normalization import fit_normalization
from ._optimize import (
    TrainingProblem,
    one_thread,
    single_threaded_blas,
    train,
    train_on_growing_rows,
)
from ._persistence import check_target, read_states, write_states
from ._rows import input_groups, merge_duplicate_rows, split_validation
from ._state import FittedState, state_of

Warned = list[tuple[str, type[Warning]]]


def build_state(
    estimator,
    X: np.ndarray,
    Y: np.ndarray,
    sample_weight: np.ndarray,
    *,
    output_1d: bool,
    X_val: np.ndarray | None = None,
    Y_val: np.ndarray | None = None,
    init_state: FittedState | None = None,
    freeze_structure: bool = False,
    classes: tuple | None = None,
    config: BuildConfig | None = None,
) -> tuple[FittedState, Warned]:
    """Build a model of validated data ``(X, Y)`` (2-D float arrays, positive-sum
    weights) with ``estimator``'s parameters and objective.

    ``init_state`` (a fitted state of the same shapes) starts the build from its network
    and keeps its normalisation, so that its weights keep their meaning; with
    ``freeze_structure`` only its weights are trained. ``classes`` (a classifier's labels,
    in the order of its outputs) go into the state. ``config`` replaces the
    estimator's ``build_config``. Returns the fitted state and the
    ``(message, category)`` warnings for the caller of ``fit``.
    """
    began = time.perf_counter()
    objective = estimator._objective
    seed = check_random_state(estimator.random_state).randint(np.iinfo(np.int32).max)
    rng = np.random.default_rng(seed)
    start = None
    if init_state is not None:
        beta = init_state.beta_reg
        start = Candidate(init_state.network, init_state.weights.copy(), beta, np.inf, np.inf, beta)
    elif freeze_structure:
        raise ValueError("freeze_structure=True needs an init_model to freeze")
    checkpoint_path = None
    if estimator.checkpoint_address is not None:  # refuse a bad target before any training
        checkpoint_path = check_target(estimator.checkpoint_address, "checkpoint_address")

    said: Warned = []
    has_val = X_val is not None
    # validation rows weigh as an average training row in final learning
    val_weight = sample_weight.mean()
    X, Y, sample_weight = merge_duplicate_rows(X, Y, sample_weight)
    if init_state is not None:
        normalisation = init_state.normalisation
    else:
        in_shift, in_scale = fit_normalization(
            X,
            estimator.inputs_shifting,
            estimator.inputs_scaling,
            estimator.inputs_normalize_per_feature,
            sample_weight,
        )
        if objective.scales_outputs:
            out_shift, out_scale = fit_normalization(
                Y,
                estimator.outputs_shifting,
                estimator.outputs_scaling,
                estimator.outputs_normalize_per_feature,
                sample_weight,
            )
        else:  # outputs such as logits mean what they are
            out_shift, out_scale = np.zeros(Y.shape[1]), np.ones(Y.shape[1])
        normalisation = {
            "input_shift": in_shift,
            "input_scale": in_scale,
            "output_shift": out_shift,
            "output_scale": out_scale,
        }
    in_shift, in_scale = normalisation["input_shift"], normalisation["input_scale"]
    out_shift, out_scale = normalisation["output_shift"], normalisation["output_scale"]
    xn, yn = (X - in_shift) / in_scale, (Y - out_shift) / out_scale
    if has_val:
        train_idx = np.arange(len(X))
        valid_idx = np.arange(len(X), len(X) + len(X_val))
        xn = np.vstack([xn, (X_val - in_shift) / in_scale])
        yn = np.vstack([yn, (Y_val - out_shift) / out_scale])
        sample_weight = np.concatenate([sample_weight, np.full(len(X_val), val_weight)])
    else:
        train_idx, valid_idx = split_validation(
            xn, estimator.valid_percentage, rng, groups=input_groups(X)
        )
        if valid_idx.size == 0:
            said.append(
                (
                    f"no validation rows: {len(X)} distinct rows are too few to hold "
                    f"{estimator.valid_percentage} % of them out, so the architecture is "
                    "chosen on the training error; give more data or X_val and y_val",
                    UserWarning,
                )
            )

    log = None
    if estimator.verbose:

        def log(line):
            print(line, file=sys.stderr, flush=True)

        name = "RMSE" if objective.scales_outputs else "square roots of the log-losses"
        log(f"one line per candidate; train_rmse and valid_rmse: {name} in normalised units")

    names = getattr(estimator, "feature_names_in_", None)
    template = state_of(
        type(estimator).__name__,
        None,
        np.zeros(0),
        normalisation,
        beta_reg=0.0,
        n_features_in=X.shape[1],
        n_outputs=Y.shape[1],
        output_1d=output_1d,
        feature_names=None if names is None else tuple(str(n) for n in names),
        classes=classes,
    )
    on_candidate = None
    if checkpoint_path is not None:
        on_candidate = CheckpointWriter(
            checkpoint_path,
            template,
            estimator._file_params(),
            estimator.links_maximum_number,
        )
    history: list[dict] = []
    config = config or estimator.build_config or BuildConfig()
    search_train, search_valid = _search_sample(
        train_idx, valid_idx, config.search_size(train_idx.size + valid_idx.size), rng
    )
    sampled = search_train.size < train_idx.size
    setup = {
        "x": xn,
        "y": yn,
        "sample_weight": sample_weight,
        "train_idx": search_train,
        "valid_idx": search_valid,
        "initial_beta_reg": estimator.initial_beta_reg,
        "disconnect_inputs_if_possible": estimator.disconnect_inputs_if_possible,
        "links_maximum_number": estimator.links_maximum_number,
        "config": config,
        "objective": objective,
    }
    with single_threaded_blas():
        # every build shares the split (so their validation scores compare); the first
        # draws from rng itself, the others from independent child generators. A frozen
        # structure draws nothing: its builds would all be the same
        n_builds = 1 if freeze_structure else estimator.n_init
        rngs = [rng, *rng.spawn(n_builds - 1)]

        def builder_of(build):
            return Builder(
                **setup,
                rng=rngs[build],
                log=log,
                on_candidate=on_candidate,
                history=history,
                build=build,
            )

        if n_builds > 1 and effective_n_jobs(estimator.n_jobs) > 1:
            results = _parallel_builds(
                setup,
                rngs,
                start,
                estimator.n_jobs,
                log=log,
                on_candidate=on_candidate,
                history=history,
            )
        else:
            results = (builder_of(build).run(start, freeze_structure) for build in range(n_builds))
        chosen, build = None, 0
        for number, result in enumerate(results):  # as each ends: the first best wins
            said.extend(result.warnings)
            if chosen is None or result.score < chosen.score:
                chosen, build = result, number
        builder = builder_of(build)  # records the final training in its name
        network, w, beta = chosen.chosen.network, chosen.chosen.w, chosen.chosen.beta
        final_learning = estimator.final_learning and valid_idx.size
        if final_learning or sampled:
            started = time.perf_counter()
            rows = np.arange(len(xn)) if final_learning else train_idx
            problem = TrainingProblem(
                network,
                xn[rows],
                yn[rows],
                sample_weight[rows] / sample_weight[rows].sum(),
                beta=beta,
                objective=objective,
            )
            monitor = None
            if not final_learning and valid_idx.size:
                sv = sample_weight[valid_idx]
                monitor = TrainingProblem(
                    network, xn[valid_idx], yn[valid_idx], sv / sv.sum(), objective=objective
                ).data_error
            if sampled:
                final = train_on_growing_rows(
                    problem, w, search_train.size, monitor=monitor, **config.lm_stop
                )
            else:
                final = train(problem, w, monitor=monitor, **config.lm_stop)
            w = final.w
            builder.record_final(network, w, beta, time.perf_counter() - started, final.n_iter)
    state = replace(
        template,
        network=network,
        weights=np.ascontiguousarray(w, dtype=np.float64),
        beta_reg=float(beta),
        history=history,
    )
    train_values = train_idx.size * objective.values_per_row(Y.shape[1])
    said.extend(_first_use_warnings(builder, chosen.chosen, train_values))
    if log is not None:
        units = " in the targets' units" if objective.scales_outputs else ""
        log(
            f"chose {list(network.layer_sizes)}: {network.n_weights} weights, validation "
            f"{_error_name(objective)} {_target_units_error(builder, chosen.chosen, state):.4g}"
            f"{units} (before the final training), built in {time.perf_counter() - began:.2f} s"
        )
    return state, said


def _search_sample(train_idx, valid_idx, limit: int, rng):
    """The training and validation rows the search sees: all of them, or ``limit``
    drawn at random in the same proportions."""
    n = train_idx.size + valid_idx.size
    if n <= limit:
        return train_idx, valid_idx
    share = limit / n
    return tuple(
        np.sort(rng.choice(idx, max(1, round(share * idx.size)), replace=False))
        if idx.size
        else idx
        for idx in (train_idx, valid_idx)
    )


def _error_name(objective) -> str:
    return "RMSE" if objective.scales_outputs else "log-loss"


def _target_units_error(builder: Builder, chosen: Candidate, state: FittedState) -> float:
    """The chosen candidate's validation error: RMSE in the targets' units (over all
    outputs), or the log-loss."""
    v = builder.valid_problem
    v.network = chosen.network
    f = chosen.network.forward(chosen.w, v.x)
    if not builder.objective.scales_outputs:
        return builder.objective.error(f, v.y, v.sample_weight)
    residual = (f - v.y) * state.output_scale
    return float(np.sqrt(v.sample_weight @ np.mean(residual * residual, axis=1)))


def _first_use_warnings(builder: Builder, chosen: Candidate, train_values: int) -> Warned:
    """What a user should hear about the chosen network: more weights than the training
    values it was fitted to, no input kept, or no better on validation than a constant."""
    said: Warned = []
    n_weights = chosen.network.n_weights
    if n_weights > train_values:
        said.append(
            (
                f"the model has {n_weights} weights for {train_values} training values: it "
                "can fit them exactly and generalise poorly; give more data, or bound "
                "links_maximum_number",
                UserWarning,
            )
        )
    if not chosen.network.connected_inputs().any():
        said.append(
            (
                "no input was kept: the model predicts a constant (the build found no input "
                "that explains the targets on the validation rows)",
                UserWarning,
            )
        )
        return said
    v, t = builder.valid_problem, builder.train_problem
    # the best constant on the training rows (a classifier's: the class frequencies)
    constant = np.broadcast_to(builder.objective.constant(t.y, t.sample_weight), v.y.shape)
    baseline = builder.objective.error(constant, v.y, v.sample_weight)
    if chosen.valid_error >= baseline:
        constant_is = "the training mean"
        if not builder.objective.scales_outputs:
            constant_is = "the training class frequencies"
        said.append(
            (
                f"the model validates no better than predicting {constant_is} (validation "
                f"error {chosen.valid_error:.3g} against {baseline:.3g}, as MSE in "
                "normalised units or log-loss): the inputs may not explain the targets",
                UserWarning,
            )
        )
    return said


class CheckpointWriter:
    """Appends each candidate of a build to the checkpoint file, rewriting it atomically.

    ``template`` holds what the candidates share (normalisation, the data's shapes); each
    candidate becomes a fitted state with its own network, weights and build record.
    """

    def __init__(self, path, template: FittedState, params: dict, max_links: int = 0):
        self.path = check_target(path, "checkpoint_address")
        self.max_links = max_links  # candidates above it are recorded, never "best so far"
        self.template = template
        self.params = params
        self.states: list[FittedState] = []
        self.best = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)  # fail early if impossible

    def __call__(self, candidate: Candidate, record: dict) -> None:
        self.states.append(
            replace(
                self.template,
                network=candidate.network,
                weights=candidate.w,
                beta_reg=candidate.beta,
                history=[dict(record)],
            )
        )
        best_rmse = self.states[self.best].history[-1]["valid_rmse"]
        allowed = within_limit(record["n_weights"], self.max_links)
        if record["step"] == "final" or (allowed and record["valid_rmse"] < best_rmse):
            self.best = len(self.states) - 1
        write_states(self.path, self.states, self.params, kind="checkpoint", best=self.best)


def append_to_checkpoint(path, state: FittedState, params: dict) -> None:
    """Add ``state``, a model trained after its build (as on every row of Dask data), to
    the build's checkpoint at ``path`` as its best model, rewriting it atomically."""
    states, _ = read_states(path)
    write_states(path, [*states, state], params, kind="checkpoint", best=len(states))


def _parallel_builds(setup, rngs, start, n_jobs, *, log, on_candidate, history):
    """Run the builds in ``n_jobs`` processes; yield their :class:`BuildResult` in build
    order.

    Each build's log lines, records and checkpoint candidates are replayed here in build
    order as the builds end, and the warnings it raised join its result: the results,
    the history and the checkpoint file are those of the same builds run one after the
    other on one thread.
    """
    jobs = [
        delayed(_isolated_build)(setup, build_rng, build, start, on_candidate is not None)
        for build, build_rng in enumerate(rngs)
    ]
    for isolated in in_processes(jobs, n_jobs):
        history.extend(isolated.records)
        for line in isolated.lines if log is not None else []:
            log(line)
        for model, record in isolated.models:
            on_candidate(model, record)
        yield isolated.result


def in_processes(jobs: list, n_jobs):
    """The results of joblib's delayed ``jobs``, in order as they end, run in up to
    ``n_jobs`` processes whatever the joblib context (a build sets process-wide BLAS
    limits): loky's, or a Dask cluster's workers under joblib's Dask backend."""
    backend = None if _dask_backend_is_active() else "loky"
    n_jobs = min(effective_n_jobs(n_jobs), len(jobs))  # no idle worker process
    return Parallel(n_jobs=n_jobs, backend=backend, return_as="generator")(jobs)


def _dask_backend_is_active() -> bool:
    """Whether joblib's active backend is Dask's (whose workers are processes)."""
    backend, _ = get_active_backend()
    return type(backend).__name__ == "DaskDistributedBackend"


@dataclass
class _IsolatedBuild:
    """One build run in a worker process, with what it would have logged, recorded and
    checkpointed there (its warnings are in ``result``)."""

    result: BuildResult
    records: list[dict]
    lines: list[str]
    models: list[tuple[Candidate, dict]]


def _isolated_build(setup: dict, rng, build: int, start, keep_models: bool) -> _IsolatedBuild:
    """One build, in a worker process and on one thread. What it would log, record,
    checkpoint and warn is returned instead, for the parent to replay in build order."""
    lines: list[str] = []
    models: list[tuple[Candidate, dict]] = []

    def keep(model, record):
        models.append((model, record))

    with one_thread(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        builder = Builder(
            **setup,
            rng=rng,
            log=lines.append,
            on_candidate=keep if keep_models else None,
            build=build,
        )
        result = builder.run(start, False)
    result.warnings[:0] = [(str(w.message), w.category) for w in caught]
    return _IsolatedBuild(result, builder.history, lines, models)
