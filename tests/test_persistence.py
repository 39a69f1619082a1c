"""Model files, checkpoints, resume, pickles: nothing the user saved is lost or unsafe."""

import hashlib
import io
import json
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import joblib
import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

import sklearn_neureco
from sklearn_neureco import ModelFileError, NeurEcoRegressor, _persistence

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    X = rng.uniform(-1, 1, size=(200, 3))
    Y = np.c_[np.sin(2 * X[:, 0]) + X[:, 1] ** 2, X[:, 2] * X[:, 0]]
    return X, Y


@pytest.fixture(scope="module")
def fitted(data, tmp_path_factory):
    X, Y = data
    checkpoint = tmp_path_factory.mktemp("ck") / "build.checkpoint"
    model = NeurEcoRegressor(random_state=0, checkpoint_address=str(checkpoint)).fit(X, Y)
    return model, checkpoint


def assert_same_model(a, b, X):
    assert np.array_equal(a.predict(X), b.predict(X))
    assert a.layer_sizes_ == b.layer_sizes_
    assert np.array_equal(a.get_weights(), b.get_weights())
    py = np.ones_like(a.predict(X))
    for ga, gb in zip(a.gradient(None, X, py), b.gradient(None, X, py), strict=True):
        assert np.array_equal(ga, gb)


def test_save_load_round_trip(fitted, data, tmp_path):
    model, _ = fitted
    X, _ = data
    path = model.save(tmp_path / "new" / "folders" / "model.ednn")
    assert path.is_file()
    loaded = NeurEcoRegressor.load(path)
    assert_same_model(model, loaded, X)
    # everything but the checkpoint path: a file carries no path of its author's machine
    assert loaded.get_params() == model.get_params() | {"checkpoint_address": None}
    assert model.checkpoint_address is not None
    assert str(model.checkpoint_address).encode() not in path.read_bytes()
    assert loaded.history_ == model.history_
    assert sklearn_neureco.load(path).n_outputs_ == 2
    assert not list(path.parent.glob(".*.tmp"))  # no temporary file left behind


def test_round_trip_keeps_feature_names_and_1d_target(tmp_path):
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(60, 2)), columns=["speed", "load"])
    model = NeurEcoRegressor(random_state=0).fit(X, X["speed"] * 2 + 1)
    loaded = NeurEcoRegressor.load(model.save(tmp_path / "m"))
    assert list(loaded.feature_names_in_) == ["speed", "load"]
    assert loaded.predict(X).shape == (60,)
    assert np.array_equal(loaded.predict(X), model.predict(X))


def test_saved_file_gets_ordinary_permissions(fitted, tmp_path):
    model, _ = fitted
    old = os.umask(0o022)
    try:
        path = model.save(tmp_path / "new.ednn")
        assert path.stat().st_mode & 0o777 == 0o644
        path.chmod(0o640)
        model.save(path)  # replacing keeps the mode the user gave the file
        assert path.stat().st_mode & 0o777 == 0o640
    finally:
        os.umask(old)


def test_save_unfitted_raises(tmp_path):
    with pytest.raises(NotFittedError):
        NeurEcoRegressor().save(tmp_path / "m")


def test_failed_save_leaves_previous_file_intact(fitted, tmp_path, monkeypatch):
    model, _ = fitted
    path = model.save(tmp_path / "model.ednn")
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(_persistence.os, "replace", crash)
    other = NeurEcoRegressor.load(path)
    other.set_weights(other.get_weights() * 0)
    with pytest.raises(OSError, match="disk full"):
        other.save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.ednn"]


@pytest.fixture
def saved(fitted, tmp_path):
    return fitted[0].save(tmp_path / "model.ednn")


