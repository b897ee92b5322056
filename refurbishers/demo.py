"""The workshop's part of the demo: for the kernel's demo devices (serials DEMO-0001…), the records
their histories imply — audits, storage media and their erasure, gradings with prices, shipments to
relais, a DEEE lot, harvested parts — dated from each device's events, and an example of the CSV and
nwipe imports. Deterministic (no randomness but generators seeded with each device's serial) and
idempotent."""

import json
import random
from datetime import timedelta
from decimal import Decimal

from reemploi.enums import DeviceState as S
from reemploi.models import Device, DeviceEvent

from . import imports
from .enums import (
    CosmeticGrade,
    FunctionalGrade,
    ImportKind,
    MediumInterface,
    MediumKind,
    PartKind,
    RecordSource,
    SanitisationLevel,
    SanitisationOutcome,
    SanitisationStandard,
    SanitisationTechnique,
    ShipmentLineStatus,
    ShipmentStatus,
    TestResult,
    VerificationMethod,
    VerificationResult,
    WasteLotStatus,
)
from .models import (
    Audit,
    Grading,
    ImportJob,
    NoStorageDeclaration,
    Part,
    Sanitisation,
    Shipment,
    ShipmentLine,
    StorageMedium,
    WasteLot,
    WasteLotLine,
)
from .services import next_reference, workshop_site

KERNEL_DEMO_SERIAL = r"^DEMO-[0-9]{4}$"
PAST_SHIPPED = {S.IN_TRANSIT, S.IN_STOCK, S.SOLD, S.LENT, S.GIVEN, S.RETURNED}
PAST_READY = {S.READY, *PAST_SHIPPED}
PAST_SANITISED = {S.SANITISED, *PAST_READY}
PAST_AUDITED = {S.AUDITED, S.PARTS, *PAST_SANITISED}

# category: (medium kind, interface, model, capacity in GB) or None for « no storage medium »
STORAGE = {
    "laptop": [
        (MediumKind.SSD, MediumInterface.SATA, "Samsung SSD 860 EVO 250GB", 250),
        (MediumKind.HDD, MediumInterface.SATA, "ST500LT012-1DG142", 500),
        (MediumKind.NVME, MediumInterface.NVME, "SAMSUNG MZVLB256HAHQ-000L7", 256),
    ],
    "desktop": [(MediumKind.HDD, MediumInterface.SATA, "WDC WD5000AAKX-08U6AA0", 500)],
    "tablet": [(MediumKind.EMMC, MediumInterface.MMC, "eMMC 32 Go intégrée", 32)],
    "smartphone": [(MediumKind.FLASH, MediumInterface.OTHER, "Mémoire UFS intégrée", 64)],
    "screen": None,
}
PRICES = {"laptop": 150, "desktop": 120, "tablet": 80, "smartphone": 70, "screen": 25}
CPUS = {
    "laptop": ["Intel Core i5-8250U", "Intel Core i5-7300U", "Intel Core i7-8550U"],
    "desktop": ["Intel Core i5-7500", "Intel Core i3-7100"],
}


def _rng(device, salt=""):
    return random.Random(f"{device.serial_number}{salt}")


def _workshop_user(network, organisation):
    from reemploi.demo import _login_for

    return network.users.get(_login_for(network, organisation)) or network.users["coordination"]


