"""Workshop benchmarks. Prints `name=value` lines.

- Importing 10 000 devices' diagnostics from the CSV template (target: under 60 s on PostgreSQL).
- The work queue page with 100 000 devices in the database: SQL queries per page size (must not
  grow with it) and median response time (target: under 200 ms).

Run from the repository root, against the database of DATABASE_URL (a throw-away test database
`test_<name>` is created and dropped; the database itself is not touched):

    DJANGO_SETTINGS_MODULE=reemploi.settings DATABASE_URL=postgres://... python benchmarks/refurbishers_bench.py
"""

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reemploi.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

CSV_DEVICES = int(os.environ.get("BENCH_CSV_DEVICES", "10000"))
QUEUE_DEVICES = int(os.environ.get("BENCH_QUEUE_DEVICES", "100000"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "30"))


def emit(name, value):
    print(f"{name}={value}", flush=True)


def bulk_devices(count, *, holder, state, prefix, batch=5000, **fields):
    from reemploi.models import Device, EquipmentCategory, new_public_id

    laptop = EquipmentCategory.objects.get(code="laptop")
    created = []
    for start in range(0, count, batch):
        rows = [
            Device(
                public_id=new_public_id(10),
                category=laptop,
                brand="HP",
                model="ProBook 450 G5",
                serial_number=f"{prefix}{start + i:07d}",
                provenance="company",
                holder=holder,
                state=state if isinstance(state, str) else state[(start + i) % len(state)],
                **fields,
            )
            for i in range(min(batch, count - start))
        ]
        created += Device.objects.bulk_create(rows, batch_size=batch)
    return created


def network():
    from django.contrib.auth import get_user_model

    from reemploi.models import Membership, Organisation

    workshop = Organisation.objects.create(name="Atelier du banc d'essai", kind="refurbisher")
    other = Organisation.objects.create(name="Autre atelier", kind="refurbisher")
    relais = Organisation.objects.create(name="Relais du banc d'essai", kind="relais")
    user = get_user_model().objects.create_user("bench", password="bench-password-2026")
    Membership.objects.create(user=user, organisation=workshop, role="staff")
    return workshop, other, relais, user


def bench_csv_import(workshop, user):
    from refurbishers import imports, parsers
    from refurbishers.models import Audit, ImportJob, StorageMedium

    bulk_devices(CSV_DEVICES, holder=workshop, state="received", prefix="CSV")
    lines = [";".join(parsers.CSV_KEYS)]
    for i in range(CSV_DEVICES):
        values = {
            "identifiant": f"CSV{i:07d}",
            "processeur": "Intel Core i5-8250U",
            "memoire_go": "8",
            "stockage_type": "ssd",
            "stockage_capacite_go": "256",
            "stockage_numero_serie": f"SSD{i:07d}",
            "batterie_sante_pct": str(60 + i % 40),
            "ecran_pouces": "15,6",
            "test_clavier": "ok",
            "test_pave_tactile": "ok",
            "test_ports": "ok",
            "test_webcam": "ok",
            "test_wifi": "ok",
            "systeme": "Linux Mint 22",
            "chargeur": "oui",
            "grade_esthetique": "ABCD"[i % 4],
            "grade_fonctionnel": "fonctionnel",
        }
        lines.append(";".join(values.get(key, "") for key in parsers.CSV_KEYS))
    data = ("\r\n".join(lines) + "\r\n").encode()
    emit("csv_import_file_bytes", len(data))
    started = time.perf_counter()
    job = imports.import_run(
        kind="csv", organisation=workshop, actor=user, uploads=[imports.Upload("bench.csv", data)]
    )
    job = ImportJob.objects.get(pk=job.pk)
    elapsed = time.perf_counter() - started
    emit("csv_import_rows", job.total)
    emit("csv_import_status", job.status)
    emit("csv_import_saved", job.saved)
    emit("csv_import_rejected", job.rejected)
    emit("csv_import_seconds", f"{elapsed:.2f}")
    emit("csv_import_rows_per_second", f"{job.total / elapsed:.0f}")
    emit("csv_import_audits", Audit.objects.filter(source="csv").count())
    emit("csv_import_media", StorageMedium.objects.filter(source="csv").count())


def bench_work_queue(workshop, other, relais, user):
    from django.test import Client

    from refurbishers.models import Sanitisation, StorageMedium

    existing = workshop.held_devices.count()
    states = ["received", "audited", "sanitised", "ready"]
    mine = bulk_devices(QUEUE_DEVICES // 2, holder=workshop, state=states, prefix="QA")
    bulk_devices(QUEUE_DEVICES // 4, holder=other, state=states, prefix="QB")
    bulk_devices(
        QUEUE_DEVICES - QUEUE_DEVICES // 2 - QUEUE_DEVICES // 4 - existing,
        holder=relais,
        state="in_stock",
        prefix="QC",
    )
    media = StorageMedium.objects.bulk_create(
        [
            StorageMedium(device=d, kind="hdd", serial_number=f"QDISK{i:07d}", capacity_bytes=500 * 10**9)
            for i, d in enumerate(mine)
            if i % 2 == 0
        ],
        batch_size=5000,
    )
    now = django.utils.timezone.now()
    Sanitisation.objects.bulk_create(
        [
            Sanitisation(
                medium=m,
                organisation=workshop,
                level="clear",
                technique="overwrite",
                tool="nwipe",
                verification_method="last_pass",
                verification_result="passed",
                started_at=now,
                ended_at=now,
                operator_name="Banc d'essai",
                outcome="erased",
            )
            for i, m in enumerate(media)
            if i % 3
        ],
        batch_size=5000,
    )
    from reemploi.models import Device

    emit("queue_devices_total", Device.objects.count())
    emit("queue_devices_in_workshop", Device.objects.filter(holder=workshop).count())
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    client = Client()
    client.force_login(user)
    client.get("/atelier/")
    for label, params in [("all", {}), ("audited", {"state": "audited"})]:
        for per_page in (25, 50, 100, 200):
            queries = []

            def count(execute, sql, params, many, context, queries=queries):
                queries.append(sql)
                return execute(sql, params, many, context)

            with connection.execute_wrapper(count):
                response = client.get("/atelier/", {**params, "per_page": per_page})
            assert response.status_code == 200, response.status_code
            timings = []
            for _ in range(REQUESTS):
                started = time.perf_counter()
                client.get("/atelier/", {**params, "per_page": per_page})
                timings.append((time.perf_counter() - started) * 1000)
            emit(f"queue_{label}_per_page_{per_page}_queries", len(queries))
            emit(f"queue_{label}_per_page_{per_page}_median_ms", f"{statistics.median(timings):.1f}")
            emit(
                f"queue_{label}_per_page_{per_page}_p90_ms",
                f"{sorted(timings)[int(0.9 * len(timings)) - 1]:.1f}",
            )
    timings = []
    for i in range(REQUESTS):
        started = time.perf_counter()
        client.get("/atelier/", {"q": f"QA{(i * 997) % (QUEUE_DEVICES // 2):07d}"})
        timings.append((time.perf_counter() - started) * 1000)
    emit("queue_scan_lookup_median_ms", f"{statistics.median(timings):.1f}")


def main():
    setup_test_environment()
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = ["*"]
    settings.SECURE_SSL_REDIRECT = False
    original = connection.settings_dict["NAME"]
    emit("database", connection.vendor)
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        workshop, other, relais, user = network()
        bench_csv_import(workshop, user)
        bench_work_queue(workshop, other, relais, user)
    finally:
        connection.creation.destroy_test_db(original, verbosity=0)


if __name__ == "__main__":
    main()
