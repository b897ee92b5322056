"""Backup and restore: the database dump plus the stored files (documents, evidence, photos), in
one archive with a manifest of SHA-256 sums that the restore checks before touching anything.

PostgreSQL is dumped with pg_dump (custom format) and restored with pg_restore --clean; SQLite is
copied with its online backup API. Files stored on S3 are not in the archive: back the bucket up
with its own versioning (see docs/operations.md)."""

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils import timezone

FORMAT_VERSION = 1


class BackupError(Exception):
    pass


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _pg_env():
    db = settings.DATABASES["default"]
    env = dict(os.environ)
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    args = [
        "-h",
        db.get("HOST") or "localhost",
        "-p",
        str(db.get("PORT") or 5432),
        "-U",
        db.get("USER") or "postgres",
    ]
    return env, args, db["NAME"]


def _run(command, env=None):
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"{command[0]} a échoué : {result.stderr.strip()[:2000]}")


def backup(target: Path) -> dict:
    """Write the archive to `target` (a .tar.gz) and return its manifest."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        vendor = connection.vendor
        if vendor == "postgresql":
            env, args, name = _pg_env()
            dump = tmp / "database.pgdump"
            _run(["pg_dump", *args, "-Fc", "--no-owner", "-f", str(dump), name], env=env)
        elif vendor == "sqlite":
            dump = tmp / "database.sqlite3"
            connection.ensure_connection()
            with sqlite3.connect(dump) as out:
                connection.connection.backup(out)
        else:
            raise BackupError(f"Base {vendor} non prise en charge.")
        media_root = Path(settings.MEDIA_ROOT)
        files = sorted(p for p in media_root.rglob("*") if p.is_file()) if media_root.exists() else []
        manifest = {
            "format": FORMAT_VERSION,
            "created_at": timezone.now().isoformat(),
            "database": {"vendor": vendor, "file": dump.name, "sha256": _sha256(dump)},
            "media": {str(p.relative_to(media_root)): _sha256(p) for p in files},
        }
        target.parent.mkdir(parents=True, exist_ok=True)
        with tarfile.open(target, "w:gz") as archive:
            data = json.dumps(manifest, indent=2, ensure_ascii=False).encode()
            info = tarfile.TarInfo("manifest.json")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
            archive.add(dump, arcname=dump.name)
            for path in files:
                archive.add(path, arcname=f"media/{path.relative_to(media_root)}")
    return manifest


def restore(source: Path) -> dict:
    """Check the archive against its manifest, then restore the database and the files."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        with tarfile.open(source, "r:gz") as archive:
            archive.extractall(tmp, filter="data")
        manifest = json.loads((tmp / "manifest.json").read_text())
        if manifest.get("format") != FORMAT_VERSION:
            raise BackupError("Format de sauvegarde inconnu.")
        dump = tmp / manifest["database"]["file"]
        if _sha256(dump) != manifest["database"]["sha256"]:
            raise BackupError(
                "La copie de la base est corrompue (SHA-256 différent) : rien n'a été restauré."
            )
        for relative, digest in manifest["media"].items():
            if _sha256(tmp / "media" / relative) != digest:
                raise BackupError(f"Le fichier {relative} est corrompu : rien n'a été restauré.")
        if manifest["database"]["vendor"] != connection.vendor:
            raise BackupError("La sauvegarde vient d'un autre type de base de données.")
        if connection.vendor == "postgresql":
            env, args, name = _pg_env()
            connection.close()
            _run(
                ["pg_restore", *args, "--clean", "--if-exists", "--no-owner", "-d", name, str(dump)], env=env
            )
        else:
            connection.ensure_connection()
            with sqlite3.connect(dump) as source_db:
                source_db.backup(connection.connection)
        media_root = Path(settings.MEDIA_ROOT)
        for relative in manifest["media"]:
            destination = media_root / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(tmp / "media" / relative, destination)
    return manifest
