"""Distributed training with Ray Train (chapter 9): LightGBM, data parallel, CPU only, on iris.

Ray Train starts N training workers (Ray actors, each with a share of a CPU) and connects them so
that LightGBM trains ONE model together: every worker holds a different part of the training rows,
and LightGBM's own network (`tree_learner=data_parallel`) combines the workers' histograms at each
split. The data is scikit-learn's bundled iris set (nothing is downloaded); every worker loads it,
makes the same train/test split, and keeps every N-th training row from its rank on (rank 0 takes
rows 0, N, 2N, ...). A real data set would come from Ray Data (`ray.data.read_parquet`, sharded by
Ray Train); for 150 rows that machinery costs more processes and memory than the training itself.

Run it where Ray is:

* on a Ray cluster, as a job (what `mlops-series check` does through the dashboard's Jobs API, and
  what `ray job submit` does): `ray job submit --address http://127.0.0.1:8265 -- python train_ray.py`.
  Ray sets RAY_ADDRESS for the job, and the script joins that cluster;
* on a laptop without a cluster: `python train_ray.py` starts a small local Ray (--local-cpus).

The number of workers is --workers or $NUM_WORKERS (default 2), each asking for --cpus-per-worker or
$CPUS_PER_WORKER CPUs (default 0.5, so two workers fit on one CPU). On a bigger cluster, more
workers spread over more nodes: the code does not change.

When $MLFLOW_TRACKING_URI is set, rank 0 logs the run (parameters, accuracy, log loss) and the
model to MLflow (chapter 6's server): experiment --experiment (default chapter-9-ray-train).

The script itself prints one line on stdout: a JSON object naming the workers that trained (rank,
Ray node id, host name, process id, training rows) and the test accuracy, which the chapter's check
reads from the job's log. Its progress goes to stderr. (Ray forwards the workers' own output to the
driver too, each line prefixed with the process it comes from: "(RayTrainWorker pid=12) ...".)
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import ray
import ray.train
import ray.train.lightgbm
from ray.train import RunConfig, ScalingConfig
from ray.train.lightgbm import LightGBMTrainer
from sklearn.datasets import load_iris
from sklearn.model_selection import train_test_split

DEFAULT_WORKERS = 2
DEFAULT_CPUS_PER_WORKER = 0.5
DEFAULT_ROUNDS = 20
DEFAULT_EXPERIMENT = "chapter-9-ray-train"
# What a local Ray (no cluster to join) gets: two CPUs, and an object store far below Ray's default
# of 30 % of the machine's memory (the job moves a few kilobytes).
DEFAULT_LOCAL_CPUS = 2
LOCAL_OBJECT_STORE_BYTES = 100 * 1024 * 1024
# The result line's "example" field: tells this script's line from anything else in a job's log.
RESULT_TAG = "chapter-9-ray-train"
FEATURE_COLUMNS = ["sepal_length_cm", "sepal_width_cm", "petal_length_cm", "petal_width_cm"]


@dataclass(frozen=True)
class Settings:
    """What one training run does; the same object reaches every worker."""

    workers: int = DEFAULT_WORKERS
    cpus_per_worker: float = DEFAULT_CPUS_PER_WORKER
    rounds: int = DEFAULT_ROUNDS
    test_size: float = 0.3
    seed: int = 42
    experiment: str = DEFAULT_EXPERIMENT
    # MLflow server of rank 0's logging; None: no logging.
    tracking_uri: str | None = None


@dataclass(frozen=True)
class WorkerInfo:
    """Who one training worker was: what the result line lists."""

    rank: int
    node_id: str
    hostname: str
    pid: int
    train_rows: int


@dataclass(frozen=True)
class Result:
    """The outcome of a run, as printed on the result line."""

    workers: list[WorkerInfo]
    accuracy: float
    seconds: float
    mlflow_run_id: str | None = None

    def line(self) -> str:
        """The one JSON line on stdout."""
        nodes = sorted({w.node_id for w in self.workers})
        return json.dumps(
            {
                "example": RESULT_TAG,
                "framework": "lightgbm",
                "num_workers": len(self.workers),
                "num_nodes": len(nodes),
                "workers": [asdict(w) for w in self.workers],
                "accuracy": round(self.accuracy, 4),
                "seconds": round(self.seconds, 1),
                "mlflow_run_id": self.mlflow_run_id,
            },
            sort_keys=True,
        )


def load_split(test_size: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The iris rows split into training and test rows (same split in every worker)."""
    frame = load_iris(as_frame=True).frame
    frame.columns = [*FEATURE_COLUMNS, "target"]
    train, test = train_test_split(
        frame, test_size=test_size, random_state=seed, stratify=frame["target"]
    )
    return train.reset_index(drop=True), test.reset_index(drop=True)


