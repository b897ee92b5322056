import itertools

import pytest
from django.db import connection

from reemploi.enums import DeviceState, OrganisationKind
from reemploi.lifecycle import (
    TRANSITIONS,
    TransitionError,
    TransitionForbidden,
    device_create,
    device_transition,
    devices_transition,
    register_guard,
)
from reemploi.models import DeviceEvent

from .factories import DeviceFactory, OrganisationFactory, category, member_of

ALL_PAIRS = list(itertools.product(DeviceState.values, DeviceState.values))


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("admin", "admin@example.org", "x" * 16)


@pytest.mark.django_db
@pytest.mark.parametrize(("from_state", "to_state"), ALL_PAIRS)
def test_transition_matrix(from_state, to_state, superuser):
    """Allowed transitions succeed and write a history row; forbidden ones raise and change nothing."""
    device = DeviceFactory(state=from_state)
    allowed = to_state in TRANSITIONS[from_state]
    if allowed:
        device_transition(
            device=device, to_state=to_state, actor=superuser, note="test", check_permission=False
        )
        device.refresh_from_db()
        assert device.state == to_state
        event = device.events.get()
        assert (event.from_state, event.to_state, event.actor) == (from_state, to_state, superuser)
    else:
        with pytest.raises(TransitionError):
            device_transition(
                device=device, to_state=to_state, actor=superuser, note="test", check_permission=False
            )
        device.refresh_from_db()
        assert device.state == from_state
        assert not device.events.exists()


def test_every_state_is_in_the_table():
    assert set(TRANSITIONS) == set(DeviceState.values)
    for targets in TRANSITIONS.values():
        assert targets <= set(DeviceState.values)


@pytest.mark.django_db
def test_device_create_writes_first_history_row(refurbisher, refurbisher_org):
    device = device_create(
        actor=refurbisher,
        organisation=refurbisher_org,
        state=DeviceState.RECEIVED,
        holder=refurbisher_org,
        category=category("laptop"),
        provenance="company",
        serial_number="PF1ABCDE",
    )
    event = device.events.get()
    assert (event.from_state, event.to_state, event.holder) == ("", DeviceState.RECEIVED, refurbisher_org)


@pytest.mark.django_db
def test_device_cannot_be_created_in_the_middle_of_its_life(refurbisher, refurbisher_org):
    with pytest.raises(TransitionError):
        device_create(
            actor=refurbisher,
            organisation=refurbisher_org,
            state=DeviceState.SOLD,
            holder=refurbisher_org,
            category=category("laptop"),
            provenance="company",
        )


@pytest.mark.django_db
def test_refurbisher_moves_what_it_holds_but_not_another_workshops(refurbisher, refurbisher_org):
    own = DeviceFactory(holder=refurbisher_org, state=DeviceState.RECEIVED)
    other = DeviceFactory(state=DeviceState.RECEIVED)
    device_transition(device=own, to_state=DeviceState.AUDITED, actor=refurbisher)
    with pytest.raises(TransitionForbidden):
        device_transition(device=other, to_state=DeviceState.AUDITED, actor=refurbisher)
    assert not other.events.exists()


@pytest.mark.django_db
def test_refurbisher_cannot_sell(refurbisher, refurbisher_org):
    device = DeviceFactory(holder=refurbisher_org, state=DeviceState.IN_STOCK)
    with pytest.raises(TransitionForbidden):
        device_transition(device=device, to_state=DeviceState.SOLD, actor=refurbisher)


@pytest.mark.django_db
def test_read_only_member_cannot_move_devices(refurbisher_org):
    reader = member_of(refurbisher_org, role="read_only")
    device = DeviceFactory(holder=refurbisher_org, state=DeviceState.RECEIVED)
    with pytest.raises(TransitionForbidden):
        device_transition(device=device, to_state=DeviceState.AUDITED, actor=reader)


@pytest.mark.django_db
def test_coordinator_acting_for_another_holder_must_say_why(coordinator):
    device = DeviceFactory(state=DeviceState.RECEIVED)
    with pytest.raises(TransitionError, match="raison"):
        device_transition(device=device, to_state=DeviceState.LOST, actor=coordinator)
    device_transition(
        device=device, to_state=DeviceState.LOST, actor=coordinator, note="Volé pendant le transport"
    )
    assert device.events.get().note == "Volé pendant le transport"


