"""The package tried as an attacker and a careless user would: crafted model files, special
paths, wide data, duplicated rows, extreme magnitudes."""

import copy
import hashlib
import io
import json
import os
import stat
import subprocess
import sys
import threading
import tracemalloc
import warnings
import zipfile

import numpy as np
import pytest
from sklearn.linear_model import LassoCV

import sklearn_neureco
from sklearn_neureco import ModelFileError, NeurEcoRegressor, Tabular, _persistence
from sklearn_neureco._architecture import BuildConfig
from sklearn_neureco._rows import input_groups, merge_duplicate_rows, split_validation
from tests._helpers import smooth_function

# ----------------------------------------------------------------------------- helpers
HEADER_SIZE = len(_persistence.MAGIC) + 2 + _persistence._HEADER_V2.size


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    X = rng.uniform(-1, 1, size=(150, 3))
    return X, smooth_function(X, n_outputs=2)


@pytest.fixture(scope="module")
def fitted(data):
    return NeurEcoRegressor(random_state=0).fit(*data)


@pytest.fixture
def saved(fitted, tmp_path):
    return fitted.save(tmp_path / "model.ednn")


def members(path):
    """The payload of an untagged model file: {name: raw .npy bytes}, and its meta."""
    data = path.read_bytes()
    with zipfile.ZipFile(io.BytesIO(data[HEADER_SIZE:-32])) as archive:
        raw = {info.filename[:-4]: archive.read(info) for info in archive.infolist()}
    meta = json.loads(np.load(io.BytesIO(raw["meta"])).tobytes())
    return raw, meta


def npy(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array))
    return buffer.getvalue()


def forge(path, raw, meta=None, *, compress=False):
    """Rewrite ``path`` with these members and a valid checksum, as an attacker can."""
    raw = dict(raw)
    if meta is not None:
        raw["meta"] = npy(np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))
    buffer = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, content in raw.items():
            archive.writestr(name + ".npy", content)
    body = _persistence.MAGIC + (2).to_bytes(2, "little")
    body += _persistence._HEADER_V2.pack(0, buffer.tell()) + buffer.getvalue()
    path.write_bytes(body + hashlib.sha256(body).digest())


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


# ------------------------------------------------------------- 1. special save targets
@pytest.fixture
def device(tmp_path):
    """A character device like /dev/null, made in a test folder: if the package ever
    replaced it again, the machine's own /dev/null would be safe."""
    path = tmp_path / "null"
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("making a device node needs root")
    return path


def test_saving_onto_a_device_is_refused_and_leaves_it(fitted, data, device):
    before = os.stat(device)
    with pytest.raises(ValueError, match="character device"):
        fitted.save(device)
    model = copy.deepcopy(fitted).set_params(checkpoint_address=str(device))
    weights = model.get_weights()
    with pytest.raises(ValueError, match="checkpoint_address.*character device"):
        model.fit(*data)
    after = os.stat(device)
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev
    assert np.array_equal(model.get_weights(), weights)  # the fitted model as it was


