"""The command line, as the reference product's builder: ``python -m sklearn_neureco``.

``build CONFIG.json`` reads the reference product's JSON build configuration and writes a
model file; ``evaluate`` applies a model file to input files; ``export`` writes an ONNX
file; ``info`` describes a model file. Errors in a configuration, a data file or a model
file are one line on stderr and exit status 2 (1 for anything unexpected).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path

import numpy as np

from ._persistence import ModelFileError

# The configuration's keys and what each must be (None: not read, but accepted).
_TOP_KEYS = {
    "exc_filenames": list,
    "output_filenames": list,
    "validation_exc_filenames": list,
    "validation_output_filenames": list,
    "write_model_to": str,
    "checkpoint_address": str,
    "starting_from_checkpoint_address": str,
    "resume": bool,
    "classification": bool,
    "input_normalization": dict,
    "output_normalization": dict,
    "DevSettings": dict,
    "UserSettings": dict,
}
_NORMALIZATION_KEYS = {"shift_type": str, "scale_type": str, "normalize_per_feature": bool}
_DEV_KEYS = {
    "valid_percentage": (int, float),
    "initial_beta_reg": (int, float),
    "links_maximum_number": int,
    "disconnect_inputs_if_possible": bool,
    "final_learning": bool,
}
_USER_KEYS = {"use_gpu": bool, "gpu_id": int}


class UsageError(Exception):
    """A bad configuration, data file or argument: reported in one line, exit status 2."""


# ------------------------------------------------------------------------ data files
def read_table(path: Path) -> np.ndarray:
    """A 2-D float array from ``.npy``, ``.mat`` (its one variable) or delimited text
    (``;``, ``,`` or blanks, at most one header line)."""
    if not path.is_file():
        raise UsageError(f"data file {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            data = np.load(path, allow_pickle=False)
        elif suffix == ".mat":
            from scipy.io import loadmat

            variables = {k: v for k, v in loadmat(path).items() if not k.startswith("__")}
            if len(variables) != 1:
                raise UsageError(
                    f"{path}: a .mat data file must hold one variable, found "
                    f"{sorted(variables) or 'none'}"
                )
            (data,) = variables.values()
        else:
            data = _read_text(path)
        data = np.asarray(data, dtype=np.float64)
    except UsageError:
        raise
    except (ValueError, OSError) as error:
        raise UsageError(f"{path}: cannot read it as a table of numbers ({error})") from None
    if data.ndim == 1:
        data = data.reshape(-1, 1)
    if data.ndim != 2 or data.size == 0:
        raise UsageError(f"{path}: expected a non-empty 2-D table, got shape {data.shape}")
    return data


def _read_text(path: Path) -> np.ndarray:
    lines = path.read_text().splitlines()
    lines = [line for line in lines if line.strip()]
    if not lines:
        raise UsageError(f"{path} is empty")
    delimiter = ";" if ";" in lines[0] else ("," if "," in lines[0] else None)

    def row(line: str) -> list[float]:
        return [float(v) for v in (line.split(delimiter) if delimiter else line.split())]

    try:
        row(lines[0])
        start = 0
    except ValueError:  # one header line
        start = 1
    try:
        rows = [row(line) for line in lines[start:]]
    except ValueError as error:
        raise UsageError(f"{path}: a row is not numbers ({error})") from None
    if len({len(r) for r in rows}) > 1:
        raise UsageError(f"{path}: rows of different lengths")
    return np.array(rows)


def read_tables(paths: list[Path]) -> np.ndarray:
    """A data set split over several files, in order (the rows are stacked)."""
    tables = [read_table(p) for p in paths]
    widths = {t.shape[1] for t in tables}
    if len(widths) > 1:
        raise UsageError(f"the files {[str(p) for p in paths]} have different numbers of columns")
    return np.vstack(tables)


def write_table(path: Path, data: np.ndarray) -> None:
    """``.npy``, or ``;``-separated text (the reference product's CSV), written whole."""
    from ._persistence import atomic_write_bytes

    if path.suffix.lower() == ".npy":
        import io

        buffer = io.BytesIO()
        np.save(buffer, data)
        atomic_write_bytes(path, buffer.getvalue())
    else:
        text = "\n".join(";".join(repr(float(v)) for v in row) for row in np.atleast_2d(data))
        atomic_write_bytes(path, (text + "\n").encode())


# --------------------------------------------------------------------- configuration
def _check_keys(section: dict, allowed: dict, where: str) -> list[str]:
    notes = []
    for key, value in section.items():
        if key not in allowed:
            notes.append(f"note: {where}{key!r} is not a key this builder reads; ignored")
            continue
        expected = allowed[key]
        types = expected if isinstance(expected, tuple) else (expected,)
        if isinstance(value, bool) and bool not in types or not isinstance(value, types):
            names = " or ".join(t.__name__ for t in types)
            raise UsageError(f"{where}{key!r} must be {names}, got {value!r}")
    return notes


def read_config(path: Path) -> tuple[dict, list[str]]:
    """The configuration as a dict (paths made absolute), and notes for the user."""
    if not path.is_file():
        raise UsageError(f"configuration file {str(path)!r} does not exist")
    try:
        config = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise UsageError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(config, dict):
        raise UsageError(f"{path} must hold a JSON object")
    notes = _check_keys(config, _TOP_KEYS, "")
    for key, allowed in (
        ("input_normalization", _NORMALIZATION_KEYS),
        ("output_normalization", _NORMALIZATION_KEYS),
        ("DevSettings", _DEV_KEYS),
        ("UserSettings", _USER_KEYS),
    ):
        notes += _check_keys(config.get(key, {}), allowed, f"{key}.")
    for key in ("exc_filenames", "output_filenames", "write_model_to"):
        if not config.get(key):
            raise UsageError(f"the configuration needs {key!r}")
    here = path.resolve().parent
    for key in _TOP_KEYS:
        value = config.get(key)
        if _TOP_KEYS[key] is list and value is not None:
            if not all(isinstance(v, str) for v in value):
                raise UsageError(f"{key!r} must be a list of file names")
            config[key] = [here / v for v in value]
        elif _TOP_KEYS[key] is str and value:
            config[key] = here / value
    if config.get("UserSettings", {}).get("use_gpu"):
        notes.append("note: no GPU support: the build runs on the CPU")
    return config, notes


def _estimator_of(config: dict):
    from ._classifier import NeurEcoClassifier
    from ._regressor import NeurEcoRegressor
    from .Tabular._base import normalisation_options

    params = {}
    for side, key in (("inputs", "input_normalization"), ("outputs", "output_normalization")):
        options = config.get(key, {})
        params.update(
            normalisation_options(
                side,
                options.get("shift_type"),
                options.get("scale_type"),
                options.get("normalize_per_feature"),
            )
        )
    params.update(config.get("DevSettings", {}))
    params["checkpoint_address"] = config.get("checkpoint_address") or None
    if config.get("classification"):
        for key in [k for k in params if k.startswith("outputs_")]:
            del params[key]  # logits are not normalised
        return NeurEcoClassifier(verbose=1, **params)
    return NeurEcoRegressor(verbose=1, **params)


def _labels(Y: np.ndarray, what: str) -> np.ndarray:
    """Class labels from one-hot rows (the reference's format) or one label column."""
    if Y.shape[1] == 1:
        return Y[:, 0]
    if not (np.isin(Y, (0.0, 1.0)).all() and (Y.sum(axis=1) == 1).all()):
        raise UsageError(f"{what}: classification outputs must be one-hot rows or one column")
    return Y.argmax(axis=1)


def build(config_path: Path) -> int:
    config, notes = read_config(config_path)
    for note in notes:
        print(note, file=sys.stderr)
    X = read_tables(config["exc_filenames"])
    Y = read_tables(config["output_filenames"])
    if len(X) != len(Y):
        raise UsageError(f"the input files hold {len(X)} rows and the output files {len(Y)}")
    X_val = Y_val = None
    if config.get("validation_exc_filenames") or config.get("validation_output_filenames"):
        if not (
            config.get("validation_exc_filenames") and config.get("validation_output_filenames")
        ):
            raise UsageError("validation_exc_filenames and validation_output_filenames go together")
        X_val = read_tables(config["validation_exc_filenames"])
        Y_val = read_tables(config["validation_output_filenames"])
    estimator = _estimator_of(config)
    init_model = None
    start = config.get("starting_from_checkpoint_address")
    if config.get("resume") and not start:
        start = config.get("checkpoint_address")
        if not start:
            raise UsageError("resume needs starting_from_checkpoint_address or checkpoint_address")
    if start:
        init_model = type(estimator).load(start)
    if config.get("classification"):
        Y = _labels(Y, "output_filenames")
        Y_val = None if Y_val is None else _labels(Y_val, "validation_output_filenames")
    try:
        estimator.fit(X, Y, X_val=X_val, y_val=Y_val, init_model=init_model)
    except (ValueError, TypeError) as error:
        raise UsageError(f"the build refused the data or the settings: {error}") from None
    estimator.save(config["write_model_to"])
    print(f"wrote {config['write_model_to']}", file=sys.stderr)
    return 0


# ------------------------------------------------------------------------ the others
def _load(path: str):
    from . import load

    return load(Path(path))


def evaluate(model_path: str, inputs: list[str], output: str) -> int:
    model = _load(model_path)
    X = read_tables([Path(p) for p in inputs])
    if X.shape[1] != model.n_features_in_:
        raise UsageError(
            f"the model takes {model.n_features_in_} inputs, the input files hold {X.shape[1]}"
        )
    # the reference's evaluate: a classifier's probabilities, a regressor's outputs
    result = model.predict_proba(X) if hasattr(model, "predict_proba") else model.predict(X)
    write_table(Path(output), np.asarray(result).reshape(len(X), -1))
    return 0


def export(model_path: str, output: str, float32: bool, jacobian: bool) -> int:
    from ._onnx import to_onnx
    from ._persistence import atomic_write_bytes

    exported = to_onnx(
        _load(model_path), dtype=np.float32 if float32 else np.float64, jacobian=jacobian
    )
    atomic_write_bytes(Path(output), exported.SerializeToString())
    return 0


def info(model_path: str) -> int:
    model = _load(model_path)
    state = model.state_
    print(f"{type(model).__name__} from {model_path}")
    print(f"layers: {list(state.network.layer_sizes)}, {state.network.n_weights} weights")
    print(f"inputs: {state.n_features_in}, connected: {int(model.connected_inputs_.sum())}")
    if state.classes is not None:
        print(f"classes: {list(state.classes)}")
    for key, value in state.normalisation.items():
        print(f"{key}: {np.array2string(np.asarray(value), precision=6)}")
    history = list(state.history)
    print(f"build history: {len(history)} records")
    for record in history:
        print(
            f"  {record.get('step', '?'):>8} {record.get('n_weights', '?'):>6} weights  "
            f"train {record.get('train_rmse', float('nan')):.4g}  "
            f"valid {record.get('valid_rmse', float('nan')):.4g}"
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sklearn_neureco",
        description="Build, evaluate, export and describe NeurEco models.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("build", help="build a model from a JSON build configuration")
    p.add_argument("config")
    p = commands.add_parser("evaluate", help="apply a model file to input files")
    p.add_argument("model")
    p.add_argument("inputs", nargs="+", help="input files (.csv, .npy, .mat), rows stacked")
    p.add_argument("-o", "--output", required=True, help=".csv (';'-separated) or .npy")
    p = commands.add_parser("export", help="write a model file as ONNX")
    p.add_argument("model")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--float32", action="store_true", help="single precision (default double)")
    p.add_argument("--jacobian", action="store_true", help="add the input Jacobian output")
    p = commands.add_parser("info", help="describe a model file")
    p.add_argument("model")
    args = parser.parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            if args.command == "build":
                return build(Path(args.config))
            if args.command == "evaluate":
                return evaluate(args.model, args.inputs, args.output)
            if args.command == "export":
                return export(args.model, args.output, args.float32, args.jacobian)
            return info(args.model)
    except (UsageError, ModelFileError, FileNotFoundError, ImportError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader stopped early (``| head``): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
