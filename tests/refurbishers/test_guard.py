"""The sanitisation guard: no path lets a device whose data is not known to be gone become ready or
leave for a relais."""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from reemploi.enums import DeviceState as S
from reemploi.lifecycle import TransitionError, device_transition
from reemploi.models import PriceCap
from refurbishers import services
from refurbishers.enums import SanitisationOutcome, ShipmentStatus, VerificationResult
from refurbishers.models import Grading, NoStorageDeclaration, Shipment, ShipmentLine
from tests.reemploi.factories import DeviceFactory, OrganisationFactory, category, member_of

from .factories import MediumFactory, SanitisationFactory, erased_medium, ready_device, sanitised_device

pytestmark = pytest.mark.django_db


def _ready_kwargs(price="120"):
    return dict(
        cosmetic_grade="B",
        functional_grade="full",
        price=Decimal(price),
        has_charger=True,
        has_storage=True,
        has_os=True,
        battery_ok=True,
    )


@pytest.mark.parametrize("to_state", [S.SANITISED, S.READY])
def test_device_without_any_storage_record_cannot_be_declared_clean(refurbisher, refurbisher_org, to_state):
    device = DeviceFactory(holder=refurbisher_org, state=S.AUDITED)
    with pytest.raises(TransitionError, match="Aucun support de stockage"):
        device_transition(device=device, to_state=to_state, actor=refurbisher)
    device.refresh_from_db()
    assert device.state == S.AUDITED and not device.events.exists()


@pytest.mark.parametrize("to_state", [S.SANITISED, S.READY])
def test_device_with_an_unerased_disk_is_refused(refurbisher, refurbisher_org, to_state):
    device = DeviceFactory(holder=refurbisher_org, state=S.AUDITED)
    erased_medium(device)
    pending = MediumFactory(device=device, serial_number="NOT-ERASED-1")
    with pytest.raises(TransitionError, match="NOT-ERASED-1"):
        device_transition(device=device, to_state=to_state, actor=refurbisher)
    SanitisationFactory(medium=pending)
    device_transition(device=device, to_state=S.SANITISED, actor=refurbisher)
    assert device.state == S.SANITISED


def test_a_failed_erasure_does_not_count(refurbisher, refurbisher_org):
    device = DeviceFactory(holder=refurbisher_org, state=S.AUDITED)
    medium = MediumFactory(device=device)
    SanitisationFactory(
        medium=medium, outcome=SanitisationOutcome.FAILED, verification_result=VerificationResult.FAILED
    )
    with pytest.raises(TransitionError, match="Données non effacées"):
        device_transition(device=device, to_state=S.SANITISED, actor=refurbisher)


def test_an_erased_medium_needs_a_successful_verification_in_the_database(refurbisher_org):
    from django.db import IntegrityError, transaction

    medium = MediumFactory(device=DeviceFactory(holder=refurbisher_org))
    with pytest.raises(IntegrityError), transaction.atomic():
        SanitisationFactory(medium=medium, verification_result=VerificationResult.NOT_DONE)


def test_declared_empty_device_may_go_on(refurbisher, refurbisher_org):
    device = DeviceFactory(holder=refurbisher_org, state=S.AUDITED, category=category("screen"))
    services.no_storage_declare(device=device, actor=refurbisher, reason="Écran sans mémoire")
    device.refresh_from_db()
    assert device.state == S.SANITISED  # declared empty: moved on at once
    assert NoStorageDeclaration.objects.get(device=device).declared_by == refurbisher


def test_no_storage_cannot_be_declared_while_a_disk_is_recorded(refurbisher, refurbisher_org):
    device = DeviceFactory(holder=refurbisher_org, state=S.AUDITED)
    MediumFactory(device=device)
    with pytest.raises(ValidationError, match="retirez-les"):
        services.no_storage_declare(device=device, actor=refurbisher, reason="rien vu")


def test_a_disk_added_after_the_declaration_must_be_erased(refurbisher, refurbisher_org):
    device = DeviceFactory(holder=refurbisher_org, state=S.AUDITED)
    services.no_storage_declare(device=device, actor=refurbisher, reason="Baie vide", transition=False)
    MediumFactory(device=device, serial_number="LATE-DISK")
    with pytest.raises(TransitionError, match="LATE-DISK"):
        device_transition(device=device, to_state=S.SANITISED, actor=refurbisher)