def test_saving_onto_a_fifo_or_a_folder_is_refused(fitted, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="FIFO"):
        fitted.save(fifo)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    (tmp_path / "folder").mkdir()
    for target in (tmp_path / "folder", "."):
        with pytest.raises(ValueError, match="folder"):
            fitted.save(target)
    with pytest.raises(ValueError, match="must not be empty"):
        fitted.save("")
    with pytest.raises(TypeError, match="path"):
        fitted.save(None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder", "pipe"]


def test_saving_through_a_link_replaces_the_link_not_its_target(fitted, tmp_path):
    target = tmp_path / "real.ednn"
    target.write_bytes(b"the user's file")
    link = tmp_path / "link.ednn"
    link.symlink_to(target)
    fitted.save(link)
    assert target.read_bytes() == b"the user's file"
    assert not link.is_symlink() and NeurEcoRegressor.load(link).n_outputs_ == 2


def test_saving_over_a_setuid_file_keeps_only_permission_bits(fitted, tmp_path):
    target = tmp_path / "tool"
    target.write_bytes(b"#!/bin/sh\n")
    target.chmod(0o6755 | stat.S_ISVTX)
    link = tmp_path / "link"
    link.symlink_to(target)
    for path in (link, target):
        fitted.save(path)
        assert stat.S_IMODE(path.stat().st_mode) == 0o755


def test_orphaned_temporaries_of_killed_saves_are_cleaned_up(fitted, tmp_path):
    path = tmp_path / "model.ednn"
    orphan = tmp_path / f".model.ednn.{dead_pid()}.x1y2z3.neureco.tmp"
    live = tmp_path / ".model.ednn.1.a1b2c3.neureco.tmp"  # pid 1 runs: a save under way
    other = tmp_path / ".notes.txt.12345.abc.neureco.tmp"  # another target's
    for p in (orphan, live, other):
        p.write_bytes(b"partial")
    fitted.save(path)
    assert not orphan.exists() and live.exists() and other.exists()
    assert NeurEcoRegressor.load(path).n_outputs_ == 2


# ----------------------------------------------------------------- 2. wide data
def test_wide_data_keep_a_validation_set():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 2000))
    train, valid = split_validation(x, 33.33, rng)
    assert len(valid) == 100 and len(train) == 200
    # rows holding the most extremes stay in training
    counts = np.bincount(np.r_[x.argmin(axis=0), x.argmax(axis=0)], minlength=300)
    assert counts[train].min() >= counts[valid].max()


def test_wide_data_get_a_sparse_accurate_model():
    rng = np.random.default_rng(1)

    def make(n):
        X = rng.normal(size=(n, 1000))
        return X, 3 * X[:, 0] - 2 * X[:, 1] + 1.5 * X[:, 2] + X[:, 3] - X[:, 4]

    X, y = make(200)
    y_noisy = y + 0.5 * rng.normal(size=len(y))
    X_test, y_test = make(2000)
    model = NeurEcoRegressor(random_state=0).fit(X, y_noisy)
    connected = np.flatnonzero(model.connected_inputs_)
    assert set(range(5)) <= set(connected) and len(connected) <= 10
    assert any(r["valid_rmse"] != r["train_rmse"] for r in model.history_)
    rmse = np.sqrt(np.mean((model.predict(X_test) - y_test) ** 2))
    lasso = LassoCV().fit(X, y_noisy)
    lasso_rmse = np.sqrt(np.mean((lasso.predict(X_test) - y_test) ** 2))
    assert rmse < 0.1 * y_test.std() and rmse < lasso_rmse


def test_wide_data_with_an_even_effect_keep_that_input():
    rng = np.random.default_rng(2)
    X = rng.uniform(-1, 1, size=(300, 400))
    y = X[:, 0] + 2 * X[:, 1] ** 2  # input 1 has no linear effect
    model = NeurEcoRegressor(random_state=0).fit(X, y)
    assert set(np.flatnonzero(model.connected_inputs_)) == {0, 1}


def test_narrow_data_are_not_screened():
    from sklearn_neureco._input_selection import is_wide

    ratio = BuildConfig().wide_ratio
    assert not is_wide(10, 667, ratio) and is_wide(70, 667, ratio) and is_wide(2000, 200, ratio)


# ------------------------------------------------------------------ 3. duplicate rows
def test_weight_two_and_a_repeated_row_give_the_same_model():
    rng = np.random.default_rng(3)
    X = rng.uniform(-1, 1, size=(120, 2))
    y = np.sin(2 * X[:, 0]) * X[:, 1]
    weights = rng.integers(0, 4, size=120)
    repeated = NeurEcoRegressor(random_state=0).fit(X.repeat(weights, axis=0), y.repeat(weights))
    order = rng.permutation(120)
    weighted = NeurEcoRegressor(random_state=0).fit(X[order], y[order], weights[order])
    assert np.array_equal(repeated.get_weights(), weighted.get_weights())
    assert np.array_equal(repeated.predict(X), weighted.predict(X))


