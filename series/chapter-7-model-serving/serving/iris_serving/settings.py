"""The app's configuration, read once from the environment (the chart sets these variables)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_TRACKING_URI = "http://127.0.0.1:5000"
DEFAULT_MODEL_NAME = "iris-classifier"
DEFAULT_MODEL_ALIAS = "champion"
DEFAULT_REFRESH_SECONDS = 30.0


@dataclass(frozen=True)
class Settings:
    """Where the model comes from and how often the app looks for a new champion."""

    # MLFLOW_TRACKING_URI: the MLflow server; its registry and artifact proxy are at the same URL.
    tracking_uri: str = DEFAULT_TRACKING_URI
    # MODEL_NAME and MODEL_ALIAS: the app serves models:/<name>@<alias>.
    model_name: str = DEFAULT_MODEL_NAME
    model_alias: str = DEFAULT_MODEL_ALIAS
    # MODEL_REFRESH_SECONDS: how often the alias is resolved again; a new version is loaded and
    # swapped in without a restart. 0 turns the refresh off (the model is loaded once at start).
    refresh_seconds: float = DEFAULT_REFRESH_SECONDS
    # PUBLIC_URL: the address clients reach the API at (an Ingress, a gateway such as RapidAPI's);
    # when set, the OpenAPI document names it as its server. Empty: relative to where it is read.
    public_url: str = ""

    @property
    def model_uri(self) -> str:
        return f"models:/{self.model_name}@{self.model_alias}"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        refresh = float(env.get("MODEL_REFRESH_SECONDS") or DEFAULT_REFRESH_SECONDS)
        if refresh < 0:
            raise ValueError(f"MODEL_REFRESH_SECONDS must be >= 0, got {refresh}")
        return cls(
            tracking_uri=env.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI,
            model_name=env.get("MODEL_NAME") or DEFAULT_MODEL_NAME,
            model_alias=env.get("MODEL_ALIAS") or DEFAULT_MODEL_ALIAS,
            refresh_seconds=refresh,
            public_url=env.get("PUBLIC_URL") or "",
        )
