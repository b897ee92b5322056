"""Load test: 50 concurrent users browse and submit for 60 s against gunicorn on loopback, on the
national dataset (national_dataset.py, plus one computation of the indicators), DEBUG off.

    DATABASE_URL=postgres://.../bench python benchmarks/load_test.py [--users 50] [--seconds 60]
        [--workers 4] [--think 1.0]

The script prepares what the users need (idempotent: a coordinator, a workshop's staff, a
département's staff, their sessions, an API token, an issued document), collects the static files,
starts gunicorn (DJANGO_DEBUG=0, plain HTTP on loopback so secure cookies and the HTTPS redirect are
turned off), and runs one thread per user with the standard library only:

- donors (anonymous, 40 %): the donation form, its submission (each submission from an address of
  its own, given in X-Forwarded-For, so that the per-address rate limit stays on), the verification
  page;
- coordinator staff (24 %): home, device list, donation queue, indicators dashboard;
- workshop staff (24 %): home, device list, work queue, and an API write (a part into stock);
- départemental staff (12 %): home, indicators dashboard.

Each user waits a random think time (mean `--think` seconds) between requests. Any status other than
the expected one (200; 302 after the form; 201 from the API) or any network error is an error.
Prints `name=value` lines: requests, errors, p50 and p95 per endpoint, and totals."""

import argparse
import html
import os
import random
import re
import secrets
import statistics
import sys
import threading
import time
import unicodedata
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reemploi.settings")

from scripts.serving import PLAIN_HTTP_PRODUCTION, gunicorn  # noqa: E402

os.environ.setdefault("DJANGO_SECRET_KEY", "load-test-" + secrets.token_urlsafe(40))
os.environ.update({**PLAIN_HTTP_PRODUCTION, "TRUST_X_FORWARDED_FOR": "1"})

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model  # noqa: E402
from django.contrib.contenttypes.models import ContentType  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.utils import timezone  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from reemploi.enums import DocumentStatus, OrganisationKind, Role  # noqa: E402
from reemploi.models import Device, Document, EquipmentCategory, Membership, Organisation  # noqa: E402

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def out(name, value):
    print(f"{name}={value}", flush=True)


# --- Preparation ----------------------------------------------------------------------------------


def member(username, organisation, role=Role.STAFF):
    user, _created = get_user_model().objects.get_or_create(
        username=username, defaults={"email": f"{username}@charge.example.org"}
    )
    Membership.objects.get_or_create(user=user, organisation=organisation, defaults={"role": role})
    return user


def session_cookie(user):
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def prepare():
    if connection.vendor != "postgresql" or Device.objects.count() < 100_000:
        sys.exit("Il faut le jeu national sur PostgreSQL (benchmarks/national_dataset.py) : DATABASE_URL.")
    coordination, _created = Organisation.objects.get_or_create(
        name="Coordination (essai de charge)", kind=OrganisationKind.COORDINATOR
    )
    busiest = (
        Device.objects.filter(holder__kind=OrganisationKind.REFURBISHER)
        .values("holder")
        .annotate(count=Count("pk"))
        .order_by("-count")
        .first()
    )
    workshop = Organisation.objects.get(pk=busiest["holder"])
    departement = Organisation.objects.filter(kind=OrganisationKind.DEPARTEMENT).order_by("pk").first()
    users = {
        "coordinator": member("charge-coordination", coordination),
        "workshop": member("charge-atelier", workshop),
        "departement": member("charge-departement", departement),
    }
    token, _created = Token.objects.get_or_create(user=users["workshop"])
    document, _created = Document.objects.get_or_create(
        number="BL-2026-900001",
        defaults={
            "kind": "delivery_note",
            "year": 2026,
            "sequence": 900001,
            "title": "Bon de livraison (essai de charge)",
            "status": DocumentStatus.ISSUED,
            "subject_type": ContentType.objects.get_for_model(Organisation),
            "subject_id": workshop.pk,
            "public_facts": {"Expéditeur": workshop.name},
            "sha256": "0" * 64,
            "issued_at": timezone.now(),
        },
    )
    categories = dict(EquipmentCategory.objects.values_list("code", "pk"))
    return {
        "cookies": {role: session_cookie(user) for role, user in users.items()},
        "token": token.key,
        "verification": f"/v/{document.verification_code}/",
        "laptop": categories["laptop"],
        "screen": categories["screen"],
        "workshop": workshop.name,
    }