def test_row_order_does_not_change_the_model(smooth_data):
    X, y = smooth_data
    order = np.random.default_rng(4).permutation(len(X))
    a = NeurEcoRegressor(random_state=0).fit(X, y)
    b = NeurEcoRegressor(random_state=0).fit(X[order], y[order])
    assert np.array_equal(a.get_weights(), b.get_weights())


def test_identical_inputs_never_straddle_training_and_validation():
    rng = np.random.default_rng(5)
    X = np.repeat(rng.uniform(size=(100, 2)), 3, axis=0)  # each input measured 3 times
    y = X[:, 0] + rng.normal(scale=0.1, size=len(X))
    x, Y, sw = merge_duplicate_rows(X, y[:, None], np.ones(len(X)))
    assert len(x) == 300 and np.all(sw == 1)  # different targets: no row merged
    train, valid = split_validation(x, 33.33, rng, groups=input_groups(x))
    assert 90 <= len(valid) <= 105
    seen = {tuple(r) for r in x[train]}
    assert not any(tuple(r) in seen for r in x[valid])


def test_merging_sums_the_weights_of_equal_rows():
    X = np.array([[1.0, 2.0], [0.0, 1.0], [1.0, 2.0], [1.0, 2.0], [5.0, 5.0]])
    y = np.array([[3.0], [1.0], [3.0], [4.0], [0.0]])
    x, Y, sw = merge_duplicate_rows(X, y, np.array([1.0, 2.0, 0.5, 1.0, 0.0]))
    assert x.tolist() == [[0, 1], [1, 2], [1, 2]] and Y.ravel().tolist() == [1, 3, 4]
    assert sw.tolist() == [2.0, 1.5, 1.0]  # the zero-weight row is gone


# --------------------------------------------------------- 4. crafted model files
def test_a_stored_path_never_comes_back(saved, tmp_path):
    raw, meta = members(saved)
    target = tmp_path / "victim.txt"
    target.write_text("keep me")
    meta["estimator"]["params"]["checkpoint_address"] = str(target)
    forge(saved, raw, meta)
    model = NeurEcoRegressor.load(saved)
    assert model.checkpoint_address is None
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(50, 3))
    model.fit(X, smooth_function(X, n_outputs=2))  # a refit by the recipient
    assert target.read_text() == "keep me"


def _set(meta, path, value):
    node = meta
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


META_EDITS = {
    "best out of range": (("best",), 5),
    "best a bool": (("best",), True),
    "best a string": (("best",), "0"),
    "params a list": (("estimator", "params"), [["n_init", 1]]),
    "param of the wrong type": (("estimator", "params", "n_init"), "many"),
    "param out of range": (("estimator", "params", "valid_percentage"), 99.0),
    "param a mapping": (("estimator", "params", "verbose"), {"a": 1}),
    "n_features_in a float": (("estimator", "n_features_in"), 3.0),
    "n_outputs negative": (("estimator", "n_outputs"), -2),
    "output_1d with two outputs": (("estimator", "output_1d"), True),
    "feature names too few": (("estimator", "feature_names"), ["a"]),
    "history not a list": (("estimator", "history"), {"a": 1}),
    "history record nested": (("estimator", "history"), [{"a": {"b": 1}}]),
    "models empty": (("models",), []),
    "models a mapping": (("models",), {"0": 1}),
    "layer sizes of zero": (("models", 0, "layer_sizes"), [3, 0, 2]),
    "layer sizes too many": (("models", 0, "layer_sizes"), [3] * 40 + [2]),
    "layer sizes huge": (("models", 0, "layer_sizes"), [3, 10**12, 2]),
    "layer sizes of another network": (("models", 0, "layer_sizes"), [4, 9, 2]),
    "a link backwards": (("models", 0, "links"), [[0, 1]]),
    "a link repeated": (("models", 0, "links"), [[2, 1], [2, 1]]),
    "beta negative": (("models", 0, "beta_reg"), -1.0),
    "beta a string": (("models", 0, "beta_reg"), "0.1"),
    "kind unknown": (("kind",), "virus"),
    "class another estimator": (("estimator", "class"), "NeurEcoClassifier"),
    "class a number": (("estimator", "class"), 3),
    "classes a mapping": (("estimator", "classes"), {"a": 1}),
    "an integer too long": (("best",), 0),  # written as 5,000 digits below
}


