"""Imports of machine-made reports: `lshw -json` inventories, nwipe erasure reports, the CSV template.

Every import checks every row (a machine, a medium, a wiped drive, a CSV line), saves the good ones and
records why each other one was refused. A file that cannot be read at all saves nothing: all files of
an upload are read before anything is written, and the reason is raised as `MalformedReport`. The raw
files are kept as Evidence with their SHA-256.

lshw and nwipe imports are small and run at once. CSV imports run in a Celery task (eagerly when no
broker is configured), in chunks: each chunk commits its rows together with the job's progress, so the
progress page is exact and a retried task resumes where it stopped."""

import logging
from collections import defaultdict
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext as _

from reemploi.enums import DeviceState as S
from reemploi.lifecycle import WORKSHOP_STATES, TransitionError, devices_transition
from reemploi.models import Device
from reemploi.queue import enqueue_on_commit

from . import parsers
from .enums import ImportKind, ImportStatus, MediumKind, RecordSource, SanitisationStandard
from .models import Audit, Evidence, ImportJob, NoStorageDeclaration, Sanitisation, StorageMedium
from .services import (
    audit_record,
    evidence_store,
    medium_add,
    medium_summary,
    sanitisation_record,
)

logger = logging.getLogger(__name__)
CSV_CHUNK = 500


@dataclass
class Upload:
    name: str
    data: bytes


def _messages(error):
    if hasattr(error, "message_dict"):
        return " ; ".join(f"{message}" for messages in error.message_dict.values() for message in messages)
    if isinstance(error, ValidationError):
        return " ; ".join(error.messages)
    return getattr(error, "message", str(error))


class JobLog:
    """Collects the outcome of each row, then writes it on the job."""

    def __init__(self, job):
        self.job = job

    def saved(self, count=1):
        self.job.saved += count
        self.job.processed += count

    def reject(self, label, reason):
        self.job.errors.append({"row": str(label), "reason": str(reason)})
        self.job.rejected += 1
        self.job.processed += 1

    def notice(self, label, message):
        self.job.notices.append({"row": str(label), "message": str(message)})


def import_run(*, kind, organisation, actor, uploads, device=None, options=None):
    """Check and import an upload (a list of `Upload`). Raises MalformedReport when a file cannot be read
    (nothing saved). Returns the ImportJob: finished for lshw and nwipe, enqueued for CSV."""
    options = options or {}
    if not uploads:
        raise parsers.MalformedReport(_("Choisissez au moins un fichier."))
    if kind == ImportKind.LSHW:
        parsed = _read_all(uploads, parsers.parse_lshw)
        return _run_now(kind, organisation, actor, uploads, device, options, parsed, _import_lshw)
    if kind == ImportKind.NWIPE:
        parsed = _read_all(
            uploads,
            lambda data, name: parsers.parse_nwipe(
                data,
                source_name=name if len(uploads) > 1 else "",
                default_method=options.get("nwipe_method", ""),
                default_verify=options.get("nwipe_verify", "last"),
            ),
            with_name=True,
        )
        return _run_now(kind, organisation, actor, uploads, device, options, parsed, _import_nwipe)
    if kind == ImportKind.CSV:
        if len(uploads) != 1:
            raise parsers.MalformedReport(_("Importez un seul fichier CSV à la fois."))
        rows = parsers.read_csv(uploads[0].data)
        return _enqueue_csv(organisation, actor, uploads[0], options, len(rows))
    raise parsers.MalformedReport(_("Format d'import inconnu."))


def _read_all(uploads, parse, with_name=False):
    parsed, problems = [], []
    for upload in uploads:
        try:
            parsed.append(parse(upload.data, upload.name) if with_name else parse(upload.data))
        except parsers.MalformedReport as error:
            problems.append(f"{upload.name} : {error.message}")
    if problems:
        raise parsers.MalformedReport(" ".join(problems))
    return parsed


def _new_job(kind, organisation, actor, device, options, uploads, total=0, status=ImportStatus.RUNNING):
    job = ImportJob.objects.create(
        kind=kind,
        organisation=organisation,
        device=device,
        options=options,
        created_by=actor,
        status=status,
        total=total,
        started_at=timezone.now() if status == ImportStatus.RUNNING else None,
    )
    evidence = [
        evidence_store(
            organisation=organisation,
            kind=kind,
            name=upload.name,
            data=upload.data,
            actor=actor,
            import_job=job,
        )
        for upload in uploads
    ]
    return job, evidence