def test_truncated_file_is_rejected(saved):
    data = saved.read_bytes()
    for size in (0, 10, len(data) // 2, len(data) - 1):
        saved.write_bytes(data[:size])
        with pytest.raises(ModelFileError):
            NeurEcoRegressor.load(saved)


HEADER_SIZE = len(_persistence.MAGIC) + 2 + _persistence._HEADER_V2.size


def split(path):
    """(header, payload arrays, checksum) of an untagged model file."""
    data = path.read_bytes()
    with np.load(io.BytesIO(data[HEADER_SIZE:-32]), allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    return data[:HEADER_SIZE], arrays, data[-32:]


def join(arrays, version=2, digest=None):
    """A model file holding ``arrays``, with a valid checksum unless ``digest`` is given."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    body = _persistence.MAGIC + version.to_bytes(2, "little")
    if version == 1:
        body += buffer.tell().to_bytes(8, "little")
    else:
        body += _persistence._HEADER_V2.pack(0, buffer.tell())
    body += buffer.getvalue()
    return body + (hashlib.sha256(body).digest() if digest is None else digest)


def test_files_of_format_1_still_load(saved, fitted, data):
    _, arrays, _ = split(saved)
    saved.write_bytes(join(arrays, version=1))
    assert_same_model(fitted[0], NeurEcoRegressor.load(saved), data[0])


def test_tampered_weights_fail_the_checksum(saved):
    _, arrays, digest = split(saved)
    arrays["m0.weights"] = arrays["m0.weights"] + 1e-12
    saved.write_bytes(join(arrays, digest=digest))
    with pytest.raises(ModelFileError, match="checksum"):
        NeurEcoRegressor.load(saved)


def test_newer_format_is_refused_clearly(saved):
    _, arrays, _ = split(saved)
    saved.write_bytes(join(arrays, version=99))
    with pytest.raises(ModelFileError, match="format version 99"):
        NeurEcoRegressor.load(saved)


def test_valid_container_of_another_kind_is_rejected(saved):
    _, arrays, _ = split(saved)
    meta = json.loads(arrays["meta"].tobytes())
    saved.write_bytes(join({"meta": np.frombuffer(b"[1, 2]", dtype=np.uint8)}))
    with pytest.raises(ModelFileError):
        NeurEcoRegressor.load(saved)
    del arrays["m0.weights"]
    saved.write_bytes(join(arrays))
    with pytest.raises(ModelFileError, match="inconsistent"):
        NeurEcoRegressor.load(saved)
    meta["models"][0]["layer_sizes"] = [3, 7, 2]
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    saved.write_bytes(join(arrays))
    with pytest.raises(ModelFileError):
        NeurEcoRegressor.load(saved)


def test_corrupted_bytes_anywhere_are_rejected(saved):
    data = saved.read_bytes()
    for position in range(len(data)):
        damaged = bytearray(data)
        damaged[position] ^= 0x01
        saved.write_bytes(bytes(damaged))
        with pytest.raises(ModelFileError):
            NeurEcoRegressor.load(saved)


def test_foreign_files_are_rejected(tmp_path):
    text = tmp_path / "notes.ednn"
    text.write_text("hello")
    zipped = tmp_path / "archive.ednn"
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("readme.txt", "not a model")
    npz = tmp_path / "arrays.npz"
    np.savez(npz, a=np.arange(3))
    for path in (text, zipped, npz):
        with pytest.raises(ModelFileError):
            NeurEcoRegressor.load(path)
    with pytest.raises(ModelFileError, match="folder"):
        NeurEcoRegressor.load(tmp_path)
    with pytest.raises(FileNotFoundError):
        NeurEcoRegressor.load(tmp_path / "missing")


class _Payload:
    """Unpickling this would create a marker file: a load must never run it."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def test_pickle_renamed_as_model_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    for dumper in (pickle.dump, joblib.dump):
        path = tmp_path / f"{dumper.__module__}.ednn"
        if dumper is pickle.dump:
            with open(path, "wb") as handle:
                pickle.dump(_Payload(marker), handle)
        else:
            joblib.dump(_Payload(marker), path)
        with pytest.raises(ModelFileError, match="pickle"):
            NeurEcoRegressor.load(path)
    # an npz holding an object array (pickled inside) is refused too
    sneaky = tmp_path / "sneaky.ednn"
    with open(sneaky, "wb") as handle:
        np.savez(handle, meta=np.array([_Payload(marker)], dtype=object))
    with pytest.raises(ModelFileError):
        NeurEcoRegressor.load(sneaky)
    assert not marker.exists()


def test_checkpoint_holds_the_build_sequence(fitted, data):
    model, checkpoint = fitted
    X, _ = data
    final = NeurEcoRegressor.load(checkpoint)
    assert_same_model(model, final, X)  # once finished, the default is the final model
    steps = [entry["step"] for entry in model.history_]
    first = NeurEcoRegressor.load(checkpoint, model_number=0)
    assert first.layer_sizes_ == (3, 2) and steps[0] == "linear"
    last = NeurEcoRegressor.load(checkpoint, model_number=-1)
    assert_same_model(model, last, X)
    for number in range(len(steps)):
        candidate = NeurEcoRegressor.load(checkpoint, model_number=number)
        assert candidate.history_[-1] == model.history_[number]
        assert candidate.history_ == model.history_[: number + 1]
    with pytest.raises(ValueError, match="model_number"):
        NeurEcoRegressor.load(checkpoint, model_number=len(steps))


def test_resume_with_frozen_structure(fitted, data):
    model, checkpoint = fitted
    X, Y = data
    start = NeurEcoRegressor.load(checkpoint, model_number=2)
    resumed = NeurEcoRegressor(random_state=0).fit(X, Y, init_model=start, freeze_structure=True)
    assert resumed.layer_sizes_ == start.layer_sizes_
    for key, mask in start.link_masks_.items():
        assert np.array_equal(resumed.link_masks_[key], mask)
    assert resumed.history_[0]["step"] == "resume"
    assert resumed.history_[0]["valid_rmse"] <= start.history_[-1]["valid_rmse"] * 1.01
    assert np.array_equal(resumed.input_scale_, start.input_scale_)


def test_resume_and_grow(fitted, data):
    _, checkpoint = fitted
    X, Y = data
    start = NeurEcoRegressor.load(checkpoint, model_number=1)
    resumed = NeurEcoRegressor(random_state=0).fit(X, Y, init_model=start)
    steps = [entry["step"] for entry in resumed.history_]
    assert steps[0] == "resume" and "layer1" in steps
    rmse = np.sqrt(np.mean((resumed.predict(X) - Y) ** 2))
    assert rmse < 0.01


def test_resume_rejects_bad_init_model(data):
    X, Y = data
    with pytest.raises(TypeError, match="init_model"):
        NeurEcoRegressor().fit(X, Y, init_model="model.ednn")
    with pytest.raises(ValueError, match="init_model"):
        small = NeurEcoRegressor(random_state=0).fit(X[:, :2], Y)
        NeurEcoRegressor().fit(X, Y, init_model=small)
    with pytest.raises(ValueError, match="freeze_structure"):
        NeurEcoRegressor().fit(X, Y, freeze_structure=True)


def run_python(code: str, **kwargs):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], env=env, **kwargs)


