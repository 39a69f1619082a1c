"""Generate the bundled "energy consumption" data set from a documented physical model.

The daily heating energy of a single-zone building (a steady-state heat balance, as in
ISO 13790's monthly method reduced to one day):

* heat-loss coefficient ``H = U_wall * A_wall + U_win * A_win + rho_cp * ach * V / 3600``
  [W/K], with ``A_wall = 150 m2``, ``U_win = 1.4 W/m2K``, ``V = 300 m3`` and
  ``rho_cp = 1200 J/m3K`` (air);
* free gains ``G = 400 W`` (occupants, appliances) ``+ g * I * A_win`` (solar, with
  ``g = 0.5`` and a mean irradiance ``I = 60 W/m2``);
* heating power ``P = softplus(H * (T_set - T_out) - G)``, a smooth ``max(0, .)`` of width
  200 W (the heating is off when the gains cover the losses);
* daily energy ``E = 24 * P / 1000`` [kWh], observed with 1 % multiplicative noise.

Inputs (5 columns): ``T_out`` outdoor temperature [degC] in [-10, 15], ``T_set`` set point
[degC] in [18, 24], ``U_wall`` wall U-value [W/m2K] in [0.15, 1.5], ``A_win`` window area
[m2] in [5, 40], ``ach`` air changes per hour [1/h] in [0.2, 1.5]. Output (1 column):
``E`` [kWh/day]. Files are ``;``-separated with one header line, like the reference
product's tutorial data. Run ``python scripts/make_energy_consumption.py`` to regenerate
them (same seed, same files).
"""

from pathlib import Path

import numpy as np

from sklearn_neureco.datasets import ENERGY_CONSUMPTION_BOUNDS, daily_heating_energy

LOW, HIGH = np.asarray(ENERGY_CONSUMPTION_BOUNDS).T
INPUTS = ["T_out", "T_set", "U_wall", "A_win", "ach"]


def make(n: int, rng: np.random.Generator):
    X = LOW + (HIGH - LOW) * rng.random((n, len(INPUTS)))
    y = daily_heating_energy(X) * (1.0 + 0.01 * rng.standard_normal(n))
    return X, y


DATA = Path(__file__).resolve().parents[1] / "sklearn_neureco" / "datasets" / "data"


def main(out: Path = DATA):
    rng = np.random.default_rng(20261123)
    out.mkdir(parents=True, exist_ok=True)
    for name, n in (("train", 1000), ("test", 500)):
        X, y = make(n, rng)
        np.savetxt(
            out / f"x_{name}.csv",
            X,
            delimiter=";",
            header=";".join(INPUTS),
            comments="",
            fmt="%.6f",
        )
        np.savetxt(out / f"y_{name}.csv", y, delimiter=";", header="E", comments="", fmt="%.6f")


if __name__ == "__main__":
    main()