def ensure_audit(network, device, at, workshop=None):
    if device.audits.exists():
        return
    workshop = workshop or device.holder
    rng = _rng(device, "audit")
    actor = _workshop_user(network, workshop)
    code = device.category.code
    storage = STORAGE.get(code)
    summary = "Aucun support de stockage"
    if storage:
        kind, interface, model, size = rng.choice(storage)
        medium = StorageMedium.objects.create(
            device=device,
            kind=kind,
            interface=interface,
            vendor=model.split()[0] if kind in (MediumKind.SSD, MediumKind.NVME) else "",
            model=model,
            serial_number=f"{device.serial_number}-D1",
            capacity_bytes=size * 10**9,
            source=RecordSource.FORM,
            added_by=actor,
            added_at=at,
        )
        summary = f"{medium.get_kind_display()} {size} Go"
    elif not device.no_storage_declarations.exists():
        NoStorageDeclaration.objects.create(
            device=device,
            organisation=workshop,
            declared_by=actor,
            declared_at=at,
            reason="Écran sans mémoire interne, vérifié au démontage du pied",
        )
    pc = device.category.is_pc
    Audit.objects.create(
        device=device,
        organisation=workshop,
        source=RecordSource.FORM,
        performed_by=actor,
        performed_at=at,
        cpu_model=rng.choice(CPUS[code]) if code in CPUS else "",
        cpu_cores=4 if pc else None,
        ram_gb=Decimal(rng.choice([4, 8, 8, 16])) if pc else None,
        storage_summary=summary,
        battery_health_pct=rng.randint(62, 96) if code in ("laptop", "tablet", "smartphone") else None,
        screen_size_in=Decimal(
            {"laptop": "14.0", "tablet": "10.1", "smartphone": "6.1", "screen": "22.0"}.get(code, "0")
        )
        or None,
        keyboard_test=TestResult.OK if code in ("laptop", "desktop") else TestResult.NOT_TESTED,
        touchpad_test=TestResult.OK if code == "laptop" else TestResult.NOT_TESTED,
        ports_test=TestResult.OK,
        webcam_test=TestResult.OK if code in ("laptop", "tablet", "smartphone") else TestResult.NOT_TESTED,
        wifi_test=TestResult.OK if code != "screen" else TestResult.NOT_TESTED,
        os_installed="Linux Mint 22 Cinnamon"
        if pc
        else ("Android 13" if code in ("tablet", "smartphone") else ""),
        charger_included=True if code in ("laptop", "tablet", "smartphone") else None,
        cosmetic_grade=rng.choice([CosmeticGrade.A, CosmeticGrade.B, CosmeticGrade.B, CosmeticGrade.C]),
        functional_grade=FunctionalGrade.FULL if device.state != S.PARTS else FunctionalGrade.BROKEN,
        notes="Diagnostic complet, tous les tests passés",
    )


def ensure_sanitisations(network, device, at, workshop=None):
    """Erase every attached medium, as the workshop that handled the device (by default its holder)."""
    workshop = workshop or device.holder
    actor = _workshop_user(network, workshop)
    site = workshop_site(workshop)
    for medium in StorageMedium.objects.attached().filter(device=device):
        if medium.sanitisations.filter(outcome=SanitisationOutcome.ERASED).exists():
            continue
        if medium.kind == MediumKind.HDD:
            technique, level, tool, version, detail = (
                SanitisationTechnique.OVERWRITE,
                SanitisationLevel.CLEAR,
                "nwipe",
                "0.38",
                "PRNG Stream, 1 passage",
            )
            verification, duration = VerificationMethod.LAST_PASS, timedelta(hours=1, minutes=40)
        elif medium.kind == MediumKind.NVME:
            technique, level, tool, version, detail = (
                SanitisationTechnique.NVME_SANITIZE_BLOCK,
                SanitisationLevel.PURGE,
                "nvme-cli",
                "2.8",
                "nvme sanitize -a 2",
            )
            verification, duration = VerificationMethod.SAMPLING, timedelta(minutes=4)
        elif medium.kind == MediumKind.SSD:
            technique, level, tool, version, detail = (
                SanitisationTechnique.ATA_SANITIZE_BLOCK,
                SanitisationLevel.PURGE,
                "hdparm",
                "9.65",
                "--sanitize-block-erase",
            )
            verification, duration = VerificationMethod.SAMPLING, timedelta(minutes=6)
        else:
            technique, level, tool, version, detail = (
                SanitisationTechnique.CRYPTO_ERASE,
                SanitisationLevel.PURGE,
                "Réinitialisation d'usine",
                "Android 13",
                "appareil chiffré, clé détruite",
            )
            verification, duration = VerificationMethod.FIRMWARE_STATUS, timedelta(minutes=12)
        Sanitisation.objects.create(
            medium=medium,
            organisation=workshop,
            site=site,
            level=level,
            technique=technique,
            standard=SanitisationStandard.NIST_800_88_R2,
            tool=tool,
            tool_version=version,
            method_detail=detail,
            verification_method=verification,
            verification_result=VerificationResult.PASSED,
            started_at=at - duration,
            ended_at=at,
            operator_name=actor.get_full_name() or actor.username,
            outcome=SanitisationOutcome.ERASED,
            recorded_by=actor,
        )


