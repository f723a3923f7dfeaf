"""Write a training curve that TensorBoard can show (chapter 3).

The script trains a linear classifier on the iris data set that ships with scikit-learn (nothing is
downloaded) one epoch at a time (SGDClassifier.partial_fit, fixed seed) and, after every epoch,
writes scalars with tensorboardX into one TensorBoard run, the folder `<logdir>/iris-sgd`:

    train/loss       log loss on the training split
    train/accuracy   accuracy on the training split
    eval/accuracy    accuracy on the held-out split

Each tag has one point per epoch, at steps 1..N. Running the script again replaces the run's
folder, so a retried Job leaves exactly one event file. The last line it prints is
`run=iris-sgd epochs=N accuracy=X` (X: the final eval/accuracy).

    python tensorboard_example.py --logdir /runs          # what the chapter's Job runs
    tensorboard --logdir /runs                            # then open the Scalars tab
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.datasets import load_iris
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import accuracy_score, log_loss
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from tensorboardX import SummaryWriter

RUN_NAME = "iris-sgd"
TAGS = ("train/loss", "train/accuracy", "eval/accuracy")
DEFAULT_EPOCHS = 30
SEED = 42


@dataclass(frozen=True)
class Result:
    run_dir: Path
    epochs: int
    accuracy: float


def train(logdir: Path, epochs: int = DEFAULT_EPOCHS, seed: int = SEED) -> Result:
    """Trains for `epochs` epochs and writes the run `iris-sgd` under logdir."""
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    x, y = load_iris(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.3, random_state=seed, stratify=y
    )
    scaler = StandardScaler().fit(x_train)
    x_train, x_test = scaler.transform(x_train), scaler.transform(x_test)
    classes = np.unique(y)
    model = SGDClassifier(loss="log_loss", alpha=1e-3, learning_rate="optimal", random_state=seed)
    rng = np.random.default_rng(seed)

    run_dir = logdir / RUN_NAME
    # One run, one event file: a previous run of this script (or a retried Job) is replaced.
    if run_dir.is_symlink() or run_dir.is_file():
        run_dir.unlink()
    elif run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)

    accuracy = 0.0
    with SummaryWriter(logdir=str(run_dir)) as writer:
        for epoch in range(1, epochs + 1):
            order = rng.permutation(len(x_train))
            model.partial_fit(x_train[order], y_train[order], classes=classes)
            loss = log_loss(y_train, model.predict_proba(x_train), labels=classes)
            train_acc = accuracy_score(y_train, model.predict(x_train))
            accuracy = float(accuracy_score(y_test, model.predict(x_test)))
            writer.add_scalar("train/loss", float(loss), epoch)
            writer.add_scalar("train/accuracy", float(train_acc), epoch)
            writer.add_scalar("eval/accuracy", accuracy, epoch)
    return Result(run_dir=run_dir, epochs=epochs, accuracy=accuracy)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logdir", type=Path, required=True, help="TensorBoard's log folder")
    parser.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS)
    args = parser.parse_args(argv)
    result = train(args.logdir, epochs=args.epochs)
    print(f"run={RUN_NAME} epochs={result.epochs} accuracy={result.accuracy:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
