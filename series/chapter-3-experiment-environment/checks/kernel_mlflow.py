# Chapter 3's kernel check when chapter 6 (MLflow) is up: the CLI sends this file's text to a kernel
# of the single-user server as one execute_request (Jupyter kernel protocol) and reads its stdout.
# The kernel reaches MLflow at MLFLOW_TRACKING_URI, which the spawner puts into the notebook's
# environment. In the experiment `chapter-3-notebook-check` it records one run: a logistic
# regression on the iris data (fixed split, no download) with its parameter C and its test accuracy.
# It prints one line (wrapped here):
#
#   MLOPS_SERIES_RESULT {"run_id": "4f0c...", "experiment_id": "1",
#                        "experiment": "chapter-3-notebook-check", "accuracy": 1.0}
#
# It uses MlflowClient rather than mlflow.start_run, and keeps everything inside a function, so the
# reader's kernel keeps its own active run, experiment and names.


def _mlops_series_kernel_mlflow() -> None:
    import contextlib
    import io
    import json
    import os

    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    experiment = "chapter-3-notebook-check"
    uri = os.environ.get("MLFLOW_TRACKING_URI", "")
    if not uri:
        raise RuntimeError("MLFLOW_TRACKING_URI is not set in the notebook's environment")

    c = 1.0
    x, y = load_iris(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, random_state=0, stratify=y)
    model = LogisticRegression(C=c, max_iter=500).fit(x_train, y_train)
    accuracy = round(float(model.score(x_test, y_test)), 4)

    client = MlflowClient(tracking_uri=uri)
    found = client.get_experiment_by_name(experiment)
    if found is None:
        try:
            experiment_id = client.create_experiment(experiment)
        except MlflowException:  # created meanwhile by another check
            found = client.get_experiment_by_name(experiment)
            if found is None:
                raise
            experiment_id = found.experiment_id
    else:
        experiment_id = found.experiment_id
    run = client.create_run(
        experiment_id, run_name="kernel-check", tags={"mlops-series.check": "kernel-mlflow"}
    )
    run_id = run.info.run_id
    status = "FAILED"
    try:
        client.log_param(run_id, "C", c)
        client.log_metric(run_id, "accuracy", accuracy)
        status = "FINISHED"
    finally:
        # set_terminated prints "View run ... at: URL" lines: the result stays stdout's only line.
        with contextlib.redirect_stdout(io.StringIO()):
            client.set_terminated(run_id, status=status)
    result = {
        "run_id": run_id,
        "experiment_id": experiment_id,
        "experiment": experiment,
        "accuracy": accuracy,
    }
    print("MLOPS_SERIES_RESULT " + json.dumps(result), flush=True)


try:
    _mlops_series_kernel_mlflow()
finally:
    del _mlops_series_kernel_mlflow
