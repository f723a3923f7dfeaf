"""Training chapter 6's classifier on features from chapter 8's feature store, in a pod (chapter 5).

The series' tools joined into one path: Airflow (this chapter) reads the training data from Feast
(chapter 8), trains and registers a model in MLflow (chapter 6), and moves the alias that chapter 7's
serving app follows. Two tasks, run in order:

* fetch_features: asks the Feast feature server for the 150 flowers of the iris data set
  (POST /get-online-features: the four measurements and the species of iris_id 0..149, the feature
  view iris_measurements) and checks that every value came back (status PRESENT). It returns the
  rows as a small JSON-friendly dict, which Airflow keeps as the task's XCom.
* train_register: starts a pod from chapter 7's serving image (KubernetesPodOperator) that runs
  `python -m iris_serving.train_features`. The pod gets the rows in the environment variable
  FEATURES (rendered from the XCom by a Jinja template when the task starts), trains with chapter
  6's train.py, registers a new version of iris-classifier tagged with this DAG run
  (airflow_dag_id, airflow_run_id), and moves the "champion" alias to it. Its log is the task's log.

Why a pod: the training needs scikit-learn, pandas and MLflow, which the Airflow image does not
have and should not get (every DAG would share them, and one DAG's upgrade could break another). The
serving image already has them, at the versions the serving app loads the model with. Airflow only
orchestrates: the task waits for the pod, shows its log, and deletes it when it is done.

What the pod needs from the cluster: the image on the node (built locally and loaded into kind:
`mlops-series images build chapter-7`; nothing is pulled), and a scheduler allowed to start pods
(charts/airflow podLauncher: a ServiceAccount with a Role in Airflow's namespace). The addresses of
the feature server and of MLflow come from the scheduler's environment (FEAST_URL, MLFLOW_URL; the
chapter's values set them), with the in-cluster Service names as defaults.

Trigger it once chapters 6 and 8 are up (DAGs start paused: switch it on first), from the UI or:

    POST /api/v2/dags/iris_training/dagRuns  {"logical_date": null, "conf": {}}
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Sequence
from datetime import datetime

from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.sdk import dag, task
from kubernetes.client import models as k8s

# Where the other chapters' servers are: Services of their releases, reached by their cluster DNS
# names from Airflow's namespace.
FEAST_URL = os.environ.get("FEAST_URL") or "http://feast.feast.svc.cluster.local:6566"
MLFLOW_URL = os.environ.get("MLFLOW_URL") or "http://mlflow.mlflow.svc.cluster.local:5000"
# Chapter 7's serving image (series/images.yaml): the training code and its libraries.
TRAINING_IMAGE = os.environ.get("TRAINING_IMAGE") or "mlops-series.local/serving:0.1.0"

# The feature view chapter 8 registers: one row per flower, iris_id = its row in load_iris().
FEATURE_VIEW = "iris_measurements"
ENTITY_KEY = "iris_id"
MEASUREMENTS = ["sepal_length_cm", "sepal_width_cm", "petal_length_cm", "petal_width_cm"]
LABEL = "species"
IRIS_IDS = list(range(150))
FEAST_TIMEOUT_S = 30

# What the training pod may use (the scheduler's podLauncher.spawns in values/airflow.yaml says the
# same, for `mlops-series footprint`). Training the iris model peaks at about 250 MiB. A small CPU
# request: on a 2-CPU node with every chapter up, 100m did not fit ("Insufficient cpu"); the limit
# lets it use a whole CPU while it trains.
POD_REQUESTS = {"cpu": "25m", "memory": "256Mi"}
POD_LIMITS = {"cpu": "1", "memory": "1Gi"}
# The serving image's own user (serving/Dockerfile).
POD_UID = 10001


def online_features_request(ids: Sequence[int] = IRIS_IDS) -> dict:
    """The body of POST /get-online-features: every feature of the view, for these iris_ids."""
    return {
        "features": [f"{FEATURE_VIEW}:{name}" for name in [*MEASUREMENTS, LABEL]],
        "entities": {ENTITY_KEY: list(ids)},
    }


def parse_online_features(answer: dict, ids: Sequence[int] = IRIS_IDS) -> dict:
    """Turns the feature server's answer into training rows, or fails saying what is missing.

    The answer has one column per requested name, in `results`, named in metadata.feature_names
    (the join key first, then the features: plain names, or view__feature with full_feature_names),
    each with one value and one status per entity, in the order of the request. A value counts only
    with status PRESENT and not null (a store answers null for a flower it has no row for).
    """
    try:
        names = answer["metadata"]["feature_names"]
        results = answer["results"]
    except (KeyError, TypeError):
        raise ValueError(
            f"feature server answer lacks metadata.feature_names or results: {str(answer)[:300]}"
        ) from None
    if len(names) != len(results):
        raise ValueError(f"feature server answer has {len(names)} names for {len(results)} columns")

    def column(feature: str) -> dict:
        for name in (feature, f"{FEATURE_VIEW}__{feature}", f"{FEATURE_VIEW}:{feature}"):
            if name in names:
                return results[names.index(name)]
        raise ValueError(f"feature {FEATURE_VIEW}:{feature} is not in the answer (columns: {names})")

    n = len(ids)
    problems: list[str] = []
    values: dict[str, list] = {}
    for feature in [*MEASUREMENTS, LABEL]:
        col = column(feature)
        got, statuses = col.get("values") or [], col.get("statuses") or []
        if len(got) != n or len(statuses) != n:
            raise ValueError(
                f"{FEATURE_VIEW}:{feature}: {len(got)} values and {len(statuses)} statuses "
                f"for {n} flowers: rows are missing"
            )
        for i, (value, status) in enumerate(zip(got, statuses)):
            if status != "PRESENT" or value is None:
                problems.append(f"{ENTITY_KEY} {ids[i]} {feature}: {status} {value!r}")
        values[feature] = got
    if ENTITY_KEY in names:
        keys = results[names.index(ENTITY_KEY)].get("values") or []
        if list(keys) != list(ids):
            raise ValueError(
                f"feature server answered for {ENTITY_KEY} {keys[:5]}..., asked for {list(ids)[:5]}..."
            )
    if problems:
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise ValueError(
            f"{len(problems)} feature values are not PRESENT: {'; '.join(problems[:5])}{more}. "
            f"Were chapter 8's iris features applied and materialized?"
        )
    return {
        "columns": list(MEASUREMENTS),
        "rows": [[float(values[m][i]) for m in MEASUREMENTS] for i in range(n)],
        "target": [int(v) for v in values[LABEL]],
        "source": f"feast:{FEATURE_VIEW}",
    }


def fetch_online_features(url: str = FEAST_URL, ids: Sequence[int] = IRIS_IDS) -> dict:
    """POSTs the request to the feature server and parses its answer (standard library only)."""
    endpoint = f"{url.rstrip('/')}/get-online-features"
    request = urllib.request.Request(
        endpoint,
        data=json.dumps(online_features_request(ids)).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=FEAST_TIMEOUT_S) as resp:
            answer = json.load(resp)
    except urllib.error.HTTPError as err:
        body = err.read().decode(errors="replace")[:500]
        raise RuntimeError(f"POST {endpoint}: {err.code} {err.reason}: {body}") from None
    except (urllib.error.URLError, OSError) as err:
        raise RuntimeError(f"POST {endpoint}: {err} (is chapter 8's feature server up?)") from None
    return parse_online_features(answer, ids)


@dag(
    dag_id="iris_training",
    description="Chapters 8 → 6 → 7: Feast features, training in a pod, a new champion in MLflow",
    # No schedule: the pipeline runs when triggered (from the UI, the REST API or `airflow dags trigger`).
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    # One training at a time: two runs would race to move the champion alias.
    max_active_runs=1,
    tags=["mlops-series", "chapter-5", "training"],
)
def iris_training():
    @task
    def fetch_features() -> dict:
        features = fetch_online_features()
        print(f"fetched {len(features['rows'])} flowers from {FEAST_URL} ({features['source']})")
        return features

    train_register = KubernetesPodOperator(
        task_id="train_register",
        name="iris-training",
        image=TRAINING_IMAGE,
        # Built locally and loaded into the node: use it, never pull.
        image_pull_policy="IfNotPresent",
        cmds=["python", "-m", "iris_serving.train_features"],
        # env_vars is a templated field: Airflow renders these strings when the task starts, so
        # FEATURES holds the rows fetch_features returned (as JSON) and the other two this run.
        env_vars={
            "FEATURES": "{{ ti.xcom_pull(task_ids='fetch_features') | tojson }}",
            "MLFLOW_TRACKING_URI": MLFLOW_URL,
            "AIRFLOW_DAG_ID": "{{ dag.dag_id }}",
            "AIRFLOW_RUN_ID": "{{ run_id }}",
        },
        # The scheduler's own ServiceAccount token (the LocalExecutor runs this task there), no
        # Airflow connection; the pod goes into the scheduler's namespace.
        in_cluster=True,
        kubernetes_conn_id=None,
        # The training pod itself calls no Kubernetes API.
        automount_service_account_token=False,
        container_resources=k8s.V1ResourceRequirements(requests=POD_REQUESTS, limits=POD_LIMITS),
        security_context=k8s.V1PodSecurityContext(
            run_as_non_root=True,
            run_as_user=POD_UID,
            run_as_group=POD_UID,
            seccomp_profile=k8s.V1SeccompProfile(type="RuntimeDefault"),
        ),
        # A read-only root filesystem; MLflow writes its temporary files to /tmp (also HOME).
        container_security_context=k8s.V1SecurityContext(
            allow_privilege_escalation=False,
            read_only_root_filesystem=True,
            capabilities=k8s.V1Capabilities(drop=["ALL"]),
        ),
        volumes=[k8s.V1Volume(name="tmp", empty_dir=k8s.V1EmptyDirVolumeSource(size_limit="256Mi"))],
        volume_mounts=[k8s.V1VolumeMount(name="tmp", mount_path="/tmp")],
        labels={"app.kubernetes.io/part-of": "mlops-series", "app.kubernetes.io/component": "training"},
        # The pod's log becomes the task's log; the pod's events too if it does not start.
        get_logs=True,
        log_events_on_failure=True,
        # Gone when finished, successful or not: the task log keeps what it printed.
        on_finish_action="delete_pod",
        # The result is in MLflow, not in an XCom (pushing one needs a sidecar image).
        do_xcom_push=False,
        startup_timeout_seconds=180,
    )

    fetch_features() >> train_register


iris_training()