def shard(rows: pd.DataFrame, rank: int, world_size: int) -> pd.DataFrame:
    """The training rows of one worker: every world_size-th row, from row `rank` on."""
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"rank {rank} out of range for {world_size} workers")
    return rows.iloc[rank::world_size]


def lightgbm_params(network: Mapping[str, Any]) -> dict[str, Any]:
    """LightGBM's parameters: multiclass, data parallel over the workers Ray Train connected."""
    return {
        "objective": "multiclass",
        "num_class": 3,
        "metric": "multi_logloss",
        # Each worker builds histograms of its rows; LightGBM merges them over its network.
        "tree_learner": "data_parallel",
        # The rows are already split between the workers (shard()): LightGBM must not split again.
        "pre_partition": True,
        # One thread per worker: a worker has half a CPU.
        "num_threads": 1,
        "min_data_in_leaf": 5,
        "verbose": -1,
        # machines, local_listen_port, num_machines: from Ray Train.
        **network,
    }


@dataclass(frozen=True)
class WorkerReport:
    """What one worker tells the driver after training."""

    info: WorkerInfo
    accuracy: float
    multi_logloss: float
    mlflow_run_id: str | None = None


@ray.remote(num_cpus=0)
class WorkerLog:
    """Collects the workers' reports for the driver: an actor that needs no CPU.

    (Ray Train's own result holds rank 0's metrics only, and only with a checkpoint; this example
    keeps no checkpoint: the model goes to MLflow.)
    """

    def __init__(self) -> None:
        self.reports: list[dict[str, Any]] = []

    def add(self, report: dict[str, Any]) -> None:
        self.reports.append(report)

    def get(self) -> list[dict[str, Any]]:
        return sorted(self.reports, key=lambda r: int(r["info"]["rank"]))


def train_worker(config: dict[str, Any]) -> None:
    """What every Ray Train worker runs: train its shard together with the others, evaluate."""
    settings: Settings = config["settings"]
    log = config["log"]
    ctx = ray.train.get_context()
    rank, world_size = ctx.get_world_rank(), ctx.get_world_size()

    train_rows, test_rows = load_split(settings.test_size, settings.seed)
    mine = shard(train_rows, rank, world_size)
    x_test, y_test = test_rows[FEATURE_COLUMNS], test_rows["target"]
    evals: dict[str, Any] = {}
    booster = lgb.train(
        lightgbm_params(ray.train.lightgbm.get_network_params()),
        lgb.Dataset(mine[FEATURE_COLUMNS], label=mine["target"]),
        num_boost_round=settings.rounds,
        valid_sets=[lgb.Dataset(x_test, label=y_test)],
        valid_names=["test"],
        callbacks=[lgb.record_evaluation(evals)],
    )
    probabilities = np.asarray(booster.predict(x_test))
    accuracy = float((probabilities.argmax(axis=1) == y_test.to_numpy()).mean())
    logloss = float(evals["test"]["multi_logloss"][-1])

    info = WorkerInfo(
        rank=rank,
        node_id=ray.get_runtime_context().get_node_id(),
        hostname=socket.gethostname(),
        pid=os.getpid(),
        train_rows=len(mine),
    )
    # All workers hold the same model: rank 0 alone records it.
    run_id = None
    if rank == 0 and settings.tracking_uri:
        run_id = log_to_mlflow(settings, world_size, booster, x_test, accuracy, logloss)
    report = WorkerReport(info, accuracy, logloss, run_id)
    ray.get(log.add.remote(asdict(report)))
    # Ray Train's metrics (shown in the dashboard's Train view); every worker reports once.
    ray.train.report({"accuracy": accuracy, "multi_logloss": logloss})


def log_to_mlflow(
    settings: Settings,
    world_size: int,
    booster: lgb.Booster,
    x_test: pd.DataFrame,
    accuracy: float,
    logloss: float,
) -> str:
    """Logs the run and the model to the MLflow server; returns the run id."""
    import mlflow
    import mlflow.lightgbm

    mlflow.set_tracking_uri(settings.tracking_uri)
    mlflow.set_experiment(settings.experiment)
    with mlflow.start_run(run_name="ray-train-lightgbm-iris") as run:
        mlflow.set_tags({"dataset": "sklearn.datasets.load_iris", "trainer": "ray.train.lightgbm"})
        mlflow.log_params(
            {
                "workers": world_size,
                "cpus_per_worker": settings.cpus_per_worker,
                "rounds": settings.rounds,
                "tree_learner": "data_parallel",
                "test_size": settings.test_size,
                "seed": settings.seed,
            }
        )
        mlflow.log_metrics({"accuracy": accuracy, "multi_logloss": logloss})
        # The flavour's pinned requirement (MLflow adds itself): inferring them instead loads the
        # model in a second Python process, a few seconds of CPU on every run.
        mlflow.lightgbm.log_model(
            booster,
            name="model",
            input_example=x_test.head(3),
            pip_requirements=mlflow.lightgbm.get_default_pip_requirements(),
        )
    return str(run.info.run_id)