# --- Users ---------------------------------------------------------------------------------------


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class User(threading.Thread):
    def __init__(self, number, role, base, context, deadline, think, results):
        super().__init__(daemon=True)
        self.number, self.role, self.base, self.context = number, role, base, context
        self.deadline, self.think, self.results = deadline, think, results
        self.opener = urllib.request.build_opener(NoRedirect)
        self.cookies = dict([context["cookies"][role].split("=", 1)]) if role in context["cookies"] else {}
        self.submissions = 0
        self.random = random.Random(number)

    def request(self, name, path, *, data=None, headers=None, expect=200, cookies=True):
        # Each donation comes from another donor's address: the per-address rate limit stays on.
        address = f"10.{self.number}.{self.submissions // 250}.{self.submissions % 250 + 1}"
        headers = {"X-Forwarded-For": address, **(headers or {})}
        if cookies and self.cookies:
            headers["Cookie"] = "; ".join(f"{key}={value}" for key, value in self.cookies.items())
        request = urllib.request.Request(self.base + path, data=data, headers=headers)
        started = time.perf_counter()
        body, received = b"", []
        try:
            with self.opener.open(request, timeout=60) as response:
                status, body = response.status, response.read()
                received = response.headers.get_all("Set-Cookie") or []
        except urllib.error.HTTPError as error:
            status = error.code
            received = error.headers.get_all("Set-Cookie") or []
            error.read()
        except OSError as error:
            status = type(error).__name__
        elapsed = time.perf_counter() - started
        self.results[name].append((elapsed, status == expect, status))
        for header in received:
            key, _sep, value = header.split(";", 1)[0].partition("=")
            self.cookies[key.strip()] = value.strip()
        return status, body

    def pause(self):
        time.sleep(self.random.expovariate(1 / self.think) if self.think else 0)

    def run(self):
        while time.monotonic() < self.deadline:
            getattr(self, self.role)()

    def step(self, *args, **kwargs):
        if time.monotonic() >= self.deadline:
            return None
        result = self.request(*args, **kwargs)
        self.pause()
        return result

    def donor(self):
        result = self.step("GET /dons/proposer/", "/dons/proposer/")
        if result is None:
            return
        match = CSRF_INPUT.search(result[1].decode("utf-8", "replace"))
        if match:
            self.submit(html.unescape(match.group(1)))
        self.step("GET /v/<code>/", self.context["verification"])

    def submit(self, token):
        form = {
            "csrfmiddlewaretoken": token,
            "donor_kind": "company",
            "organisation_name": f"Entreprise charge {self.number}",
            "siret": "443 061 841 00047",
            "contact_name": "Julie Bernard",
            "contact_email": f"don{self.number}@example.org",
            "contact_phone": "",
            "postal_code": "58000",
            "commune": "58194",
            "address": "8 rue du Rempart",
            "access_notes": "",
            "handover_mode": "pickup",
            "availability": "tue-am",
            "availability_note": "",
            "retired_stock_count": "",
            "privacy_consent": "on",
            "website": "",
            "lines-TOTAL_FORMS": "2",
            "lines-INITIAL_FORMS": "0",
            "lines-MIN_NUM_FORMS": "1",
            "lines-MAX_NUM_FORMS": "30",
            "lines-0-category": self.context["laptop"],
            "lines-0-quantity": "6",
            "lines-0-age_years": "5",
            "lines-0-condition": "works",
            "lines-0-has_charger": "on",
            "lines-1-category": self.context["screen"],
            "lines-1-quantity": "2",
            "lines-1-age_years": "4",
            "lines-1-condition": "works",
        }
        self.submissions += 1
        self.step(
            "POST /dons/proposer/",
            "/dons/proposer/",
            data=urllib.parse.urlencode(form).encode(),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Referer": self.base + "/dons/proposer/",
            },
            expect=302,
        )

    def coordinator(self):
        for path, name in (
            ("/", "GET / (accueil coordination)"),
            ("/appareils/", "GET /appareils/ (coordination)"),
            ("/dons/a-qualifier/", "GET /dons/a-qualifier/"),
            ("/indicateurs/", "GET /indicateurs/ (coordination)"),
        ):
            self.step(name, path)

    def workshop(self):
        self.step("GET / (accueil atelier)", "/")
        self.step("GET /appareils/ (atelier)", "/appareils/")
        self.step("GET /atelier/", "/atelier/")
        body = (
            '{"kind": "ram", "description": "Barrette 8 Go DDR4 (essai de charge)", "origin": "donated", '
            f'"serial_number": "CHARGE-{self.number}-{time.monotonic_ns()}"}}'
        ).encode()
        self.step(
            "POST /api/refurbishers/parts/",
            "/api/refurbishers/parts/",
            data=body,
            headers={"Content-Type": "application/json", "Authorization": f"Token {self.context['token']}"},
            expect=201,
            cookies=False,  # token authentication, as an integration would do (no session, no CSRF)
        )

    def departement(self):
        self.step("GET / (accueil département)", "/")
        self.step("GET /indicateurs/ (département)", "/indicateurs/")