@pytest.mark.django_db
def test_registered_guard_refuses_and_changes_nothing(refurbisher, refurbisher_org):
    def no_lenovo(device, to_state, **context):
        if device.brand == "Lenovo":
            raise TransitionError("Pas de Lenovo ici.")

    register_guard("parts", no_lenovo)
    device = DeviceFactory(holder=refurbisher_org, state=DeviceState.RECEIVED, brand="Lenovo")
    try:
        with pytest.raises(TransitionError, match="Pas de Lenovo"):
            device_transition(device=device, to_state=DeviceState.PARTS, actor=refurbisher)
    finally:
        from reemploi.lifecycle import DEVICE

        DEVICE.guards["parts"].remove(no_lenovo)
    device.refresh_from_db()
    assert device.state == DeviceState.RECEIVED


@pytest.mark.django_db
def test_devices_transition_moves_many_with_one_history_row_each(refurbisher, refurbisher_org):
    devices = DeviceFactory.create_batch(3, holder=refurbisher_org, state=DeviceState.RECEIVED)
    cause = DeviceFactory()
    devices_transition(
        moves=[(device, cause) for device in devices],
        to_state=DeviceState.AUDITED,
        actor=refurbisher,
        note="Diagnostic importé",
    )
    for device in devices:
        assert device.state == DeviceState.AUDITED
        device.refresh_from_db()
        event = device.events.get()
        assert (device.state, event.from_state, event.to_state) == (
            DeviceState.AUDITED,
            DeviceState.RECEIVED,
            DeviceState.AUDITED,
        )
        assert (event.actor, event.organisation, event.cause, event.note) == (
            refurbisher,
            refurbisher_org,
            cause,
            "Diagnostic importé",
        )


@pytest.mark.django_db
@pytest.mark.parametrize("refused", ["another_workshop", "wrong_state", "guard"])
def test_devices_transition_moves_nothing_when_one_is_refused(refurbisher, refurbisher_org, refused):
    devices = DeviceFactory.create_batch(2, holder=refurbisher_org, state=DeviceState.RECEIVED)
    odd = {
        "another_workshop": DeviceFactory(state=DeviceState.RECEIVED),
        "wrong_state": DeviceFactory(holder=refurbisher_org, state=DeviceState.READY),
        "guard": DeviceFactory(holder=refurbisher_org, state=DeviceState.RECEIVED, brand="Lenovo"),
    }[refused]

    def no_lenovo(device, to_state, **context):
        if device.brand == "Lenovo":
            raise TransitionError("Pas de Lenovo ici.")

    register_guard("audited", no_lenovo)
    try:
        with pytest.raises(TransitionError):
            devices_transition(
                moves=[(device, None) for device in [*devices, odd]],
                to_state=DeviceState.AUDITED,
                actor=refurbisher,
            )
    finally:
        from reemploi.lifecycle import DEVICE

        DEVICE.guards["audited"].remove(no_lenovo)
    for device in [*devices, odd]:
        device.refresh_from_db()
        assert device.state in (DeviceState.RECEIVED, DeviceState.READY)
        assert not device.events.exists()


@pytest.mark.django_db
def test_transition_can_change_holder(refurbisher, refurbisher_org):
    relais = OrganisationFactory(kind=OrganisationKind.RELAIS)
    device = DeviceFactory(holder=refurbisher_org, state=DeviceState.READY)
    device_transition(device=device, to_state=DeviceState.IN_TRANSIT, actor=refurbisher, holder=relais)
    device.refresh_from_db()
    assert device.holder == relais
    assert device.events.get().holder == relais


@pytest.mark.django_db
def test_history_rows_cannot_be_changed_through_the_application(refurbisher, refurbisher_org):
    device = DeviceFactory(holder=refurbisher_org, state=DeviceState.RECEIVED)
    device_transition(device=device, to_state=DeviceState.AUDITED, actor=refurbisher)
    event = device.events.get()
    event.note = "réécrit"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        DeviceEvent.objects.filter(pk=event.pk).update(note="réécrit")
    with pytest.raises(PermissionError):
        DeviceEvent.objects.filter(pk=event.pk).delete()


@pytest.mark.django_db
def test_history_rows_cannot_be_updated_in_sql_on_postgresql(refurbisher, refurbisher_org):
    if connection.vendor != "postgresql":
        pytest.skip("the append-only trigger exists on PostgreSQL")
    from django.db import DatabaseError, transaction

    device = DeviceFactory(holder=refurbisher_org, state=DeviceState.RECEIVED)
    device_transition(device=device, to_state=DeviceState.AUDITED, actor=refurbisher)
    for sql in ("UPDATE reemploi_deviceevent SET note = 'x'", "DELETE FROM reemploi_deviceevent"):
        with (
            pytest.raises(DatabaseError, match="ajout seul"),
            transaction.atomic(),
            connection.cursor() as cur,
        ):
            cur.execute(sql)
    assert device.events.get().note == ""