@pytest.mark.parametrize("edit", sorted(META_EDITS))
def test_malformed_meta_is_a_model_file_error(saved, edit):
    raw, meta = members(saved)
    path, value = META_EDITS[edit]
    _set(meta, path, value)
    if edit == "an integer too long":  # json.dumps refuses to write it: written by hand
        text = json.dumps(meta).replace('"best": 0', '"best": ' + "9" * 5000)
        raw["meta"] = npy(np.frombuffer(text.encode(), dtype=np.uint8))
        forge(saved, raw)
    else:
        forge(saved, raw, meta)
    with pytest.raises(ModelFileError):
        NeurEcoRegressor.load(saved)


def test_a_file_says_which_estimator_it_holds(saved):
    raw, meta = members(saved)
    assert meta["estimator"]["class"] == "NeurEcoRegressor"
    assert type(sklearn_neureco.load(saved)) is NeurEcoRegressor
    meta["estimator"]["class"] = "NeurEcoClassifier"
    forge(saved, raw, meta)
    with pytest.raises(ModelFileError, match="holds a NeurEcoClassifier, not a NeurEcoRegressor"):
        NeurEcoRegressor.load(saved)
    with pytest.raises(ModelFileError, match="at least 2 distinct classes"):
        sklearn_neureco.load(saved)  # a regressor's content under a classifier's name
    meta["estimator"]["class"] = "NeurEcoTranslator"
    forge(saved, raw, meta)
    with pytest.raises(ModelFileError, match="does not know"):
        sklearn_neureco.load(saved)
    meta["estimator"]["class"] = "NeurEcoRegressor"
    meta["estimator"]["classes"] = [0, 1]
    forge(saved, raw, meta)
    with pytest.raises(ModelFileError, match="no classes"):
        NeurEcoRegressor.load(saved)


def test_absurd_nesting_is_a_model_file_error(saved):
    raw, meta = members(saved)
    deep = "[" * 100_000 + "]" * 100_000
    text = json.dumps(meta).replace('"history": [', '"history": [' + deep + ",")
    raw["meta"] = npy(np.frombuffer(text.encode(), dtype=np.uint8))
    forge(saved, raw)
    with pytest.raises(ModelFileError):
        NeurEcoRegressor.load(saved)


def _array(raw, name):
    return np.load(io.BytesIO(raw[name]))


def _first_mask(raw):
    return next(name for name in raw if name.startswith("m0.mask."))


def _huge_shape(raw):
    header = raw["m0.weights"].replace(b"'shape': (", b"'shape': (10000000000000, ", 1)
    return {"m0.weights": header}


ARRAY_EDITS = {
    "NaN weight": lambda raw: {"m0.weights": npy(np.r_[np.nan, _array(raw, "m0.weights")[1:]])},
    "infinite weight": lambda raw: {
        "m0.weights": npy(np.r_[np.inf, _array(raw, "m0.weights")[1:]])
    },
    "weights too few": lambda raw: {"m0.weights": npy(_array(raw, "m0.weights")[1:])},
    "weights as float32": lambda raw: {
        "m0.weights": npy(_array(raw, "m0.weights").astype(np.float32))
    },
    "weights 2-D": lambda raw: {"m0.weights": npy(_array(raw, "m0.weights")[:, None])},
    "weights as objects": lambda raw: {"m0.weights": npy(np.array([1.0, "x"], dtype=object))},
    "zero scale": lambda raw: {"input_scale": npy(np.zeros(3))},
    "negative scale": lambda raw: {"output_scale": npy(-np.ones(2))},
    "NaN shift": lambda raw: {"input_shift": npy(np.full(3, np.nan))},
    "shift of the wrong length": lambda raw: {"input_shift": npy(np.zeros(4))},
    "mask of integers": lambda raw: {
        _first_mask(raw): npy(_array(raw, _first_mask(raw)).astype(int))
    },
    "mask of the wrong shape": lambda raw: {_first_mask(raw): npy(np.ones((1, 1), dtype=bool))},
    "an unknown array": lambda raw: {"payload": npy(np.zeros(10))},
    "a missing array": lambda raw: {"output_scale": None},
    "a huge declared shape": _huge_shape,
}


