"""Trains chapter 6's classifier on rows from the feature store and makes it the champion.

This is the training pod of chapter 5's `iris_training` pipeline: Airflow's KubernetesPodOperator
starts this image with

    python -m iris_serving.train_features

after the DAG's first task has read the 150 iris flowers from chapter 8's Feast feature server. The
rows arrive in the environment variable FEATURES, as the JSON the first task returned:

    {"columns": ["sepal_length_cm", "sepal_width_cm", "petal_length_cm", "petal_width_cm"],
     "rows": [[5.1, 3.5, 1.4, 0.2], ...], "target": [0, ...], "source": "feast:iris_measurements"}

It then

1. waits until MLflow answers (MLFLOW_TRACKING_URI), as the registration Job does;
2. trains with chapter 6's train.py (imported, not copied, as register.py does) on those rows instead
   of scikit-learn's copy of the data, in the experiment "chapter-5-iris-training", with the run tags
   dataset (the rows' source), airflow_dag_id and airflow_run_id;
3. tags the new model version with airflow_dag_id and airflow_run_id, so that the registry alone
   tells which pipeline run made a version;
4. moves the alias (MODEL_ALIAS, default "champion") of MODEL_NAME (default "iris-classifier") to the
   new version, unless its held-out accuracy is below MIN_ACCURACY (default 0.8): chapter 7's app
   then serves it within its refresh interval.

It prints key=value lines: run_id, model_name, model_version, alias, accuracy, rows. A missing or
malformed FEATURES, or a model below the bar, ends it with exit code 1 and the reason on stderr.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .register import load_train_module, train_script, wait_for_mlflow
from .settings import DEFAULT_MODEL_ALIAS, DEFAULT_MODEL_NAME, DEFAULT_TRACKING_URI

DEFAULT_EXPERIMENT = "chapter-5-iris-training"
DEFAULT_MIN_ACCURACY = 0.8
# The run tags and model-version tags that name the Airflow run which made a model.
DAG_ID_TAG = "airflow_dag_id"
RUN_ID_TAG = "airflow_run_id"


class FeaturesError(ValueError):
    """FEATURES is missing or not the training set the pipeline's first task returns."""


@dataclass(frozen=True)
class TrainingSet:
    """The rows of FEATURES: one list of measurements and one class per flower."""

    columns: list[str]
    rows: list[list[float]]
    target: list[int]
    source: str


@dataclass(frozen=True)
class Outcome:
    run_id: str
    model_name: str
    model_version: str
    alias: str
    accuracy: float
    rows: int


def parse_features(raw: str | None, want_columns: Sequence[str]) -> TrainingSet:
    """Reads FEATURES' JSON and checks it: the columns train.py wants, rows of that many numbers,
    one integer class per row. Every problem is a FeaturesError that says what was wrong."""
    if raw is None or not raw.strip():
        raise FeaturesError(
            "FEATURES is not set: it carries the training rows (JSON with columns, rows, target, "
            "source) that the pipeline's fetch_features task returned"
        )
    try:
        doc = json.loads(raw)
    except json.JSONDecodeError as err:
        raise FeaturesError(f"FEATURES is not JSON ({err}): {raw[:200]!r}") from None
    if not isinstance(doc, dict):
        raise FeaturesError(f"FEATURES is a JSON {type(doc).__name__}, want an object: {raw[:200]!r}")
    missing = [k for k in ("columns", "rows", "target") if k not in doc]
    if missing:
        raise FeaturesError(
            f"FEATURES lacks {', '.join(missing)} (keys: {', '.join(sorted(doc)) or 'none'})"
        )
    columns, rows, target = doc["columns"], doc["rows"], doc["target"]
    if columns != list(want_columns):
        raise FeaturesError(f"FEATURES columns are {columns}, want {list(want_columns)}")
    if not isinstance(rows, list) or not rows:
        raise FeaturesError("FEATURES rows: want a non-empty list of rows")
    if not isinstance(target, list) or len(target) != len(rows):
        n = len(target) if isinstance(target, list) else type(target).__name__
        raise FeaturesError(f"FEATURES has {len(rows)} rows but target has {n} entries")
    for i, row in enumerate(rows):
        if (
            not isinstance(row, list)
            or len(row) != len(columns)
            or not all(_is_number(v) for v in row)
        ):
            raise FeaturesError(f"FEATURES row {i}: {row!r}, want {len(columns)} numbers")
    for i, label in enumerate(target):
        if isinstance(label, bool) or not isinstance(label, int):
            raise FeaturesError(f"FEATURES target {i}: {label!r}, want an integer class")
    source = doc.get("source") or "unknown"
    if not isinstance(source, str):
        raise FeaturesError(f"FEATURES source: {source!r}, want a string")
    return TrainingSet(
        columns=list(columns),
        rows=[[float(v) for v in r] for r in rows],
        target=list(target),
        source=source,
    )


