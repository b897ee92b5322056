from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from reemploi.enums import DeviceState as S
from reemploi.lifecycle import TransitionForbidden
from reemploi.models import Document
from refurbishers import services
from refurbishers.enums import PartStatus, ShipmentLineStatus, ShipmentStatus, WasteLotStatus
from refurbishers.models import Audit, Evidence, Grading, Part, Sanitisation, WasteLot
from refurbishers.selectors import waste_register
from tests.reemploi.factories import DeviceFactory, OrganisationFactory, category, member_of

from .factories import MediumFactory, SanitisationFactory, ready_device, sanitised_device

pytestmark = pytest.mark.django_db


def ready_kwargs(**overrides):
    values = dict(
        cosmetic_grade="B",
        functional_grade="full",
        price=Decimal("150"),
        has_charger=True,
        has_storage=True,
        has_os=True,
        battery_ok=True,
    )
    return {**values, **overrides}


# --- Audit ---------------------------------------------------------------------------------------


def test_complete_audit_moves_a_received_device_and_records_its_disk(refurbisher, refurbisher_org):
    device = DeviceFactory(holder=refurbisher_org, state=S.RECEIVED)
    audit = services.audit_record(
        device=device,
        actor=refurbisher,
        cpu_model="Intel Core i5-8250U",
        cosmetic_grade="A",
        functional_grade="full",
        medium={"kind": "ssd", "serial_number": "SSD-AUDIT", "capacity_bytes": 256 * 10**9},
    )
    device.refresh_from_db()
    assert device.state == S.AUDITED and device.events.get().cause == audit
    assert audit.storage_summary == "SSD SATA 256 Go"
    assert device.storage_media.get().serial_number == "SSD-AUDIT"


def test_invalid_audit_saves_nothing(refurbisher, refurbisher_org):
    device = DeviceFactory(holder=refurbisher_org, state=S.RECEIVED)
    with pytest.raises(ValidationError):
        services.audit_record(
            device=device,
            actor=refurbisher,
            battery_health_pct=140,
            cosmetic_grade="A",
            functional_grade="full",
            medium={"kind": "hdd", "serial_number": "HALF-SAVED"},
        )
    assert not Audit.objects.exists() and not device.storage_media.exists()
    device.refresh_from_db()
    assert device.state == S.RECEIVED


def test_erasure_technique_must_match_its_level_and_medium(refurbisher, refurbisher_org):
    medium = MediumFactory(device=DeviceFactory(holder=refurbisher_org, state=S.AUDITED), kind="ssd")
    now = timezone.now()
    common = dict(
        tool="hdparm",
        verification_method="sampling",
        verification_result="passed",
        started_at=now,
        ended_at=now,
        outcome="erased",
    )
    with pytest.raises(ValidationError) as error:
        services.sanitisation_record(
            medium=medium, actor=refurbisher, level="purge", technique="overwrite", **common
        )
    assert "level" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        services.sanitisation_record(
            medium=medium, actor=refurbisher, level="purge", technique="degauss", **common
        )
    assert "technique" in error.value.message_dict
    services.sanitisation_record(
        medium=medium, actor=refurbisher, level="purge", technique="ata_sanitize_block", **common
    )


def test_an_erasure_verified_by_no_method_is_not_a_proof(refurbisher, refurbisher_org):
    device = DeviceFactory(holder=refurbisher_org, state=S.AUDITED)
    medium = MediumFactory(device=device, kind="hdd")
    now = timezone.now()
    fields = dict(
        level="clear",
        technique="overwrite",
        tool="nwipe",
        verification_result="passed",
        started_at=now,
        ended_at=now,
        outcome="erased",
    )
    with pytest.raises(ValidationError) as error:
        services.sanitisation_record(medium=medium, actor=refurbisher, verification_method="none", **fields)
    assert "verification_method" in error.value.message_dict
    assert not Sanitisation.objects.exists()
    device.refresh_from_db()
    assert device.state == S.AUDITED