@pytest.mark.parametrize("edit", sorted(ARRAY_EDITS))
def test_malformed_arrays_are_a_model_file_error(saved, edit):
    raw, meta = members(saved)
    for name, content in ARRAY_EDITS[edit](raw).items():
        if content is None:
            del raw[name]
        else:
            raw[name] = content
    forge(saved, raw)
    with pytest.raises(ModelFileError):
        NeurEcoRegressor.load(saved)


def test_a_compressed_payload_cannot_make_the_loader_eat_memory(saved):
    raw, _ = members(saved)
    raw["m0.weights"] = npy(np.zeros(20_000_000))  # 160 MB that deflate to ~150 KB
    forge(saved, raw, compress=True)
    assert saved.stat().st_size < 1_000_000
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match="compressed"):
            NeurEcoRegressor.load(saved)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 10 * saved.stat().st_size


def test_special_files_are_refused_without_reading_them(tmp_path):
    if os.path.exists("/dev/zero"):  # reading it would never end
        with pytest.raises(ModelFileError, match="character device"):
            NeurEcoRegressor.load("/dev/zero")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    outcome = []
    reader = threading.Thread(target=lambda: outcome.append(_load_error(fifo)), daemon=True)
    reader.start()
    reader.join(timeout=10)
    assert outcome == [ModelFileError], "loading a FIFO hung or did not refuse it"


def _load_error(path):
    try:
        NeurEcoRegressor.load(path)
    except Exception as exc:  # noqa: BLE001 - the type is what the test checks
        return type(exc)
    return None


def test_a_declared_length_beyond_the_file_is_refused(saved):
    data = bytearray(saved.read_bytes())
    data[16:24] = (2**60).to_bytes(8, "little")
    saved.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="declares"):
        NeurEcoRegressor.load(saved)


def test_a_key_authenticates_the_author(fitted, tmp_path, data):
    X, _ = data
    path = fitted.save(tmp_path / "signed.ednn", key=b"our secret")
    loaded = NeurEcoRegressor.load(path, key="our secret")
    assert np.array_equal(loaded.predict(X), fitted.predict(X))
    assert NeurEcoRegressor.load(path).n_outputs_ == 2  # without a key: checksum only
    with pytest.raises(ModelFileError, match="authentication"):
        NeurEcoRegressor.load(path, key=b"their guess")
    # an attacker edits the weights, recomputes the checksum and drops the tag
    unsigned = tmp_path / "unsigned.ednn"
    raw, meta = members_of_tagged(path)
    raw["m0.weights"] = npy(_array(raw, "m0.weights") * 2)
    forge(unsigned, raw, meta)
    with pytest.raises(ModelFileError, match="no authentication tag"):
        NeurEcoRegressor.load(unsigned, key=b"our secret")
    # or keeps a tag but changes a byte and the checksum
    body = bytearray(path.read_bytes()[:-64])
    body[-10] ^= 1
    body += hashlib.sha256(bytes(body)).digest() + path.read_bytes()[-32:]
    path.write_bytes(bytes(body))
    with pytest.raises(ModelFileError):
        NeurEcoRegressor.load(path, key=b"our secret")
    with pytest.raises(ValueError, match="key"):
        fitted.save(tmp_path / "x", key=b"")
    with pytest.raises(TypeError, match="key"):
        fitted.save(tmp_path / "x", key=123)


