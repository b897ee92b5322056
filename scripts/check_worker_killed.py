#!/usr/bin/env python3
"""Scripted check: a Celery worker killed (SIGKILL) while it generates a document. The task is
delivered again and the document is issued exactly once: one number, one file, the counter + 1.

    DATABASE_URL=postgres://postgres@127.0.0.1:5433/reemploi_faults \\
    CELERY_BROKER_URL=redis://127.0.0.1:6380/0 python scripts/check_worker_killed.py

Use a database and a Redis of your own: the script recreates the database and empties the Redis
database. Two cases, each with a fresh document of a test kind whose rendering blocks until the
script kills the worker:

- `child`: SIGKILL on the pool process running the task. The worker's main process sees it lost
  (`task_reject_on_worker_lost`) and puts the message back at once; a new pool process runs it.
- `whole`: SIGKILL on the whole worker (main process and pool), then a new worker is started. The
  message was never acknowledged (`task_acks_late`): Redis delivers it again once the visibility
  timeout has passed (`CELERY_VISIBILITY_TIMEOUT`, set to a few seconds here; 3600 in production).

Prints `name=value` lines; exits non-zero when a check fails."""

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
KIND = "fault_slow"
VISIBILITY_TIMEOUT = 8


def out(name, value):
    print(f"{name}={value}", flush=True)


def register_slow_kind(marker_dir):
    """A document kind whose first rendering writes its process id and blocks (to be killed)."""
    from reemploi import documents

    def build(document):
        marker = Path(marker_dir) / f"{document.pk}.pid"
        if not marker.exists():
            marker.write_text(str(os.getpid()))
            time.sleep(600)
        return documents.Rendered(
            template="pdf/base.html", context={}, public_facts={"Essai": "panne de worker"}
        )

    documents.register_kind(KIND, prefix="PANNE", label="Document d'essai (panne)", build=build)


def run_worker():
    """`--worker MARKER_DIR`: a Celery worker of the project that knows the slow kind."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reemploi.settings")
    import django

    django.setup()
    register_slow_kind(sys.argv[2])
    from reemploi.celery import app

    app.worker_main(["worker", "--pool=prefork", "--concurrency=1", "--loglevel=WARNING", "--without-gossip"])


def recreate_database(url):
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = ["psql", "-h", parts.hostname, "-p", str(parts.port or 5432), "-U", parts.username or "postgres"]
    subprocess.run([*admin, "-qc", f'DROP DATABASE IF EXISTS "{name}"'], check=True)
    subprocess.run([*admin, "-qc", f'CREATE DATABASE "{name}"'], check=True)


def start_worker(env, marker_dir):
    return subprocess.Popen(
        [sys.executable, __file__, "--worker", marker_dir],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=sys.stderr,  # the banner and logs stay apart from the name=value lines
    )


def wait_for(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    return None


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        return run_worker()
    url = os.environ.get("DATABASE_URL", "")
    broker = os.environ.get("CELERY_BROKER_URL", "")
    if not url.startswith("postgres") or not broker.startswith("redis"):
        sys.exit("Il faut DATABASE_URL (PostgreSQL) et CELERY_BROKER_URL (Redis), tous deux à vous seul.")
    media = tempfile.mkdtemp(prefix="reemploi-faults-media-")
    markers = tempfile.mkdtemp(prefix="reemploi-faults-markers-")
    env = {
        **os.environ,
        "MEDIA_ROOT": media,
        "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
        "DJANGO_DEBUG": os.environ.get("DJANGO_DEBUG", "1"),
        "DJANGO_SETTINGS_MODULE": "reemploi.settings",
    }
    os.environ.update(env)
    recreate_database(url)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)

    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    register_slow_kind(markers)
    import redis
    from django.db import connection, transaction

    from reemploi.documents import document_request
    from reemploi.enums import DocumentStatus
    from reemploi.models import Document, DocumentCounter, Organisation

    redis.Redis.from_url(broker).flushdb()
    subject = Organisation.objects.create(name="Atelier d'essai", kind="refurbisher")
    failures = []
    worker = start_worker(env, markers)
    try:
        for case in ("child", "whole"):
            counter_before = (
                DocumentCounter.objects.filter(kind=KIND).values_list("last", flat=True).first() or 0
            )
            with transaction.atomic():
                document = document_request(kind=KIND, subject=subject, title=f"Essai {case}")
            marker = Path(markers) / f"{document.pk}.pid"
            started = time.monotonic()
            if not wait_for(marker.exists, 60):
                failures.append(f"{case}: the worker never started the task")
                break
            time.sleep(0.5)
            pid = int(marker.read_text())
            if case == "child":
                os.kill(pid, signal.SIGKILL)
            else:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
                worker = start_worker(env, markers)
            out(f"{case}_killed_pid", pid)

            def issued(document=document):
                connection.close()  # a fresh read
                document.refresh_from_db()
                return document.status == DocumentStatus.ISSUED

            done = wait_for(issued, 120)
            out(f"{case}_issued_after_seconds", f"{time.monotonic() - started:.1f}")
            time.sleep(2)  # would a second delivery issue it again?
            document.refresh_from_db()
            counter_after = DocumentCounter.objects.get(kind=KIND).last
            files = [p for p in Path(media).rglob("*.pdf") if p.name.startswith(document.number or "?")]
            out(f"{case}_pdf_files_in_storage", len(list(Path(media).rglob("*.pdf"))))
            out(f"{case}_status", document.status)
            out(f"{case}_number", document.number)
            out(f"{case}_counter_increment", counter_after - counter_before)
            out(f"{case}_documents_for_request", Document.objects.filter(title=f"Essai {case}").count())
            out(f"{case}_files", len(files))
            if not (
                done
                and counter_after - counter_before == 1
                and len(files) == 1
                and Document.objects.filter(title=f"Essai {case}").count() == 1
            ):
                failures.append(f"{case}: not issued exactly once")
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
    out("worker_killed_ok", int(not failures))
    if failures:
        sys.exit("; ".join(failures))


if __name__ == "__main__":
    main()
