"""
A Pipeline inside GridSearchCV
==============================

``NeurEcoRegressor`` is an ordinary scikit-learn estimator: it goes into a
:class:`~sklearn.pipeline.Pipeline`, and :class:`~sklearn.model_selection.GridSearchCV`
compares its options by cross-validation, in parallel. Here a feature built from the
inputs is added in the pipeline, and the search compares modelling the target as it is
or through ``log1p``, with two input normalisations.
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.compose import TransformedTargetRegressor
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from sklearn_neureco import NeurEcoRegressor
from sklearn_neureco.datasets import load_energy_consumption

X, y = load_energy_consumption(as_frame=True)
X, y = X.iloc[:500], y.iloc[:500]


def add_temperature_difference(frame):
    """The heat loss depends on T_set - T_out: give the model that feature directly."""
    return frame.assign(dT=frame["T_set"] - frame["T_out"])


def names_out(transformer, names):
    return [*names, "dT"]


pipe = Pipeline(
    [
        ("features", FunctionTransformer(add_temperature_difference, feature_names_out=names_out)),
        ("model", TransformedTargetRegressor(NeurEcoRegressor(random_state=0))),
    ]
)
# the target is modelled as it is, or through log1p (expm1 maps predictions back)
grid = [
    {
        "model__func": [func],
        "model__inverse_func": [inverse],
        "model__regressor__inputs_scaling": ["auto", "std"],
    }
    for func, inverse in ((None, None), (np.log1p, np.expm1))
]
search = GridSearchCV(
    pipe,
    grid,
    cv=KFold(3, shuffle=True, random_state=0),
    scoring="neg_root_mean_squared_error",
    n_jobs=2,
)
search.fit(X, y)

# %%
# Cross-validated RMSE of each combination
# ----------------------------------------
results = pd.DataFrame(search.cv_results_)
results["target"] = results["param_model__func"].map(lambda f: "as is" if f is None else f.__name__)
results["inputs_scaling"] = results["param_model__regressor__inputs_scaling"]
results["RMSE"] = -results["mean_test_score"]
print(results[["target", "inputs_scaling", "RMSE", "std_test_score"]].to_string(index=False))
print("best:", search.best_params_)

# %%
# The same, as a picture
# ----------------------
# Each bar is a combination's mean RMSE over the three folds; the whisker is its
# spread over them.
labels = results["target"] + ", " + results["inputs_scaling"]
fig, ax = plt.subplots(figsize=(6, 2.8))
ax.barh(labels, results["RMSE"], xerr=results["std_test_score"], capsize=3)
ax.invert_yaxis()
ax.set_xlabel("cross-validated RMSE [kWh/day]")
fig.tight_layout()
plt.show()
