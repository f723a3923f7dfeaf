# JupyterHub's configuration in the series' chart. The values of the release arrive as JSON
# (settings.json, rendered from values.yaml into the same ConfigMap) and the secrets as
# environment variables from the login Secret, so this file is plain Python that never changes
# with the values. The series' native tests run this same file with spawner "local".
#
#   JUPYTERHUB_SETTINGS   path of settings.json (default: next to this file)
#   LOGIN_PASSWORD        the shared password of the lab login
#   CHECK_TOKEN           the API token of the check service
import json
import os
from pathlib import Path

c = get_config()  # noqa: F821 (provided by JupyterHub when it loads this file)

settings_path = os.environ.get("JUPYTERHUB_SETTINGS", str(Path(__file__).with_name("settings.json")))
with open(settings_path, encoding="utf-8") as f:
    s = json.load(f)

# Where the hub listens: the proxy's public port for users, and the hub's API for the servers
# and the proxy. hub_connect_url is the address the users' pods call back.
c.JupyterHub.bind_url = f"http://{s['bind']}:{s['port']}"
c.JupyterHub.hub_bind_url = f"http://{s['bind']}:{s['apiPort']}"
if s.get("hubConnectURL"):
    c.JupyterHub.hub_connect_url = s["hubConnectURL"]
c.JupyterHub.log_level = s.get("logLevel", "INFO")

# State kept on the hub's volume: users, servers and tokens, and the cookie secret (sessions
# survive a restart of the hub pod).
data = Path(s["dataDir"])
c.JupyterHub.db_url = f"sqlite:///{data / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(data / "jupyterhub_cookie_secret")
# The hub starts configurable-http-proxy beside itself; its pid file is in /tmp (an emptyDir).
c.ConfigurableHTTPProxy.pid_file = str(Path(s.get("runDir", "/tmp")) / "jupyterhub-proxy.pid")
if s.get("proxyCommand"):
    c.ConfigurableHTTPProxy.command = s["proxyCommand"]
# Users' servers keep running when the hub restarts (a new hub pod finds them again).
c.JupyterHub.cleanup_servers = False

# The lab login: one shared password for the listed names.
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = os.environ["LOGIN_PASSWORD"]
c.Authenticator.allowed_users = set(s["users"])

# The check service: an API token allowed to manage users and their servers and to use them
# (the kernels API of a user's server), and nothing else.
token = os.environ.get("CHECK_TOKEN", "")
if s.get("checkService") and token:
    name = s["checkService"]
    c.JupyterHub.services = [{"name": name, "api_token": token}]
    c.JupyterHub.load_roles = [
        {
            "name": name,
            "description": "the mlops-series checks: start a user's server, run code, stop it",
            "scopes": ["admin:users", "admin:servers", "access:servers", "list:users"],
            "services": [name],
        }
    ]

sp = s["spawner"]
c.Spawner.default_url = sp["defaultUrl"]
c.Spawner.start_timeout = int(sp["startTimeout"])
c.Spawner.http_timeout = int(sp["startTimeout"])
c.Spawner.environment = dict(sp.get("env") or {})

if sp["kind"] == "local":
    # Every server a process of the hub's own user (the native tests, a single machine).
    c.JupyterHub.spawner_class = "simple"
    if sp.get("notebookDir"):
        c.Spawner.notebook_dir = sp["notebookDir"]
    if sp.get("cmd"):
        c.Spawner.cmd = sp["cmd"]
    if sp.get("args"):
        c.Spawner.args = sp["args"]
else:
    # Every server a pod of the release's namespace, made by KubeSpawner.
    c.JupyterHub.spawner_class = "kubespawner.KubeSpawner"
    k = c.KubeSpawner
    k.namespace = sp["namespace"]
    k.image = sp["image"]
    k.image_pull_policy = sp["pullPolicy"]
    k.cmd = ["jupyterhub-singleuser"]
    k.port = 8888
    # The notebook image's user (jovyan, uid 1000, group users 100) owns the home folder; fs_gid
    # makes the user's volume writable for it.
    k.uid = 1000
    k.gid = 100
    k.fs_gid = 100
    k.mem_guarantee = sp["memory"]["guarantee"]
    k.mem_limit = sp["memory"]["limit"]
    k.cpu_guarantee = float(sp["cpu"]["guarantee"])
    k.cpu_limit = float(sp["cpu"]["limit"])
    # The notebook never calls the Kubernetes API.
    k.automount_service_account_token = False
    k.extra_labels = {"app.kubernetes.io/part-of": "mlops-series"}
    st = sp.get("storage") or {}
    if st.get("enabled"):
        k.storage_pvc_ensure = True
        k.pvc_name_template = "claim-{user_server}"
        k.storage_capacity = st["capacity"]
        k.storage_access_modes = ["ReadWriteOnce"]
        if st.get("storageClass"):
            k.storage_class = st["storageClass"]
        k.volumes = [{"name": "work", "persistentVolumeClaim": {"claimName": "{pvc_name}"}}]
        k.volume_mounts = [{"name": "work", "mountPath": "/home/jovyan/work"}]
        # Deleting the user deletes the volume too (stopping the server keeps it).
        k.delete_pvc = True

# values.yaml extraConfig, if any: Python run last, with `c` in scope.
extra = Path(settings_path).with_name("extra_config.py")
if extra.is_file() and extra.read_text(encoding="utf-8").strip():
    exec(compile(extra.read_text(encoding="utf-8"), str(extra), "exec"), {"c": c})
