#!/usr/bin/env python3
"""Figures for the donations app, on a scratch database (prints name=value lines, asserts nothing).

    DJANGO_DEBUG=1 python scripts/bench_donors.py            # SQLite in a temporary folder
    DJANGO_DEBUG=1 DATABASE_URL=postgres://... python scripts/bench_donors.py

Measures the live verdict (the htmx endpoint the form calls as the donor types), a 30-line
submission, the reception of a 500-item donation (500 traced devices with their history), the
reception sheet of those 500 devices, and the queries of the coordinator's queue."""

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reemploi.settings")
_scratch = None
if "DATABASE_URL" not in os.environ:
    _scratch = tempfile.mkdtemp(prefix="bench-donors-")
    os.environ["DATABASE_URL"] = f"sqlite:///{_scratch}/bench.sqlite3"
    os.environ.setdefault("MEDIA_ROOT", f"{_scratch}/media")

import django  # noqa: E402

django.setup()

from datetime import time as clock  # noqa: E402
from datetime import timedelta  # noqa: E402

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from donors import notifications, services  # noqa: E402
from donors.enums import Condition, DonorKind, HandoverMode, Verdict  # noqa: E402
from donors.models import Donation  # noqa: E402
from reemploi import documents  # noqa: E402
from reemploi.enums import OrganisationKind, Role  # noqa: E402
from reemploi.models import (  # noqa: E402
    Commune,
    CommunePostalCode,
    Departement,
    EquipmentCategory,
    Membership,
    Organisation,
    Site,
)


def measure(name, function, repeat=1):
    started = time.perf_counter()
    for _ in range(repeat):
        result = function()
    elapsed = (time.perf_counter() - started) / repeat
    print(f"{name}_ms={elapsed * 1000:.1f}")
    return result


def main():
    call_command("migrate", verbosity=0)
    from django.contrib.auth import get_user_model

    departement = Departement.objects.get(code="58")
    commune, _ = Commune.objects.get_or_create(
        insee_code="58194",
        defaults={"name": "Nevers", "departement": departement, "latitude": 46.99, "longitude": 3.16},
    )
    CommunePostalCode.objects.get_or_create(commune=commune, code="58000")
    coordinator_org, _ = Organisation.objects.get_or_create(
        name="Coordination", kind=OrganisationKind.COORDINATOR
    )
    workshop, _ = Organisation.objects.get_or_create(name="Atelier", kind=OrganisationKind.REFURBISHER)
    site, _ = Site.objects.get_or_create(
        organisation=workshop,
        name="Atelier",
        defaults={"commune": commune, "is_workshop": True, "is_collection_point": True},
    )
    user, _ = get_user_model().objects.get_or_create(username="bench-coordination")
    Membership.objects.get_or_create(user=user, organisation=coordinator_org, defaults={"role": Role.STAFF})
    categories = list(EquipmentCategory.objects.all())

    client = Client()
    params = {"donor_kind": "company", "lines-TOTAL_FORMS": "10"}
    for index in range(10):
        params[f"lines-{index}-category"] = categories[index % len(categories)].pk
        params[f"lines-{index}-quantity"] = "5"
        params[f"lines-{index}-age_years"] = str(index + 3)
    client.get("/dons/proposer/verdicts/", params)
    with CaptureQueriesContext(connection) as queries:
        measure("live_verdict_10_lines", lambda: client.get("/dons/proposer/verdicts/", params), repeat=20)
    print(f"live_verdict_queries={len(queries) // 20}")

    lines = [
        {
            "category": categories[index % 8],
            "quantity": 10,
            "age_years": 4,
            "condition": Condition.WORKS,
            "announced_items": [],
        }
        for index in range(30)
    ]
    kwargs = {
        "donor_kind": DonorKind.COMPANY,
        "organisation_name": "Entreprise de mesure",
        "siret": "73282932000074",
        "contact_name": "Mesure",
        "contact_email": "mesure@example.org",
        "postal_code": "58000",
        "commune": commune,
        "address": "1 rue",
        "handover_mode": HandoverMode.PICKUP,
        "privacy_consent": True,
    }
    with notifications.muted():
        measure(
            "submit_30_lines",
            lambda: services.donation_submit(lines=[dict(line) for line in lines], **kwargs),
        )

        big = services.donation_submit(
            lines=[
                {
                    "category": categories[0],
                    "quantity": 500,
                    "age_years": 4,
                    "condition": Condition.WORKS,
                    "announced_items": [
                        {"serial_number": f"ANN{n:05d}", "asset_tag": ""} for n in range(250)
                    ],
                }
            ],
            **kwargs,
        )
        line = big.lines.get()
        services.donation_qualify(
            donation=big,
            actor=user,
            refurbisher=workshop,
            decisions=[{"line": line, "decision": Verdict.ACCEPTED, "quantity": 500}],
        )
        services.donation_schedule(
            donation=big,
            actor=user,
            planned_date=timezone.localdate() + timedelta(days=1),
            slot_start=clock(9),
            slot_end=clock(12),
            carrier=workshop,
        )
        services.donation_collect(donation=big, actor=user, items_count=500, weight_kg=1100)
        items = [{"serial_number": f"ANN{n:05d}", "asset_tag": ""} for n in range(240)]
        items += [{"serial_number": f"NEW{n:05d}", "asset_tag": ""} for n in range(200)]
        # The sheet is generated once the reception commits: time the two apart.
        started = time.perf_counter()
        with transaction.atomic():
            reception = services.donation_receive(
                donation=big,
                actor=user,
                site=site,
                lines=[{"line": line, "received_quantity": 500, "items": items}],
            )
            print(f"receive_500_items_ms={(time.perf_counter() - started) * 1000:.1f}")
            started = time.perf_counter()
        print(f"reception_sheet_500_devices_ms={(time.perf_counter() - started) * 1000:.1f}")
    sheet = documents.Document.objects.about(reception).first()
    print(f"reception_sheet_bytes={sheet.size}")

    client.force_login(user)
    client.get("/dons/a-qualifier/?status=")
    with CaptureQueriesContext(connection) as queries:
        measure("queue_page", lambda: client.get("/dons/a-qualifier/?status="))
    print(f"queue_page_queries={len(queries)}")
    print(f"donations={Donation.objects.count()}")


if __name__ == "__main__":
    main()