def _run_now(kind, organisation, actor, uploads, device, options, parsed, importer):
    with transaction.atomic():
        job, evidence = _new_job(kind, organisation, actor, device, options, uploads)
        log = JobLog(job)
        for item, proof in zip(parsed, evidence, strict=True):
            importer(log, item, proof, actor=actor, organisation=organisation, device=device, options=options)
        job.total = job.processed
        job.status = ImportStatus.DONE
        job.finished_at = timezone.now()
        job.save()
    return job


def _workshop_devices(organisation):
    return Device.objects.filter(holder=organisation, state__in=WORKSHOP_STATES).select_related(
        "category", "holder"
    )


def _find_by_serial(organisation, serial):
    matches = list(_workshop_devices(organisation).filter(serial_number__iexact=serial)[:2])
    if len(matches) > 1:
        return None, _("plusieurs appareils de l'atelier portent le numéro de série « %(serial)s »") % {
            "serial": serial
        }
    if not matches:
        return None, _(
            "aucun appareil présent à l'atelier ne porte le numéro de série « %(serial)s » (enregistrez d'abord sa réception)"
        ) % {"serial": serial}
    return matches[0], ""


# --- lshw ----------------------------------------------------------------------------------------


def _import_lshw(log, machine, evidence, *, actor, organisation, device, options):
    label = _("Machine %(serial)s") % {"serial": machine.serial or evidence.original_name}
    if device is None:
        if not machine.serial:
            log.reject(
                label,
                _(
                    "numéro de série de la machine absent du rapport : importez-le depuis la fiche de l'appareil"
                ),
            )
            return
        device, reason = _find_by_serial(organisation, machine.serial)
        if device is None:
            log.reject(label, reason)
            return
    elif (
        machine.serial
        and device.serial_number
        and machine.serial.lower() != device.serial_number.strip().lower()
    ):
        log.reject(
            label,
            _(
                "le rapport décrit la machine « %(report)s » mais l'appareil choisi porte le numéro « %(device)s »"
            )
            % {"report": machine.serial, "device": device.serial_number},
        )
        return
    for medium_label, reason in machine.ignored:
        log.notice(medium_label, _("ignoré : %(reason)s") % {"reason": reason})
    for medium_label, reason in machine.rejected:
        log.reject(medium_label, reason)
    attached = {m.serial_number.lower(): m for m in StorageMedium.objects.attached().filter(device=device)}
    elsewhere = {
        m.serial_number.lower(): m
        for m in StorageMedium.objects.attached()
        .filter(serial_number__in=[medium.serial_number for medium in machine.media])
        .exclude(device=device)
        .select_related("device")
    }
    with transaction.atomic():
        updated = []
        if not device.serial_number and machine.serial:
            device.serial_number = machine.serial
            updated.append("serial_number")
        if not device.brand and machine.brand:
            device.brand = machine.brand[:100]
            updated.append("brand")
        if not device.model and machine.model_name:
            device.model = machine.model_name[:150]
            updated.append("model")
        if updated:
            device.save(update_fields=updated)
        seen = set()
        for medium in machine.media:
            key = medium.serial_number.lower()
            seen.add(key)
            if key in attached:
                log.notice(medium.label, _("support déjà enregistré sur cet appareil"))
                continue
            if key in elsewhere:
                log.reject(
                    medium.label,
                    _("ce numéro de série (%(serial)s) est déjà celui d'un support de l'appareil %(device)s")
                    % {"serial": medium.serial_number, "device": elsewhere[key].device.public_id},
                )
                continue
            try:
                with transaction.atomic():
                    medium_add(
                        device=device,
                        actor=actor,
                        source=RecordSource.LSHW,
                        evidence=evidence,
                        **medium.as_fields(),
                    )
            except ValidationError as error:
                log.reject(medium.label, _messages(error))
            else:
                log.saved()
        for key, medium in attached.items():
            if key not in seen:
                log.notice(
                    str(medium),
                    _(
                        "enregistré sur l'appareil mais absent de ce rapport : retirez-le de la fiche s'il a été démonté"
                    ),
                )
        audit_record(
            device=device,
            actor=actor,
            source=RecordSource.LSHW,
            evidence=evidence,
            organisation=organisation,
            transition=False,
            system_vendor=machine.vendor[:100],
            system_product=machine.product[:150],
            system_serial=machine.serial[:100],
            cpu_model=machine.cpu_model[:150],
            cpu_cores=machine.cpu_cores,
            ram_gb=machine.ram_gb,
            storage_summary=machine.storage_summary[:200],
        )
        log.saved()
        log.notice(label, _("inventaire enregistré sur l'appareil %(device)s") % {"device": device.public_id})


