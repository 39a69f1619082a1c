"""
Compute gradients: the reference product's tutorial
===================================================

This is NeurEco Tabular's "compute gradients" tutorial, run with sklearn-neureco: only
the import line differs (``from sklearn_neureco import Tabular``), plus one fix to the
tutorial itself, which tests a ``save_status`` it never assigned. It builds a model on
the energy-consumption data (``x_train.csv`` and ``y_train.csv``, ``;``-separated), loads
it back, computes forward and backward derivatives, and saves new weights.
"""

import os
import shutil
import tempfile

import numpy as np

from sklearn_neureco import Tabular
from sklearn_neureco.datasets import data_path

# The tutorial reads its csv files from the working folder: work in a scratch one. (One
# code block only: sphinx-gallery would run each block from the examples' folder.)
os.chdir(tempfile.mkdtemp())
for name in ("x_train.csv", "y_train.csv"):
    shutil.copy(data_path() / name, name)

# --- Load the data and build a model
""" Load the training data """
print("Loading the training data".center(60, "*"))
x_train = np.genfromtxt("x_train.csv", delimiter=";", skip_header=True)
y_train = np.genfromtxt("y_train.csv", delimiter=";", skip_header=True)
y_train = np.reshape(y_train, (-1, 1))
""" create a NeurEco Object to build the model"""
print("Creating the NeurEco builder".center(60, "*"))
builder = Tabular.Regressor()

""" Building the NeurEco Model """
builder.build(
    input_data=x_train,
    output_data=y_train,
    # the rest of these parameters are optional
    write_model_to="./EnergyConsumptionModel/EnergyConsumption.ednn",
    checkpoint_address="./EnergyConsumptionModel/EnergyConsumption.checkpoint",
    valid_percentage=33.33,
    inputs_shifting="min_centered",
    inputs_scaling="max_centered",
)

""" Delete the builder from memory"""
print("Deleting the NeurEco builder".center(60, "*"))
builder.delete()

# --- Load the model and get its weights
model = Tabular.Regressor()
model.load("./EnergyConsumptionModel/EnergyConsumption")

weights = model.get_weights()
print("Weights shape: ", weights.shape)

# --- Forward derivative with static inputs: dy/dw . dw
d_weights = 1e-2 * np.random.random(weights.shape)  # noqa: NPY002 (the tutorial's code)
dy_dw = model.forward_derivative(w=weights, dw=d_weights, x=x_train, dx=None)
print("The first 10 values of dy_dw are: ", dy_dw[:10])

# --- Backward derivative (gradient)
d_ytrain = np.random.random(y_train.shape)  # noqa: NPY002
dw_dy, dx_dy = model.gradient(w=weights, x=x_train, py=d_ytrain)
print("The first 3 elements of dx_dy are:", dx_dy[:3, :])
print("The first 3 elements of dw_dy are:", dw_dy[:3, :])

# --- Keep new weights
new_weights = weights + d_weights
model.set_weights(new_weights)
save_status = model.save("./EnergyConsumptionModel/EnergyConsumption_NewWeights")
if save_status == 0:
    print("New model saved successfully !!!")
else:
    print("Unable to save the new model.")
model.delete()