def members_of_tagged(path):
    data = path.read_bytes()
    with zipfile.ZipFile(io.BytesIO(data[HEADER_SIZE:-64])) as archive:
        raw = {info.filename[:-4]: archive.read(info) for info in archive.infolist()}
    return raw, json.loads(np.load(io.BytesIO(raw["meta"])).tobytes())


def test_model_number_must_be_an_integer(saved):
    for bad in (True, 1.0, "1"):
        with pytest.raises(TypeError, match="model_number"):
            NeurEcoRegressor.load(saved, model_number=bad)


# ------------------------------------------------------------------- 7. smaller items
@pytest.mark.parametrize("name", ["w", "dw", "dx", "py"])
def test_complex_arguments_are_refused(fitted, data, name):
    X, _ = data
    w = fitted.get_weights()
    args = {"w": w, "dw": w, "dx": X, "py": np.ones((len(X), 2))}
    args[name] = args[name] + 1e-3j
    with pytest.raises(TypeError, match=f"{name} must hold real numbers"):
        if name == "py":
            fitted.gradient(args["w"], X, args["py"])
        else:
            fitted.forward_derivative(args["w"], args["dw"], X, args["dx"])


def test_py_none_and_string_targets_are_named(fitted, data):
    X, Y = data
    with pytest.raises(TypeError, match="py must be an array of numbers, got None"):
        fitted.gradient(None, X, None)
    model = copy.deepcopy(fitted)
    with pytest.raises(ValueError, match="y must hold numbers"):
        model.fit(X, np.array(["1.5"] * len(X)))
    with pytest.raises(ValueError, match="y_val must hold numbers"):
        model.fit(X, Y, X_val=X[:5], y_val=np.array([["a", "b"]] * 5))
    assert np.array_equal(model.get_weights(), fitted.get_weights())


def test_parallel_builds_start_no_more_processes_than_builds(monkeypatch, data):
    from sklearn_neureco import _engine

    asked = []
    real = _engine.Parallel

    def spy(*args, **kwargs):
        asked.append(kwargs["n_jobs"])
        return real(*args, **kwargs)

    monkeypatch.setattr(_engine, "Parallel", spy)
    X, Y = data
    NeurEcoRegressor(random_state=0, n_init=2, n_jobs=8).fit(X[:60], Y[:60])
    assert asked == [2]


def test_auto_normalisation_does_not_depend_on_the_unit():
    rng = np.random.default_rng(6)
    X = rng.uniform(0.5, 2.0, size=(200, 2))
    y = np.log(X[:, 0]) * X[:, 1]
    base = NeurEcoRegressor(random_state=0).fit(X, y)
    for x_unit, y_unit in ((2.0**40, 2.0**-30), (2.0**900, 2.0**-900), (2.0**-1000, 2.0**1000)):
        scaled = NeurEcoRegressor(random_state=0).fit(X * x_unit, y * y_unit)
        assert np.array_equal(scaled.get_weights(), base.get_weights())
        predicted = scaled.predict(X * x_unit)
        if np.abs(np.log2(x_unit / y_unit)) < 200:
            # the normalisation folded into the weights alike (FittedState.fold)
            assert np.array_equal(predicted, base.predict(X) * y_unit)
        else:
            # there some folded weights would leave float64's range: predictions on many
            # rows normalise instead (other rounding); on a few rows they always do
            assert scaled.state_.fold(scaled.state_.weights)[0] is None
            np.testing.assert_allclose(
                predicted, base.predict(X) * y_unit, rtol=0, atol=1e-13 * y_unit
            )
            assert np.array_equal(scaled.predict(X[:5] * x_unit), base.predict(X[:5]) * y_unit)
    # any unit, not only powers of two: the network sees the same data to rounding...
    scaled = NeurEcoRegressor(random_state=0).fit(X * 1e300, y * 1e-300)
    state, base_state = scaled.state_, base.state_
    seen = (X * 1e300 - state.input_shift) / state.input_scale
    base_seen = (X - base_state.input_shift) / base_state.input_scale
    np.testing.assert_allclose(seen, base_seen, rtol=0, atol=1e-14)
    seen_y = (y * 1e-300 - state.output_shift) / state.output_scale
    base_seen_y = (y - base_state.output_shift) / base_state.output_scale
    np.testing.assert_allclose(seen_y, base_seen_y, rtol=0, atol=1e-14)
    # ...but rounding sends the search down another path (how far depends on the BLAS
    # build), so its model need only be as accurate as a build with another seed
    error = np.sqrt(np.mean((scaled.predict(X * 1e300) * 1e300 - y) ** 2))
    others = [NeurEcoRegressor(random_state=seed).fit(X, y) for seed in (1, 2, 3)]
    seed_errors = [np.sqrt(np.mean((model.predict(X) - y) ** 2)) for model in [base, *others]]
    assert error < 1.5 * max(seed_errors)


