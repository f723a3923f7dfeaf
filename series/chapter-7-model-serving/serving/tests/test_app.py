"""The app as the image runs it (uvicorn --factory, settings from the environment) against a real
MLflow server: it serves the champion, and moving the alias changes the answering version without
a restart. Only loopback addresses are used."""

from __future__ import annotations

import time
from types import ModuleType

import httpx
from prometheus_client.parser import text_string_to_metric_families

from conftest import Registered, new_champion
from servers import SAMPLE_CLASSES, SAMPLES


def predict(url: str) -> dict[str, object]:
    resp = httpx.post(f"{url}/predict", json={"instances": SAMPLES}, timeout=10)
    assert resp.status_code == 200, resp.text
    return resp.json()  # type: ignore[no-any-return]


def samples(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(f"{url}/metrics", timeout=10).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_health_names_the_champion(app_url: str, champion: Registered) -> None:
    got = httpx.get(f"{app_url}/health", timeout=10).json()
    assert got == {
        "status": "ok",
        "model_name": champion.name,
        "model_alias": "champion",
        "model_version": "1",
    }


def test_predict_answers_with_the_champion(app_url: str, champion: Registered) -> None:
    got = predict(app_url)
    assert got["model_name"] == champion.name
    assert got["model_version"] == "1"
    assert [p["class_name"] for p in got["predictions"]] == SAMPLE_CLASSES  # type: ignore[index,union-attr]
    assert [p["class_id"] for p in got["predictions"]] == [0, 1, 2]  # type: ignore[index,union-attr]


def test_alias_change_is_served_without_restart(
    app_url: str, champion: Registered, train_module: ModuleType
) -> None:
    assert predict(app_url)["model_version"] == "1"
    version = new_champion(champion, train_module, c=0.5)
    assert version == "2"
    deadline = time.monotonic() + 60
    answered: list[str] = []
    while time.monotonic() < deadline:
        # Requests keep being answered (by 1, then 2) while the new version loads.
        got = predict(app_url)
        answered.append(str(got["model_version"]))
        if got["model_version"] == "2":
            break
        time.sleep(0.2)
    assert answered[-1] == "2", f"still version {answered[-1]} after 60s"
    assert set(answered) <= {"1", "2"}
    assert httpx.get(f"{app_url}/health", timeout=10).json()["model_version"] == "2"


def test_metrics(app_url: str, champion: Registered) -> None:
    predict(app_url)
    m = samples(app_url)
    # Predictions per class and per version that answered (version 2 answered the last call).
    for cls in SAMPLE_CLASSES:
        assert m[("serving_predictions_total", (("class_name", cls), ("model_version", "2")))] >= 1
        assert m[("serving_predictions_total", (("class_name", cls), ("model_version", "1")))] >= 1
    # Request counts by route template and status, and a latency histogram per route.
    ok = (("method", "POST"), ("path", "/predict"), ("status", "200"))
    assert m[("serving_requests_total", ok)] >= 3
    route = (("method", "POST"), ("path", "/predict"))
    count = m[("serving_request_duration_seconds_count", route)]
    assert count >= 3
    inf = tuple(sorted((*route, ("le", "+Inf"))))
    assert m[("serving_request_duration_seconds_bucket", inf)] == count
    assert m[("serving_request_duration_seconds_sum", route)] > 0
    # The version served, and both loads (1 at start, 2 after the alias moved).
    info = {k: v for k, v in m.items() if k[0] == "serving_model_info"}
    assert info == {
        (
            "serving_model_info",
            (("model_alias", "champion"), ("model_name", champion.name), ("model_version", "2")),
        ): 1.0
    }
    assert m[("serving_model_loads_total", ())] == 2


def test_unknown_paths_share_one_label(app_url: str) -> None:
    assert httpx.get(f"{app_url}/no/such/{time.time()}", timeout=10).status_code == 404
    m = samples(app_url)
    assert (
        m[("serving_requests_total", (("method", "GET"), ("path", "other"), ("status", "404")))]
        >= 1
    )
