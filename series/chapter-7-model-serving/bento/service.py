"""Chapter 7's BentoML service: the same champion model as the FastAPI app, served by BentoML.

It shares the FastAPI app's request and response types and its champion holder
(serving/iris_serving: schemas.py, model.py), so both answer the same JSON:

    POST /predict  {"instances": [{"sepal_length_cm": 5.1, ...}]}
                -> {"model_name": "iris-classifier", "model_version": "3", "predictions": [...]}

BentoML adds /livez (the process is up), /readyz (200 once `__is_ready__` is true: a model is
loaded), /metrics (its request metrics, and the predictions per class counted here) and the
OpenAPI UI at /. Run it the way the image does:

    MLFLOW_TRACKING_URI=http://127.0.0.1:5000 bentoml serve service:IrisClassifier --port 3000
"""

from __future__ import annotations

import threading
from typing import Annotated

import bentoml
import pandas as pd
from prometheus_client import Counter
from pydantic import Field

from iris_serving.model import RefreshResult, mlflow_champion, refresh_forever
from iris_serving.schemas import CLASS_NAMES, FEATURES, IrisFeatures, Prediction, PredictResponse
from iris_serving.settings import Settings

# Counted per class and per answering version, under the same name as the FastAPI app's counter,
# so a dashboard sums both servers with one query. BentoML serves prometheus_client's metrics on its
# /metrics next to its own (bentoml_service_request_total, ..._duration_seconds, ...).
PREDICTIONS = Counter(
    "serving_predictions",
    "Flowers classified, by predicted class and the model version that answered.",
    ["class_name", "model_version"],
)


@bentoml.service(
    name="iris_classifier",
    # One worker process: a scikit-learn model answers in a millisecond.
    workers=1,
    traffic={"timeout": 30},
)
class IrisClassifier:
    """Loads models:/<MODEL_NAME>@<MODEL_ALIAS> from MLFLOW_TRACKING_URI and follows the alias."""

    def __init__(self) -> None:
        settings = Settings.from_env()
        self.champion = mlflow_champion(settings)
        self._stop = threading.Event()
        # The model loads in the background: the server starts at once, /readyz says when it can
        # answer, and a moved alias is picked up every MODEL_REFRESH_SECONDS, as in the FastAPI app.
        self._refresher = threading.Thread(
            target=refresh_forever,
            args=(self.champion, settings.refresh_seconds, self._stop, self._loaded),
            name="model-refresh",
            daemon=True,
        )
        self._refresher.start()

    def _loaded(self, result: RefreshResult) -> None:
        if result.changed:
            print(f"serving {self.champion.name} version {result.version}", flush=True)

    def __is_ready__(self) -> bool:
        return self.champion.current is not None

    @bentoml.on_shutdown
    def stop(self) -> None:
        self._stop.set()

    @bentoml.api
    def predict(
        self, instances: Annotated[list[IrisFeatures], Field(min_length=1, max_length=100)]
    ) -> PredictResponse:
        """Classifies each flower with the champion model and names the version that answered."""
        model = self.champion.current  # one read: a swap during this request does not mix versions
        if model is None:
            raise bentoml.exceptions.ServiceUnavailable("no model loaded yet")
        frame = pd.DataFrame(
            [[getattr(i, f) for f in FEATURES] for i in instances], columns=list(FEATURES)
        )
        ids = [int(p) for p in model.model.predict(frame)]
        predictions = [Prediction(class_id=i, class_name=CLASS_NAMES[i]) for i in ids]
        for p in predictions:
            PREDICTIONS.labels(class_name=p.class_name, model_version=model.version).inc()
        return PredictResponse(
            model_name=model.name, model_version=model.version, predictions=predictions
        )