# --- nwipe ---------------------------------------------------------------------------------------


def _import_nwipe(log, rows, evidence, *, actor, organisation, device, options):
    for row in rows:
        if row.problem:
            log.reject(row.label, row.problem)
            continue
        try:
            with transaction.atomic():
                saved = _nwipe_row(
                    log, row, evidence, actor=actor, organisation=organisation, device=device, options=options
                )
        except (ValidationError, TransitionError) as error:
            log.reject(row.label, _messages(error))
            continue
        if saved:
            log.saved()


def _nwipe_row(log, row, evidence, *, actor, organisation, device, options):
    medium = (
        StorageMedium.objects.attached()
        .filter(serial_number__iexact=row.serial_number, device__holder=organisation)
        .select_related("device", "device__holder")
        .first()
    )
    if medium is not None and device is not None and medium.device_id != device.pk:
        log.reject(
            row.label,
            _("ce disque est enregistré sur l'appareil %(other)s, pas sur celui-ci")
            % {"other": medium.device.public_id},
        )
        return False
    if medium is None:
        target = device
        if target is None and row.system_serial:
            target, _reason = _find_by_serial(organisation, row.system_serial)
        if target is None:
            log.reject(
                row.label,
                _(
                    "aucun support de ce numéro de série n'est enregistré à l'atelier : importez d'abord l'inventaire "
                    "lshw de la machine, ou lancez l'import depuis la fiche de l'appareil"
                ),
            )
            return False
        interface, kind = parsers.NWIPE_BUS.get(row.bus.lower(), ("", None))
        if interface == "usb":
            log.reject(
                row.label, _("support USB (clé ou disque externe) : ce n'est pas un support de la machine")
            )
            return False
        if kind is None:
            kind = MediumKind.SSD if parsers.SSD_MARKERS.search(row.model) else MediumKind.HDD
        medium = medium_add(
            device=target,
            actor=actor,
            kind=kind,
            interface=interface,
            model=row.model,
            serial_number=row.serial_number,
            capacity_bytes=row.size_bytes,
            source=RecordSource.NWIPE,
            evidence=evidence,
        )
        log.notice(row.label, _("support ajouté à l'appareil %(device)s") % {"device": target.public_id})
    if Sanitisation.objects.filter(medium=medium, tool="nwipe", ended_at=row.ended_at).exists():
        log.notice(row.label, _("cet effacement est déjà enregistré (rapport importé deux fois) : ignoré"))
        log.job.processed += 1
        return False
    level, technique, verification_method, verification_result, outcome, reasons = row.interpretation()
    rounds = (
        f", {row.rounds_completed or row.rounds_requested} passage(s)"
        if (row.rounds_requested or row.rounds_completed)
        else ""
    )
    prng = f", PRNG {row.prng}" if row.prng else ""
    operator = (options.get("operator_name") or row.operator)[:150]
    sanitisation_record(
        medium=medium,
        actor=actor,
        organisation=organisation,
        source=RecordSource.NWIPE,
        evidence=evidence,
        level=level,
        technique=technique,
        standard=options.get("standard") or SanitisationStandard.NIST_800_88_R2,
        tool="nwipe",
        tool_version=row.version[:50],
        method_detail=f"{row.method}{rounds}{prng}, vérification {row.verify}"[:150],
        verification_method=verification_method,
        verification_result=verification_result,
        started_at=row.started_at,
        ended_at=row.ended_at,
        outcome=outcome,
        passes=row.passes,
        rounds=row.rounds_completed,
        blanking=row.blanking,
        error_count=sum(row.errors.values()),
        bytes_erased=row.bytes_erased,
        notes="; ".join(reasons),
        **({"operator_name": operator} if operator else {}),
    )
    if reasons:
        log.notice(
            row.label, _("effacement en échec enregistré : %(reasons)s") % {"reasons": "; ".join(reasons)}
        )
    return True