def ensure_grading(network, device, at, workshop=None):
    if device.gradings.exists():
        return
    workshop = workshop or device.holder
    audit = device.audits.first()
    rng = _rng(device, "grading")
    code = device.category.code
    cap = device.category.cap_on(at.date())
    base = Decimal(PRICES.get(code, 20))
    grade = audit.cosmetic_grade if audit and audit.cosmetic_grade else CosmeticGrade.B
    price = base - {"A": 0, "B": 10, "C": 25, "D": 40}[grade] * base / 150
    price = price.quantize(Decimal("1"))
    if cap is not None:
        price = min(price, cap.amount)
    Grading.objects.create(
        device=device,
        organisation=workshop,
        category=device.category,
        cosmetic_grade=grade,
        functional_grade=FunctionalGrade.FULL,
        battery_health_pct=audit.battery_health_pct if audit else None,
        has_charger=code not in ("laptop", "tablet", "smartphone")
        or rng.random() > 0.1,  # the mains cable of a PC
        has_storage=code != "screen",
        has_os=code != "screen",
        battery_ok=True,
        os_name=audit.os_installed if audit else "",
        price=price,
        cap=cap,
        cap_amount=cap.amount if cap else None,
        graded_by=_workshop_user(network, workshop),
        graded_at=at,
    )
    Device.objects.filter(pk=device.pk).update(price=price)


def ensure_shipment_line(network, device, workshop, relais, at):
    if ShipmentLine.objects.filter(device=device).exists():
        return
    shipment = Shipment.objects.filter(
        refurbisher=workshop, relais=relais, status=ShipmentStatus.DRAFT, notes__startswith="Navette"
    ).first()
    if shipment is None:
        shipment = Shipment.objects.create(
            reference=next_reference("shipment", "EXP"),
            refurbisher=workshop,
            relais=relais,
            relais_site=network.sites.get(relais.pk),
            carrier="Navette de l'atelier",
            notes="Navette hebdomadaire",
            created_by=_workshop_user(network, workshop),
            created_at=at,
        )
    ShipmentLine.objects.create(shipment=shipment, device=device)


def build(network):
    devices = list(
        Device.objects.filter(serial_number__regex=KERNEL_DEMO_SERIAL)
        .select_related("category", "holder")
        .order_by("serial_number")
    )
    events = {}
    for event in DeviceEvent.objects.filter(device__in=devices).order_by("at", "id"):
        events.setdefault(event.device_id, {})[event.to_state] = event
    for device in devices:
        reached = events.get(device.pk, {})
        if device.state in PAST_AUDITED and S.AUDITED in reached:
            step = reached[S.AUDITED]
            ensure_audit(network, device, step.at - timedelta(hours=2), workshop=step.holder)
        if device.state in PAST_SANITISED and S.SANITISED in reached:
            step = reached[S.SANITISED]
            ensure_sanitisations(network, device, step.at - timedelta(hours=1), workshop=step.holder)
        if device.state in PAST_READY and S.READY in reached:
            step = reached[S.READY]
            ensure_grading(network, device, step.at - timedelta(minutes=30), workshop=step.holder)
        if device.state in PAST_SHIPPED and S.IN_TRANSIT in reached:
            # The device's holder is now the relais: the workshop is who held it when it was ready.
            departure = reached[S.IN_TRANSIT]
            workshop = reached[S.READY].holder if S.READY in reached else departure.organisation
            ensure_shipment_line(
                network, device, workshop, departure.holder, departure.at - timedelta(minutes=20)
            )
    _finish_shipments(network, events)
    _deee_lot(network, [d for d in devices if d.state == S.DEEE], events)
    _parts(network, [d for d in devices if d.state == S.PARTS], events)
    _import_examples(network)
    _donation_documents(network)


