//go:build kind

package kindtest

// rayRunVerify reads back, with MLflow's client in the MLflow server container, the run that
// chapter 9's training job logged (argv[1]): finished, in the example's experiment, with the
// job's parameters and accuracy, and the LightGBM model logged from it.
const rayRunVerify = `
import sys
import mlflow
from mlflow import MlflowClient
mlflow.set_tracking_uri("http://127.0.0.1:5000")
run_id = sys.argv[1]
c = MlflowClient()
r = c.get_run(run_id)
assert r.info.status == "FINISHED", r.info.status
exp = c.get_experiment(r.info.experiment_id)
assert exp.name == "chapter-9-ray-train", exp.name
assert r.data.params.get("workers") == "2", r.data.params
acc = r.data.metrics["accuracy"]
assert acc >= 0.8, acc
models = [m for m in mlflow.search_logged_models(experiment_ids=[exp.experiment_id], output_format="list")
          if m.source_run_id == run_id]
assert [m.name for m in models] == ["model"], models
print(f"MLflow run {run_id} in {exp.name}: accuracy {acc:.4f}, params {dict(sorted(r.data.params.items()))}, logged model {models[0].model_id}")
`
