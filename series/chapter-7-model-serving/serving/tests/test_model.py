"""Unit tests of the champion holder, the settings and the app without MLflow (fakes only)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from iris_serving.app import create_app
from iris_serving.model import ChampionModel
from iris_serving.settings import Settings


@dataclass
class FakeVersion:
    version: str
    run_id: str = "run"


class FakeRegistry:
    """An alias table; `fail` makes the next lookups raise."""

    def __init__(self, version: str | None) -> None:
        self.version = version
        self.fail: Exception | None = None
        self.calls = 0

    def get_model_version_by_alias(self, name: str, alias: str) -> FakeVersion:
        self.calls += 1
        if self.fail:
            raise self.fail
        if self.version is None:
            raise LookupError(f"no alias {alias} on {name}")
        return FakeVersion(self.version)


@dataclass
class FakeModel:
    uri: str

    def predict(self, data: Any) -> list[int]:
        # Version 1 says setosa to everything, other versions virginica.
        return [0 if self.uri.endswith("/1") else 2] * len(data)


def test_refresh_loads_on_change_only() -> None:
    reg = FakeRegistry("1")
    loads: list[str] = []

    def loader(uri: str) -> FakeModel:
        loads.append(uri)
        return FakeModel(uri)

    champ = ChampionModel(reg, "iris", "champion", loader)
    assert champ.current is None
    first = champ.refresh()
    assert (first.version, first.changed, first.previous) == ("1", True, None)
    assert champ.refresh().changed is False
    assert loads == ["models:/iris/1"]  # loaded by version, once

    reg.version = "2"
    second = champ.refresh()
    assert (second.version, second.changed, second.previous) == ("2", True, "1")
    assert loads == ["models:/iris/1", "models:/iris/2"]
    assert champ.current is not None and champ.current.version == "2"


def test_failed_refresh_keeps_the_old_model() -> None:
    reg = FakeRegistry("1")
    champ = ChampionModel(reg, "iris", "champion", FakeModel)
    champ.refresh()
    reg.fail = ConnectionError("mlflow down")
    with pytest.raises(ConnectionError):
        champ.refresh()
    reg.fail = None
    reg.version = "2"

    def broken(uri: str) -> FakeModel:
        raise OSError("artifact unreadable")

    champ._loader = broken
    with pytest.raises(OSError):
        champ.refresh()
    assert champ.current is not None and champ.current.version == "1"


def test_readers_see_one_whole_version_during_swaps() -> None:
    reg = FakeRegistry("1")
    champ = ChampionModel(reg, "iris", "champion", FakeModel)
    champ.refresh()
    stop = threading.Event()
    seen: set[tuple[str, int]] = set()

    def read() -> None:
        while not stop.is_set():
            m = champ.current
            assert m is not None
            seen.add((m.version, m.model.predict([0])[0]))

    readers = [threading.Thread(target=read) for _ in range(4)]
    for t in readers:
        t.start()
    for v in range(2, 50):
        reg.version = str(v)
        champ.refresh()
    stop.set()
    for t in readers:
        t.join()
    # Every read paired a version with that version's own model.
    assert all((out == 0) == (ver == "1") for ver, out in seen)


def test_settings_from_env() -> None:
    s = Settings.from_env({})
    assert (s.tracking_uri, s.model_uri, s.refresh_seconds) == (
        "http://127.0.0.1:5000",
        "models:/iris-classifier@champion",
        30.0,
    )
    s = Settings.from_env(
        {
            "MLFLOW_TRACKING_URI": "http://mlflow.mlflow:5000",
            "MODEL_NAME": "m",
            "MODEL_ALIAS": "prod",
            "MODEL_REFRESH_SECONDS": "5",
        }
    )
    assert (s.tracking_uri, s.model_uri, s.refresh_seconds) == (
        "http://mlflow.mlflow:5000",
        "models:/m@prod",
        5.0,
    )
    with pytest.raises(ValueError):
        Settings.from_env({"MODEL_REFRESH_SECONDS": "-1"})


SAMPLE = {
    "sepal_length_cm": 5.1,
    "sepal_width_cm": 3.5,
    "petal_length_cm": 1.4,
    "petal_width_cm": 0.2,
}


def test_not_ready_until_a_model_is_loaded() -> None:
    reg = FakeRegistry(None)  # no champion yet
    champ = ChampionModel(reg, "iris", "champion", FakeModel)
    app = create_app(Settings(model_name="iris", refresh_seconds=0.05), champ)
    with TestClient(app) as client:
        health = client.get("/health")
        assert health.status_code == 503
        assert health.json() == {
            "status": "loading",
            "model_name": "iris",
            "model_alias": "champion",
            "model_version": None,
        }
        assert client.post("/predict", json={"instances": [SAMPLE]}).status_code == 503
        metrics = client.get("/metrics").text
        assert "serving_model_refresh_errors_total" in metrics

        reg.version = "1"  # the registration Job set the alias
        for _ in range(200):
            if client.get("/health").status_code == 200:
                break
            threading.Event().wait(0.05)
        assert client.get("/health").json()["model_version"] == "1"
        got = client.post("/predict", json={"instances": [SAMPLE, SAMPLE]}).json()
        assert got == {
            "model_name": "iris",
            "model_version": "1",
            "predictions": [{"class_id": 0, "class_name": "setosa"}] * 2,
        }


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"instances": []},
        {"instances": [{**SAMPLE, "sepal_length_cm": "5.1"}]},  # strings are not lengths
        {"instances": [{**SAMPLE, "sepal_length_cm": -1}]},
        {"instances": [{**SAMPLE, "colour": "blue"}]},  # unknown fields are errors
        {"instances": [SAMPLE] * 101},
    ],
)
def test_invalid_requests_get_422(body: dict[str, Any]) -> None:
    champ = ChampionModel(FakeRegistry("1"), "iris", "champion", FakeModel)
    champ.refresh()
    app = create_app(Settings(model_name="iris", refresh_seconds=0), champ)
    with TestClient(app) as client:
        assert client.post("/predict", json=body).status_code == 422
