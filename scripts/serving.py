"""gunicorn as production runs it, on loopback, for the fault checks and the load test.

The application runs with DEBUG off over plain HTTP (no HTTPS redirect, no secure-only cookies, so
that a client on 127.0.0.1 can sign in), and tasks run eagerly unless the caller sets a broker."""

import os
import signal
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PLAIN_HTTP_PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECURE_SSL_REDIRECT": "0",
    "DJANGO_SECURE_COOKIES": "0",
    "CELERY_BROKER_URL": "",
}


def production_env(name, **extra):
    """The process environment with production settings over plain HTTP and a throwaway secret key."""
    return {**os.environ, **PLAIN_HTTP_PRODUCTION, "DJANGO_SECRET_KEY": f"{name}-" + "x" * 40, **extra}


@contextmanager
def gunicorn(*, port, workers, env=None, timeout=None, ready_within=30, quiet=False):
    """Collect the static files, start gunicorn on 127.0.0.1:port and wait until /healthz answers;
    yields the base URL and stops the server (and its workers) on the way out."""
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        "reemploi.wsgi:application",
        f"--bind=127.0.0.1:{port}",
        f"--workers={workers}",
        "--log-level=warning",
    ]
    if timeout is not None:
        command.append(f"--timeout={timeout}")
    server = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        start_new_session=True,
        # The console email backend writes every email to the server's output.
        stdout=subprocess.DEVNULL if quiet else None,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + ready_within
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2)
                break
            except OSError:
                time.sleep(0.3)
        yield base
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
