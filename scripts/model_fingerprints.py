"""Fingerprints of regressor builds, to show that a refactoring changes no model.

Run ``python scripts/model_fingerprints.py --out before.json`` on the old code, then
``python scripts/model_fingerprints.py --compare before.json`` on the new: it builds the
same models (the main job's, and the accuracy benchmark's smooth and diabetes cases on two
seeds, with ``n_init=1`` and with ``n_init=2, n_jobs=2``) and reports every build whose
weights, structure, normalisation or build record (times left out) differ in any bit.
With ``--models-only`` the build record is left out: a change to how candidates are
trained that leaves every chosen model as it was passes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from accuracy import real_cases, smooth_cases  # noqa: E402

from sklearn_neureco import NeurEcoRegressor  # noqa: E402
from sklearn_neureco.datasets import load_energy_consumption  # noqa: E402


def fingerprint(model: NeurEcoRegressor, with_record: bool = True) -> str:
    digest = hashlib.sha256()
    for array in (
        model.weights_,
        model.input_shift_,
        model.input_scale_,
        model.output_shift_,
        model.output_scale_,
    ):
        digest.update(np.ascontiguousarray(array, dtype=np.float64).tobytes())
    digest.update(repr(model.layer_sizes_).encode())
    for key in sorted(model.link_masks_):
        digest.update(repr(key).encode() + np.packbits(model.link_masks_[key]).tobytes())
    if with_record:
        records = [{k: v for k, v in r.items() if k != "seconds"} for r in model.history_]
        digest.update(json.dumps(records, sort_keys=True).encode())
    return digest.hexdigest()


def builds(seeds):
    X, y = load_energy_consumption("train")
    yield "main job", NeurEcoRegressor(random_state=0), X, y
    cases = dict(smooth_cases())
    cases["diabetes"] = real_cases()[0]["diabetes"]
    for name, (X, y, _, _) in cases.items():
        for seed in seeds:
            yield f"{name} seed {seed}", NeurEcoRegressor(random_state=seed), X, y
            parallel = NeurEcoRegressor(random_state=seed, n_init=2, n_jobs=2)
            yield f"{name} seed {seed} n_init=2 n_jobs=2", parallel, X, y


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write the fingerprints to this JSON file")
    parser.add_argument("--compare", type=Path, help="compare with fingerprints written before")
    parser.add_argument("--seeds", default="4,5", help="comma-separated random_state values")
    parser.add_argument("--models-only", action="store_true", help="leave the build records out")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    found = {}
    for name, model, X, y in builds(seeds):
        start = time.perf_counter()
        found[name] = fingerprint(model.fit(X, y), not args.models_only)
        print(f"{name:<40}{found[name][:16]}  {time.perf_counter() - start:6.2f} s", flush=True)
    if args.out:
        args.out.write_text(json.dumps(found, indent=1))
    if args.compare:
        before = json.loads(args.compare.read_text())
        changed = [name for name in before if found.get(name) != before[name]]
        print(f"\n{len(before) - len(changed)} of {len(before)} builds bit-identical")
        for name in changed:
            print(f"  CHANGED: {name}")
        sys.exit(1 if changed else 0)


if __name__ == "__main__":
    main()