def test_an_erasure_dated_before_2000_or_in_the_future_is_refused(refurbisher, refurbisher_org):
    medium = MediumFactory(device=DeviceFactory(holder=refurbisher_org, state=S.AUDITED), kind="hdd")
    common = dict(
        tool="nwipe", verification_method="sampling", verification_result="passed", outcome="erased"
    )
    far_past = timezone.now().replace(year=3)  # found by the API fuzzer: shown with a +00:09:21 offset
    future = timezone.now() + timedelta(days=30)
    for started_at, ended_at in ((far_past, timezone.now()), (timezone.now(), future)):
        with pytest.raises(ValidationError, match="invraisemblable"):
            services.sanitisation_record(
                medium=medium,
                actor=refurbisher,
                level="clear",
                technique="overwrite",
                started_at=started_at,
                ended_at=ended_at,
                **common,
            )
    assert not Sanitisation.objects.exists()


def test_destruction_level_must_fit_the_medium(refurbisher, refurbisher_org):
    device = DeviceFactory(holder=refurbisher_org, state=S.AUDITED)
    disk = MediumFactory(device=device, kind="hdd")
    fields = dict(method="shredding", performed_at=timezone.now())
    with pytest.raises(ValidationError, match="classe H"):
        services.destruction_record(medium=disk, actor=refurbisher, iso_level="E-3", **fields)
    services.destruction_record(medium=disk, actor=refurbisher, iso_level="H-5", **fields)
    device.refresh_from_db()
    assert device.state == S.SANITISED
    with pytest.raises(ValidationError, match="déjà"):
        services.destruction_record(medium=disk, actor=refurbisher, iso_level="H-5", **fields)


def test_proofs_and_evidence_are_never_changed(refurbisher, refurbisher_org):
    sanitisation = SanitisationFactory(medium=MediumFactory(device=DeviceFactory(holder=refurbisher_org)))
    sanitisation.notes = "réécrit"
    with pytest.raises(PermissionError):
        sanitisation.save()
    with pytest.raises(PermissionError):
        Sanitisation.objects.filter(pk=sanitisation.pk).update(notes="x")
    with pytest.raises(PermissionError):
        sanitisation.delete()
    evidence = services.evidence_store(
        organisation=refurbisher_org, kind="lshw", name="m.json", data=b"{}", actor=refurbisher
    )
    with pytest.raises(PermissionError):
        evidence.save()
    with pytest.raises(PermissionError):
        Evidence.objects.all().delete()


