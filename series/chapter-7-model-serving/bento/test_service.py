"""The BentoML service against a real MLflow server: in-process through BentoML's ASGI app (the
same app `bentoml serve` runs), and as `bentoml serve` on a loopback port, as the image runs it."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import httpx
import pytest
from starlette.testclient import TestClient

from conftest import Registered, new_champion
from servers import SAMPLE_CLASSES, SAMPLES, clean_env, free_port, start

BENTO = Path(__file__).resolve().parent
SERVING = BENTO.parent / "serving"


def wait_ready(get: object, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if get("/readyz").status_code == 200:  # type: ignore[operator]
            return
        time.sleep(0.2)
    pytest.fail(f"/readyz not 200 after {timeout_s:.0f}s")


@pytest.fixture(scope="module")
def client(champion: Registered, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The service's ASGI app in this process. BentoML registers its request metrics globally, so
    one process can start it once: one client for the module."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", champion.url)
        mp.setenv("MODEL_NAME", champion.name)
        mp.setenv("MODEL_REFRESH_SECONDS", "0.5")
        mp.setenv("BENTOML_HOME", str(tmp_path_factory.mktemp("bentoml-home")))
        mp.syspath_prepend(str(BENTO))
        import service

        with TestClient(service.IrisClassifier.to_asgi()) as c:
            wait_ready(c.get)
            yield c


def test_in_process_predict_and_alias_change(
    client: TestClient, champion: Registered, train_module: ModuleType
) -> None:
    assert client.get("/livez").status_code == 200
    resp = client.post("/predict", json={"instances": SAMPLES})
    assert resp.status_code == 200, resp.text
    got = resp.json()
    assert got["model_name"] == champion.name
    assert [p["class_name"] for p in got["predictions"]] == SAMPLE_CLASSES
    first = got["model_version"]

    version = new_champion(champion, train_module, c=0.3)
    assert version != first
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        got = client.post("/predict", json={"instances": SAMPLES[:1]}).json()
        if got["model_version"] == version:
            break
        time.sleep(0.2)
    assert got["model_version"] == version


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"instances": []},
        {"instances": [{**SAMPLES[0], "sepal_length_cm": "5.1"}]},
        {"instances": [{**SAMPLES[0], "petal_width_cm": 0}]},
        {"instances": [{**SAMPLES[0], "colour": "blue"}]},
    ],
)
def test_in_process_rejects_invalid_input(client: TestClient, body: dict[str, object]) -> None:
    assert client.post("/predict", json=body).status_code in (400, 422)


@pytest.fixture(scope="module")
def bento_url(champion: Registered, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`bentoml serve service:IrisClassifier` on a free loopback port, ready."""
    tmp = tmp_path_factory.mktemp("bento")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [
        sys.executable, "-m", "bentoml", "serve", "service:IrisClassifier",
        "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    env = clean_env(
        MLFLOW_TRACKING_URI=champion.url,
        MODEL_NAME=champion.name,
        MODEL_REFRESH_SECONDS="1",
        PYTHONPATH=f"{SERVING}:{BENTO}",
        BENTOML_HOME=str(tmp / "bentoml"),
        BENTOML_DO_NOT_TRACK="true",
    )
    proc = start(cmd, BENTO, env, url, "/readyz", tmp / "bentoml.log")
    try:
        yield url
    finally:
        proc.stop()


def test_bentoml_serve(bento_url: str, champion: Registered) -> None:
    assert httpx.get(f"{bento_url}/livez", timeout=10).status_code == 200
    assert httpx.get(f"{bento_url}/readyz", timeout=10).status_code == 200
    resp = httpx.post(f"{bento_url}/predict", json={"instances": SAMPLES}, timeout=30)
    assert resp.status_code == 200, resp.text
    got = resp.json()
    assert got["model_name"] == champion.name
    assert got["model_version"].isdigit()
    assert [p["class_id"] for p in got["predictions"]] == [0, 1, 2]
    metrics = httpx.get(f"{bento_url}/metrics", timeout=10).text
    # BentoML's own request metrics and this service's predictions per class.
    assert "bentoml_service_request_total" in metrics
    assert 'serving_predictions_total{class_name="virginica"' in metrics