def test_file_written_by_one_process_is_read_by_another(tmp_path):
    child = run_python(
        f"""
        import numpy as np
        from sklearn_neureco import NeurEcoRegressor
        rng = np.random.default_rng(5)
        X = rng.uniform(-1, 1, size=(150, 4))
        model = NeurEcoRegressor(random_state=1).fit(X, np.cos(X[:, 0]) * X[:, 1])
        model.save({str(tmp_path / "model.ednn")!r})
        np.save({str(tmp_path / "X.npy")!r}, X)
        np.save({str(tmp_path / "pred.npy")!r}, model.predict(X))
        """
    )
    assert child.wait(timeout=300) == 0
    model = NeurEcoRegressor.load(tmp_path / "model.ednn")
    X = np.load(tmp_path / "X.npy")
    assert np.array_equal(model.predict(X), np.load(tmp_path / "pred.npy"))


def test_build_killed_midway_leaves_a_loadable_checkpoint(tmp_path):
    checkpoint = tmp_path / "killed" / "build.checkpoint"
    # each checkpoint write is followed by a pause, so the kill lands mid-build
    child = run_python(
        f"""
        import time
        import numpy as np
        from sklearn_neureco import NeurEcoRegressor, _engine
        write = _engine.CheckpointWriter.__call__
        def slow(self, *args):
            write(self, *args)
            time.sleep(0.3)
        _engine.CheckpointWriter.__call__ = slow
        rng = np.random.default_rng(0)
        X = rng.uniform(-1, 1, size=(400, 4))
        y = np.sin(3 * X[:, 0]) * X[:, 1] + X[:, 2] ** 2
        NeurEcoRegressor(random_state=0, checkpoint_address={str(checkpoint)!r}).fit(X, y)
        print("finished")
        """,
        stdout=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    count = 0
    while time.monotonic() < deadline and child.poll() is None:
        if checkpoint.exists():
            count = NeurEcoRegressor.load(checkpoint, model_number=-1).history_.__len__()
            if count >= 3:
                break
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL, "the build ended before it could be killed"
    model = NeurEcoRegressor.load(checkpoint)
    X = np.random.default_rng(1).uniform(-1, 1, size=(20, 4))
    assert np.all(np.isfinite(model.predict(X)))
    assert NeurEcoRegressor.load(checkpoint, model_number=0).layer_sizes_ == (4, 1)
    # and a new build can start from it
    y = np.sin(3 * X[:, 0]) * X[:, 1] + X[:, 2] ** 2
    resumed = NeurEcoRegressor(random_state=0).fit(X, y, init_model=model, freeze_structure=True)
    assert resumed.layer_sizes_ == model.layer_sizes_


def test_pickle_carries_version_and_format(fitted, data):
    model, _ = fitted
    X, _ = data
    state = model.__getstate__()
    assert state["_neureco_version"] == sklearn_neureco.__version__
    assert state["_neureco_state_format"] == 2
    blob = pickle.dumps(model)
    assert_same_model(model, pickle.loads(blob), X)

    newer = dict(state, _neureco_state_format=3)
    with pytest.raises(ValueError, match="state format 3"):
        NeurEcoRegressor.__new__(NeurEcoRegressor).__setstate__(newer)
    older = dict(state, _neureco_version="0.0.1")
    clone = NeurEcoRegressor.__new__(NeurEcoRegressor)
    with pytest.warns(UserWarning, match="0.0.1"):
        clone.__setstate__(older)
    assert np.array_equal(clone.predict(X), model.predict(X))


def test_pickles_of_state_format_1_still_load(fitted, data):
    """Format 1 held the fitted attributes one by one, as version 0.1.0 pickled them."""
    model, _ = fitted
    X, _ = data
    fitted_state = model.state_
    old = {key: value for key, value in model.__getstate__().items() if key != "state_"}
    old.update(
        _neureco_state_format=1,
        layer_sizes_=model.layer_sizes_,
        link_masks_=model.link_masks_,
        weights_=model.weights_,
        input_shift_=fitted_state.input_shift,
        input_scale_=fitted_state.input_scale,
        output_shift_=fitted_state.output_shift,
        output_scale_=fitted_state.output_scale,
        beta_reg_=model.beta_reg_,
        history_=model.history_,
        n_outputs_=model.n_outputs_,
        _output_1d=False,
    )
    clone = NeurEcoRegressor.__new__(NeurEcoRegressor)
    clone.__setstate__(old)
    assert_same_model(model, clone, X)
    assert clone.history_ == model.history_