# --- CSV -----------------------------------------------------------------------------------------


def _enqueue_csv(organisation, actor, upload, options, total):
    from .tasks import run_csv_import

    with transaction.atomic():
        job, _evidence = _new_job(
            ImportKind.CSV,
            organisation,
            actor,
            None,
            options,
            [upload],
            total=total,
            status=ImportStatus.PENDING,
        )
        enqueue_on_commit(run_csv_import, job.pk)
    return job


def csv_import_process(job_id):
    """Process a CSV import job from where it stopped, chunk by chunk. Idempotent."""
    job = ImportJob.objects.select_related("organisation", "created_by").get(pk=job_id)
    if job.status in (ImportStatus.DONE, ImportStatus.FAILED):
        return job
    evidence = Evidence.objects.filter(import_job=job).first()
    with evidence.file.open("rb") as handle:
        rows = parsers.read_csv(handle.read())
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportStatus.RUNNING, started_at=job.started_at or timezone.now(), total=len(rows)
    )
    job.refresh_from_db()
    first_line = {}
    duplicates = {}
    for row in rows:
        key = row.get("identifiant", "").strip().upper()
        if key in first_line:
            duplicates[row["_line"]] = first_line[key]
        else:
            first_line[key] = row["_line"]
    actor = job.created_by
    for start in range(job.processed, len(rows), CSV_CHUNK):
        chunk = rows[start : start + CSV_CHUNK]
        with transaction.atomic():
            job = ImportJob.objects.select_for_update().get(pk=job.pk)
            if job.processed != start:  # another worker got there first
                continue
            log = JobLog(job)
            _csv_chunk(log, chunk, duplicates, actor=actor, organisation=job.organisation, evidence=evidence)
            job.save(update_fields=["processed", "saved", "rejected", "errors", "notices"])
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.DONE, finished_at=timezone.now())
    job.refresh_from_db()
    return job


def csv_import_fail(job_id, error):
    ImportJob.objects.filter(pk=job_id).exclude(status=ImportStatus.DONE).update(
        status=ImportStatus.FAILED,
        failure=_("L'import s'est interrompu : %(error)s. Les lignes déjà traitées sont enregistrées.")
        % {"error": error},
        finished_at=timezone.now(),
    )


def _csv_devices(organisation, identifiers):
    upper = [identifier.upper() for identifier in identifiers if identifier]
    devices = (
        _workshop_devices(organisation)
        .annotate(serial_upper=Upper("serial_number"), asset_upper=Upper("asset_tag"))
        .filter(Q(serial_upper__in=upper) | Q(asset_upper__in=upper) | Q(public_id__in=upper))
    )
    found = defaultdict(set)
    by_pk = {}
    for device in devices:
        by_pk[device.pk] = device
        for key in {device.serial_upper, device.asset_upper, device.public_id}:
            if key:
                found[key].add(device.pk)
    return found, by_pk