def test_a_disk_added_after_sanitisation_blocks_ready_and_departure(refurbisher, refurbisher_org, relais_org):
    device = sanitised_device(refurbisher_org)
    MediumFactory(device=device, serial_number="ADDED-LATER")
    with pytest.raises(TransitionError, match="ADDED-LATER"):
        services.device_make_ready(device=device, actor=refurbisher, **_ready_kwargs())
    assert not Grading.objects.filter(device=device).exists()  # nothing half-saved
    device.refresh_from_db()
    assert device.state == S.SANITISED and device.price is None

    ready = ready_device(refurbisher_org)
    shipment, refused = services.shipment_create(
        refurbisher=refurbisher_org, relais=relais_org, actor=refurbisher, devices=[ready]
    )
    assert not refused
    MediumFactory(device=ready, serial_number="SNEAKED-IN")
    with pytest.raises(ValidationError, match="SNEAKED-IN"):
        services.shipment_dispatch(shipment=shipment, actor=refurbisher)
    ready.refresh_from_db()
    assert ready.state == S.READY and ready.holder == refurbisher_org
    assert Shipment.objects.get(pk=shipment.pk).status == ShipmentStatus.DRAFT


def test_shipment_refuses_a_ready_device_whose_data_is_not_gone(refurbisher, refurbisher_org, relais_org):
    device = DeviceFactory(holder=refurbisher_org, state=S.READY)  # ready without any proof
    _shipment, refused = services.shipment_create(
        refurbisher=refurbisher_org, relais=relais_org, actor=refurbisher, devices=[device]
    )
    assert "Aucun support de stockage" in refused[device]
    assert not ShipmentLine.objects.filter(device=device).exists()


def test_direct_transition_to_a_relais_without_shipment_is_refused(refurbisher, refurbisher_org, relais_org):
    device = ready_device(refurbisher_org)
    with pytest.raises(TransitionError, match="expédition"):
        device_transition(device=device, to_state=S.IN_TRANSIT, actor=refurbisher, holder=relais_org)
    with pytest.raises(TransitionError, match="Expéditions"):
        device_transition(device=device, to_state=S.IN_TRANSIT, actor=refurbisher)
    device.refresh_from_db()
    assert device.state == S.READY and device.holder == refurbisher_org


def test_direct_transition_of_an_unsanitised_device_in_a_shipment_is_refused(
    refurbisher, refurbisher_org, relais_org
):
    device = ready_device(refurbisher_org)
    shipment, _refused = services.shipment_create(
        refurbisher=refurbisher_org, relais=relais_org, actor=refurbisher, devices=[device]
    )
    MediumFactory(device=device, serial_number="SECOND-DISK")
    with pytest.raises(TransitionError, match="SECOND-DISK"):
        device_transition(device=device, to_state=S.IN_TRANSIT, actor=refurbisher, holder=relais_org)


def test_coordinator_cannot_force_an_unsanitised_device_out(coordinator, refurbisher_org, relais_org):
    device = DeviceFactory(holder=refurbisher_org, state=S.AUDITED)
    MediumFactory(device=device)
    with pytest.raises(TransitionError, match="Données non effacées"):
        device_transition(device=device, to_state=S.SANITISED, actor=coordinator, note="urgence")
    ready = DeviceFactory(holder=refurbisher_org, state=S.READY)
    with pytest.raises(TransitionError):
        device_transition(
            device=ready, to_state=S.IN_TRANSIT, actor=coordinator, note="urgence", holder=relais_org
        )


def test_superuser_is_refused_too(django_user_model, refurbisher_org, relais_org):
    admin = django_user_model.objects.create_superuser("root", "root@example.org", "x" * 16)
    device = DeviceFactory(holder=refurbisher_org, state=S.READY)
    with pytest.raises(TransitionError):
        device_transition(device=device, to_state=S.IN_TRANSIT, actor=admin, holder=relais_org, note="test")


