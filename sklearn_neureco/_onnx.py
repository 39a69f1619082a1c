"""ONNX export: a fitted model as an ONNX graph, normalisation and pruned structure included.

The graph is written by walking the network's one layer description
(:class:`~sklearn_neureco._network.Layer`), as every pass in :mod:`._network` does: for each
layer, the sum of its incoming blocks (``MatMul`` by the block's dense weights, absent
links as zeros) plus its biases, then its activation. The input Jacobian, when asked for,
is carried forward through the same walk (forward mode, one ``(rows, units, inputs)``
tensor per layer).

One writer, two destinations: :func:`to_onnx` builds a stand-alone ``onnx.ModelProto``;
the converter registered with ``skl2onnx`` (:func:`register_skl2onnx`) writes the same
nodes into the graph of a whole ``Pipeline``. ``onnx`` (and ``skl2onnx`` for the second)
are imported only here, and only when called: the ``onnx`` extra.
"""

from __future__ import annotations

from typing import Any

import numpy as np

OPSET = 17  # every operator used exists unchanged since opset 13


def _require(module: str):
    try:
        return __import__(module)
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"ONNX export needs {module!r}: pip install 'sklearn-neureco[onnx]'"
        ) from error


class _Writer:
    """Collects nodes and constants under unique names (the stand-alone destination)."""

    def __init__(self, dtype: np.dtype):
        self.dtype = np.dtype(dtype)
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._count = 0

    def name(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def const(self, hint: str, value, dtype=None) -> str:
        from onnx import numpy_helper

        name = self.name(hint)
        array = np.asarray(value, dtype=self.dtype if dtype is None else dtype)
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def node(self, op: str, inputs: list[str], output: str | None = None, **attrs) -> str:
        from onnx import helper

        output = self.name(op.lower()) if output is None else output
        self.nodes.append(helper.make_node(op, inputs, [output], name=self.name(op), **attrs))
        return output


class _PipelineWriter(_Writer):
    """Writes into an ``skl2onnx`` container, with the scope's unique names."""

    def __init__(self, dtype, scope, container):
        super().__init__(dtype)
        self.scope, self.container = scope, container

    def name(self, hint: str) -> str:
        return self.scope.get_unique_variable_name(f"neureco_{hint}")

    def const(self, hint: str, value, dtype=None) -> str:
        from onnx import helper

        name = self.name(hint)
        array = np.asarray(value, dtype=self.dtype if dtype is None else dtype)
        onnx_type = helper.np_dtype_to_tensor_dtype(array.dtype)
        self.container.add_initializer(name, onnx_type, list(array.shape), array.ravel().tolist())
        return name

    def node(self, op: str, inputs: list[str], output: str | None = None, **attrs) -> str:
        output = self.name(op.lower()) if output is None else output
        op_name = self.scope.get_unique_operator_name(f"Neureco{op}")
        self.container.add_node(op, inputs, [output], name=op_name, **attrs)
        return output


def _network_graph(g: _Writer, state, x: str, jacobian: bool) -> tuple[str, str | None]:
    """Nodes from the raw inputs ``x`` (rows, n_features) to the network's outputs in the
    targets' units (a classifier's: its logits), and with ``jacobian`` their input
    Jacobian ``(rows, n_outputs, n_features)``; returns the two names."""
    network = state.network
    W, b = network.unpack(state.weights)
    norm = state.normalisation
    centred = g.node("Sub", [x, g.const("input_shift", norm["input_shift"])])
    h = {0: g.node("Div", [centred, g.const("input_scale", norm["input_scale"])])}
    # d h[l] / d x: a constant matrix while it does not depend on the row (the inputs'
    # normalisation), else a (rows, units, n_features) tensor
    dh: dict[int, np.ndarray | str] = {0: np.diag(1.0 / norm["input_scale"])}
    for layer in network.layers:
        l = layer.index
        z = g.const(f"b{l}", b[l])
        constant_part = np.zeros((layer.size, network.n_inputs))
        row_parts = []
        for block in layer.blocks:
            s = block.source
            z = g.node("Add", [z, g.node("MatMul", [h[s], g.const(f"W{l}_{s}T", W[l, s].T)])])
            if not jacobian:
                continue
            if isinstance(dh[s], np.ndarray):
                constant_part += W[l, s] @ dh[s]
            else:
                row_parts.append(g.node("MatMul", [g.const(f"W{l}_{s}", W[l, s]), dh[s]]))
        is_tanh = layer.activation.name == "tanh"
        h[l] = g.node("Tanh", [z]) if is_tanh else z
        if not jacobian:
            continue
        if not row_parts and not is_tanh:
            dh[l] = constant_part
            continue
        dz = g.const(f"dz{l}", constant_part)
        for part in row_parts:
            dz = g.node("Add", [dz, part])
        if is_tanh:  # tanh' = 1 - h^2, per row and neuron
            slope = g.node("Sub", [g.const("one", 1.0), g.node("Mul", [h[l], h[l]])])
            dz = g.node("Mul", [g.node("Unsqueeze", [slope, g.const("axis", [2], np.int64)]), dz])
        dh[l] = dz
    last = network.n_layers
    scaled = g.node("Mul", [h[last], g.const("output_scale", norm["output_scale"])])
    y = g.node("Add", [scaled, g.const("output_shift", norm["output_shift"])])
    if not jacobian:
        return y, None
    scale = norm["output_scale"][:, None]
    if isinstance(dh[last], np.ndarray):  # a linear model: the same Jacobian on every row
        zeros = g.node(
            "Mul", [g.node("Unsqueeze", [x, g.const("axis", [1], np.int64)]), g.const("zero", 0.0)]
        )  # (rows, 1, n_features)
        reduced = g.node("ReduceSum", [zeros, g.const("axis", [2], np.int64)], keepdims=1)
        return y, g.node("Add", [reduced, g.const("jacobian", dh[last] * scale)])
    return y, g.node("Mul", [dh[last], g.const("output_scale_column", scale)])


def _probabilities(g: _Writer, logits: str, dlogits: str | None, n_outputs: int):
    """Class probabilities ``(rows, n_classes)`` from the logits, as ``predict_proba``
    computes them, and their input Jacobian through the link."""
    if n_outputs == 1:  # one logistic output: [1 - p, p]
        p1 = g.node("Sigmoid", [logits])
        p0 = g.node("Sub", [g.const("one", 1.0), p1])
        proba = g.node("Concat", [p0, p1], axis=1)
        if dlogits is None:
            return proba, None
        weight = g.node("Unsqueeze", [g.node("Mul", [p0, p1]), g.const("axis", [2], np.int64)])
        dp1 = g.node("Mul", [weight, dlogits])  # (rows, 1, n_features)
        return proba, g.node("Concat", [g.node("Neg", [dp1]), dp1], axis=1)
    proba = g.node("Softmax", [logits], axis=1)
    if dlogits is None:
        return proba, None
    # d p_k = p_k (d f_k - sum_j p_j d f_j)
    p = g.node("Unsqueeze", [proba, g.const("axis", [2], np.int64)])  # (rows, k, 1)
    mean = g.node(
        "ReduceSum", [g.node("Mul", [p, dlogits]), g.const("axis", [1], np.int64)], keepdims=1
    )
    return proba, g.node("Mul", [p, g.node("Sub", [dlogits, mean])])


def _is_classifier(model) -> bool:
    return model.state_.classes is not None


def write_model(
    g: _Writer, model, x: str, outputs: dict[str, str], jacobian: bool, flatten: bool = True
) -> None:
    """Write ``model``'s graph from input ``x``; ``outputs`` maps ``"variable"`` (a
    regressor's predictions), or ``"label"`` and ``"probabilities"`` (a classifier's),
    and ``"jacobian"`` to the names the results must have. ``flatten``: a regressor
    fitted on a 1-D target gives 1-D predictions, as ``predict`` does."""
    state = model.state_
    f, df = _network_graph(g, state, x, jacobian)
    if _is_classifier(model):
        proba, dproba = _probabilities(g, f, df, state.n_outputs)
        classes = np.asarray(state.classes)
        labels = (
            g.const("classes", classes.astype(np.int64), np.int64)
            if classes.dtype.kind in "iub"
            else g.const("classes", classes.astype(str).astype(object), object)
        )
        best = g.node("ArgMax", [proba], axis=1, keepdims=0)
        g.node("Gather", [labels, best], outputs["label"], axis=0)
        g.node("Identity", [proba], outputs["probabilities"])
        df = dproba
    elif state.output_1d and flatten:
        g.node("Reshape", [f, g.const("flat", [-1], np.int64)], outputs["variable"])
    else:
        g.node("Identity", [f], outputs["variable"])
    if jacobian:
        g.node("Identity", [df], outputs["jacobian"])


def to_onnx(model, *, dtype=np.float64, jacobian: bool = False, name: str | None = None):
    """Export a fitted estimator of the family as an ONNX model.

    The graph holds everything ``predict`` does: the inputs' normalisation, the pruned
    network (absent links as zero weights, skip links as they are), the outputs'
    normalisation, and for a classifier the output link and the labels.

    Parameters
    ----------
    model : NeurEcoRegressor or NeurEcoClassifier
        A fitted estimator.
    dtype : numpy.float64 or numpy.float32, default=numpy.float64
        The type of the graph's input, weights and outputs.
    jacobian : bool, default=False
        Add an output ``"jacobian"``, ``(rows, n_outputs, n_features)``, equal to the
        estimator's :meth:`jacobian` (for a classifier: of the probabilities).
    name : str, optional
        The graph's name (default: the estimator's class name).

    Returns
    -------
    onnx.ModelProto
        Its input is ``"X"``, ``(rows, n_features)``. Its outputs are ``"variable"``
        (a regressor's predictions, shaped as :meth:`predict` returns them), or
        ``"label"`` and ``"probabilities"`` (a classifier's :meth:`predict` and
        :meth:`predict_proba`), then ``"jacobian"`` if asked for.

    Examples
    --------
    >>> import numpy as np, onnxruntime
    >>> from sklearn_neureco import NeurEcoRegressor, to_onnx
    >>> X = np.random.default_rng(0).uniform(-1, 1, (200, 2))
    >>> model = NeurEcoRegressor(random_state=0).fit(X, X[:, 0] * X[:, 1])
    >>> session = onnxruntime.InferenceSession(to_onnx(model).SerializeToString())
    >>> bool(np.allclose(session.run(None, {"X": X})[0], model.predict(X), rtol=1e-12))
    True
    """
    from sklearn.utils.validation import check_is_fitted

    onnx = _require("onnx")
    from onnx import TensorProto, helper

    check_is_fitted(model)
    dtype = np.dtype(dtype)
    if dtype not in (np.float64, np.float32):
        raise ValueError(f"dtype must be numpy.float64 or numpy.float32, got {dtype}")
    g = _Writer(dtype)
    state = model.state_
    tensor = helper.np_dtype_to_tensor_dtype(dtype)
    inputs = [helper.make_tensor_value_info("X", tensor, [None, state.n_features_in])]
    outputs: dict[str, str] = {}
    infos = []
    if _is_classifier(model):
        kind = np.asarray(state.classes).dtype.kind
        label_type = TensorProto.INT64 if kind in "iub" else TensorProto.STRING
        n_classes = len(state.classes)
        outputs.update(label="label", probabilities="probabilities")
        infos += [
            helper.make_tensor_value_info("label", label_type, [None]),
            helper.make_tensor_value_info("probabilities", tensor, [None, n_classes]),
        ]
        n_out = n_classes
    else:
        outputs["variable"] = "variable"
        shape = [None] if state.output_1d else [None, state.n_outputs]
        infos.append(helper.make_tensor_value_info("variable", tensor, shape))
        n_out = state.n_outputs
    if jacobian:
        outputs["jacobian"] = "jacobian"
        infos.append(
            helper.make_tensor_value_info("jacobian", tensor, [None, n_out, state.n_features_in])
        )
    write_model(g, model, "X", outputs, jacobian)
    graph = helper.make_graph(g.nodes, name or type(model).__name__, inputs, infos, g.initializers)
    exported = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="sklearn-neureco",
    )
    onnx.checker.check_model(exported)
    return exported