def _csv_chunk(log, rows, duplicates, *, actor, organisation, evidence):
    found, by_pk = _csv_devices(organisation, [row.get("identifiant", "").strip() for row in rows])
    serials = [
        row.get("stockage_numero_serie", "").strip() for row in rows if row.get("stockage_numero_serie")
    ]
    attached = {
        serial.upper(): device_id
        for serial, device_id in StorageMedium.objects.attached()
        .filter(serial_number__in=serials)
        .values_list("serial_number", "device_id")
    }
    with_media = set(
        StorageMedium.objects.attached().filter(device_id__in=by_pk).values_list("device_id", flat=True)
    )
    prepared = []
    for row in rows:
        label = _("ligne %(line)d") % {"line": row["_line"]}
        identifier = row.get("identifiant", "").strip()
        if not identifier:
            log.reject(label, _("identifiant vide"))
            continue
        if row["_line"] in duplicates:
            log.reject(
                label,
                _("appareil déjà présent à la ligne %(line)d du fichier")
                % {"line": duplicates[row["_line"]]},
            )
            continue
        matches = found.get(identifier.upper(), set())
        if not matches:
            log.reject(
                label,
                _(
                    "aucun appareil présent à l'atelier ne correspond à « %(id)s » (numéro de série, d'inventaire ou identifiant)"
                )
                % {"id": identifier},
            )
            continue
        if len(matches) > 1:
            log.reject(
                label, _("« %(id)s » correspond à plusieurs appareils de l'atelier") % {"id": identifier}
            )
            continue
        device = by_pk[next(iter(matches))]
        try:
            fields, medium, no_storage, device_fields = parsers.csv_row_values(row)
        except ValueError as error:
            log.reject(label, str(error))
            continue
        if medium:
            owner = attached.get(medium["serial_number"].upper())
            if owner is not None and owner != device.pk:
                log.reject(
                    label,
                    _("le disque %(serial)s est déjà enregistré sur un autre appareil")
                    % {"serial": medium["serial_number"]},
                )
                continue
            if owner == device.pk:
                log.notice(
                    label, _("disque %(serial)s déjà enregistré") % {"serial": medium["serial_number"]}
                )
                medium = None
        if no_storage and device.pk in with_media:
            log.reject(
                label, _("stockage « aucun » alors que des disques sont enregistrés pour cet appareil")
            )
            continue
        prepared.append((label, device, fields, medium, no_storage, device_fields))
    if not prepared:
        return
    try:
        with transaction.atomic():
            _csv_save(prepared, actor=actor, organisation=organisation, evidence=evidence)
    except (IntegrityError, ValidationError, TransitionError):
        # Something the checks above could not foresee (a concurrent change): save row by row to keep
        # the good ones and name the bad one.
        for item in prepared:
            try:
                with transaction.atomic():
                    _csv_save([item], actor=actor, organisation=organisation, evidence=evidence)
            except (IntegrityError, ValidationError, TransitionError) as error:
                log.reject(item[0], _messages(error))
            else:
                log.saved()
        return
    log.saved(len(prepared))


def _csv_save(prepared, *, actor, organisation, evidence):
    """Save checked rows with bulk inserts; transitions still go one by one through the lifecycle."""
    now = timezone.now()
    media, declarations, audits, renamed = [], [], [], []
    for _label, device, fields, medium, no_storage, device_fields in prepared:
        if medium:
            stored = StorageMedium(
                device=device,
                interface={"nvme": "nvme", "emmc": "mmc", "flash": "other"}.get(medium["kind"], "sata"),
                source=RecordSource.CSV,
                evidence=evidence,
                added_by=actor,
                added_at=now,
                **medium,
            )
            stored.clean_fields(exclude=["device", "evidence", "added_by", "part", "detached_by"])
            media.append(stored)
            fields = {**fields, "storage_summary": medium_summary(stored)}
        if no_storage:
            declarations.append(
                NoStorageDeclaration(
                    device=device,
                    organisation=organisation,
                    declared_by=actor,
                    declared_at=now,
                    reason=_("Aucun support de stockage (import CSV)"),
                )
            )
            fields = {**fields, "storage_summary": _("Aucun support de stockage")}
        audit = Audit(
            device=device,
            organisation=organisation,
            source=RecordSource.CSV,
            evidence=evidence,
            performed_by=actor,
            performed_at=now,
            **fields,
        )
        audit.clean_fields(exclude=["device", "organisation", "evidence", "performed_by"])
        audits.append(audit)
        changed = [name for name, value in device_fields.items() if value and not getattr(device, name)]
        for name in changed:
            setattr(device, name, device_fields[name])
        if changed:
            renamed.append(device)
    StorageMedium.objects.bulk_create(media)
    NoStorageDeclaration.objects.bulk_create(declarations)
    Audit.objects.bulk_create(audits)
    if renamed:
        Device.objects.bulk_update(renamed, ["brand", "model"])
    devices_transition(
        moves=[
            (audit.device, audit)
            for audit in audits
            if audit.is_complete and audit.device.state == S.RECEIVED
        ],
        to_state=S.AUDITED,
        actor=actor,
        organisation=organisation,
        note=_("Diagnostic importé (CSV)"),
    )
