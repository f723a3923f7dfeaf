"""A small machine-learning pipeline as an Airflow 3 DAG (chapter 5): prepare data -> train -> evaluate.

Three tasks, run in order by the scheduler, each in its own process:

* prepare_data: makes a labelled data set (two overlapping clouds of points, one per class) from a
  fixed random seed and splits it into training and test rows,
* train: fits a logistic regression to the training rows by gradient descent,
* evaluate: measures accuracy on the held-out test rows and fails the run if the model is worse than
  MIN_ACCURACY (a quality gate: a failed run is what stops a bad model from going further).

The tasks hand their results to each other through XCom (Airflow stores a task's return value and
passes it to the tasks that take it as an argument), so they are small JSON-friendly dicts and lists.

Everything is plain Python (no numpy or scikit-learn) and deterministic: the data, the model and the
accuracy are the same on every run, on a laptop and in the cluster, and nothing is downloaded. The
functions above the DAG are the whole logic and can be tested without Airflow.

Trigger it from the UI (DAGs start paused: switch it on first) or through the REST API:

    POST /api/v2/dags/ml_pipeline/dagRuns  {"logical_date": null, "conf": {}}
"""

from __future__ import annotations

import math
import random
from datetime import datetime

from airflow.sdk import dag, task

SEED = 42
ROWS = 200
TEST_SHARE = 0.25
EPOCHS = 200
LEARNING_RATE = 0.5
MIN_ACCURACY = 0.8

Row = list[float]  # [feature_1, feature_2, label]


def make_dataset(seed: int = SEED, rows: int = ROWS) -> list[Row]:
    """Points of two classes: label 0 around (-1, -1), label 1 around (1, 1), both with spread 1."""
    rng = random.Random(seed)
    data: list[Row] = []
    for i in range(rows):
        label = i % 2
        centre = 1.0 if label else -1.0
        data.append([rng.gauss(centre, 1.0), rng.gauss(centre, 1.0), float(label)])
    rng.shuffle(data)
    return data


def split(data: list[Row], test_share: float = TEST_SHARE) -> tuple[list[Row], list[Row]]:
    """The first rows for training, the last test_share of them held out for evaluation."""
    cut = len(data) - round(len(data) * test_share)
    return data[:cut], data[cut:]


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def predict(model: dict, row: Row) -> int:
    """Class 1 when the model's probability for it is at least one half."""
    w1, w2 = model["weights"]
    return int(sigmoid(w1 * row[0] + w2 * row[1] + model["bias"]) >= 0.5)


def fit(train_rows: list[Row], epochs: int = EPOCHS, learning_rate: float = LEARNING_RATE) -> dict:
    """Logistic regression by full-batch gradient descent on the log loss."""
    w1 = w2 = bias = 0.0
    n = len(train_rows)
    for _ in range(epochs):
        g1 = g2 = gb = 0.0
        for x1, x2, y in train_rows:
            err = sigmoid(w1 * x1 + w2 * x2 + bias) - y
            g1 += err * x1
            g2 += err * x2
            gb += err
        w1 -= learning_rate * g1 / n
        w2 -= learning_rate * g2 / n
        bias -= learning_rate * gb / n
    return {"weights": [w1, w2], "bias": bias, "epochs": epochs, "learning_rate": learning_rate}


def accuracy(model: dict, rows: list[Row]) -> float:
    """Share of rows whose predicted class is their label."""
    return sum(predict(model, r) == int(r[2]) for r in rows) / len(rows)


@dag(
    dag_id="ml_pipeline",
    description="Chapter 5: prepare data, train a logistic regression, evaluate it",
    # No schedule: the pipeline runs when triggered (from the UI, the REST API or `airflow dags trigger`).
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    # One run at a time is plenty for a laptop.
    max_active_runs=1,
    tags=["mlops-series", "chapter-5"],
)
def ml_pipeline():
    @task
    def prepare_data() -> dict:
        train_rows, test_rows = split(make_dataset())
        print(f"prepared {len(train_rows)} training rows and {len(test_rows)} test rows (seed {SEED})")
        return {"train": train_rows, "test": test_rows}

    @task
    def train(data: dict) -> dict:
        model = fit(data["train"])
        model["train_accuracy"] = accuracy(model, data["train"])
        print(f"trained: weights {model['weights']}, bias {model['bias']:.4f}, "
              f"training accuracy {model['train_accuracy']:.3f}")
        return model

    @task
    def evaluate(model: dict, data: dict) -> dict:
        test_accuracy = accuracy(model, data["test"])
        print(f"test accuracy {test_accuracy:.3f} on {len(data['test'])} rows (gate: {MIN_ACCURACY})")
        if test_accuracy < MIN_ACCURACY:
            raise ValueError(f"test accuracy {test_accuracy:.3f} is below {MIN_ACCURACY}: model rejected")
        return {"test_accuracy": test_accuracy, "train_accuracy": model["train_accuracy"]}

    data = prepare_data()
    evaluate(train(data), data)


ml_pipeline()
