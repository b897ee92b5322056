#!/usr/bin/env python3
"""Scripted check: PostgreSQL restarted while gunicorn serves requests. Once the database is back,
the app answers 200 again without anyone touching it (connections are checked before reuse,
CONN_HEALTH_CHECKS).

    python scripts/check_postgres_restart.py --pgdata /path/to/cluster --port 5433

Use a PostgreSQL cluster of your own: the script restarts it (`pg_ctl restart -m fast`, as the
`postgres` user when run as root), and recreates the database `reemploi_faults` on it. Eight client
threads request /healthz and the public donation form (both read the database) for the whole run;
requests made while the server is down may fail (500 or refused), none may fail once it is back.

Prints `name=value` lines; exits non-zero when a check fails."""

import argparse
import glob
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

from serving import ROOT, gunicorn, production_env  # scripts/serving.py, next to this script

PATHS = ["/healthz", "/dons/proposer/"]
CLIENTS = 8


def out(name, value):
    print(f"{name}={value}", flush=True)


def as_postgres(command):
    if os.geteuid() == 0:
        return ["su", "postgres", "-c", " ".join(command)]
    return command


def pg_ctl():
    found = shutil.which("pg_ctl") or sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))[-1:]
    return found if isinstance(found, str) else (found[0] if found else "pg_ctl")


class Client(threading.Thread):
    def __init__(self, base, stop, log):
        super().__init__(daemon=True)
        self.base, self.stop, self.log = base, stop, log

    def run(self):
        index = 0
        while not self.stop.is_set():
            path = PATHS[index % len(PATHS)]
            index += 1
            try:
                with urllib.request.urlopen(self.base + path, timeout=10) as response:
                    status = response.status
            except urllib.error.HTTPError as error:
                status = error.code
            except OSError:
                status = 0  # connection refused or reset
            self.log.append((time.monotonic(), path, status))
            time.sleep(0.02)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pgdata", required=True, help="data folder of your own cluster")
    parser.add_argument("--port", type=int, default=5433, help="its port (not the shared 5432)")
    parser.add_argument("--http-port", type=int, default=8790)
    parser.add_argument("--seconds", type=float, default=10, help="load before and after the restart")
    args = parser.parse_args()
    if args.port == 5432:
        sys.exit("Ce contrôle redémarre PostgreSQL : donnez le port d'une instance à vous, pas 5432.")
    database = f"postgres://postgres@127.0.0.1:{args.port}/reemploi_faults"
    admin = ["psql", "-h", "127.0.0.1", "-p", str(args.port), "-U", "postgres", "-qc"]
    subprocess.run([*admin, "DROP DATABASE IF EXISTS reemploi_faults"], check=True)
    subprocess.run([*admin, "CREATE DATABASE reemploi_faults"], check=True)
    env = production_env("check-postgres-restart", DATABASE_URL=database)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    log, stop = [], threading.Event()
    failures = []
    with gunicorn(port=args.http_port, workers=3, env=env) as base:
        clients = [Client(base, stop, log) for _ in range(CLIENTS)]
        for client in clients:
            client.start()
        time.sleep(args.seconds)
        restart_started = time.monotonic()
        subprocess.run(
            as_postgres(
                [pg_ctl(), "restart", "-m", "fast", "-w", "-D", args.pgdata, "-l", f"{args.pgdata}/../log"]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        back = time.monotonic()
        out("postgres_restart_seconds", f"{back - restart_started:.1f}")
        time.sleep(args.seconds)
        stop.set()
        for client in clients:
            client.join()

    def errors(rows):
        return sum(1 for _at, _path, status in rows if status != 200)

    before = [row for row in log if row[0] < restart_started]
    during = [row for row in log if restart_started <= row[0] < back]
    after = [row for row in log if row[0] >= back]
    first_ok = next((at for at, _path, status in after if status == 200), None)
    last_error = max((at for at, _path, status in after if status != 200), default=None)
    out("requests_before", len(before))
    out("errors_before", errors(before))
    out("requests_during_restart", len(during))
    out("errors_during_restart", errors(during))
    out("statuses_during_restart", sorted({status for _at, _path, status in during}))
    out("requests_after", len(after))
    out("errors_after", errors(after))
    out("statuses_after", sorted({status for _at, _path, status in after}))
    out("first_200_after_seconds", "-" if first_ok is None else f"{first_ok - back:.2f}")
    out("last_error_after_seconds", "-" if last_error is None else f"{last_error - back:.2f}")
    if errors(before):
        failures.append("errors before the restart")
    if first_ok is None:
        failures.append("no 200 after the restart")
    if errors(after):
        failures.append("errors after PostgreSQL was back")
    out("postgres_restart_ok", int(not failures))
    if failures:
        sys.exit("; ".join(failures))


if __name__ == "__main__":
    main()