def _convert(scope, operator, container) -> None:
    """``skl2onnx`` converter: the model's graph inside a larger one (a ``Pipeline``)."""
    from skl2onnx.common.data_types import guess_numpy_type

    model = operator.raw_operator
    g = _PipelineWriter(guess_numpy_type(operator.inputs[0].type), scope, container)
    names = [variable.full_name for variable in operator.outputs]
    if _is_classifier(model):
        outputs = {"label": names[0], "probabilities": names[1]}
    else:
        outputs = {"variable": names[0]}
    # skl2onnx declares a regressor's output as (rows, n_outputs): keep the column
    write_model(g, model, operator.inputs[0].full_name, outputs, False, flatten=False)


def register_skl2onnx() -> None:
    """Register the family's estimators with ``skl2onnx``, so that ``skl2onnx.to_onnx``
    converts a ``Pipeline`` holding one as a whole. Idempotent.

    Examples
    --------
    >>> import numpy as np, onnxruntime, skl2onnx
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_neureco import NeurEcoRegressor, register_skl2onnx
    >>> register_skl2onnx()
    >>> X = np.random.default_rng(0).uniform(-1, 1, (200, 2))
    >>> pipe = make_pipeline(StandardScaler(), NeurEcoRegressor(random_state=0))
    >>> pipe = pipe.fit(X, X[:, 0] * X[:, 1])
    >>> onx = skl2onnx.to_onnx(pipe, X[:1])
    >>> session = onnxruntime.InferenceSession(onx.SerializeToString())
    >>> bool(np.allclose(session.run(None, {"X": X})[0].ravel(), pipe.predict(X)))
    True
    """
    _require("skl2onnx")
    from skl2onnx import update_registered_converter
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
        calculate_linear_regressor_output_shapes,
    )

    from ._classifier import NeurEcoClassifier
    from ._regressor import NeurEcoRegressor

    update_registered_converter(
        NeurEcoRegressor,
        "SklearnNeurEcoRegressor",
        calculate_linear_regressor_output_shapes,
        _convert,
    )
    update_registered_converter(
        NeurEcoClassifier,
        "SklearnNeurEcoClassifier",
        calculate_linear_classifier_output_shapes,
        _convert,
        options={"zipmap": [True, False, "columns"], "nocl": [True, False]},
    )
