"""The champion model: resolved from an MLflow registry alias and swapped when the alias moves.

`refresh()` asks the registry which version the alias points at (one small REST call). When that
version differs from the loaded one, it downloads and loads the new version next to the old one,
then replaces a single reference. Requests read that reference once (`current`), so each request
is answered entirely by one version, old or new; none waits for a download and none fails during
the swap. A failed load keeps the old model.

The FastAPI app and the Bento run `refresh_forever` in a background thread, which calls `refresh()`
every MODEL_REFRESH_SECONDS: moving `champion` to another version (a click in MLflow's UI, or
`MlflowClient().set_registered_model_alias(...)`) reaches them without a redeploy.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .settings import Settings

log = logging.getLogger(__name__)


class Predictor(Protocol):
    """What the app needs of a loaded model (mlflow.pyfunc.PyFuncModel has it)."""

    def predict(self, data: Any) -> Any: ...


class Registry(Protocol):
    """What the holder needs of the registry (mlflow.tracking.MlflowClient has it)."""

    def get_model_version_by_alias(self, name: str, alias: str) -> Any: ...


@dataclass(frozen=True)
class LoadedModel:
    """A registry version, loaded."""

    name: str
    version: str
    run_id: str | None
    model: Predictor
    loaded_at: float


@dataclass(frozen=True)
class RefreshResult:
    """What one refresh did: the version the alias points at, and whether it was loaded now."""

    version: str
    changed: bool
    previous: str | None


Loader = Callable[[str], Predictor]


class ChampionModel:
    """Holds the model version an alias points at (see the module's doc)."""

    def __init__(self, registry: Registry, name: str, alias: str, loader: Loader) -> None:
        self._registry = registry
        self.name = name
        self.alias = alias
        self._loader = loader
        self._current: LoadedModel | None = None
        # Serialises refreshes (the background task and a manual one), never the readers.
        self._refresh_lock = threading.Lock()

    @property
    def current(self) -> LoadedModel | None:
        """The loaded model, or None before the first load. Read it once per request."""
        return self._current

    def refresh(self) -> RefreshResult:
        """Resolves the alias; loads and swaps in its version when it is not the loaded one.

        Raises what the registry or the loader raise (the alias does not exist, MLflow is
        unreachable, the artifacts cannot be read); the loaded model stays as it was.
        """
        with self._refresh_lock:
            mv = self._registry.get_model_version_by_alias(self.name, self.alias)
            version = str(mv.version)
            old = self._current
            if old is not None and old.version == version:
                return RefreshResult(version=version, changed=False, previous=old.version)
            # Load by version, not by alias: the alias may move again while this downloads, and
            # the version reported with each answer must be the one that made it.
            uri = f"models:/{self.name}/{version}"
            started = time.monotonic()
            model = self._loader(uri)
            self._current = LoadedModel(
                name=self.name,
                version=version,
                run_id=getattr(mv, "run_id", None),
                model=model,
                loaded_at=time.time(),
            )
            log.info(
                "loaded %s (%s@%s, was %s) in %.1fs",
                uri,
                self.name,
                self.alias,
                old.version if old else "none",
                time.monotonic() - started,
            )
            return RefreshResult(
                version=version, changed=True, previous=old.version if old else None
            )


def mlflow_champion(settings: Settings) -> ChampionModel:
    """The champion of the MLflow registry at settings.tracking_uri (imports MLflow lazily)."""
    import mlflow
    import mlflow.pyfunc
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=settings.tracking_uri, registry_uri=settings.tracking_uri)

    def load(uri: str) -> Predictor:
        # models:/ URIs resolve against the registry URI; artifacts come through the server's proxy.
        mlflow.set_tracking_uri(settings.tracking_uri)
        mlflow.set_registry_uri(settings.tracking_uri)
        return mlflow.pyfunc.load_model(uri)

    return ChampionModel(client, settings.model_name, settings.model_alias, load)


def _ignore(_: object) -> None:
    return None


def refresh_forever(
    champion: ChampionModel,
    every: float,
    stop: threading.Event,
    on_result: Callable[[RefreshResult], None] = _ignore,
    on_error: Callable[[Exception], None] = _ignore,
) -> None:
    """Refreshes the champion now and then every `every` seconds until stop is set.

    every == 0 loads once and returns. Until the first load succeeds (MLflow still starting, no
    champion yet), it retries every few seconds whatever the interval.
    """
    while True:
        try:
            result = champion.refresh()
        except Exception as err:  # noqa: BLE001 - any failure keeps the old model and retries
            log.warning("refresh of models:/%s@%s failed: %s", champion.name, champion.alias, err)
            on_error(err)
        else:
            on_result(result)
            if every == 0:
                return
        wait = every if champion.current is not None else min(every or 5.0, 5.0)
        if stop.wait(wait):
            return