# 10 donors, 6 coordinator staff, 6 workshop staff and 3 départemental staff in every 25 users,
# interleaved so that a smaller run keeps the mix.
ROLES = ["donor", "coordinator", "workshop", "donor", "departement"] + [
    "donor",
    "coordinator",
    "workshop",
    "donor",
    "coordinator",
    "workshop",
    "donor",
    "departement",
    "coordinator",
    "workshop",
    "donor",
    "coordinator",
    "workshop",
    "donor",
    "departement",
    "coordinator",
    "workshop",
    "donor",
    "donor",
    "donor",
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--think", type=float, default=1.0, help="mean think time between requests (s)")
    parser.add_argument("--port", type=int, default=8792)
    args = parser.parse_args()
    context = prepare()
    connection.close()
    results = defaultdict(list)
    with gunicorn(port=args.port, workers=args.workers, timeout=120, ready_within=60, quiet=True) as base:
        began = time.monotonic()
        deadline = began + args.seconds
        users = [
            User(n, ROLES[n % len(ROLES)], base, context, deadline, args.think, results)
            for n in range(args.users)
        ]
        for user in users:
            user.start()
        for user in users:
            user.join()
        elapsed = time.monotonic() - began

    out("users", args.users)
    out("gunicorn_workers", args.workers)
    out("duration_seconds", f"{elapsed:.1f}")
    total = errors = 0
    for name in sorted(results):
        rows = results[name]
        times = sorted(elapsed for elapsed, _ok, _status in rows)
        failed = [status for _elapsed, ok, status in rows if not ok]
        total += len(rows)
        errors += len(failed)
        ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
        key = re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_")
        out(f"{key}.requests", len(rows))
        out(f"{key}.errors", len(failed))
        if failed:
            out(f"{key}.error_statuses", sorted({str(status) for status in failed}))
        out(f"{key}.p50_ms", f"{statistics.median(times) * 1000:.0f}")
        out(f"{key}.p95_ms", f"{times[min(len(times) - 1, int(len(times) * 0.95))] * 1000:.0f}")
    out("requests", total)
    out("errors", errors)
    out("requests_per_second", f"{total / elapsed:.1f}")
    if errors:
        sys.exit(1)


if __name__ == "__main__":
    main()
