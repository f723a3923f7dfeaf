"""Write chapter 8's offline data: hourly stats of five drivers, as a parquet file (no download).

The values follow a fixed rule, so every run writes the same numbers; only the timestamps move with
the clock: the newest row of each driver is at the current full hour (UTC), the oldest HOURS - 1
hours before, so `feast materialize-incremental <now>` always finds them inside the feature view's
one-day ttl. The online store keeps the newest row per driver, and those values are what
expected_features.json lists and what `mlops-series check chapter-8` wants the feature server to
return.

    python make_dataset.py --repo feature_repo                  # what the cluster's Job runs
    python make_dataset.py --expected expected_features.json     # refresh the check's expectations
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


def write_dataset(repo: Path, end: datetime) -> Path:
    """Write the parquet file into the feature repository and return its path."""
    out = repo / DATA_FILE
    out.parent.mkdir(parents=True, exist_ok=True)
    build_frame(end).to_parquet(out, index=False)
    return out


def write_expected(path: Path) -> None:
    path.write_text(json.dumps(expected_online_features(), indent=2) + "\n")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Write chapter 8's driver stats as parquet.")
    parser.add_argument(
        "--repo",
        type=Path,
        default=DEFAULT_REPO,
        help="feature repository to write data/driver_stats.parquet into (default: %(default)s)",
    )
    parser.add_argument(
        "--end",
        type=datetime.fromisoformat,
        help="event time of the newest rows, ISO 8601 (default: the current full hour, UTC)",
    )
    parser.add_argument(
        "--expected",
        type=Path,
        help="also write the expected online values as JSON to this file",
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
    if args.expected:
        write_expected(args.expected)
        print(f"expected={args.expected}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
