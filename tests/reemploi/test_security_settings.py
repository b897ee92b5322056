"""No secret in the repository; the settings refuse to run without a key when DEBUG is off, and take
secure cookies and HSTS from the environment (secure by default)."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
DEV_KEY_LINE = 'SECRET_KEY = "' + 'insecure-development-key-only-used-with-debug-on-0123456789abcdef"'

# Written so that this file does not match its own patterns.
DASHES = "-" * 5
SECRET_PATTERNS = {
    "private key": re.compile(DASHES + r"BEGIN ([A-Z]+ )*PRIVATE KEY" + DASHES),
    "AWS access key": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "AWS secret key": re.compile(r"aws_secret_access_key\s*[=:]\s*['\"]?[A-Za-z0-9/+]{40}", re.IGNORECASE),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36}\b"),
    "Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    "Google API key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),
    "password in a URL": re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@'\"]+:(?P<password>[^@/\s'\"]+)@"),
    "Django secret key": re.compile(r"SECRET_KEY\s*=\s*['\"](?!\$)[^'\"]{8,}['\"]"),  # not "$variable"
}
# Placeholders that say « put your password here », and variables filled in at run time.
PLACEHOLDER_PASSWORDS = re.compile(r"^(\$\{[^}]+\}|\$\w+|mot-de-passe|pass|password|<[^>]+>|\*+)$")


def tracked_files():
    try:
        listing = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, text=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [ROOT / name for name in listing.split("\0") if name]


def findings(path):
    try:
        text = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return  # binary files (images, fonts)
    for number, line in enumerate(text.splitlines(), start=1):
        for what, pattern in SECRET_PATTERNS.items():
            for match in pattern.finditer(line):
                if what == "password in a URL" and PLACEHOLDER_PASSWORDS.match(match["password"]):
                    continue
                if (
                    what == "Django secret key"
                    and line.strip() == DEV_KEY_LINE
                    and path.name == "settings.py"
                ):
                    continue  # the development key, used only with DEBUG on (checked below)
                yield f"{path.relative_to(ROOT)}:{number}: {what}"


def test_no_secret_is_committed():
    files = tracked_files()
    assert len(files) > 100
    assert [finding for path in files for finding in findings(path)] == []


@pytest.mark.parametrize(
    "line",
    [
        DASHES + "BEGIN OPENSSH PRIVATE KEY" + DASHES,
        "AWS_ACCESS_KEY_ID=AKIA" + "ABCDEFGHIJKLMNOP",
        "DATABASE_URL=postgres://reemploi:" + "Sup3rS3cret@db/reemploi",
        "SECRET_KEY = " + "'django-insecure-abcdefghij'",
    ],
)
def test_the_scan_finds_a_planted_secret(tmp_path, monkeypatch, line):
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    path = tmp_path / "leak.py"
    path.write_text(f"{line}\n")
    assert list(findings(path))


def settings_under(**environment):
    """The security settings as a fresh process computes them from this environment."""
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({name: getattr(s, name) for name in ("
        "'DEBUG', 'SECRET_KEY', 'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SECURE_HSTS_SECONDS', "
        "'SECURE_HSTS_INCLUDE_SUBDOMAINS', 'SECURE_HSTS_PRELOAD', 'SECURE_SSL_REDIRECT')}))"
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_URL", "CELERY_"))
    }
    env.update({"DJANGO_SETTINGS_MODULE": "reemploi.settings", **environment})
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    return result.returncode, (json.loads(result.stdout) if result.returncode == 0 else result.stderr)


@pytest.mark.skipif((ROOT / ".env").exists(), reason="a local .env would take part")
def test_settings_refuse_to_start_without_a_key_when_debug_is_off():
    code, error = settings_under(DJANGO_DEBUG="0", DJANGO_SECRET_KEY="")
    assert code != 0 and "DJANGO_SECRET_KEY doit être défini" in error
    code, error = settings_under()  # DEBUG is off by default
    assert code != 0 and "DJANGO_SECRET_KEY" in error


@pytest.mark.skipif((ROOT / ".env").exists(), reason="a local .env would take part")
def test_production_settings_are_secure_by_default_and_follow_the_environment():
    key = "k" * 50
    code, production = settings_under(DJANGO_DEBUG="0", DJANGO_SECRET_KEY=key)
    assert code == 0, production
    assert production == {
        "DEBUG": False,
        "SECRET_KEY": key,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": False,
        "SECURE_SSL_REDIRECT": True,
    }
    code, tuned = settings_under(
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=key,
        DJANGO_SECURE_COOKIES="0",
        DJANGO_HSTS_SECONDS="600",
        DJANGO_HSTS_INCLUDE_SUBDOMAINS="0",
        DJANGO_HSTS_PRELOAD="1",
        DJANGO_SECURE_SSL_REDIRECT="0",
    )
    assert code == 0, tuned
    assert (tuned["SESSION_COOKIE_SECURE"], tuned["CSRF_COOKIE_SECURE"]) == (False, False)
    assert (tuned["SECURE_HSTS_SECONDS"], tuned["SECURE_HSTS_INCLUDE_SUBDOMAINS"]) == (600, False)
    assert tuned["SECURE_HSTS_PRELOAD"] and not tuned["SECURE_SSL_REDIRECT"]


@pytest.mark.skipif((ROOT / ".env").exists(), reason="a local .env would take part")
def test_the_development_key_is_only_used_with_debug_on():
    code, development = settings_under(DJANGO_DEBUG="1")
    assert code == 0, development
    assert development["SECRET_KEY"].startswith("insecure-development-key")
    assert not development["SESSION_COOKIE_SECURE"] and development["SECURE_HSTS_SECONDS"] == 0
