"""Writes of the indicators app: requesting a computation, computing, storing the snapshots."""

import json
import logging
import time
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from donors.enums import DonorKind
from donors.models import Donation
from donors.notifications import organisation_emails
from donors.selectors import FINAL_STATES, devices_received
from reemploi.documents import document_reissue, document_request
from reemploi.enums import DeviceState, DocumentStatus, OrganisationKind
from reemploi.models import Departement, Device, Document, Organisation
from reemploi.permissions import is_coordinator
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


# --- Documents for donors (reuse attestation, impact report) ---------------------------------------

REUSE_ATTESTATION = "reuse_attestation"
IMPACT_REPORT = "impact_report"


class DocumentRefused(Exception):
    """A document that cannot be issued for this subject; `message` is shown to the user."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


def _issue(*, kind, subject, title, owner, recipient_email, requested_by, params, donation=None):
    """Request a document, or a new version superseding the current one (its figures may have
    changed); a document still being generated is returned as is. A donor (or whoever holds a
    donation's private link) gets at most one new version a day: asking again the same day returns
    the day's document. The coordinator may issue a new version at any time (after a correction)."""
    existing = Document.objects.about(subject).filter(kind=kind, params=params)
    pending = existing.filter(status=DocumentStatus.PENDING).first()
    if pending is not None:
        return pending
    current = existing.current().first()
    if current is not None:
        issued_today = current.issued_at and timezone.localdate(current.issued_at) == timezone.localdate()
        if issued_today and not (requested_by is not None and is_coordinator(requested_by, write=True)):
            return current
        return document_reissue(document=current, requested_by=requested_by)
    return document_request(
        kind=kind,
        subject=subject,
        title=title,
        owner=owner,
        recipient_email=recipient_email,
        requested_by=requested_by,
        params=params,
        donation=donation,
    )


def _check_year(year):
    if not isinstance(year, int) or year < 2000 or year > timezone.localdate().year:
        raise DocumentRefused(_("Choisissez une année écoulée ou l'année en cours."))


def _recipient(organisation, requested_by):
    if requested_by is not None and requested_by.email:
        return requested_by.email
    emails = organisation_emails(organisation)
    return emails[0] if emails else ""


def reuse_attestation_request(*, organisation, year, requested_by=None):
    """Décret n° 2023-266: the attestation of a public donor for a year (a new version if one
    exists). Only public bodies receive one."""
    if organisation.kind != OrganisationKind.PUBLIC_BODY:
        raise DocumentRefused(
            _("L'attestation de réemploi (décret n° 2023-266) est réservée aux donateurs publics.")
        )
    _check_year(year)
    return _issue(
        kind=REUSE_ATTESTATION,
        subject=organisation,
        title=_("Attestation de réemploi %(year)s – %(name)s") % {"year": year, "name": organisation.name},
        owner=organisation,
        recipient_email=_recipient(organisation, requested_by),
        requested_by=requested_by,
        params={"year": year},
    )


def impact_report_request(*, donation=None, organisation=None, year=None, requested_by=None):
    """The impact report of a donation, or of a donor organisation for a year."""
    if donation is not None:
        return _issue(
            kind=IMPACT_REPORT,
            subject=donation,
            title=_("Bilan d'impact du don %(reference)s") % {"reference": donation.reference},
            owner=donation.donor_organisation,
            recipient_email=donation.contact_email,
            requested_by=requested_by,
            params={},
            donation=donation,
        )
    if organisation is None or organisation.kind not in DonorKind.organisation_kinds():
        raise DocumentRefused(_("Le bilan d'impact annuel est réservé aux organisations donatrices."))
    _check_year(year)
    return _issue(
        kind=IMPACT_REPORT,
        subject=organisation,
        title=_("Bilan d'impact %(year)s – %(name)s") % {"year": year, "name": organisation.name},
        owner=organisation,
        recipient_email=_recipient(organisation, requested_by),
        requested_by=requested_by,
        params={"year": year},
    )


def yearly_reuse_attestations(*, year=None):
    """January: an attestation for the past year to every public donor that gave devices received
    that year, once (a donor that already has one for the year is left alone). Returns how many."""
    year = year or timezone.localdate().year - 1
    issued = 0
    for organisation in Organisation.objects.filter(kind=OrganisationKind.PUBLIC_BODY, is_active=True):
        if (
            Document.objects.about(organisation)
            .filter(kind=REUSE_ATTESTATION, params={"year": year})
            .exists()
        ):
            continue
        if not devices_received(organisation, year).exists():
            continue
        with transaction.atomic():
            reuse_attestation_request(organisation=organisation, year=year)
        issued += 1
    return issued


def final_impact_reports():
    """An impact report for every donation whose devices all reached a final state (sold, lent,
    given, DEEE, parts, lost) and that has none yet. Returns how many were requested."""
    devices = Device.objects.filter(donation_line__donation=OuterRef("pk"))
    not_final = [state for state in DeviceState.values if state not in FINAL_STATES]
    last_change = devices.order_by("-state_changed_at").values("state_changed_at")[:1]
    reported = Document.objects.filter(
        donation=OuterRef("pk"), kind=IMPACT_REPORT, requested_at__gte=OuterRef("last_change")
    )
    donations = (
        Donation.objects.filter(Exists(devices))
        .exclude(Exists(devices.filter(state__in=not_final)))
        .annotate(last_change=Subquery(last_change))
        .filter(~Exists(reported))
    )
    count = 0
    for donation in donations.select_related("donor_organisation"):
        with transaction.atomic():
            impact_report_request(donation=donation)
        count += 1
    return count