def test_proofs_refuse_sql_updates_on_postgresql(refurbisher_org):
    from django.db import DatabaseError, connection

    if connection.vendor != "postgresql":
        pytest.skip("the append-only trigger exists on PostgreSQL")
    SanitisationFactory(medium=MediumFactory(device=DeviceFactory(holder=refurbisher_org)))
    for sql in ("UPDATE refurbishers_sanitisation SET notes = 'x'", "DELETE FROM refurbishers_sanitisation"):
        with (
            pytest.raises(DatabaseError, match="ajout seul"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql)


# --- Ready and price -----------------------------------------------------------------------------


def test_ready_sets_the_price_under_the_cap_and_warns_on_missing_accessories(refurbisher, refurbisher_org):
    device = sanitised_device(refurbisher_org)
    grading, warnings = services.device_make_ready(
        device=device, actor=refurbisher, **ready_kwargs(price=Decimal("180"), has_charger=False)
    )
    device.refresh_from_db()
    assert device.state == S.READY and device.price == Decimal("180")
    assert grading.cap_amount == Decimal("180") and grading.cap.legal_reference.startswith(
        "Décret n° 2022-1413"
    )
    assert "chargeur" in warnings[0]


def test_refurbisher_cannot_price_above_the_decree_cap(refurbisher, refurbisher_org):
    device = sanitised_device(refurbisher_org)
    with pytest.raises(ValidationError, match="plafond de 180"):
        services.device_make_ready(device=device, actor=refurbisher, **ready_kwargs(price=Decimal("180.01")))
    device.refresh_from_db()
    assert device.state == S.SANITISED and device.price is None and not Grading.objects.exists()


def test_the_database_refuses_a_grading_above_its_recorded_cap(refurbisher_org):
    device = DeviceFactory(holder=refurbisher_org)
    with pytest.raises(IntegrityError), transaction.atomic():
        Grading.objects.create(
            device=device,
            organisation=refurbisher_org,
            category=device.category,
            cosmetic_grade="A",
            functional_grade="full",
            has_charger=True,
            has_storage=True,
            has_os=True,
            battery_ok=True,
            price=Decimal("200"),
            cap_amount=Decimal("180"),
        )


def test_uncapped_category_takes_any_price(refurbisher, refurbisher_org):
    device = DeviceFactory(holder=refurbisher_org, state=S.AUDITED, category=category("keyboard"))
    services.no_storage_declare(device=device, actor=refurbisher, reason="Clavier")
    grading, warnings = services.device_make_ready(
        device=device, actor=refurbisher, **ready_kwargs(price=Decimal("12"))
    )
    assert grading.cap is None and warnings == []


def test_broken_device_cannot_be_ready(refurbisher, refurbisher_org):
    device = sanitised_device(refurbisher_org)
    with pytest.raises(ValidationError, match="réparer"):
        services.device_make_ready(
            device=device, actor=refurbisher, **ready_kwargs(functional_grade="repair")
        )


def test_read_only_member_cannot_make_ready(refurbisher_org):
    reader = member_of(refurbisher_org, role="read_only")
    device = sanitised_device(refurbisher_org)
    with pytest.raises(TransitionForbidden):
        services.device_make_ready(device=device, actor=reader, **ready_kwargs())
    assert not Grading.objects.exists()


# --- Repairs, parts, harvest ---------------------------------------------------------------------


def test_repair_uses_stock_parts_and_counts_bought_ones(refurbisher, refurbisher_org):
    device = DeviceFactory(holder=refurbisher_org, state=S.AUDITED)
    ram = services.part_add(
        organisation=refurbisher_org, actor=refurbisher, kind="ram", description="DDR4 8 Go"
    )
    repair = services.repair_record(
        device=device,
        actor=refurbisher,
        actions="Barrette ajoutée, batterie changée",
        duration_minutes=45,
        other_cost=Decimal("2.50"),
        stock_parts=[ram],
        bought_parts=[{"description": "Batterie neuve", "quantity": 1, "unit_cost": Decimal("39.90")}],
    )
    ram.refresh_from_db()
    assert ram.status == PartStatus.USED and ram.use.repair == repair
    assert repair.total_cost == Decimal("42.40")
    with pytest.raises(ValidationError, match="pas disponible"):
        services.repair_record(
            device=device, actor=refurbisher, actions="x", duration_minutes=1, stock_parts=[ram]
        )


def test_another_workshops_part_cannot_be_used(refurbisher, refurbisher_org):
    theirs = services.part_add(
        organisation=OrganisationFactory(refurbisher=True), actor=refurbisher, kind="ram", description="DDR3"
    )
    device = DeviceFactory(holder=refurbisher_org, state=S.AUDITED)
    with pytest.raises(ValidationError):
        services.repair_record(
            device=device, actor=refurbisher, actions="x", duration_minutes=1, stock_parts=[theirs]
        )
    theirs.refresh_from_db()
    assert theirs.status == PartStatus.IN_STOCK


def test_harvest_puts_components_and_disks_in_stock(refurbisher, refurbisher_org):
    device = DeviceFactory(holder=refurbisher_org, state=S.AUDITED)
    disk = MediumFactory(device=device, serial_number="HARVEST-DISK")
    parts = services.device_harvest(
        device=device,
        actor=refurbisher,
        components=[
            {"kind": "ram", "description": "DDR4 8 Go"},
            {"kind": "battery", "description": "Batterie 45 Wh"},
        ],
        note="Carte mère morte",
    )
    device.refresh_from_db()
    disk.refresh_from_db()
    assert device.state == S.PARTS
    assert sorted(p.kind for p in parts) == ["battery", "ram", "storage"]
    assert disk.detached_at is not None and disk.harvested_as.serial_number == "HARVEST-DISK"
    assert Part.objects.in_stock().filter(source_device=device).count() == 3


# --- DEEE lots -----------------------------------------------------------------------------------


def lot_fields(**overrides):
    values = dict(
        waste_code="16 02 14",
        eco_organisme="ecosystem",
        destination_name="Envie 58",
        destination_siret="58123456400010",
        treatment_code="R4",
    )
    return {**values, **overrides}


def test_deee_lot_weighs_by_category_hands_over_and_fills_the_register(refurbisher, refurbisher_org):
    laptop = DeviceFactory(holder=refurbisher_org, state=S.RECEIVED, weight_kg=Decimal("2.10"))
    screen = DeviceFactory(holder=refurbisher_org, state=S.AUDITED, category=category("screen"))
    desktop = DeviceFactory(holder=refurbisher_org, state=S.RECEIVED, category=category("desktop"))
    lot = services.waste_lot_create(organisation=refurbisher_org, actor=refurbisher, **lot_fields())
    assert lot.reference.startswith(f"DEEE-{date.today().year}-")
    added, refused = services.waste_lot_add_devices(
        lot=lot, devices=[laptop, screen, desktop], actor=refurbisher
    )
    assert len(added) == 3 and not refused
    services.waste_lot_hand_over(
        lot=lot, actor=refurbisher, handover_date=date(2026, 3, 2), measured_weight_kg=Decimal("16.00")
    )
    for device in (laptop, screen, desktop):
        device.refresh_from_db()
        assert device.state == S.DEEE and device.events.last().cause == WasteLot.objects.get()
    rows = waste_register(WasteLot.objects.all())
    assert [(r["category"][:2], r["devices"]) for r in rows] == [("2°", 2), ("6°", 1)]
    # estimated 2.10 + 4.50 = 6.60 (2°) and 8.00 (6°); 16 kg weighed, shared in proportion
    assert [r["weight_kg"] for r in rows] == [Decimal("7.23"), Decimal("8.77")]
    assert rows[0]["treatment_code"] == "R4" and "58123456400010" in rows[0]["destination"]
    with pytest.raises(ValidationError, match="déjà été remis"):
        services.waste_lot_add_devices(
            lot=lot, devices=[DeviceFactory(holder=refurbisher_org)], actor=refurbisher
        )


def test_hazardous_lot_needs_a_bsdd_number(refurbisher, refurbisher_org):
    lot = services.waste_lot_create(
        organisation=refurbisher_org, actor=refurbisher, **lot_fields(waste_code="16 02 13*")
    )
    services.waste_lot_add_devices(
        lot=lot, devices=[DeviceFactory(holder=refurbisher_org)], actor=refurbisher
    )
    with pytest.raises(ValidationError, match="BSDD"):
        services.waste_lot_hand_over(lot=lot, actor=refurbisher, handover_date=date(2026, 3, 2))
    services.waste_lot_hand_over(
        lot=lot, actor=refurbisher, handover_date=date(2026, 3, 2), bsdd_number="BSD-20260302-ABC"
    )
    assert WasteLot.objects.get().status == WasteLotStatus.HANDED_OVER


def test_deee_lot_refuses_reuse_code_bad_siret_and_devices_on_their_way(
    refurbisher, refurbisher_org, relais_org
):
    with pytest.raises(ValidationError, match="treatment_code"):
        services.waste_lot_create(
            organisation=refurbisher_org, actor=refurbisher, **lot_fields(treatment_code="R0")
        )
    with pytest.raises(ValidationError, match="SIRET"):
        services.waste_lot_create(
            organisation=refurbisher_org, actor=refurbisher, **lot_fields(destination_siret="12345678901234")
        )
    lot = services.waste_lot_create(organisation=refurbisher_org, actor=refurbisher, **lot_fields())
    shipped = ready_device(refurbisher_org)
    services.shipment_create(
        refurbisher=refurbisher_org, relais=relais_org, actor=refurbisher, devices=[shipped]
    )
    sold = DeviceFactory(holder=refurbisher_org, state=S.SOLD)
    theirs = DeviceFactory(state=S.RECEIVED)
    _added, refused = services.waste_lot_add_devices(
        lot=lot, devices=[shipped, sold, theirs], actor=refurbisher
    )
    assert (
        "expédition" in refused[shipped]
        and "ne part pas" in refused[sold]
        and "pas détenu" in refused[theirs]
    )


# --- Shipments -----------------------------------------------------------------------------------


def test_shipment_dispatch_issues_a_delivery_note_and_hands_devices_to_the_relais(
    refurbisher, refurbisher_org, relais_org, django_capture_on_commit_callbacks
):
    devices = [ready_device(refurbisher_org) for _ in range(3)]
    shipment, refused = services.shipment_create(
        refurbisher=refurbisher_org, relais=relais_org, actor=refurbisher, devices=devices, carrier="Navette"
    )
    assert not refused and shipment.reference.startswith("EXP-")
    with django_capture_on_commit_callbacks(execute=True):
        services.shipment_dispatch(shipment=shipment, actor=refurbisher)
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.DISPATCHED
    for device in devices:
        device.refresh_from_db()
        assert (device.state, device.holder) == (S.IN_TRANSIT, relais_org)
        assert device.events.last().cause == shipment
    note = Document.objects.about(shipment).get()
    assert note.number.startswith("BL-") and note.status == "issued"


def test_relais_confirms_receipt_and_missing_devices_are_flagged(
    refurbisher, refurbisher_org, relais_org, relais_user, mailoutbox, django_capture_on_commit_callbacks
):
    refurbisher_org.email = "atelier@example.org"
    refurbisher_org.save()
    arrived, lost = ready_device(refurbisher_org), ready_device(refurbisher_org)
    shipment, _ = services.shipment_create(
        refurbisher=refurbisher_org, relais=relais_org, actor=refurbisher, devices=[arrived, lost]
    )
    services.shipment_dispatch(shipment=shipment, actor=refurbisher)
    with django_capture_on_commit_callbacks(execute=True):
        shipment, missing = services.shipment_receive(
            shipment=shipment, actor=relais_user, received_devices=[arrived]
        )
    arrived.refresh_from_db()
    lost.refresh_from_db()
    assert (arrived.state, lost.state) == (S.IN_STOCK, S.IN_TRANSIT)
    assert shipment.status == ShipmentStatus.PARTIAL
    assert [line.device for line in missing] == [lost]
    assert len(mailoutbox) == 1 and lost.public_id in mailoutbox[0].body
    with pytest.raises(ValidationError, match="n'attend pas"):
        services.shipment_receive(shipment=shipment, actor=relais_user, received_devices=[lost])
    services.shipment_line_found(line=shipment.lines.get(device=lost), actor=relais_user)
    lost.refresh_from_db()
    shipment.refresh_from_db()
    assert lost.state == S.IN_STOCK and shipment.status == ShipmentStatus.RECEIVED
    assert not shipment.lines.filter(status=ShipmentLineStatus.MISSING).exists()


def test_only_the_addressed_relais_can_receive(refurbisher, refurbisher_org, relais_org):
    device = ready_device(refurbisher_org)
    shipment, _ = services.shipment_create(
        refurbisher=refurbisher_org, relais=relais_org, actor=refurbisher, devices=[device]
    )
    services.shipment_dispatch(shipment=shipment, actor=refurbisher)
    stranger = member_of(OrganisationFactory(relais=True))
    with pytest.raises(TransitionForbidden):
        services.shipment_receive(shipment=shipment, actor=stranger, received_devices=[device])
    device.refresh_from_db()
    assert device.state == S.IN_TRANSIT


def test_a_device_can_only_be_in_one_open_shipment(refurbisher, refurbisher_org, relais_org):
    device = ready_device(refurbisher_org)
    services.shipment_create(
        refurbisher=refurbisher_org, relais=relais_org, actor=refurbisher, devices=[device]
    )
    _second, refused = services.shipment_create(
        refurbisher=refurbisher_org, relais=relais_org, actor=refurbisher, devices=[device]
    )
    assert "déjà" in refused[device]
