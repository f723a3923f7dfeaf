# The DAG processor's and triggerer's probe: passes while this pod's job of the given type
# heartbeats in the metadata database, as `airflow jobs check --job-type TYPE --local` does, but
# without importing Airflow: that costs 3-4 CPU seconds per probe (a second interpreter beside the
# component), this a few hundredths. Same query: the newest running job of the type whose hostname
# is this pod's (the configured hostname callable), alive when its last heartbeat is younger than
# the threshold (Airflow's default for both jobs: 30 s). With a hostname callable this script does
# not know, it hands over to `airflow jobs check`.
# Usage: python job_alive.py JOB_TYPE [THRESHOLD_SECONDS]
import os
import socket
import sys
from datetime import datetime, timezone


def getfqdn() -> str:
    # airflow.utils.net.getfqdn: the canonical name getaddrinfo gives for this host.
    name = socket.gethostname()
    try:
        addrs = socket.getaddrinfo(name, None, 0, socket.SOCK_DGRAM, 0, socket.AI_CANONNAME)
    except OSError:
        return name
    for addr in addrs:
        if addr[3]:
            return addr[3]
    return name


HOSTNAMES = {
    "": getfqdn,
    "airflow.utils.net.getfqdn": getfqdn,
    "airflow.utils.net.get_host_ip_address": lambda: socket.gethostbyname(getfqdn()),
}


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print("usage: job_alive.py JOB_TYPE [THRESHOLD_SECONDS]", file=sys.stderr)
        return 2
    job_type = argv[1]
    threshold = float(argv[2]) if len(argv) == 3 else 30.0
    callable_name = os.environ.get("AIRFLOW__CORE__HOSTNAME_CALLABLE", "").strip()
    if callable_name not in HOSTNAMES:
        os.execvp("airflow", ["airflow", "jobs", "check", "--job-type", job_type, "--local"])
    hostname = HOSTNAMES[callable_name]()

    import sqlalchemy as sa

    engine = sa.create_engine(os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"], poolclass=sa.pool.NullPool)
    query = sa.text(
        "SELECT latest_heartbeat FROM job WHERE state = 'running' AND job_type = :job_type"
        " AND hostname = :hostname ORDER BY latest_heartbeat DESC LIMIT 1"
    )
    with engine.connect() as conn:
        beat = conn.execute(query, {"job_type": job_type, "hostname": hostname}).scalar()
    engine.dispose()
    if beat is None:
        print(f"No running {job_type} of host {hostname}.")
        return 1
    if isinstance(beat, str):  # SQLite keeps the timestamp as text
        beat = datetime.fromisoformat(beat)
    if beat.tzinfo is None:  # Airflow stores UTC
        beat = beat.replace(tzinfo=timezone.utc)
    age = (datetime.now(timezone.utc) - beat).total_seconds()
    if age >= threshold:
        print(f"{job_type} of host {hostname}: last heartbeat {age:.0f} s ago (threshold {threshold:.0f} s).")
        return 1
    print(f"{job_type} of host {hostname}: alive, last heartbeat {age:.1f} s ago.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
