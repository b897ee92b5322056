#!/usr/bin/env python3
"""Command palette of the project: needs nothing but Python 3.11+.

python3 dev.py              set up (venv, dependencies, database, demo data) and run the server
python3 dev.py run --port 8001
python3 dev.py setup        set up only
python3 dev.py test [ARGS]  run the test suite, ARGS go to pytest (e.g. -k sale -x)
python3 dev.py lint         ruff check + ruff format --check
python3 dev.py worker       Celery worker (needs CELERY_BROKER_URL)
python3 dev.py beat         Celery beat scheduler (needs CELERY_BROKER_URL)
python3 dev.py ci           everything CI runs (.ci/run)
"""

import ctypes.util
import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".pyproject.sha256"  # hash of the pyproject.toml last installed
PANGO_LIBS = ("pango-1.0", "pangoft2-1.0")
APT_PANGO = ["apt-get", "install", "-y", "libpango-1.0-0", "libpangoft2-1.0-0"]


class Failure(Exception):
    """A step failed: its message is printed and dev.py exits non-zero."""


def say(message):
    print(f"\033[1m==> {message}\033[0m" if sys.stdout.isatty() else f"==> {message}", flush=True)


def warn(message):
    print(f"ATTENTION : {message}", file=sys.stderr, flush=True)


def dotenv_value(name):
    """The value of `name` in the project's .env file (read by settings.py too), or None."""
    path = ROOT / ".env"
    if not path.exists():
        return None
    for line in path.read_text(encoding="utf-8").splitlines():
        key, sep, value = line.strip().removeprefix("export ").partition("=")
        if sep and key.strip() == name:
            return value.strip().strip("'\"")
    return None


def app_env():
    """Environment for manage.py, pytest and celery: DEBUG on unless the user decided otherwise."""
    env = dict(os.environ)
    if "DJANGO_DEBUG" not in env and dotenv_value("DJANGO_DEBUG") is None:
        env["DJANGO_DEBUG"] = "1"
    return env


def run(args, label=None, check=True, env=None):
    label = label or " ".join(str(a) for a in args)
    try:
        code = subprocess.run([str(a) for a in args], cwd=ROOT, env=env).returncode
    except FileNotFoundError as exc:
        raise Failure(f"{label} : commande introuvable ({exc.filename})") from exc
    if check and code != 0:
        raise Failure(f"{label} a échoué (code {code})")
    return code


def manage(*args):
    run([PYTHON, "manage.py", *args], label=f"manage.py {' '.join(args)}", env=app_env())


# --- steps -------------------------------------------------------------------------------------


def ensure_venv():
    """Create .venv if needed and install the project with its dev extras when pyproject.toml changed."""
    if not PYTHON.exists() or run([PYTHON, "-c", "pass"], label="python du venv", check=False) != 0:
        say(f"Création de l'environnement virtuel {VENV.name}/")
        venv.EnvBuilder(with_pip=True, clear=VENV.exists()).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == digest:
        return
    say('Installation des dépendances (pip install -e ".[dev]", une à trois minutes)')
    run(
        [PYTHON, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", ".[dev]"],
        label="pip install",
    )
    STAMP.write_text(digest + "\n")


def is_debian():
    try:
        os_release = Path("/etc/os-release").read_text()
    except OSError:
        return False
    return any(word in os_release for word in ("ID=debian", "ID=ubuntu", "ID_LIKE=debian", 'ID_LIKE="debian'))


def ensure_pango():
    """WeasyPrint (PDF documents) needs the Pango system libraries."""
    if all(ctypes.util.find_library(lib) for lib in PANGO_LIBS):
        return
    if is_debian() and hasattr(os, "geteuid") and os.geteuid() == 0:
        say("Installation de Pango pour WeasyPrint (apt-get)")
        run(["apt-get", "update"])
        run(APT_PANGO, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        if all(ctypes.util.find_library(lib) for lib in PANGO_LIBS):
            return
    command = (
        "sudo apt-get update && sudo " + " ".join(APT_PANGO) if is_debian() else "(paquets Pango du système)"
    )
    warn(
        "Pango est introuvable : la génération des PDF (WeasyPrint) échouera tant qu'il n'est pas installé.\n"
        f"           Pour l'installer : {command}"
    )


def setup_env():
    ensure_venv()
    ensure_pango()


def setup():
    setup_env()
    say("Base de données, fichiers statiques, communes et données de démonstration")
    manage("migrate")
    manage("collectstatic", "--noinput", "-v", "0")
    manage("import_communes", "reemploi/data/communes-58.json")
    manage("demo")


# --- commands ----------------------------------------------------------------------------------


def cmd_setup(args):
    setup()
    say("Prêt. Lancez le serveur avec : python3 dev.py run")
    return 0


def cmd_run(args):
    port = "8000"
    if args[:1] == ["--port"] and len(args) == 2:
        port = args[1]
    elif len(args) == 1 and args[0].startswith("--port="):
        port = args[0].split("=", 1)[1]
    elif args:
        raise Failure("usage : python3 dev.py run [--port PORT]")
    if not port.isdigit():
        raise Failure(f"port invalide : {port}")
    setup()
    say(f"Serveur sur http://127.0.0.1:{port}/ (les comptes de démonstration sont affichés plus haut)")
    try:
        return run([PYTHON, "manage.py", "runserver", f"127.0.0.1:{port}"], check=False, env=app_env())
    except KeyboardInterrupt:
        return 0


def cmd_test(args):
    setup_env()
    return run([PYTHON, "-m", "pytest", *args], check=False, env=app_env())


def cmd_lint(args):
    ensure_venv()
    ruff = BIN / "ruff"
    failed = run([ruff, "check", ".", *args], check=False) != 0
    failed |= run([ruff, "format", "--check", "."], check=False) != 0
    if failed:
        raise Failure("lint : corrigez avec `.venv/bin/ruff check --fix .` puis `.venv/bin/ruff format .`")
    return 0


def celery(kind, args):
    if not (os.environ.get("CELERY_BROKER_URL") or dotenv_value("CELERY_BROKER_URL")):
        raise Failure(
            "CELERY_BROKER_URL n'est pas défini (ex. redis://127.0.0.1:6379/0). "
            "Sans broker, les tâches s'exécutent directement dans le serveur web : pas besoin de worker."
        )
    setup_env()
    try:
        return run([BIN / "celery", "-A", "reemploi", kind, "-l", "info", *args], check=False, env=app_env())
    except KeyboardInterrupt:
        return 0


def cmd_ci(args):
    bash = shutil.which("bash") or "bash"
    return run([bash, ROOT / ".ci" / "run", *args], check=False)


COMMANDS = {
    "run": cmd_run,
    "setup": cmd_setup,
    "test": cmd_test,
    "lint": cmd_lint,
    "worker": lambda args: celery("worker", args),
    "beat": lambda args: celery("beat", args),
    "ci": cmd_ci,
}


def main(argv):
    if not argv or argv[0].startswith("--port"):
        argv = ["run", *argv]
    name, args = argv[0], argv[1:]
    if name in ("-h", "--help", "help"):
        print(__doc__)
        return 0
    if name not in COMMANDS:
        print(f"Commande inconnue : {name}\n{__doc__}", file=sys.stderr)
        return 2
    try:
        return COMMANDS[name](args)
    except Failure as exc:
        print(f"\nÉCHEC : {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
