"""ONNX export: onnxruntime gives what predict, predict_proba and jacobian give."""

import itertools

import numpy as np
import pytest

from sklearn_neureco import NeurEcoClassifier, NeurEcoRegressor, register_skl2onnx, to_onnx
from sklearn_neureco._normalization import SCALINGS, SHIFTINGS
from sklearn_neureco._state import state_of
from tests._helpers import smooth_function

ort = pytest.importorskip("onnxruntime")


def run(model_proto, X, dtype=np.float64):
    session = ort.InferenceSession(model_proto.SerializeToString())
    return session.run(None, {"X": np.asarray(X, dtype=dtype)})


def make_data(n_outputs, n=120, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1.0, 1.0, size=(n, 3)) * [1.0, 30.0, 0.01] + [5.0, 0.0, -2.0]
    Y = smooth_function((X - [5.0, 0.0, -2.0]) / [1.0, 30.0, 0.01], n_outputs)
    return X, Y * 7.0 + 3.0


@pytest.mark.parametrize("n_outputs", [1, 2])
@pytest.mark.parametrize(
    "shifting, scaling, per_feature",
    [*zip(SHIFTINGS, SCALINGS, itertools.cycle([True, False])), ("auto", "auto", True)],
)
def test_regressor_export_equals_predict(n_outputs, shifting, scaling, per_feature):
    X, Y = make_data(n_outputs)
    y = Y
    model = NeurEcoRegressor(
        random_state=0,
        inputs_shifting=shifting,
        inputs_scaling=scaling,
        inputs_normalize_per_feature=per_feature,
        outputs_shifting=shifting,
        outputs_scaling=scaling,
        outputs_normalize_per_feature=per_feature,
    ).fit(X, y)
    assert len(model.layer_sizes_) >= 3  # a hidden layer: the export is more than a linear map
    prediction, J = run(to_onnx(model, jacobian=True), X)
    expected = model.predict(X)
    assert prediction.shape == expected.shape
    np.testing.assert_allclose(prediction, expected, rtol=1e-12, atol=1e-12 * np.abs(y).max())
    np.testing.assert_allclose(J, model.jacobian(X), rtol=1e-10, atol=1e-12 * np.abs(J).max())
    (single,) = run(to_onnx(model, dtype=np.float32), X, np.float32)
    assert single.dtype == np.float32
    np.testing.assert_allclose(single, expected, rtol=1e-5, atol=1e-5 * np.abs(y).max())


