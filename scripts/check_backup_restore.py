#!/usr/bin/env python3
"""Scripted check of backup and restore, end to end, on a scratch database.

    python scripts/check_backup_restore.py                 # SQLite in a temporary folder
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/reemploi_backupcheck python scripts/check_backup_restore.py

It builds the demo network (with its issued documents), takes a backup, wipes the database and the
stored files, restores, and checks that every table has the same rows and every issued document's
file still has its registered SHA-256. Exits non-zero on any difference."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

SNAPSHOT = """
import hashlib, json
from django.apps import apps
from reemploi.models import Document
counts = {m._meta.label: m._base_manager.count() for m in apps.get_models()}
docs = {}
for d in Document.objects.filter(status="issued"):
    with d.file.open("rb") as f:
        docs[d.number] = [d.sha256, hashlib.sha256(f.read()).hexdigest()]
print(json.dumps({"counts": counts, "documents": docs}))
"""


def manage(env, *args, capture=False):
    result = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, text=True, capture_output=capture, check=False
    )
    if result.returncode != 0:
        sys.exit(
            f"manage.py {' '.join(args)} a échoué :\n{result.stdout if capture else ''}{result.stderr if capture else ''}"
        )
    return result.stdout


def recreate_postgres(url):
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = [
        "-h",
        parts.hostname or "127.0.0.1",
        "-p",
        str(parts.port or 5432),
        "-U",
        parts.username or "postgres",
    ]
    subprocess.run(["dropdb", "--if-exists", *admin, name], check=True)
    subprocess.run(["createdb", *admin, name], check=True)


def main():
    work = Path(tempfile.mkdtemp(prefix="reemploi-backup-check-"))
    env = {**os.environ, "DJANGO_DEBUG": "1", "MEDIA_ROOT": str(work / "media"), "CELERY_BROKER_URL": ""}
    url = env.get("DATABASE_URL", "")
    postgres = url.startswith("postgres")
    if not postgres:
        env["DATABASE_URL"] = f"sqlite:///{work / 'db.sqlite3'}"
    if postgres:
        recreate_postgres(url)
    manage(env, "migrate", "-v", "0")
    manage(env, "import_communes", "reemploi/data/communes-58.json")
    manage(env, "demo")
    before = json.loads(
        manage(env, "shell", "-v", "0", "-c", SNAPSHOT, capture=True).strip().splitlines()[-1]
    )
    archive = work / "backup.tar.gz"
    manage(env, "backup", str(archive))
    # Lose everything.
    shutil.rmtree(work / "media", ignore_errors=True)
    if postgres:
        recreate_postgres(url)
    else:
        (work / "db.sqlite3").unlink()
        manage(env, "migrate", "-v", "0")
    manage(env, "restore", str(archive), "--yes")
    after = json.loads(manage(env, "shell", "-v", "0", "-c", SNAPSHOT, capture=True).strip().splitlines()[-1])
    differences = {
        k: (v, after["counts"].get(k)) for k, v in before["counts"].items() if after["counts"].get(k) != v
    }
    bad_documents = [n for n, (registered, actual) in after["documents"].items() if registered != actual]
    rows = sum(before["counts"].values())
    print(f"backup_check_database={'postgresql' if postgres else 'sqlite'}")
    print(f"backup_check_rows={rows}")
    print(f"backup_check_documents={len(after['documents'])}")
    print(f"backup_check_archive_bytes={archive.stat().st_size}")
    if differences or bad_documents or before["documents"].keys() != after["documents"].keys():
        print("ÉCHEC : différences après restauration", differences, bad_documents, file=sys.stderr)
        return 1
    shutil.rmtree(work, ignore_errors=True)
    print("backup_check=ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
