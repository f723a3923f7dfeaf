"""Prometheus metrics of the app, served on GET /metrics (chapter 10's Prometheus scrapes it).

Each app has its own registry, so tests can create several apps in one process.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# Latency buckets (seconds) around what a scikit-learn model answers in: ~1-20 ms.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.requests = Counter(
            "serving_requests",
            "HTTP requests by route template, method and status code.",
            ["method", "path", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "serving_request_duration_seconds",
            "Time to answer an HTTP request, by route template and method.",
            ["method", "path"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.predictions = Counter(
            "serving_predictions",
            "Flowers classified, by predicted class and the model version that answered.",
            ["class_name", "model_version"],
            registry=r,
        )
        self.model_info = Gauge(
            "serving_model_info",
            "1 for the registry version being served (name, alias, version).",
            ["model_name", "model_alias", "model_version"],
            registry=r,
        )
        self.model_loads = Counter(
            "serving_model_loads",
            "Model versions loaded (the first load and every swap after the alias moved).",
            registry=r,
        )
        self.refresh_errors = Counter(
            "serving_model_refresh_errors",
            "Alias refreshes that failed (registry unreachable, alias missing, load failed).",
            registry=r,
        )

    def served(self, name: str, alias: str, version: str) -> None:
        """Marks version as the one served (and no other)."""
        self.model_info.clear()
        self.model_info.labels(name, alias, version).set(1)