def test_pruned_links_disconnected_inputs_and_skip_links(rng):
    X = rng.uniform(-1, 1, size=(200, 5)) * [1, 2, 3, 4, 5]
    y = np.c_[np.sin(X[:, 0]) * X[:, 1], X[:, 1] ** 2]  # inputs 2, 3, 4 do not matter
    model = NeurEcoRegressor(random_state=0).fit(X, y)
    assert not model.connected_inputs_.all()
    assert any(not mask.all() for mask in model.link_masks_.values())
    assert any(l - s > 1 for l, s in model.link_masks_)  # links that skip a layer
    prediction, J = run(to_onnx(model, jacobian=True), X)
    np.testing.assert_allclose(prediction, model.predict(X), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(J, model.jacobian(X), rtol=1e-10, atol=1e-12)
    assert np.all(J[:, :, ~model.connected_inputs_] == 0.0)


def test_a_linear_model_has_a_jacobian_per_row(rng):
    X = rng.normal(size=(100, 3))
    model = NeurEcoRegressor(random_state=0).fit(X, X @ [1.0, -2.0, 0.5] + 1.0)
    assert len(model.layer_sizes_) == 2
    prediction, J = run(to_onnx(model, jacobian=True), X[:7])
    assert J.shape == (7, 1, 3)
    np.testing.assert_allclose(J, model.jacobian(X[:7]), rtol=1e-12)


def test_a_deeper_network_exports(rng):
    # two hidden layers, built by hand: the export walks any layer description
    model = NeurEcoRegressor(random_state=0).fit(*make_data(1, n=60))
    from sklearn_neureco._network import Network, dense_masks

    network = Network((3, 4, 3, 1), dense_masks((3, 4, 3, 1)))
    model.state_ = state_of(
        "NeurEcoRegressor",
        network,
        rng.normal(size=network.n_weights),
        model.state_.normalisation,
        beta_reg=0.0,
        n_features_in=3,
        n_outputs=1,
        output_1d=True,
    )
    X = make_data(1, n=50, seed=3)[0]
    prediction, J = run(to_onnx(model, jacobian=True), X)
    np.testing.assert_allclose(prediction, model.predict(X), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(J, model.jacobian(X), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("labels", [["no", "yes"], [0, 1, 2], ["a", "b", "c", "d"]])
def test_classifier_export_equals_predict_proba(labels, rng):
    X = rng.uniform(-1, 1, size=(300, 2))
    angle = np.arctan2(X[:, 1], X[:, 0]) + np.pi
    codes = np.minimum((angle / (2 * np.pi) * len(labels)).astype(int), len(labels) - 1)
    y = np.asarray(labels)[codes]
    model = NeurEcoClassifier(random_state=0).fit(X, y)
    label, proba, J = run(to_onnx(model, jacobian=True), X)
    np.testing.assert_allclose(proba, model.predict_proba(X), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(J, model.jacobian(X), rtol=1e-9, atol=1e-12)
    expected = model.predict(X)
    assert label.tolist() == expected.tolist()
    label32, proba32 = run(to_onnx(model, dtype=np.float32), X, np.float32)
    np.testing.assert_allclose(proba32, model.predict_proba(X), rtol=1e-5, atol=1e-5)


def test_pipeline_converts_as_a_whole(rng):
    skl2onnx = pytest.importorskip("skl2onnx")
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    register_skl2onnx()
    X, Y = make_data(2)
    pipe = make_pipeline(StandardScaler(), NeurEcoRegressor(random_state=0)).fit(X, Y)
    (prediction,) = run(skl2onnx.to_onnx(pipe, X[:1]), X)
    np.testing.assert_allclose(prediction, pipe.predict(X), rtol=1e-10, atol=1e-10)
    (single,) = run(skl2onnx.to_onnx(pipe, X[:1].astype(np.float32)), X, np.float32)
    np.testing.assert_allclose(single, pipe.predict(X), rtol=1e-5, atol=1e-5 * np.abs(Y).max())
    one = make_pipeline(StandardScaler(), NeurEcoRegressor(random_state=0)).fit(X, Y[:, 0])
    (prediction,) = run(skl2onnx.to_onnx(one, X[:1]), X)
    np.testing.assert_allclose(prediction.ravel(), one.predict(X), rtol=1e-10, atol=1e-10)
    Xc = rng.uniform(-1, 1, size=(200, 2))
    y = np.where(Xc[:, 0] * Xc[:, 1] > 0, "same", "opposite")
    classify = make_pipeline(StandardScaler(), NeurEcoClassifier(random_state=0)).fit(Xc, y)
    onx = skl2onnx.to_onnx(classify, Xc[:1], options={"zipmap": False})
    label, proba = run(onx, Xc)
    assert label.tolist() == classify.predict(Xc).tolist()
    np.testing.assert_allclose(proba, classify.predict_proba(Xc), rtol=1e-10, atol=1e-12)


def test_bad_requests_are_clear_errors():
    with pytest.raises(Exception, match="not fitted"):
        to_onnx(NeurEcoRegressor())
    model = NeurEcoRegressor(random_state=0).fit(*make_data(1, n=40))
    with pytest.raises(ValueError, match="dtype"):
        to_onnx(model, dtype=np.int32)


def test_the_compressor_halves_export():
    from sklearn.datasets import make_s_curve

    from sklearn_neureco import NeurEcoCompressor

    X, _ = make_s_curve(1000, random_state=0)
    model = NeurEcoCompressor(random_state=0).fit(X)  # two coefficients, tanh halves
    assert model.n_components_ == 2 and model.encoder_.network_.n_layers > 1
    (coefficients,) = run(to_onnx(model.encoder_), X)
    np.testing.assert_allclose(coefficients, model.transform(X), rtol=1e-12, atol=1e-12)
    (reconstruction,) = run(to_onnx(model.decoder_), coefficients)
    np.testing.assert_allclose(
        reconstruction, model.inverse_transform(coefficients), rtol=1e-12, atol=1e-12
    )