def _finish_shipments(network, events):
    """Demo shipments were prepared before each transition: date them from the history and mark what
    the relais received."""
    for shipment in Shipment.objects.filter(notes="Navette hebdomadaire", status=ShipmentStatus.DRAFT):
        lines = list(shipment.lines.select_related("device"))
        transit = [
            events[line.device_id][S.IN_TRANSIT].at
            for line in lines
            if S.IN_TRANSIT in events.get(line.device_id, {})
        ]
        if not transit:
            continue
        shipment.status = ShipmentStatus.DISPATCHED
        shipment.dispatched_at = min(transit)
        shipment.dispatched_by = _workshop_user(network, shipment.refurbisher)
        received = []
        for line in lines:
            arrival = events.get(line.device_id, {}).get(S.IN_STOCK)
            if arrival is not None:
                line.status = ShipmentLineStatus.RECEIVED
                line.received_at = arrival.at
                line.received_by = arrival.actor
                line.save(update_fields=["status", "received_at", "received_by"])
                received.append(arrival)
        if len(received) == len(lines):
            shipment.status = ShipmentStatus.RECEIVED
            shipment.received_at = max(event.at for event in received)
            shipment.received_by = received[-1].actor
        shipment.save()
        if shipment.status == ShipmentStatus.DISPATCHED:
            from reemploi.documents import document_request

            document_request(
                kind="delivery_note",
                subject=shipment,
                title=f"Bon de livraison {shipment.reference}",
                owner=shipment.refurbisher,
                requested_by=shipment.dispatched_by,
            )


def _deee_lot(network, devices, events):
    pending = [d for d in devices if not WasteLotLine.objects.filter(device=d).exists()]
    if not pending:
        return
    by_workshop = {}
    for device in pending:
        event = events.get(device.pk, {}).get(S.DEEE)
        workshop = event.holder if event else device.holder
        by_workshop.setdefault(workshop, []).append((device, event))
    for workshop, rows in by_workshop.items():
        handover = max((event.at for _device, event in rows if event), default=network.now)
        lot = WasteLot.objects.create(
            reference=next_reference("waste_lot", "DEEE"),
            organisation=workshop,
            status=WasteLotStatus.HANDED_OVER,
            waste_code="16 02 14",
            eco_organisme="ecosystem",
            destination_name="Envie 58 – centre de traitement DEEE",
            destination_siret="58123456400010",
            treatment_code="R4",
            handover_date=handover.date(),
            created_by=_workshop_user(network, workshop),
            created_at=handover - timedelta(days=3),
            handed_over_by=_workshop_user(network, workshop),
            handed_over_at=handover,
            notes="Enlèvement par l'éco-organisme",
        )
        for device, _event in rows:
            WasteLotLine.objects.create(
                lot=lot,
                device=device,
                deee_category=device.category.deee_category,
                weight_kg=device.effective_weight_kg,
                added_by=lot.created_by,
            )