def test_only_the_trusted_internal_path_records_a_history_without_proofs(
    refurbisher, refurbisher_org, relais_org
):
    """The kernel's contract: `check_permission=False` is for trusted internal code (the demo builds
    histories first and proofs after). No screen, API endpoint or service of the app uses it."""
    device = DeviceFactory(holder=refurbisher_org, state=S.READY)
    device_transition(
        device=device, to_state=S.IN_TRANSIT, actor=refurbisher, holder=relais_org, check_permission=False
    )
    device.refresh_from_db()
    assert device.state == S.IN_TRANSIT
    import refurbishers

    root = Path(refurbishers.__file__).parent
    callers = [
        p.name
        for p in root.rglob("*.py")
        if "check_permission=False" in p.read_text() and p.name != "guards.py"
    ]
    assert callers == []


def test_transition_form_on_device_page_shows_the_refusal(client, refurbisher, refurbisher_org):
    device = DeviceFactory(holder=refurbisher_org, state=S.AUDITED)
    MediumFactory(device=device, serial_number="FORM-DISK")
    client.force_login(refurbisher)
    response = client.post(
        reverse("device_transition", args=[device.uuid]), {"to_state": "sanitised", "note": ""}, follow=True
    )
    assert "FORM-DISK" in response.content.decode()
    device.refresh_from_db()
    assert device.state == S.AUDITED


def test_kernel_api_transition_answers_409(refurbisher, refurbisher_org):
    api = APIClient()
    api.force_authenticate(refurbisher)
    device = DeviceFactory(holder=refurbisher_org, state=S.AUDITED)
    MediumFactory(device=device)
    response = api.post(f"/api/devices/{device.uuid}/transition/", {"to_state": "ready"})
    assert response.status_code == 409
    assert response.json()["code"] == "storage_not_sanitised"
    response = api.post(f"/api/devices/{device.uuid}/transition/", {"to_state": "sanitised"})
    assert response.status_code == 409


def test_workshop_api_ready_answers_409_while_data_remains(refurbisher, refurbisher_org):
    api = APIClient()
    api.force_authenticate(refurbisher)
    device = DeviceFactory(holder=refurbisher_org, state=S.AUDITED)
    MediumFactory(device=device)
    response = api.post(
        f"/api/refurbishers/devices/{device.uuid}/ready/", {**_ready_kwargs(), "price": "120"}, format="json"
    )
    assert response.status_code == 409
    assert not Grading.objects.filter(device=device).exists()


def test_ready_needs_a_grading_made_in_the_current_state(refurbisher, refurbisher_org):
    device = sanitised_device(refurbisher_org)
    with pytest.raises(TransitionError, match="classement"):
        device_transition(device=device, to_state=S.READY, actor=refurbisher)
    services.device_make_ready(device=device, actor=refurbisher, **_ready_kwargs())
    device_transition(device=device, to_state=S.AUDITED, actor=refurbisher, note="Retour en réparation")
    device_transition(device=device, to_state=S.SANITISED, actor=refurbisher)
    with pytest.raises(TransitionError, match="classement"):  # the old grading does not count any more
        device_transition(device=device, to_state=S.READY, actor=refurbisher)


def test_ready_is_refused_when_the_cap_went_down_since_grading(refurbisher, refurbisher_org):
    device = sanitised_device(refurbisher_org)
    cap = device.category.cap_on(timezone.localdate())
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
        price=Decimal("170"),
        cap=cap,
        cap_amount=cap.amount,
    )
    PriceCap.objects.create(
        category=device.category,
        amount=Decimal("160"),
        legal_reference="Décret fictif",
        effective_from=timezone.localdate(),
    )
    with pytest.raises(TransitionError, match="160"):
        device_transition(device=device, to_state=S.READY, actor=refurbisher)


def test_a_returned_device_must_be_erased_again(refurbisher, refurbisher_org, relais_org):
    """A beneficiary may have written data on it: erasures from before its return do not count."""
    relais_staff = member_of(relais_org)
    device = ready_device(refurbisher_org)
    shipment, _ = services.shipment_create(
        refurbisher=refurbisher_org, relais=relais_org, actor=refurbisher, devices=[device]
    )
    services.shipment_dispatch(shipment=shipment, actor=refurbisher)
    services.shipment_receive(shipment=shipment, actor=relais_staff, received_devices=[device])
    device.refresh_from_db()
    for state in (S.SOLD, S.RETURNED):
        device_transition(device=device, to_state=state, actor=relais_staff, check_permission=False)
    device_transition(
        device=device, to_state=S.RECEIVED, actor=refurbisher, holder=refurbisher_org, check_permission=False
    )
    device_transition(device=device, to_state=S.AUDITED, actor=refurbisher)
    with pytest.raises(TransitionError, match="Données non effacées"):
        device_transition(device=device, to_state=S.SANITISED, actor=refurbisher)
    medium = device.storage_media.get()
    SanitisationFactory(medium=medium)
    device_transition(device=device, to_state=S.SANITISED, actor=refurbisher)


