"""The command line, run as a user runs it: in subprocesses, on files."""

import json
import subprocess
import sys

import numpy as np
import pytest
from scipy.io import savemat

from sklearn_neureco import load
from tests._helpers import smooth_function


def neureco(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "sklearn_neureco", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(150, 3))
    return X, smooth_function(X, 2)


def write_config(folder, **config):
    path = folder / "build.json"
    path.write_text(json.dumps(config))
    return path


def test_build_evaluate_info_export_from_the_reference_formats(tmp_path, data):
    X, Y = data
    # inputs over three files in three formats; outputs as ';' CSV with a header line
    np.savetxt(tmp_path / "x1.csv", X[:50], delimiter=",")
    np.save(tmp_path / "x2.npy", X[50:100])
    savemat(tmp_path / "x3.mat", {"inputs": X[100:]})
    np.savetxt(tmp_path / "y.csv", Y, delimiter=";", header="a;b", comments="")
    config = write_config(
        tmp_path,
        exc_filenames=["x1.csv", "x2.npy", "x3.mat"],
        output_filenames=["y.csv"],
        write_model_to="out/model.ednn",
        checkpoint_address="out/checkpoint.ednn",
        input_normalization={
            "shift_type": "mean",
            "scale_type": "max",
            "normalize_per_feature": True,
        },
        DevSettings={"valid_percentage": 25, "final_learning": True, "links_maximum_number": 0},
        UserSettings={"use_gpu": True, "gpu_id": 0},
    )
    done = neureco("build", config, cwd="/")  # paths are relative to the configuration
    assert done.returncode == 0, done.stderr
    assert "no GPU support" in done.stderr
    progress = [line for line in done.stderr.splitlines() if line.lstrip().startswith("[")]
    model = load(tmp_path / "out" / "model.ednn")
    assert len(progress) >= len(model.history_) - 1  # a line per candidate
    assert (tmp_path / "out" / "checkpoint.ednn").is_file()
    assert model.inputs_shifting == "mean" and model.valid_percentage == 25
    assert np.sqrt(np.mean((model.predict(X) - Y) ** 2)) < 0.05

    np.savetxt(tmp_path / "new.csv", X[:20], delimiter=";")
    done = neureco(
        "evaluate", tmp_path / "out/model.ednn", tmp_path / "new.csv", "-o", tmp_path / "p.csv"
    )
    assert done.returncode == 0, done.stderr
    written = np.loadtxt(tmp_path / "p.csv", delimiter=";")
    np.testing.assert_array_equal(written, model.predict(X[:20]))

    done = neureco("info", tmp_path / "out/model.ednn")
    assert done.returncode == 0, done.stderr
    assert f"{model.n_weights_} weights" in done.stdout
    assert f"build history: {len(model.history_)} records" in done.stdout

    ort = pytest.importorskip("onnxruntime")
    onnx_path = tmp_path / "model.onnx"
    done = neureco("export", tmp_path / "out/model.ednn", "-o", onnx_path, "--jacobian")
    assert done.returncode == 0, done.stderr
    session = ort.InferenceSession(str(onnx_path))
    prediction, J = session.run(None, {"X": X[:20]})
    np.testing.assert_allclose(prediction, model.predict(X[:20]), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(J, model.jacobian(X[:20]), rtol=1e-10, atol=1e-12)


def test_classification_with_one_hot_outputs_and_validation_files(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, size=(300, 2))
    codes = (X[:, 0] + X[:, 1] ** 2 > 0.2).astype(int) + (X[:, 0] > 0.6)
    one_hot = np.eye(3)[codes]
    np.save(tmp_path / "x.npy", X[:240])
    np.save(tmp_path / "y.npy", one_hot[:240])
    np.save(tmp_path / "xv.npy", X[240:])
    np.save(tmp_path / "yv.npy", one_hot[240:])
    config = write_config(
        tmp_path,
        exc_filenames=["x.npy"],
        output_filenames=["y.npy"],
        validation_exc_filenames=["xv.npy"],
        validation_output_filenames=["yv.npy"],
        classification=True,
        write_model_to="m.ednn",
    )
    done = neureco("build", config)
    assert done.returncode == 0, done.stderr
    model = load(tmp_path / "m.ednn")
    assert type(model).__name__ == "NeurEcoClassifier"
    assert list(model.classes_) == [0, 1, 2]
    assert np.mean(model.predict(X) == codes) > 0.9
    done = neureco("evaluate", tmp_path / "m.ednn", tmp_path / "x.npy", "-o", tmp_path / "p.npy")
    assert done.returncode == 0, done.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "p.npy"), model.predict_proba(X[:240]))


