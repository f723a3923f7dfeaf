"""Request and response types of the API. FastAPI validates requests against them and publishes
them in the OpenAPI 3 document (/openapi.json) that clients, RapidAPI and schemathesis read."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

# The model's input columns, as chapter 6's train.py names them (its signature records them).
FEATURES = ("sepal_length_cm", "sepal_width_cm", "petal_length_cm", "petal_width_cm")
# A setosa (the first row of the iris data), the example of the OpenAPI document.
EXAMPLE = {
    "sepal_length_cm": 5.1,
    "sepal_width_cm": 3.5,
    "petal_length_cm": 1.4,
    "petal_width_cm": 0.2,
}

# The species behind the model's class ids 0, 1, 2 (sklearn.datasets.load_iris().target_names).
ClassName = Literal["setosa", "versicolor", "virginica"]
CLASS_NAMES: tuple[ClassName, ...] = ("setosa", "versicolor", "virginica")

# No `examples` in these schemas: BentoML's OpenAPI generator rejects the key (the FastAPI app adds
# its example to the route instead).
# Strict: a string "5.1" or a boolean is not a length; unknown fields are errors, not ignored.
_STRICT = ConfigDict(extra="forbid", strict=True)

# A flower's measurement in centimetres: positive and, for iris, far below a metre.
Length = Annotated[float, Field(gt=0, le=100)]


class IrisFeatures(BaseModel):
    """One flower's four measurements, in centimetres."""

    model_config = _STRICT

    sepal_length_cm: Length = Field(description="sepal length")
    sepal_width_cm: Length = Field(description="sepal width")
    petal_length_cm: Length = Field(description="petal length")
    petal_width_cm: Length = Field(description="petal width")


class PredictRequest(BaseModel):
    """One or more flowers to classify (a batch of at most 100)."""

    model_config = _STRICT

    instances: list[IrisFeatures] = Field(min_length=1, max_length=100)


class Prediction(BaseModel):
    """The class the model gives one flower."""

    class_id: int = Field(ge=0, le=len(CLASS_NAMES) - 1, description="the model's output")
    class_name: ClassName = Field(description="the iris species of that class")


class PredictResponse(BaseModel):
    """The predictions, in the order of the request's instances, and the model that made them."""

    model_config = ConfigDict(protected_namespaces=())

    model_name: str = Field(description="registered model in MLflow")
    model_version: str = Field(description="the registry version that answered")
    predictions: list[Prediction]


class Health(BaseModel):
    """Whether a model is loaded, and which."""

    model_config = ConfigDict(protected_namespaces=())

    status: Literal["ok", "loading"]
    model_name: str
    model_alias: str
    model_version: str | None = Field(
        default=None, description="loaded version; null while loading"
    )


class ErrorResponse(BaseModel):
    """An error that is not a validation error (those are FastAPI's 422 body)."""

    detail: str
