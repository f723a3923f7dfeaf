"""Tests of chapter 8's examples: the dataset script and its iris CSV, the copies in values/feast.yaml,
and the feature repository end to end against a real Redis (Debian's redis-server) with the real Feast:
make_dataset.py, `feast apply` and `feast materialize-incremental` as the chart's Job runs them,
then online and point-in-time (historical) reads through Feast's Python SDK.

    ~/.cache/mlops-series/venvs/feast/bin/python -m pytest series/chapter-8-feature-store
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest
import yaml

HERE = Path(__file__).resolve().parent
CHAPTER = HERE.parent
REPO = HERE / "feature_repo"
EXPECTED = HERE / "expected_features.json"
EXPECTED_IRIS = HERE / "expected_iris_features.json"
IRIS_CSV = HERE / "iris.csv"
VALUES = CHAPTER / "values" / "feast.yaml"
FEAST = Path(sys.executable).parent / "feast"
END = datetime(2026, 1, 2, 12, 0, tzinfo=timezone.utc)


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


make_dataset = _load("chapter8_make_dataset", HERE / "make_dataset.py")


def test_values_file_carries_the_examples_verbatim() -> None:
    """values/feast.yaml ships examples/ to the cluster: its copies must be identical."""
    repo = yaml.safe_load(VALUES.read_text())["featureRepo"]
    want_files = {
        p.name: p.read_text()
        for p in REPO.iterdir()
        if p.is_file() and p.suffix in {".py", ".yaml"}
    }
    assert set(repo["files"]) == set(want_files), (
        "featureRepo.files must list exactly examples/feature_repo/"
    )
    for name, text in want_files.items():
        assert repo["files"][name] == text, (
            f"values/feast.yaml featureRepo.files[{name!r}] differs from "
            f"examples/feature_repo/{name}: copy the file into the values file"
        )
    assert set(repo["scripts"]) == {"make_dataset.py", "iris.csv"}, (
        "featureRepo.scripts must list exactly make_dataset.py and iris.csv"
    )
    for name in ("make_dataset.py", "iris.csv"):
        assert repo["scripts"][name] == (HERE / name).read_text(), (
            f"values/feast.yaml featureRepo.scripts[{name!r}] differs from examples/{name}: "
            "copy the file into the values file"
        )
    assert "make_dataset.py --repo ." in repo["prepare"]


def test_expected_file_is_current(tmp_path: Path) -> None:
    """expected_features.json is what make_dataset.py writes (refresh it with --expected)."""
    out = tmp_path / "expected.json"
    make_dataset.write_expected(out)
    assert json.loads(EXPECTED.read_text()) == json.loads(out.read_text()), (
        "examples/expected_features.json is stale: run "
        "`python make_dataset.py --expected expected_features.json` in examples/"
    )


def test_expected_iris_file_is_current(tmp_path: Path) -> None:
    """expected_iris_features.json is what make_dataset.py writes (refresh it with --expected-iris)."""
    out = tmp_path / "expected_iris.json"
    make_dataset.write_expected_iris(out)
    assert json.loads(EXPECTED_IRIS.read_text()) == json.loads(out.read_text()), (
        "examples/expected_iris_features.json is stale: run "
        "`python make_dataset.py --expected-iris expected_iris_features.json` in examples/"
    )


def test_iris_csv_is_the_iris_data_set() -> None:
    """iris.csv is load_iris() (written once with scikit-learn and compared value for value): 150
    flowers in sklearn's order, 50 per species, with the data set's well-known column sums."""
    csv = pd.read_csv(IRIS_CSV)
    assert list(csv.columns) == ["iris_id", *make_dataset.IRIS_FEATURES]
    assert len(csv) == make_dataset.IRIS_ROWS == 150
    assert csv["iris_id"].tolist() == list(range(150))
    assert csv["species"].value_counts().sort_index().to_dict() == {0: 50, 1: 50, 2: 50}
    # load_iris() orders the flowers by species: 0-49 setosa, 50-99 versicolor, 100-149 virginica.
    assert csv["species"].tolist() == [0] * 50 + [1] * 50 + [2] * 50
    sums = csv[list(make_dataset.IRIS_MEASUREMENTS)].sum().round(6).to_dict()
    assert sums == {
        "sepal_length_cm": 876.5,
        "sepal_width_cm": 458.6,
        "petal_length_cm": 563.7,
        "petal_width_cm": 179.9,
    }
    # The first flower of each species, the rows the feast-iris-features check asks for.
    first = csv.set_index("iris_id").loc[[0, 50, 100]]
    assert first.values.tolist() == [
        [5.1, 3.5, 1.4, 0.2, 0],
        [7.0, 3.2, 4.7, 1.4, 1],
        [6.3, 3.3, 6.0, 2.5, 2],
    ]
    pd.testing.assert_frame_equal(make_dataset.read_iris(), csv)
    try:  # the feast venv has no scikit-learn; chapter 6's venv has
        from sklearn.datasets import load_iris
    except ImportError:
        return
    data = load_iris()
    assert (csv[list(make_dataset.IRIS_MEASUREMENTS)].to_numpy() == data.data).all()
    assert (csv["species"].to_numpy() == data.target).all()


def test_iris_expected_rows_match_the_csv() -> None:
    """Every flower, and every feature of the view, with the CSV's values."""
    rows = json.loads(EXPECTED_IRIS.read_text())["rows"]
    csv = pd.read_csv(IRIS_CSV)
    assert [r["iris_id"] for r in rows] == list(range(150))
    view = make_dataset.IRIS_FEATURE_VIEW
    for row, want in zip(rows, csv.to_dict("records")):
        assert row == {
            "iris_id": want["iris_id"],
            **{f"{view}:{f}": want[f] for f in make_dataset.IRIS_FEATURES},
        }
        assert isinstance(row[f"{view}:species"], int)
    # The check's entities are rows of the file.
    spec = yaml.safe_load((CHAPTER / "chapter.yaml").read_text())
    check = next(c for c in spec["checks"] if c["name"] == "feast-iris-features")
    assert check["params"]["expected"] == "examples/expected_iris_features.json"
    assert check["params"]["entities"] == "iris_id=0,50,100"
    assert check["params"]["features"].split(",") == [
        f"{view}:{f}" for f in make_dataset.IRIS_FEATURES
    ]