def _parts(network, devices, events):
    for device in devices:
        if Part.objects.filter(source_device=device).exists():
            continue
        event = events.get(device.pk, {}).get(S.PARTS)
        at = event.at if event else network.now
        actor = _workshop_user(network, device.holder)
        for medium in StorageMedium.objects.attached().filter(device=device):
            medium.detached_at = at
            medium.detached_by = actor
            medium.detach_reason = "Démonté pour pièces"
            medium.save(update_fields=["detached_at", "detached_by", "detach_reason"])
            Part.objects.create(
                organisation=device.holder,
                kind=PartKind.STORAGE,
                medium_kind=medium.kind,
                description=f"{medium.get_kind_display()} {medium.capacity_gb} Go {medium.model}",
                serial_number=medium.serial_number,
                source_device=device,
                source_medium=medium,
                created_by=actor,
                created_at=at,
            )
        components = [(PartKind.RAM, "Barrette DDR4 8 Go SO-DIMM"), (PartKind.CHARGER, "Chargeur 65 W")]
        if device.category.code == "laptop":
            components.append((PartKind.KEYBOARD, f"Clavier AZERTY {device.brand} {device.model}"))
        for kind, description in components:
            Part.objects.create(
                organisation=device.holder,
                kind=kind,
                description=description,
                source_device=device,
                created_by=actor,
                created_at=at,
            )


def _import_examples(network):
    """An example of the CSV import (two inventories and a refused line) and of an nwipe report whose
    erasure failed."""
    workshop = network.refurbishers[0]
    if not ImportJob.objects.filter(kind=ImportKind.CSV, options__demo=True).exists():
        received = Device.objects.filter(
            holder=workshop, state=S.RECEIVED, serial_number__regex=KERNEL_DEMO_SERIAL
        )
        lines = ["identifiant;processeur;memoire_go;systeme;chargeur;observations"]
        for device in received.order_by("serial_number")[:2]:
            lines.append(
                f"{device.serial_number};Intel Core i5-8350U;8;;oui;Inventaire à l'arrivée, diagnostic à faire"
            )
        lines.append("DEMO-INCONNU;Intel Core i3;4;;non;Étiquette illisible")
        imports.import_run(
            kind=ImportKind.CSV,
            organisation=workshop,
            actor=_workshop_user(network, workshop),
            uploads=[imports.Upload("inventaire-arrivage.csv", ("\r\n".join(lines) + "\r\n").encode())],
            options={"demo": True},
        )
    if ImportJob.objects.filter(kind=ImportKind.NWIPE, options__demo=True).exists():
        return
    medium = (
        StorageMedium.objects.attached()
        .filter(
            device__state=S.AUDITED,
            device__serial_number__regex=KERNEL_DEMO_SERIAL,
            kind__in=[MediumKind.HDD, MediumKind.SSD],
        )
        .select_related("device", "device__holder")
        .order_by("device__serial_number")
        .first()
    )
    if medium is None:
        return
    workshop = medium.device.holder
    actor = _workshop_user(network, workshop)
    start = int((network.now - timedelta(days=2)).timestamp())
    report = {
        "report_schema": "org.nwipe.report.v1",
        "report_type": "disk_erase_report",
        "report_metadata": {"generated_at": start + 5400, "software": "nwipe", "version": "0.38"},
        "organization_details": {"business_name": workshop.name, "op_tech_name": actor.get_full_name()},
        "system": {"system_serial_number": medium.device.serial_number},
        "device": {
            "name": "/dev/sda",
            "model": medium.model,
            "serial_number": medium.serial_number,
            "size_bytes": medium.capacity_bytes,
            "real_size_bytes": medium.capacity_bytes,
            "type": "ATA",
        },
        "wipe": {
            "successful": False,
            "status": "failure",
            "status_text": "FAILED",
            "method": "PRNG Stream",
            "prng": "XORoshiro-256",
            "verify": "Last Pass",
            "rounds_requested": 1,
            "rounds_completed": 1,
            "start_time": start,
            "end_time": start + 5400,
            "duration_seconds": 5400,
            "errors": {"pass": 12, "verify": 3, "round": 0, "fsyncdata": 0},
        },
    }
    imports.import_run(
        kind=ImportKind.NWIPE,
        organisation=workshop,
        actor=actor,
        uploads=[
            imports.Upload(f"nwipe_report_{medium.serial_number}.json", json.dumps(report, indent=2).encode())
        ],
        options={"demo": True, "nwipe_verify": "last"},
    )


