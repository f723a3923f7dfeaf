"""Write chapter 8's offline data as parquet files (no download): hourly stats of five drivers, and
the 150 flowers of the iris data set.

The driver values follow a fixed rule, so every run writes the same numbers; only the timestamps
move with the clock: the newest row of each driver is at the current full hour (UTC), the oldest
HOURS - 1 hours before, so `feast materialize-incremental <now>` always finds them inside the
feature view's one-day ttl. The online store keeps the newest row per driver, and those values are
what expected_features.json lists and what `mlops-series check chapter-8` wants the feature server
to return.

The iris measurements come from iris.csv next to this script: scikit-learn's load_iris() written
once as CSV (iris_id = row number, the four measurements in cm, species = the target 0-2), so the
Job needs neither scikit-learn nor a download. All 150 rows carry the same event time as the newest
driver rows; expected_iris_features.json lists them as the online store returns them.

    python make_dataset.py --repo feature_repo                  # what the cluster's Job runs
    python make_dataset.py --expected expected_features.json \
        --expected-iris expected_iris_features.json              # refresh the checks' expectations
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
DEFAULT_REPO = HERE / "feature_repo"
# Where feature_repo/features.py reads the data, relative to the feature repository.
DATA_FILE = Path("data") / "driver_stats.parquet"
DRIVERS = (1001, 1002, 1003, 1004, 1005)
HOURS = 6
FEATURE_VIEW = "driver_stats"
FEATURES = ("conv_rate", "acc_rate", "avg_daily_trips")

# The iris data set, read from this script's own folder (in the cluster: the scripts ConfigMap).
IRIS_CSV = HERE / "iris.csv"
IRIS_DATA_FILE = Path("data") / "iris_measurements.parquet"
IRIS_FEATURE_VIEW = "iris_measurements"
IRIS_MEASUREMENTS = ("sepal_length_cm", "sepal_width_cm", "petal_length_cm", "petal_width_cm")
# The four measurements and the label (0 setosa, 1 versicolor, 2 virginica).
IRIS_FEATURES = (*IRIS_MEASUREMENTS, "species")
IRIS_ROWS = 150


def stats(driver_index: int, hour: int) -> dict[str, float | int]:
    """The feature values of driver driver_index (0-4) in hour 0 (oldest) to HOURS - 1 (newest).

    Simple rules keep the numbers checkable by eye: each driver converts 10 points more than the one
    before, and every hour adds one point of conversion, half a point less acceptance and 10 trips.
    """
    return {
        "conv_rate": round(0.30 + 0.10 * driver_index + 0.01 * hour, 3),
        "acc_rate": round(0.95 - 0.05 * driver_index - 0.005 * hour, 3),
        "avg_daily_trips": 100 * (driver_index + 1) + 10 * hour,
    }


def latest_hour(now: datetime | None = None) -> datetime:
    """The current full hour in UTC (the newest row's event time)."""
    now = now or datetime.now(timezone.utc)
    return now.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)


def build_frame(end: datetime) -> pd.DataFrame:
    """One row per driver and hour, oldest first; the newest rows are at end."""
    rows = []
    for hour in range(HOURS):
        ts = end - timedelta(hours=HOURS - 1 - hour)
        for i, driver_id in enumerate(DRIVERS):
            rows.append(
                {"driver_id": driver_id, "event_timestamp": ts, "created": ts, **stats(i, hour)}
            )
    df = pd.DataFrame(rows)
    # The column types the feature view declares: Int64 and Float32 features, UTC timestamps.
    return df.astype(
        {
            "driver_id": "int64",
            "conv_rate": "float32",
            "acc_rate": "float32",
            "avg_daily_trips": "int64",
            "event_timestamp": "datetime64[ns, UTC]",
            "created": "datetime64[ns, UTC]",
        }
    )[["driver_id", "event_timestamp", "created", *FEATURES]]


def read_iris(path: Path = IRIS_CSV) -> pd.DataFrame:
    """iris.csv: iris_id 0-149 in load_iris() order, the four measurements, species; checked."""
    df = pd.read_csv(
        path,
        dtype={"iris_id": "int64", **dict.fromkeys(IRIS_MEASUREMENTS, "float64"), "species": "int64"},
    )
    want = ["iris_id", *IRIS_FEATURES]
    if list(df.columns) != want:
        raise ValueError(f"{path}: columns {list(df.columns)}, want {want}")
    if df["iris_id"].tolist() != list(range(IRIS_ROWS)):
        raise ValueError(f"{path}: iris_id must be 0-{IRIS_ROWS - 1} in order ({len(df)} rows)")
    if not df["species"].isin([0, 1, 2]).all():
        raise ValueError(f"{path}: species must be 0, 1 or 2")
    return df