def test_dataset_is_deterministic(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    make_dataset.main(["--repo", str(first), "--end", END.isoformat()])
    make_dataset.main(["--repo", str(second), "--end", END.isoformat()])
    a = pd.read_parquet(first / "data" / "driver_stats.parquet")
    b = pd.read_parquet(second / "data" / "driver_stats.parquet")
    pd.testing.assert_frame_equal(a, b)

    assert len(a) == len(make_dataset.DRIVERS) * make_dataset.HOURS == 30
    assert str(a["conv_rate"].dtype) == "float32" and str(a["avg_daily_trips"].dtype) == "int64"
    assert a["event_timestamp"].min() == pd.Timestamp(END - timedelta(hours=5))
    assert a["event_timestamp"].max() == pd.Timestamp(END)
    assert (a["created"] == a["event_timestamp"]).all()

    # The newest row of each driver holds exactly the expected online values.
    newest = a[a["event_timestamp"] == a["event_timestamp"].max()].set_index("driver_id")
    for row in json.loads(EXPECTED.read_text())["rows"]:
        got = newest.loc[row["driver_id"]]
        for ref, want in row.items():
            if ":" in ref:
                assert got[ref.split(":", 1)[1]] == pytest.approx(want, rel=1e-6), (
                    row["driver_id"],
                    ref,
                )

    # The iris rows: the types the feature view declares, all at the newest drivers' hour.
    ia = pd.read_parquet(first / "data" / "iris_measurements.parquet")
    ib = pd.read_parquet(second / "data" / "iris_measurements.parquet")
    pd.testing.assert_frame_equal(ia, ib)
    assert list(ia.columns) == [
        "iris_id",
        "event_timestamp",
        "created",
        "sepal_length_cm",
        "sepal_width_cm",
        "petal_length_cm",
        "petal_width_cm",
        "species",
    ]
    assert {c: str(t) for c, t in ia.dtypes.items()} == {
        "iris_id": "int64",
        "event_timestamp": "datetime64[ns, UTC]",
        "created": "datetime64[ns, UTC]",
        "sepal_length_cm": "float32",
        "sepal_width_cm": "float32",
        "petal_length_cm": "float32",
        "petal_width_cm": "float32",
        "species": "int64",
    }
    assert len(ia) == 150 and ia["iris_id"].tolist() == list(range(150))
    assert (ia["event_timestamp"] == pd.Timestamp(END)).all()
    assert (ia["created"] == ia["event_timestamp"]).all()
    csv = pd.read_csv(IRIS_CSV)
    for name in make_dataset.IRIS_MEASUREMENTS:
        # Exactly the CSV's values, rounded to the nearest float32 as the view stores them.
        assert (ia[name].to_numpy() == csv[name].to_numpy().astype("float32")).all(), name
    assert ia["species"].tolist() == csv["species"].tolist()


def test_main_prints_what_it_wrote(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    exp, exp_iris = tmp_path / "e.json", tmp_path / "i.json"
    args = ["--repo", str(tmp_path), "--end", END.isoformat(), "--expected", str(exp)]
    make_dataset.main([*args, "--expected-iris", str(exp_iris)])
    out = dict(line.split("=", 1) for line in capsys.readouterr().out.splitlines())
    assert out == {
        "dataset": str(tmp_path / "data" / "driver_stats.parquet"),
        "rows": "30",
        "start": (END - timedelta(hours=5)).isoformat(),
        "end": END.isoformat(),
        "iris_dataset": str(tmp_path / "data" / "iris_measurements.parquet"),
        "iris_rows": "150",
        "expected": str(exp),
        "expected_iris": str(exp_iris),
    }
    assert json.loads(exp_iris.read_text()) == json.loads(EXPECTED_IRIS.read_text())


def test_default_end_is_the_current_hour() -> None:
    now = datetime(2026, 3, 4, 5, 59, 59, 999, tzinfo=timezone.utc)
    assert make_dataset.latest_hour(now) == datetime(2026, 3, 4, 5, 0, tzinfo=timezone.utc)
    frame = make_dataset.build_frame(make_dataset.latest_hour())
    assert frame["event_timestamp"].max() <= pd.Timestamp.now(tz="UTC")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A password-protected redis-server on a free port; yields Feast's connection string."""
    server = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )
    if server is None:
        msg = "redis-server not found: apt-get install redis-server"
        if os.environ.get("CI", "").lower() in {"1", "true"}:
            pytest.fail(msg + " (CI=true: a failure, not a skip)")
        pytest.skip(msg)
    root = tmp_path_factory.mktemp("redis")
    port, password = _free_port(), secrets.token_hex(12)
    # As the chart does: the configuration (with the password) on stdin, no persistence here.
    config = (
        f'port {port}\nbind 127.0.0.1\ndir {root}\nsave ""\nappendonly no\nrequirepass {password}\n'
    )
    log = (root / "redis.log").open("wb")
    proc = subprocess.Popen(
        [server, "-"],
        stdin=subprocess.PIPE,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    assert proc.stdin is not None
    proc.stdin.write(config.encode())
    proc.stdin.close()
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                    s.sendall(f"AUTH {password}\r\nPING\r\n".encode())
                    answer = s.makefile("rb")
                    if [answer.readline().strip(), answer.readline().strip()] == [b"+OK", b"+PONG"]:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"redis-server did not start:\n{(root / 'redis.log').read_text()}")
            time.sleep(0.1)
        yield f"127.0.0.1:{port},password={password}"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
        log.close()


def _feast(repo: Path, env: dict[str, str], *args: str) -> str:
    proc = subprocess.run(
        [str(FEAST), *args], cwd=repo, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, (
        f"feast {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr[-4000:]}"
    )
    return proc.stdout


def test_feature_repo_end_to_end(
    tmp_path: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the chart's Job does, then what the feature server and a training job read."""
    from feast import FeatureStore

    repo = tmp_path / "feature_repo"
    shutil.copytree(REPO, repo, ignore=shutil.ignore_patterns("data", "__pycache__"))
    monkeypatch.setenv("REDIS_CONNECTION_STRING", redis_url)
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}

    end = make_dataset.latest_hour()
    make_dataset.main(["--repo", str(repo), "--end", end.isoformat()])
    _feast(repo, env, "apply")
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    _feast(repo, env, "materialize-incremental", now)

    store = FeatureStore(repo_path=str(repo))
    rows = json.loads(EXPECTED.read_text())["rows"]
    refs = [k for k in rows[0] if ":" in k]

    # Online: each driver's newest values, as the feature server returns them.
    online = store.get_online_features(
        features=refs, entity_rows=[{"driver_id": r["driver_id"]} for r in rows]
    ).to_dict()
    assert online["driver_id"] == [r["driver_id"] for r in rows]
    for ref in refs:
        name = ref.split(":", 1)[1]
        assert online[name] == pytest.approx([r[ref] for r in rows], rel=1e-6), ref

    # Online: every iris flower, all five features, as a training job asks for them.
    iris_rows = json.loads(EXPECTED_IRIS.read_text())["rows"]
    iris_refs = [k for k in iris_rows[0] if ":" in k]
    iris = store.get_online_features(
        features=iris_refs, entity_rows=[{"iris_id": r["iris_id"]} for r in iris_rows]
    ).to_dict()
    assert iris["iris_id"] == list(range(150))
    for ref in iris_refs:
        name = ref.split(":", 1)[1]
        assert iris[name] == pytest.approx([r[ref] for r in iris_rows], rel=1e-6), ref
    assert iris["species"] == [0] * 50 + [1] * 50 + [2] * 50

    # Offline, point in time: at 30 minutes past the third-newest hour, driver 1001 had the values
    # written at that hour (hour index 3 of 0-5), not the newest ones: no leakage from the future.
    at = end - timedelta(hours=2) + timedelta(minutes=30)
    entity_df = pd.DataFrame({"driver_id": [1001, 1003], "event_timestamp": [at, at]})
    hist = (
        store.get_historical_features(entity_df=entity_df, features=refs)
        .to_df()
        .set_index("driver_id")
    )
    for driver_index, driver_id in ((0, 1001), (2, 1003)):
        want = make_dataset.stats(driver_index, make_dataset.HOURS - 3)
        for name, value in want.items():
            assert hist.loc[driver_id, name] == pytest.approx(value, rel=1e-6), (driver_id, name)