def test_resume_from_the_checkpoint(tmp_path, data):
    X, Y = data
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "y.npy", Y)
    first = write_config(
        tmp_path,
        exc_filenames=["x.npy"],
        output_filenames=["y.npy"],
        write_model_to="first.ednn",
        checkpoint_address="ck.ednn",
    )
    assert neureco("build", first).returncode == 0
    config = json.loads(first.read_text())
    config.update(resume=True, write_model_to="second.ednn", checkpoint_address="ck2.ednn")
    config["starting_from_checkpoint_address"] = "ck.ednn"
    first.write_text(json.dumps(config))
    done = neureco("build", first)
    assert done.returncode == 0, done.stderr
    resumed = load(tmp_path / "second.ednn")
    assert resumed.history_[0]["step"] == "resume"


@pytest.mark.parametrize(
    "change, message",
    [
        ({"exc_filenames": None}, "needs 'exc_filenames'"),
        ({"exc_filenames": "x.npy"}, "'exc_filenames' must be list"),
        ({"output_filenames": ["missing.csv"]}, "does not exist"),
        ({"output_filenames": ["short.npy"]}, "120 rows and the output files 10"),
        ({"DevSettings": {"valid_percentage": "ten"}}, "'valid_percentage' must be int or float"),
        ({"DevSettings": {"final_learning": 1}}, "'final_learning' must be bool"),
        ({"DevSettings": {"valid_percentage": 150}}, "valid_percentage"),
        ({"input_normalization": {"shift_type": "median"}}, "inputs_shifting"),
        ({"output_filenames": ["text.csv"]}, "not numbers"),
        ({"resume": True}, "resume needs"),
        ({"classification": True, "output_filenames": ["y2.npy"]}, "one-hot"),
    ],
)
def test_bad_configurations_are_one_clear_line(tmp_path, data, change, message):
    X, Y = data
    np.save(tmp_path / "x.npy", X[:120])
    np.save(tmp_path / "y.npy", Y[:120, :1])
    np.save(tmp_path / "y2.npy", Y[:120])
    np.save(tmp_path / "short.npy", Y[:10])
    (tmp_path / "text.csv").write_text("a;b\n1;2\nx;y\n")
    config = {"exc_filenames": ["x.npy"], "output_filenames": ["y.npy"], "write_model_to": "m"}
    config.update(change)
    config = {k: v for k, v in config.items() if v is not None}
    done = neureco("build", write_config(tmp_path, **config))
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "m.ednn").exists()


def test_bad_files_and_arguments(tmp_path):
    (tmp_path / "broken.json").write_text("{not json")
    done = neureco("build", tmp_path / "broken.json")
    assert done.returncode == 2 and "not valid JSON" in done.stderr
    done = neureco("build", tmp_path / "absent.json")
    assert done.returncode == 2 and "does not exist" in done.stderr
    (tmp_path / "fake.ednn").write_bytes(b"not a model")
    done = neureco("info", tmp_path / "fake.ednn")
    assert done.returncode == 2 and "error:" in done.stderr and "Traceback" not in done.stderr
    done = neureco("frobnicate")
    assert done.returncode == 2 and "invalid choice" in done.stderr


def test_console_script_is_installed():
    import shutil

    script = shutil.which("neureco", path=str(__import__("pathlib").Path(sys.executable).parent))
    assert script is not None
    done = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "build" in done.stdout