def init_ray(local_cpus: int) -> None:
    """Joins the cluster of $RAY_ADDRESS (set for a Ray job), or starts a small local Ray."""
    if os.environ.get("RAY_ADDRESS"):
        ray.init()
    else:
        ray.init(
            num_cpus=local_cpus,
            object_store_memory=LOCAL_OBJECT_STORE_BYTES,
            include_dashboard=False,
        )


def train(settings: Settings, storage_path: str) -> Result:
    """Runs the distributed training on the Ray that init_ray() reached."""
    start = time.monotonic()
    log = WorkerLog.remote()  # type: ignore[attr-defined]
    trainer = LightGBMTrainer(
        train_worker,
        train_loop_config={"settings": settings, "log": log},
        scaling_config=ScalingConfig(
            num_workers=settings.workers,
            use_gpu=False,
            resources_per_worker={"CPU": settings.cpus_per_worker},
        ),
        run_config=RunConfig(name="iris-lightgbm", storage_path=storage_path),
    )
    trainer.fit()  # raises ray.train.TrainingFailedError when a worker failed
    return collect(ray.get(log.get.remote()), settings.workers, time.monotonic() - start)


def collect(reports: list[dict[str, Any]], workers: int, seconds: float) -> Result:
    """The run's Result from the workers' reports (as WorkerLog returns them, by rank)."""
    ranks = [int(r["info"]["rank"]) for r in reports]
    if sorted(ranks) != list(range(workers)):
        raise RuntimeError(f"reports from ranks {ranks}, want one from each of 0..{workers - 1}")
    first = reports[0]
    return Result(
        workers=[WorkerInfo(**r["info"]) for r in reports],
        accuracy=float(first["accuracy"]),
        seconds=seconds,
        mlflow_run_id=first["mlflow_run_id"],
    )


def env_number(name: str, default: float) -> float:
    """A number from the environment ($NUM_WORKERS, ...), or default when unset or empty."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise SystemExit(f"${name}={raw!r}: want a number") from None


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Train a LightGBM iris classifier on N Ray Train workers (CPU only).",
        epilog="Joins $RAY_ADDRESS when set (a Ray job), else starts a local Ray. "
        "Logs to MLflow when $MLFLOW_TRACKING_URI is set.",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=int(env_number("NUM_WORKERS", DEFAULT_WORKERS)),
        help="training workers (default: $NUM_WORKERS or %(default)s)",
    )
    parser.add_argument(
        "--cpus-per-worker",
        type=float,
        default=env_number("CPUS_PER_WORKER", DEFAULT_CPUS_PER_WORKER),
        help="CPUs each worker asks Ray for (default: $CPUS_PER_WORKER or %(default)s)",
    )
    parser.add_argument(
        "--rounds", type=int, default=DEFAULT_ROUNDS, help="boosting rounds (default: %(default)s)"
    )
    parser.add_argument(
        "--experiment",
        default=DEFAULT_EXPERIMENT,
        help="MLflow experiment of the run (default: %(default)s)",
    )
    parser.add_argument(
        "--storage-path",
        default=None,
        help="where Ray Train keeps the run's state (default: a temporary folder)",
    )
    parser.add_argument(
        "--local-cpus",
        type=int,
        default=DEFAULT_LOCAL_CPUS,
        help="CPUs of the local Ray started without $RAY_ADDRESS (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error(f"--workers {args.workers}: want at least 1")
    if args.cpus_per_worker <= 0:
        parser.error(f"--cpus-per-worker {args.cpus_per_worker}: want more than 0")
    if args.rounds < 1:
        parser.error(f"--rounds {args.rounds}: want at least 1")
    return args


def settings_from(args: argparse.Namespace) -> Settings:
    return Settings(
        workers=args.workers,
        cpus_per_worker=args.cpus_per_worker,
        rounds=args.rounds,
        experiment=args.experiment,
        tracking_uri=os.environ.get("MLFLOW_TRACKING_URI") or None,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    settings = settings_from(args)
    where = "MLflow at " + settings.tracking_uri if settings.tracking_uri else "no MLflow"
    print(
        f"training on {settings.workers} Ray Train workers x {settings.cpus_per_worker} CPU, "
        f"{where}",
        file=sys.stderr,
    )
    init_ray(args.local_cpus)
    try:
        if args.storage_path:
            result = train(settings, args.storage_path)
        else:
            with tempfile.TemporaryDirectory(prefix="ray-train-") as storage:
                result = train(settings, storage)
    finally:
        ray.shutdown()
    print(result.line(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
