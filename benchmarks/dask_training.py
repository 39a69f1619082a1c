"""Training on a Dask cluster: accuracy, time and the client's memory as the rows grow.

Run ``python benchmarks/dask_training.py [--rows 100000,1000000,10000000] [--seed 0]
[--workers 1,2] [--workers-rows 1000000] [--search-rows 8000] [--rst table.rst]``.

The borehole function (8 inputs, no noise), its rows made chunk by chunk on the workers
of a ``LocalCluster`` (worker processes, one thread each) and never gathered on the
client. ``NeurEcoRegressor`` with default parameters searches on a sample of 8,000 rows in
memory (``--search-rows``), then trains on every row, its sums computed on the workers.
Each fit runs in its
own fresh client process, so that the client's peak resident memory (scheduler included)
is its own; the workers' peak is reported beside it. Against it: the same search on a
sample of as many rows, trained on that sample only (``BuildConfig(search_rows=None)``,
in memory). Test error on 20,000 fresh points as nRMSE (RMSE / standard deviation).
The second table times the Dask fit on 1 and 2 workers.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
from accuracy import BOREHOLE, borehole, uniform
from fresh_process import in_fresh_process
from rst_table import write_table

CHUNK_ROWS = 250_000


def _block(seed: int, block_info=None) -> np.ndarray:
    """One chunk of rows: the 8 inputs and the target, from its own seed."""
    info = block_info[None]
    rng = np.random.default_rng([seed, info["chunk-location"][0]])
    X = uniform(rng, info["chunk-shape"][0], BOREHOLE)
    return np.column_stack([X, borehole(X)])


def dask_data(n_rows: int, seed: int):
    """``(X, y)`` as Dask arrays made chunk by chunk where they are computed."""
    import dask.array as da

    sizes = (CHUNK_ROWS,) * (n_rows // CHUNK_ROWS) + (
        (n_rows % CHUNK_ROWS,) if n_rows % CHUNK_ROWS else ()
    )
    table = da.map_blocks(_block, seed, chunks=(sizes, (9,)), dtype=float)
    return table[:, :8], table[:, 8]


def test_set():
    rng = np.random.default_rng(12345)
    X = uniform(rng, 20000, BOREHOLE)
    return X, borehole(X)


def _nrmse(model, X, y) -> float:
    return float(np.sqrt(np.mean((model.predict(X) - y) ** 2)) / y.std())


def one_fit(kind: str, n_rows: int, seed: int, workers: int, search_rows: int, queue) -> None:
    """In a fresh process: fit and report (nRMSE, seconds, client MiB, workers' MiB, size)."""
    from sklearn_neureco import BuildConfig, NeurEcoRegressor

    X_test, y_test = test_set()
    if kind == "sample":
        rng = np.random.default_rng([seed, 99])
        X = uniform(rng, n_rows, BOREHOLE)
        model = NeurEcoRegressor(random_state=seed, build_config=BuildConfig(search_rows=None))
        start = time.perf_counter()
        model.fit(X, borehole(X))
        seconds = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        queue.put((_nrmse(model, X_test, y_test), seconds, peak, 0.0, str(model.layer_sizes_)))
        return
    from dask.distributed import Client, LocalCluster

    with (
        LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        X, y = dask_data(n_rows, seed)
        config = BuildConfig(search_rows=search_rows)
        model = NeurEcoRegressor(random_state=seed, build_config=config)
        start = time.perf_counter()
        model.fit(X, y)
        seconds = time.perf_counter() - start

        def rss() -> float:
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        worker_peak = max(client.run(rss).values())
        peak = rss()
    queue.put((_nrmse(model, X_test, y_test), seconds, peak, worker_peak, str(model.layer_sizes_)))


def measure(kind: str, n_rows: int, seed: int, search_rows: int, workers: int = 2):
    return in_fresh_process(one_fit, kind, n_rows, seed, workers, search_rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="100000,1000000,10000000")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", default="1,2", help="worker counts for the second table")
    parser.add_argument("--workers-rows", type=int, default=1_000_000)
    parser.add_argument("--search-rows", type=int, default=8000, help="the search's sample")
    parser.add_argument("--rst", default="", help="also write the tables there (reST)")
    args = parser.parse_args()
    rows = [int(r) for r in args.rows.split(",")]
    header = ["rows", "nRMSE", "fit s", "client MiB", "workers' MiB", "network"]
    table = []
    m = args.search_rows
    sample = measure("sample", m, args.seed, m)
    print(f"NeurEco on borehole, seed {args.seed}; 2 workers of one thread; test nRMSE on 20,000")
    print(f"sample only ({m} rows in memory): nRMSE {sample[0]:.2e}, {sample[1]:.1f} s")
    table.append(
        [
            f"{m} (sample only)",
            f"{sample[0]:.2e}",
            f"{sample[1]:.1f}",
            f"{sample[2]:.0f}",
            "",
            sample[4],
        ]
    )
    print(
        f"{'rows':>9} | {'nRMSE':>9} | {'fit s':>7} | {'client MiB':>10} | "
        f"{'workers MiB':>11} | network"
    )
    for n_rows in rows:
        nrmse, seconds, client, workers, size = measure("dask", n_rows, args.seed, m)
        print(
            f"{n_rows:>9} | {nrmse:9.2e} | {seconds:7.1f} | {client:10.0f} | "
            f"{workers:11.0f} | {size}"
        )
        table.append(
            [f"{n_rows}", f"{nrmse:.2e}", f"{seconds:.1f}", f"{client:.0f}", f"{workers:.0f}", size]
        )
    by_workers = []
    print(f"\n{args.workers_rows} rows: fit time against workers")
    for workers in (int(w) for w in args.workers.split(",")):
        nrmse, seconds, _, _, size = measure("dask", args.workers_rows, args.seed, m, workers)
        print(f"  {workers} worker(s): {seconds:7.1f} s, nRMSE {nrmse:.2e}, {size}")
        by_workers.append([str(workers), f"{seconds:.1f}", f"{nrmse:.2e}"])
    if args.rst:
        write_table(
            args.rst,
            f"Borehole, seed {args.seed}, on a ``LocalCluster`` of 2 worker processes of one "
            "thread (``python benchmarks/dask_training.py``); test nRMSE on 20,000 points; "
            "peak resident memory of the client process (scheduler included) and of the "
            "largest worker.",
            header,
            table,
        )
        with open(args.rst, "a") as f:
            f.write("\n")
        rest = args.rst.replace(".txt", "_workers.txt")
        write_table(
            rest,
            f"Fit time on {args.workers_rows} rows against the number of workers.",
            ["workers", "fit s", "nRMSE"],
            by_workers,
        )


if __name__ == "__main__":
    main()