def build_iris_frame(end: datetime, csv: Path = IRIS_CSV) -> pd.DataFrame:
    """One row per flower, all with event time end (the measurements never change)."""
    df = read_iris(csv)
    df["event_timestamp"] = end
    df["created"] = end
    # The column types the feature view declares: Float32 measurements, an Int64 label.
    return df.astype(
        {
            "iris_id": "int64",
            **dict.fromkeys(IRIS_MEASUREMENTS, "float32"),
            "species": "int64",
            "event_timestamp": "datetime64[ns, UTC]",
            "created": "datetime64[ns, UTC]",
        }
    )[["iris_id", "event_timestamp", "created", *IRIS_FEATURES]]


def expected_online_features() -> dict:
    """What the online store must return after materialization: each driver's newest values."""
    rows = []
    for i, driver_id in enumerate(DRIVERS):
        values = stats(i, HOURS - 1)
        rows.append(
            {"driver_id": driver_id, **{f"{FEATURE_VIEW}:{f}": values[f] for f in FEATURES}}
        )
    return {
        "description": (
            "Written by make_dataset.py (do not edit): the newest values of each driver, which the "
            "online store returns after `feast materialize`. Keys with a colon are feature "
            "references (view:feature); the others are join keys. Used by the "
            "feast-online-features check of chapter.yaml."
        ),
        "rows": rows,
    }


def expected_iris_features(csv: Path = IRIS_CSV) -> dict:
    """What the online store must return for every flower: the CSV's values (Float32 features come
    back as the nearest float32, which the check's tolerance accepts)."""
    rows = []
    for r in read_iris(csv).itertuples(index=False):
        row: dict[str, float | int] = {"iris_id": int(r.iris_id)}
        for f in IRIS_MEASUREMENTS:
            row[f"{IRIS_FEATURE_VIEW}:{f}"] = float(getattr(r, f))
        row[f"{IRIS_FEATURE_VIEW}:species"] = int(r.species)
        rows.append(row)
    return {
        "description": (
            "Written by make_dataset.py (do not edit): every flower of iris.csv (load_iris() order) "
            "as the online store returns it after `feast materialize`. Keys with a colon are "
            "feature references (view:feature); the others are join keys. Used by the "
            "feast-iris-features check of chapter.yaml."
        ),
        "rows": rows,
    }


def write_dataset(repo: Path, end: datetime) -> Path:
    """Write the driver stats' parquet file into the feature repository and return its path."""
    out = repo / DATA_FILE
    out.parent.mkdir(parents=True, exist_ok=True)
    build_frame(end).to_parquet(out, index=False)
    return out


def write_iris_dataset(repo: Path, end: datetime) -> Path:
    """Write the iris measurements' parquet file into the feature repository and return its path."""
    out = repo / IRIS_DATA_FILE
    out.parent.mkdir(parents=True, exist_ok=True)
    build_iris_frame(end).to_parquet(out, index=False)
    return out


def write_expected(path: Path) -> None:
    path.write_text(json.dumps(expected_online_features(), indent=2) + "\n")


def write_expected_iris(path: Path) -> None:
    path.write_text(json.dumps(expected_iris_features(), indent=2) + "\n")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Write chapter 8's driver stats and iris measurements as parquet."
    )
    parser.add_argument(
        "--repo",
        type=Path,
        default=DEFAULT_REPO,
        help="feature repository to write data/driver_stats.parquet and "
        "data/iris_measurements.parquet into (default: %(default)s)",
    )
    parser.add_argument(
        "--end",
        type=datetime.fromisoformat,
        help="event time of the newest rows, ISO 8601 (default: the current full hour, UTC)",
    )
    parser.add_argument(
        "--expected",
        type=Path,
        help="also write the expected online values of the drivers as JSON to this file",
    )
    parser.add_argument(
        "--expected-iris",
        type=Path,
        help="also write the expected online values of the iris flowers as JSON to this file",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    end = args.end
    if end is None:
        end = latest_hour()
    elif end.tzinfo is None:
        end = end.replace(tzinfo=timezone.utc)
    out = write_dataset(args.repo, end)
    print(f"dataset={out}")
    print(f"rows={len(DRIVERS) * HOURS}")
    print(f"start={(end - timedelta(hours=HOURS - 1)).isoformat()}")
    print(f"end={end.isoformat()}")
    iris = write_iris_dataset(args.repo, end)
    print(f"iris_dataset={iris}")
    print(f"iris_rows={IRIS_ROWS}")
    if args.expected:
        write_expected(args.expected)
        print(f"expected={args.expected}")
    if args.expected_iris:
        write_expected_iris(args.expected_iris)
        print(f"expected_iris={args.expected_iris}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