def _donation_documents(network):
    """For one demo donation of the company donor and one of the public donor: every device's media
    erased, destroyed or declared absent, so that each medium has its certificate and the donation its
    summary, destruction and DEEE treatment certificates (the donor downloads them from their space;
    anyone checks them on /v/<code>/)."""
    from donors import notifications
    from donors.models import Donation
    from reemploi.enums import OrganisationKind

    from . import documents
    from .models import Destruction

    for kind in (OrganisationKind.COMPANY, OrganisationKind.PUBLIC_BODY):
        organisation = network.donors.get(kind)
        if organisation is None:
            continue
        candidates = (
            Donation.objects.filter(donor_organisation=organisation, lines__devices__state=S.DEEE)
            .distinct()
            .order_by("created_at", "pk")
        )
        donation = candidates.first()
        if donation is None:
            continue
        with notifications.muted():
            for device in documents.donation_devices(donation).select_related("category", "holder"):
                # The workshop that handled the device, not the relais that may hold it now.
                workshop = donation.refurbisher or device.holder
                actor = _workshop_user(network, workshop)
                at = device.state_changed_at - timedelta(hours=1)
                media = list(StorageMedium.objects.attached().filter(device=device))
                storage = STORAGE.get(device.category.code)
                if not media and storage and device.state in (S.DEEE, S.PARTS, S.RECEIVED):
                    kind_, interface, model, size = _rng(device, "medium").choice(storage)
                    media = [
                        StorageMedium.objects.create(
                            device=device,
                            kind=kind_,
                            interface=interface,
                            model=model,
                            serial_number=f"{device.serial_number}-D1",
                            capacity_bytes=size * 10**9,
                            added_by=actor,
                            added_at=at - timedelta(hours=2),
                        )
                    ]
                if not media:
                    if not device.no_storage_declarations.exists():
                        NoStorageDeclaration.objects.create(
                            device=device,
                            organisation=workshop,
                            declared_by=actor,
                            declared_at=at,
                            reason="Aucun support de stockage, vérifié à l'ouverture",
                        )
                    continue
                for medium in media:
                    if device.state == S.DEEE and not Destruction.objects.filter(medium=medium).exists():
                        Destruction.objects.create(
                            medium=medium,
                            organisation=workshop,
                            iso_level="H-4" if medium.kind == MediumKind.HDD else "E-4",
                            method="shredding",
                            performed_at=at,
                            operator_name=actor.get_full_name() or actor.username,
                            provider_name="Envie 58 – centre de traitement DEEE",
                            provider_siret="58123456400010",
                            certificate_reference=f"ENV-{at:%Y%m%d}-{device.serial_number[-4:]}",
                            recorded_by=actor,
                        )
                    elif device.state != S.DEEE:
                        ensure_sanitisations(network, device, at, workshop=workshop)
            for sanitisation in Sanitisation.objects.filter(
                medium__device__donation_line__donation=donation, outcome=SanitisationOutcome.ERASED
            ):
                documents.medium_certificate_issue(record=sanitisation, actor=sanitisation.recorded_by)
            for destruction in Destruction.objects.filter(medium__device__donation_line__donation=donation):
                documents.medium_certificate_issue(record=destruction, actor=destruction.recorded_by)
            documents.donation_certificates_refresh(
                donation=donation, actor=_workshop_user(network, donation.refurbisher)
            )
            for lot in WasteLot.objects.filter(
                status=WasteLotStatus.HANDED_OVER, lines__device__donation_line__donation=donation
            ).distinct():
                documents.deee_certificates_issue(lot=lot, actor=lot.handed_over_by)
