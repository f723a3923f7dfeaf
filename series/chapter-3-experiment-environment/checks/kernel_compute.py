# Chapter 3's kernel check when no MLflow is up: the CLI sends this file's text to a kernel of the
# single-user server as one execute_request (Jupyter kernel protocol) and reads its stdout. It fits
# a logistic regression on the iris data that ships with scikit-learn (deterministic: fixed split,
# no download) and prints one line:
#
#   MLOPS_SERIES_RESULT {"python": "3.11.2", "sklearn": "1.9.1", "accuracy": 1.0}
#
# Everything lives inside a function, so the reader's kernel namespace gets no new names.


def _mlops_series_kernel_compute() -> None:
    import json
    import platform

    import sklearn
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    x, y = load_iris(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, random_state=0, stratify=y)
    model = LogisticRegression(max_iter=500).fit(x_train, y_train)
    result = {
        "python": platform.python_version(),
        "sklearn": sklearn.__version__,
        "accuracy": round(float(model.score(x_test, y_test)), 4),
    }
    print("MLOPS_SERIES_RESULT " + json.dumps(result), flush=True)


try:
    _mlops_series_kernel_compute()
finally:
    del _mlops_series_kernel_compute
