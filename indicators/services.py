"""Writes of the indicators app: requesting a computation, computing, storing the snapshots."""

import json
import logging
import time
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from reemploi.models import Departement
from reemploi.queue import enqueue_on_commit

from . import computations, selectors
from .enums import RunStatus
from .models import IndicatorSnapshot, SnapshotRun

logger = logging.getLogger(__name__)

# A run still pending or running after this long is considered lost (a worker died): it no longer
# blocks a new request.
STALE_AFTER = timedelta(hours=1)
SNAPSHOT_COLUMNS = [
    "indicator",
    "territory_type",
    "territory_code",
    "territory_label",
    "departement_code",
    "period_type",
    "period_start",
    "value",
    "extra",
    "computed_on",
    "computed_at",
]


def snapshot_run_request(*, departement=None, requested_by=None):
    """Ask for a computation of `departement` (None: every département). If one covering it is
    already waiting or running, that one is returned instead of queueing a second. Returns
    (run, created); the task is enqueued once the transaction commits (with the broker down, the
    run stays pending and stops blocking new requests after STALE_AFTER)."""
    from .tasks import compute_snapshots

    fresh = timezone.now() - STALE_AFTER
    with transaction.atomic():
        runs = SnapshotRun.objects.unfinished().filter(requested_at__gte=fresh)
        runs = (
            runs.covering(departement) if departement is not None else runs.filter(departement__isnull=True)
        )
        existing = runs.order_by("requested_at").first()
        if existing is not None:
            return existing, False
        run = SnapshotRun(departement=departement, requested_by=requested_by)
        run.full_clean()
        run.save()
        enqueue_on_commit(compute_snapshots, run.pk)
    return run, True


def snapshots_compute(*, run_id):
    """Compute and store the snapshots of a run. Idempotent: a run already done is left alone, and
    computing again on the same day replaces that day's snapshots."""
    with transaction.atomic():
        run = SnapshotRun.objects.select_for_update(of=("self",)).select_related("departement").get(pk=run_id)
        if run.status == RunStatus.DONE:
            return run
        run.status, run.started_at, run.error = RunStatus.RUNNING, timezone.now(), ""
        run.computed_on = timezone.localdate()
        run.save(update_fields=["status", "started_at", "error", "computed_on"])
    try:
        codes = [run.departement.code] if run.departement_id else None
        started = time.perf_counter()
        dataset = selectors.dataset_load(departement_codes=codes, today=run.computed_on)
        loaded = time.perf_counter()
        rows = computations.build_rows(dataset)
        built = time.perf_counter()
        written = snapshots_write(
            rows=rows, departement_codes=dataset.departements, computed_on=run.computed_on
        )
        timings = {
            "load": round(loaded - started, 2),
            "compute": round(built - loaded, 2),
            "write": round(time.perf_counter() - built, 2),
        }
        logger.info("Indicators: %s départements, %s rows, %s", len(dataset.departements), written, timings)
    except Exception as error:
        SnapshotRun.objects.filter(pk=run.pk).update(
            status=RunStatus.FAILED,
            finished_at=timezone.now(),
            error=f"{type(error).__name__}: {error}"[:2000],
        )
        raise
    SnapshotRun.objects.filter(pk=run.pk).update(
        status=RunStatus.DONE,
        finished_at=timezone.now(),
        departements_computed=len(dataset.departements),
        snapshots_written=written,
        timings=timings,
    )
    run.refresh_from_db()
    return run


def snapshots_write(*, rows, departement_codes, computed_on):
    """Replace the snapshots of `computed_on` for each département, one transaction per
    département (readers see the old figures or the new ones, never a mix). The département's row
    is locked so that two runs of the same day write one after the other."""
    computed_at = timezone.now()
    by_departement = {code: [] for code in departement_codes}
    for row in rows:
        by_departement.setdefault(row.departement_code, []).append(row)
    written = 0
    for code, departement_rows in by_departement.items():
        with transaction.atomic():
            list(Departement.objects.select_for_update().filter(code=code).values_list("pk"))
            IndicatorSnapshot.objects.filter(departement_code=code, computed_on=computed_on).delete()
            _insert(departement_rows, computed_on, computed_at)
        written += len(departement_rows)
    return written


def _insert(rows, computed_on, computed_at):
    if not rows:
        return
    if connection.vendor == "postgresql":
        table = IndicatorSnapshot._meta.db_table
        fixed = f"\t{computed_on.isoformat()}\t{computed_at.isoformat()}\n"
        lines = [
            "\t".join(
                (
                    _copy_text(row.indicator),
                    row.territory_type,
                    _copy_text(row.territory_code),
                    _copy_text(row.territory_label[:200]),
                    row.departement_code,
                    row.period_type,
                    row.period_start.isoformat(),
                    "\\N" if row.value is None else repr(row.value),
                    _copy_text(
                        json.dumps(row.extra, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
                    ),
                )
            )
            + fixed
            for row in rows
        ]
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY {table} ({', '.join(SNAPSHOT_COLUMNS)}) FROM STDIN") as copy,
        ):
            for start in range(0, len(lines), 20_000):
                copy.write("".join(lines[start : start + 20_000]))
        return
    IndicatorSnapshot.objects.bulk_create(
        [
            IndicatorSnapshot(
                indicator=row.indicator,
                territory_type=row.territory_type,
                territory_code=row.territory_code,
                territory_label=row.territory_label[:200],
                departement_code=row.departement_code,
                period_type=row.period_type,
                period_start=row.period_start,
                value=row.value,
                extra=row.extra,
                computed_on=computed_on,
                computed_at=computed_at,
            )
            for row in rows
        ],
        batch_size=2000,
    )


def _copy_text(text):
    """A value in COPY's text format: backslashes, tabs and line breaks escaped."""
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text