def test_tabular_save_reports_failure_as_a_status(fitted, tmp_path):
    model = Tabular.Regressor()
    model.model = fitted
    for bad in (None, 5, "", "."):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert model.save(bad) == 1
        assert any("not saved" in str(w.message) for w in caught)
    assert list(tmp_path.iterdir()) == []


def test_tabular_validation_inputs_need_their_outputs(data):
    X, Y = data
    with pytest.raises(ValueError, match="validation_output_data"):
        Tabular.Regressor().build(X, Y, validation_input_data=X[:10])


@pytest.fixture(scope="module")
def compressor_file(tmp_path_factory):
    from sklearn_neureco import NeurEcoCompressor

    t = np.random.default_rng(0).uniform(0, 3, 200)
    X = np.c_[np.cos(t), np.sin(t), t**2 / 9]
    path = tmp_path_factory.mktemp("compressor") / "compressor.ednn"
    return NeurEcoCompressor(random_state=0).fit(X).save(path)


def _forged_compressor(path, tmp_path, edit):
    raw, meta = members(path)
    edit(raw, meta)
    target = tmp_path / "forged.ednn"
    forge(target, raw, meta)
    return target


@pytest.mark.parametrize(
    "edit, match",
    [
        # a lone encoder: its decoder is missing
        (lambda raw, meta: meta["models"].pop(), "come in pairs"),
        (lambda raw, meta: meta.update(best=1), "best must point at an encoder"),
        # an encoder of more coefficients than the data have columns
        (
            lambda raw, meta: (
                [meta["models"][0]["layer_sizes"].__setitem__(-1, 4)]
                + [meta["models"][1]["layer_sizes"].__setitem__(0, 4)]
            ),
            "more coefficients than inputs",
        ),
        # a decoder that does not take the encoder's coefficients
        (
            lambda raw, meta: meta["models"][1]["layer_sizes"].__setitem__(0, 2),
            "inputs and .* outputs",
        ),
        (lambda raw, meta: raw.pop("m1.weights"), "lacks the arrays"),
    ],
)
def test_crafted_compressor_files_are_refused(compressor_file, tmp_path, edit, match):
    from sklearn_neureco import NeurEcoCompressor

    forged = _forged_compressor(compressor_file, tmp_path, edit)
    with pytest.raises(ModelFileError, match=match):
        NeurEcoCompressor.load(forged)
    with pytest.raises(ModelFileError):
        sklearn_neureco.load(forged)


def test_a_compressor_file_names_no_path_and_runs_nothing(compressor_file, tmp_path):
    from sklearn_neureco import NeurEcoCompressor

    def edit(raw, meta):
        meta["estimator"]["params"]["checkpoint_address"] = str(tmp_path / "victim")

    model = NeurEcoCompressor.load(_forged_compressor(compressor_file, tmp_path, edit))
    assert model.checkpoint_address is None
