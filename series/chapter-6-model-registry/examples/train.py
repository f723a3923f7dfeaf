"""Train a small classifier and register it in MLflow's model registry (chapter 6).

The script trains a scikit-learn pipeline (standardisation + logistic regression) on the iris data
set that ships with scikit-learn (nothing is downloaded), and records everything about the run in the
MLflow tracking server:

* parameters: the hyperparameters and the data split,
* metrics: accuracy and macro F1 on the held-out test set,
* the model itself, with its signature and an input example, uploaded through the server's
  artifact proxy and registered as a new version of a registered model.

The server's address comes from MLFLOW_TRACKING_URI (default http://127.0.0.1:5000, what
`kubectl port-forward svc/mlflow 5000:5000` or `mlops-series open mlflow` gives you):

    MLFLOW_TRACKING_URI=http://127.0.0.1:5000 python train.py --model-name iris-classifier

It prints key=value lines (run_id, model_name, model_version, ...) that scripts can parse.

Other code imports this file and calls train() itself: chapter 7's registration Job, and chapter 5's
pipeline, whose training pod passes the rows it read from chapter 8's feature store as `data` and
the Airflow run that made the model as extra run `tags`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import mlflow
import mlflow.sklearn
import pandas as pd
from mlflow.models import infer_signature
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

DEFAULT_TRACKING_URI = "http://127.0.0.1:5000"
DEFAULT_MODEL_NAME = "iris-classifier"
DEFAULT_EXPERIMENT = "chapter-6-iris"
# The model's input columns, in order: what load_data() names the iris measurements, and what a
# caller's own `data` must hold.
FEATURE_COLUMNS = ["sepal_length_cm", "sepal_width_cm", "petal_length_cm", "petal_width_cm"]


@dataclass(frozen=True)
class TrainResult:
    """What a training run produced, as recorded in MLflow."""

    run_id: str
    model_name: str
    model_version: int
    accuracy: float
    f1_macro: float

    @property
    def model_uri(self) -> str:
        """The registry URI other code loads the model from (chapter 7 serves this one)."""
        return f"models:/{self.model_name}/{self.model_version}"


def tracking_uri() -> str:
    """The MLflow server to log to: $MLFLOW_TRACKING_URI, or the port-forwarded default."""
    return os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI


def load_data() -> tuple[pd.DataFrame, pd.Series]:
    """The iris measurements as a DataFrame with plain column names (sepal_length_cm, ...).

    Plain names make the model's signature, and so the JSON a serving endpoint expects, readable.
    """
    features, target = load_iris(return_X_y=True, as_frame=True)
    features.columns = [c.replace(" (cm)", "_cm").replace(" ", "_") for c in features.columns]
    return features, target


def build_model(c: float, max_iter: int) -> Pipeline:
    """Standardise the four measurements, then fit a multinomial logistic regression."""
    return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=max_iter))


def check_data(features: pd.DataFrame, target: pd.Series) -> None:
    """Fails unless features has exactly FEATURE_COLUMNS and one target per row."""
    if list(features.columns) != FEATURE_COLUMNS:
        raise ValueError(
            f"data: feature columns {list(features.columns)}, want {FEATURE_COLUMNS} in this order"
        )
    if len(features) != len(target):
        raise ValueError(f"data: {len(features)} feature rows but {len(target)} targets")


def train(
    model_name: str = DEFAULT_MODEL_NAME,
    experiment: str = DEFAULT_EXPERIMENT,
    c: float = 1.0,
    max_iter: int = 200,
    test_size: float = 0.25,
    seed: int = 42,
    data: tuple[pd.DataFrame, pd.Series] | None = None,
    tags: Mapping[str, str] | None = None,
) -> TrainResult:
    """Train, evaluate, log and register one model; MLflow's tracking URI must already be set.

    data is (features, target) to train on instead of load_data(): features with the columns
    FEATURE_COLUMNS, target the class (0, 1, 2) of each row. tags are added to the run's tags, and
    may replace the "dataset" tag, which names where the rows came from.
    """
    if data is None:
        features, target = load_data()
    else:
        features, target = data
        check_data(features, target)
    x_train, x_test, y_train, y_test = train_test_split(
        features, target, test_size=test_size, random_state=seed, stratify=target
    )

    mlflow.set_experiment(experiment)
    with mlflow.start_run() as run:
        mlflow.set_tags({"dataset": "sklearn.datasets.load_iris", **(tags or {})})
        mlflow.log_params(
            {
                "model": "StandardScaler+LogisticRegression",
                "C": c,
                "max_iter": max_iter,
                "test_size": test_size,
                "seed": seed,
                "train_rows": len(x_train),
                "test_rows": len(x_test),
            }
        )

        model = build_model(c, max_iter)
        model.fit(x_train, y_train)
        predictions = model.predict(x_test)
        accuracy = float(accuracy_score(y_test, predictions))
        f1_macro = float(f1_score(y_test, predictions, average="macro"))
        mlflow.log_metrics({"accuracy": accuracy, "f1_macro": f1_macro})

        # The signature records the input columns and output type; the registry shows it and
        # serving code validates requests against it.
        signature = infer_signature(x_test, predictions)
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            signature=signature,
            input_example=x_test.head(3),
            registered_model_name=model_name,
            # The flavour's own requirements (scikit-learn and cloudpickle at the installed
            # versions; MLflow adds itself). Without them MLflow infers them by loading the model
            # in a second Python process, which costs a few seconds of CPU on every run.
            pip_requirements=mlflow.sklearn.get_default_pip_requirements(include_cloudpickle=True),
        )

    if info.registered_model_version is None:
        raise RuntimeError(f"model {model_name!r} was logged but not registered")
    return TrainResult(
        run_id=run.info.run_id,
        model_name=model_name,
        model_version=int(info.registered_model_version),
        accuracy=accuracy,
        f1_macro=f1_macro,
    )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Train an iris classifier and register it in the MLflow model registry.",
        epilog=f"The server is $MLFLOW_TRACKING_URI (default {DEFAULT_TRACKING_URI}).",
    )
    parser.add_argument(
        "--model-name",
        default=DEFAULT_MODEL_NAME,
        help="registered model to add a version to (default: %(default)s)",
    )
    parser.add_argument(
        "--experiment",
        default=DEFAULT_EXPERIMENT,
        help="MLflow experiment of the run (default: %(default)s)",
    )
    parser.add_argument(
        "--c", type=float, default=1.0, help="inverse regularisation strength (default: %(default)s)"
    )
    parser.add_argument(
        "--max-iter", type=int, default=200, help="solver iterations (default: %(default)s)"
    )
    parser.add_argument(
        "--test-size",
        type=float,
        default=0.25,
        help="share of rows held out for evaluation (default: %(default)s)",
    )
    parser.add_argument(
        "--seed", type=int, default=42, help="random seed of the split (default: %(default)s)"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    uri = tracking_uri()
    mlflow.set_tracking_uri(uri)
    print(f"logging to {uri}", file=sys.stderr)
    result = train(
        model_name=args.model_name,
        experiment=args.experiment,
        c=args.c,
        max_iter=args.max_iter,
        test_size=args.test_size,
        seed=args.seed,
    )
    print(f"run_id={result.run_id}")
    print(f"model_name={result.model_name}")
    print(f"model_version={result.model_version}")
    print(f"model_uri={result.model_uri}")
    print(f"accuracy={result.accuracy:.4f}")
    print(f"f1_macro={result.f1_macro:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
