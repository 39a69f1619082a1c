"""
A classifier on a smooth boundary, and the gradient of a class probability
==========================================================================

A surrogate for a pass/fail criterion: the class is whether a smooth function of two
design variables exceeds a threshold. :class:`~sklearn_neureco.NeurEcoClassifier` builds
its network from 400 labelled designs; its class probability is a smooth function of the
inputs, and :meth:`~sklearn_neureco.NeurEcoClassifier.jacobian` gives its exact gradient,
which points across the boundary, where a small change of the design changes the verdict
most.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import LogisticRegression

from sklearn_neureco import NeurEcoClassifier


def passes(X):
    """The criterion: a curved boundary in the (x1, x2) plane."""
    return (np.sin(2.5 * X[:, 0]) + X[:, 1] ** 2 > 0.4).astype(int)


rng = np.random.default_rng(0)
X = rng.uniform(-1, 1, size=(400, 2))
y = passes(X)
model = NeurEcoClassifier(random_state=0).fit(X, y)
print(f"network {model.layer_sizes_}, {model.n_weights_} weights")

X_test = rng.uniform(-1, 1, size=(5000, 2))
y_test = passes(X_test)
linear = LogisticRegression().fit(X, y)
ours_error = np.mean(model.predict(X_test) != y_test)
linear_error = np.mean(linear.predict(X_test) != y_test)
print(f"test error rate: {ours_error:.3f} (logistic regression: {linear_error:.3f})")

# %%
# The probability surface and its gradient
# ----------------------------------------
# ``jacobian`` returns ``d predict_proba / d x`` per sample, ``(n, n_classes, n_features)``:
# here the gradient of the probability of passing on a coarse grid. Its size spans many
# orders of magnitude (large on the boundary, vanishing far from it, where the model is
# sure), so the arrows show its direction and their colour its size.
g1, g2 = np.meshgrid(np.linspace(-1, 1, 200), np.linspace(-1, 1, 200))
grid = np.column_stack([g1.ravel(), g2.ravel()])
p_pass = model.predict_proba(grid)[:, 1].reshape(g1.shape)

a1, a2 = np.meshgrid(np.linspace(-0.9, 0.9, 13), np.linspace(-0.9, 0.9, 13))
arrows = np.column_stack([a1.ravel(), a2.ravel()])
gradient = model.jacobian(arrows)[:, 1, :]  # d P(pass) / d (x1, x2)

fig, ax = plt.subplots(figsize=(7.5, 5))
surface = ax.contourf(g1, g2, p_pass, levels=np.linspace(0, 1, 11), cmap="RdBu_r")
fig.colorbar(surface, ax=ax, label="P(pass)")
truth = np.sin(2.5 * g1) + g2**2 - 0.4
ax.contour(g1, g2, truth, levels=[0.0], colors="k", linestyles="--", linewidths=1)
size = np.linalg.norm(gradient, axis=1)
direction = gradient / np.maximum(size, 1e-300)[:, None]
quiver = ax.quiver(
    arrows[:, 0],
    arrows[:, 1],
    direction[:, 0],
    direction[:, 1],
    np.log10(np.maximum(size, 1e-12)),
    cmap="Greys",
    clim=(-6, np.log10(size.max())),
    scale=25,
)
fig.colorbar(quiver, ax=ax, label="log10 |grad P(pass)|")
ax.scatter(X[:, 0], X[:, 1], c="k", s=2, alpha=0.3)
ax.set_xlabel("x1")
ax.set_ylabel("x2")
ax.set_title("P(pass), its gradient, and the true boundary (dashed)", fontsize=10)
fig.tight_layout()
plt.show()