def _is_number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def run_tags(source: str, dag_id: str, run_id: str) -> dict[str, str]:
    """The training run's tags: where the rows came from and, when known, the Airflow run."""
    tags = {"dataset": source}
    if dag_id:
        tags[DAG_ID_TAG] = dag_id
    if run_id:
        tags[RUN_ID_TAG] = run_id
    return tags


def train_and_promote(
    client: Any,
    train_module: Any,
    data: TrainingSet,
    name: str,
    alias: str,
    dag_id: str = "",
    run_id: str = "",
    experiment: str = DEFAULT_EXPERIMENT,
    min_accuracy: float = DEFAULT_MIN_ACCURACY,
) -> Outcome:
    """Trains on data (train_module is chapter 6's train.py), tags the new version with the Airflow
    run and points the alias at it. MLflow's tracking URI must already be set."""
    import pandas as pd

    features = pd.DataFrame(data.rows, columns=data.columns)
    target = pd.Series(data.target, name="target")
    result = train_module.train(
        model_name=name,
        experiment=experiment,
        data=(features, target),
        tags=run_tags(data.source, dag_id, run_id),
    )
    version = str(result.model_version)
    # Model-version tags: the registry shows them on the version's page, and a client finds the
    # version a DAG run made with search_model_versions("tags.airflow_run_id = '...'").
    for key, value in ((DAG_ID_TAG, dag_id), (RUN_ID_TAG, run_id)):
        if value:
            client.set_model_version_tag(name, version, key, value)
    if result.accuracy < min_accuracy:
        raise RuntimeError(
            f"version {version} of {name} has accuracy {result.accuracy:.3f}, below "
            f"{min_accuracy}: it stays registered, but {alias!r} keeps pointing where it did"
        )
    client.set_registered_model_alias(name, alias, version)
    return Outcome(
        run_id=result.run_id,
        model_name=name,
        model_version=version,
        alias=alias,
        accuracy=result.accuracy,
        rows=len(data.rows),
    )


def parse_args(
    argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None
) -> argparse.Namespace:
    env = os.environ if env is None else env
    p = argparse.ArgumentParser(
        description="Train the iris classifier on FEATURES (JSON rows) and make it the champion.",
        epilog="Environment: FEATURES (required), MLFLOW_TRACKING_URI, MODEL_NAME, MODEL_ALIAS, "
        "AIRFLOW_DAG_ID, AIRFLOW_RUN_ID, MIN_ACCURACY.",
    )
    p.add_argument("--model-name", default=env.get("MODEL_NAME") or DEFAULT_MODEL_NAME)
    p.add_argument("--alias", default=env.get("MODEL_ALIAS") or DEFAULT_MODEL_ALIAS)
    p.add_argument("--experiment", default=DEFAULT_EXPERIMENT, help="experiment of the run")
    p.add_argument(
        "--min-accuracy",
        type=float,
        default=float(env.get("MIN_ACCURACY") or DEFAULT_MIN_ACCURACY),
        help="held-out accuracy below which the alias is not moved",
    )
    p.add_argument(
        "--wait-seconds", type=float, default=300, help="how long to wait for MLflow to answer"
    )
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    train_module = load_train_module(train_script())
    try:
        data = parse_features(os.environ.get("FEATURES"), train_module.FEATURE_COLUMNS)
    except FeaturesError as err:
        print(f"train_features: {err}", file=sys.stderr)
        return 1
    dag_id = os.environ.get("AIRFLOW_DAG_ID", "")
    run_id = os.environ.get("AIRFLOW_RUN_ID", "")
    print(
        f"training on {len(data.rows)} rows from {data.source} "
        f"(Airflow DAG {dag_id or '-'}, run {run_id or '-'})",
        file=sys.stderr,
        flush=True,
    )

    url = os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI
    wait_for_mlflow(url, args.wait_seconds)

    import mlflow
    from mlflow.tracking import MlflowClient

    mlflow.set_tracking_uri(url)
    client = MlflowClient(tracking_uri=url, registry_uri=url)
    try:
        out = train_and_promote(
            client,
            train_module,
            data,
            args.model_name,
            args.alias,
            dag_id=dag_id,
            run_id=run_id,
            experiment=args.experiment,
            min_accuracy=args.min_accuracy,
        )
    except RuntimeError as err:
        print(f"train_features: {err}", file=sys.stderr)
        return 1
    print(f"run_id={out.run_id}")
    print(f"model_name={out.model_name}")
    print(f"model_version={out.model_version}")
    print(f"alias={out.alias}")
    print(f"accuracy={out.accuracy:.4f}")
    print(f"rows={out.rows}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