def test_detached_media_do_not_count_and_a_reattached_disk_needs_its_own_erasure(
    refurbisher, refurbisher_org
):
    first = DeviceFactory(holder=refurbisher_org, state=S.AUDITED)
    disk = erased_medium(first, serial_number="MOVING-DISK")
    services.medium_detach(medium=disk, actor=refurbisher, reason="Remplacé par un SSD")
    second = DeviceFactory(holder=refurbisher_org, state=S.AUDITED)
    services.medium_add(device=second, actor=refurbisher, kind="hdd", serial_number="MOVING-DISK")
    with pytest.raises(TransitionError, match="MOVING-DISK"):
        device_transition(device=second, to_state=S.SANITISED, actor=refurbisher)
    with pytest.raises(TransitionError, match="Aucun support"):
        device_transition(device=first, to_state=S.SANITISED, actor=refurbisher)


def test_a_disk_cannot_be_installed_in_two_devices_at_once(refurbisher, refurbisher_org):
    MediumFactory(device=DeviceFactory(holder=refurbisher_org), serial_number="ONE-DISK")
    with pytest.raises(ValidationError, match="déjà"):
        services.medium_add(
            device=DeviceFactory(holder=refurbisher_org),
            actor=refurbisher,
            kind="hdd",
            serial_number="ONE-DISK",
        )


def test_a_stock_disk_used_in_a_repair_becomes_a_medium_to_erase(refurbisher, refurbisher_org):
    donor = DeviceFactory(holder=refurbisher_org, state=S.AUDITED)
    erased_medium(donor, serial_number="HARVESTED-1")
    parts = services.device_harvest(device=donor, actor=refurbisher, note="Carte mère HS")
    disk = next(part for part in parts if part.kind == "storage")
    target = sanitised_device(refurbisher_org)
    services.repair_record(
        device=target, actor=refurbisher, actions="Disque remplacé", duration_minutes=20, stock_parts=[disk]
    )
    assert target.storage_media.filter(serial_number="HARVESTED-1", detached_at__isnull=True).exists()
    with pytest.raises(TransitionError, match="HARVESTED-1"):
        services.device_make_ready(device=target, actor=refurbisher, **_ready_kwargs())


def test_the_demo_history_goes_through_the_guards(refurbisher_org):
    """A device cannot even be created straight into « ready » and then shipped through the shipment
    service without proofs: the service re-checks every device at dispatch."""
    user = member_of(refurbisher_org)
    device = DeviceFactory(holder=refurbisher_org, state=S.READY)
    shipment = Shipment.objects.create(
        reference="EXP-TEST",
        refurbisher=refurbisher_org,
        relais=OrganisationFactory(relais=True),
        created_by=user,
    )
    ShipmentLine.objects.create(shipment=shipment, device=device)  # bypassing the add service
    with pytest.raises(ValidationError, match="Aucun support"):
        services.shipment_dispatch(shipment=shipment, actor=user)
    device.refresh_from_db()
    assert device.state == S.READY


def test_erasure_timestamps_must_be_ordered(refurbisher, refurbisher_org):
    medium = MediumFactory(device=DeviceFactory(holder=refurbisher_org, state=S.AUDITED))
    now = timezone.now()
    with pytest.raises(ValidationError):
        services.sanitisation_record(
            medium=medium,
            actor=refurbisher,
            level="clear",
            technique="overwrite",
            tool="nwipe",
            verification_method="last_pass",
            verification_result="passed",
            started_at=now,
            ended_at=now - timedelta(hours=1),
            outcome="erased",
        )


# --- Every other door to a relais ----------------------------------------------------------------


