"""The FastAPI app: POST /predict, GET /health, GET /metrics.

Run it the way the image does (MLFLOW_TRACKING_URI and the other settings from the environment):

    uvicorn --factory iris_serving.app:create_app --host 0.0.0.0 --port 8000
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

import pandas as pd
from fastapi import Body, FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.routing import Match

from .metrics import Metrics
from .model import ChampionModel, LoadedModel, RefreshResult, mlflow_champion, refresh_forever
from .schemas import (
    CLASS_NAMES,
    EXAMPLE,
    FEATURES,
    ErrorResponse,
    Health,
    Prediction,
    PredictRequest,
    PredictResponse,
)
from .settings import Settings

log = logging.getLogger(__name__)

# Answers besides 200 and FastAPI's 422 (a body that does not match the schema). schemathesis found
# the 400 that FastAPI gives a body that is not JSON at all; it is documented here.
PREDICT_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "the body is not JSON"},
    503: {"model": ErrorResponse, "description": "no model loaded yet"},
}


def route_template(request: Request) -> str:
    """The route's path template ("/predict"), or "other": no label per unknown URL."""
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match == Match.FULL:
            return str(getattr(route, "path", "other"))
    return "other"


def create_app(settings: Settings | None = None, champion: ChampionModel | None = None) -> FastAPI:
    """Builds the app. Without arguments (uvicorn --factory), from the environment and MLflow."""
    settings = settings or Settings.from_env()
    champion = champion or mlflow_champion(settings)
    metrics = Metrics()

    def on_result(result: RefreshResult) -> None:
        if result.changed:
            metrics.model_loads.inc()
            metrics.served(champion.name, champion.alias, result.version)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # The refresh runs in a thread: downloading and unpickling a model never blocks requests.
        stop = threading.Event()
        refresher = threading.Thread(
            target=refresh_forever,
            args=(
                champion,
                settings.refresh_seconds,
                stop,
                on_result,
                lambda _: metrics.refresh_errors.inc(),
            ),
            name="model-refresh",
            daemon=True,
        )
        refresher.start()
        try:
            yield
        finally:
            stop.set()
            refresher.join(timeout=30)

    app = FastAPI(
        title="Iris classifier",
        version="0.1.0",
        summary="Serves the champion iris classifier of the MLflow model registry (chapter 7).",
        description=(
            f"Answers with the version that `{settings.model_uri}` points at. The alias is "
            f"resolved again every {settings.refresh_seconds:g} s; a new version is loaded and "
            "swapped in without a restart."
        ),
        servers=[{"url": settings.public_url}] if settings.public_url else None,
        lifespan=lifespan,
    )
    app.state.champion = champion
    app.state.metrics = metrics

    @app.middleware("http")
    async def observe(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            path = route_template(request)
            metrics.latency.labels(request.method, path).observe(time.perf_counter() - started)
            metrics.requests.labels(request.method, path, str(status)).inc()

    def loaded() -> LoadedModel:
        model = champion.current
        if model is None:
            raise HTTPException(503, f"no model loaded yet from {settings.model_uri}")
        return model

    @app.post(
        "/predict", response_model=PredictResponse, responses=PREDICT_ERRORS, operation_id="predict"
    )
    def predict(
        body: Annotated[
            PredictRequest,
            Body(
                openapi_examples={
                    "setosa": {"summary": "one flower", "value": {"instances": [EXAMPLE]}}
                }
            ),
        ],
    ) -> PredictResponse:
        """Classifies each flower with the champion model and names the version that answered."""
        model = loaded()  # one read: a swap during this request does not mix versions
        frame = pd.DataFrame(
            [[getattr(i, f) for f in FEATURES] for i in body.instances], columns=list(FEATURES)
        )
        ids = [int(p) for p in model.model.predict(frame)]
        predictions = [Prediction(class_id=i, class_name=CLASS_NAMES[i]) for i in ids]
        for p in predictions:
            metrics.predictions.labels(p.class_name, model.version).inc()
        return PredictResponse(
            model_name=model.name, model_version=model.version, predictions=predictions
        )

    @app.get(
        "/health", response_model=Health, responses={503: {"model": Health}}, operation_id="health"
    )
    def health() -> Health | JSONResponse:
        """200 once a model is loaded (the readiness probe), 503 before."""
        model = champion.current
        body = Health(
            status="ok" if model else "loading",
            model_name=champion.name,
            model_alias=champion.alias,
            model_version=model.version if model else None,
        )
        if model is None:
            return JSONResponse(body.model_dump(), status_code=503)
        return body

    @app.get("/metrics", include_in_schema=False)
    def prometheus_metrics() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app
