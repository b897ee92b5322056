"""docker-compose.yml and the Dockerfile, checked against the rules of the Compose specification.

No container engine runs in the test environment: these tests hold the files to the specification
(top-level elements, service attributes, dependencies, volumes, interpolation) and check that the
commands the containers run are the same ones that work outside Docker.
"""

import importlib
import re
import shlex
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]

# Compose specification: top-level elements and the service attributes this project may use.
TOP_LEVEL = {"version", "name", "include", "services", "networks", "volumes", "configs", "secrets"}
SERVICE_ATTRIBUTES = {
    "build",
    "command",
    "container_name",
    "depends_on",
    "entrypoint",
    "env_file",
    "environment",
    "expose",
    "healthcheck",
    "image",
    "labels",
    "logging",
    "networks",
    "ports",
    "restart",
    "stop_grace_period",
    "user",
    "volumes",
    "working_dir",
    "deploy",
    "profiles",
    "extra_hosts",
}
DEPENDS_ON_CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
RESTART_POLICIES = {"no", "always", "on-failure", "unless-stopped"}
HEALTHCHECK_ATTRIBUTES = {
    "test",
    "interval",
    "timeout",
    "retries",
    "start_period",
    "start_interval",
    "disable",
}
DURATION = re.compile(r"^(\d+(\.\d+)?(us|ms|s|m|h))+$")
# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}, ${VAR:+alt}, ${VAR+alt}
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)((:?[-?+])[^}]*)?\}")


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def services(compose):
    return compose["services"]


def test_top_level_elements_are_those_of_the_specification(compose):
    unknown = {key for key in compose if key not in TOP_LEVEL and not key.startswith("x-")}
    assert not unknown
    assert "version" not in compose, "the Compose specification made `version` obsolete"


def test_the_five_services_of_the_stack(services):
    assert set(services) == {"db", "redis", "web", "worker", "beat"}
    assert services["db"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")
    for name in ("web", "worker", "beat"):
        assert services[name]["build"] == "."
        assert services[name]["image"] == services["web"]["image"], "one image for the three"


@pytest.mark.parametrize("name", ["db", "redis", "web", "worker", "beat"])
def test_service_attributes_are_valid(services, name, compose):
    service = services[name]
    assert set(service) <= SERVICE_ATTRIBUTES, set(service) - SERVICE_ATTRIBUTES
    assert "image" in service or "build" in service
    assert service.get("restart", "no") in RESTART_POLICIES
    for entry in service.get("env_file", []):
        entry = {"path": entry} if isinstance(entry, str) else entry
        assert set(entry) <= {"path", "required", "format"} and isinstance(entry["path"], str)
        assert isinstance(entry.get("required", True), bool)
    for port in service.get("ports", []):
        assert re.fullmatch(r"(\d+(-\d+)?:)?\d+(-\d+)?(/(tcp|udp))?", str(port)), port
    declared = set(compose.get("volumes") or {})
    for volume in service.get("volumes", []):
        source = volume.split(":")[0] if isinstance(volume, str) else volume["source"]
        if not source.startswith((".", "/", "~")):
            assert source in declared, f"named volume {source!r} is not declared at the top level"


@pytest.mark.parametrize("name", ["db", "redis", "web", "worker", "beat"])
def test_dependencies_exist_and_wait_for_health(services, name):
    depends_on = services[name].get("depends_on", {})
    items = depends_on.items() if isinstance(depends_on, dict) else ((d, {}) for d in depends_on)
    for dependency, options in items:
        assert dependency in services and dependency != name
        condition = options.get("condition", "service_started")
        assert condition in DEPENDS_ON_CONDITIONS
        if condition == "service_healthy":
            assert "healthcheck" in services[dependency], f"{dependency} has no healthcheck to wait for"


@pytest.mark.parametrize("name", ["db", "redis"])
def test_healthchecks_are_valid(services, name):
    check = services[name]["healthcheck"]
    assert set(check) <= HEALTHCHECK_ATTRIBUTES
    test = check["test"]
    assert isinstance(test, str) or test[0] in {"CMD", "CMD-SHELL", "NONE"}
    for key in ("interval", "timeout", "start_period", "start_interval"):
        if key in check:
            assert DURATION.match(check[key]), check[key]
    assert isinstance(check.get("retries", 3), int)


def test_every_interpolation_is_well_formed_and_documented():
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    without_comments = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    for dollar in re.finditer(r"\$(?!\$)", without_comments):
        assert INTERPOLATION.match(without_comments, dollar.start()), without_comments[dollar.start() :][:40]
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    for variable in {m.group(1) for m in INTERPOLATION.finditer(without_comments)}:
        assert re.search(rf"^#?\s*{variable}=", example, re.MULTILINE), (
            f"{variable} missing from .env.example"
        )


def test_application_variables_point_at_the_compose_services(services):
    environment = services["web"]["environment"]
    assert "@db:5432/" in environment["DATABASE_URL"]
    assert environment["CELERY_BROKER_URL"].startswith("redis://redis:6379/")
    assert environment["CACHE_URL"].startswith("redis://redis:6379/")


def test_container_commands_are_the_ones_that_work_outside_docker(services):
    web = services["web"]["command"]
    assert "manage.py migrate" in web
    wsgi = re.search(r"gunicorn (\S+):(\w+)", web)
    module, attribute = wsgi.groups()
    assert callable(getattr(importlib.import_module(module), attribute))

    for name, kind in (("worker", "worker"), ("beat", "beat")):
        argv = shlex.split(services[name]["command"])
        assert argv[:4] == ["celery", "-A", "reemploi", kind]
    celery_module = importlib.import_module("reemploi.celery")
    assert celery_module.app.main == "reemploi"

    # dev.py starts the same worker and beat on a machine without Docker.
    dev = (ROOT / "dev.py").read_text(encoding="utf-8")
    assert re.search(r'"-A",\s*"reemploi"', dev)


def test_dockerfile_installs_weasyprint_libraries_and_a_supported_python():
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    for package in ("libpango-1.0-0", "libpangoft2-1.0-0"):
        assert package in dockerfile
    image_python = re.search(r"^FROM python:(\d+)\.(\d+)", dockerfile, re.MULTILINE).groups()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    required = re.search(r">=(\d+)\.(\d+)", project["requires-python"]).groups()
    assert tuple(map(int, image_python)) >= tuple(map(int, required))
    assert re.search(r'^CMD \["gunicorn", "reemploi\.wsgi:application"', dockerfile, re.MULTILINE)