def test_ready_form_refuses_a_device_whose_disk_is_not_erased(client, refurbisher, refurbisher_org):
    device = DeviceFactory(holder=refurbisher_org, state=S.AUDITED)
    MediumFactory(device=device, serial_number="FORM-READY-DISK")
    client.force_login(refurbisher)
    data = {"cosmetic_grade": "B", "functional_grade": "full", "price": "120", "has_charger": "on"}
    response = client.post(reverse("refurbishers:make_ready", args=[device.uuid]), data)
    assert response.status_code == 200 and "FORM-READY-DISK" in response.content.decode()
    assert not Grading.objects.filter(device=device).exists()
    device.refresh_from_db()
    assert (device.state, device.price) == (S.AUDITED, None)


def test_shipment_screen_does_not_dispatch_a_device_whose_data_came_back(
    client, refurbisher, refurbisher_org, relais_org
):
    device = ready_device(refurbisher_org)
    shipment, _refused = services.shipment_create(
        refurbisher=refurbisher_org, relais=relais_org, actor=refurbisher, devices=[device]
    )
    MediumFactory(device=device, serial_number="SCREEN-LATE-DISK")
    client.force_login(refurbisher)
    response = client.post(
        reverse("refurbishers:shipment_detail", args=[shipment.uuid]), {"action": "dispatch"}, follow=True
    )
    assert "SCREEN-LATE-DISK" in response.content.decode()
    device.refresh_from_db()
    assert (device.state, device.holder) == (S.READY, refurbisher_org)
    assert Shipment.objects.get(pk=shipment.pk).status == ShipmentStatus.DRAFT


def test_kernel_api_cannot_send_a_device_to_a_relais(refurbisher, refurbisher_org):
    api = APIClient()
    api.force_authenticate(refurbisher)
    device = DeviceFactory(holder=refurbisher_org, state=S.READY)  # ready without any proof
    response = api.post(f"/api/devices/{device.uuid}/transition/", {"to_state": "in_transit"})
    assert response.status_code == 409
    device.refresh_from_db()
    assert (device.state, device.holder) == (S.READY, refurbisher_org)


def test_coordinator_cannot_dispatch_a_shipment_with_an_unsanitised_device(
    coordinator, refurbisher, refurbisher_org, relais_org
):
    device = ready_device(refurbisher_org)
    shipment, _refused = services.shipment_create(
        refurbisher=refurbisher_org, relais=relais_org, actor=refurbisher, devices=[device]
    )
    MediumFactory(device=device, serial_number="COORD-LATE-DISK")
    with pytest.raises(ValidationError, match="COORD-LATE-DISK"):
        services.shipment_dispatch(shipment=shipment, actor=coordinator)
    device.refresh_from_db()
    assert (device.state, device.holder) == (S.READY, refurbisher_org)


def test_a_returned_device_cannot_leave_again_on_its_old_proofs(refurbisher, refurbisher_org, relais_org):
    """Back from a beneficiary: neither its old erasure nor its old grading makes it ready or shippable."""
    relais_staff = member_of(relais_org)
    device = ready_device(refurbisher_org)
    shipment, _ = services.shipment_create(
        refurbisher=refurbisher_org, relais=relais_org, actor=refurbisher, devices=[device]
    )
    services.shipment_dispatch(shipment=shipment, actor=refurbisher)
    services.shipment_receive(shipment=shipment, actor=relais_staff, received_devices=[device])
    for state in (S.SOLD, S.RETURNED):
        device_transition(device=device, to_state=state, actor=relais_staff, check_permission=False)
    device_transition(
        device=device, to_state=S.RECEIVED, actor=refurbisher, holder=refurbisher_org, check_permission=False
    )
    device_transition(device=device, to_state=S.AUDITED, actor=refurbisher)
    with pytest.raises(TransitionError, match="Données non effacées"):
        device_transition(device=device, to_state=S.READY, actor=refurbisher)
    with pytest.raises(TransitionError):
        services.device_make_ready(device=device, actor=refurbisher, **_ready_kwargs())
    _again, refused = services.shipment_create(
        refurbisher=refurbisher_org, relais=relais_org, actor=refurbisher, devices=[device]
    )
    assert device in refused
    device.refresh_from_db()
    assert (device.state, device.holder) == (S.AUDITED, refurbisher_org)
