"""The kernel's one lifecycle mechanism: every declared lifecycle, its whole (from, to) matrix."""

import itertools

import pytest
from django.db import DatabaseError, transaction

from reemploi.models import StatusChange
from reemploi.workflow import LIFECYCLES, TransitionError
from tests.lifecycles import MAKERS

PAIRS = [
    (name, from_state, to_state)
    for name, lifecycle in sorted(LIFECYCLES.items())
    for from_state, to_state in itertools.product(sorted(lifecycle.states), sorted(lifecycle.states))
]


def test_every_lifecycle_can_be_made_in_tests():
    assert set(LIFECYCLES) <= set(MAKERS), (
        f"add a maker to tests/lifecycles.py for {set(LIFECYCLES) - set(MAKERS)}"
    )


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "from_state", "to_state"), PAIRS)
def test_transition_matrix_of_every_lifecycle(name, from_state, to_state, monkeypatch):
    """Allowed moves succeed and write one history row; forbidden ones raise and change nothing.
    Guards registered by apps are their own tests' business."""
    lifecycle = LIFECYCLES[name]
    monkeypatch.setattr(lifecycle, "guards", {})
    make, read_history = MAKERS[name]
    record = make(from_state)
    before = read_history(record)
    if to_state in lifecycle.targets(from_state):
        lifecycle.move(record, to_state, note="test", check_permission=False)
        record.refresh_from_db()
        assert getattr(record, lifecycle.field) == to_state
        assert read_history(record) == [*before, (from_state, to_state)]
    else:
        with pytest.raises(TransitionError):
            lifecycle.move(record, to_state, note="test", check_permission=False)
        record.refresh_from_db()
        assert getattr(record, lifecycle.field) == from_state
        assert read_history(record) == before


@pytest.mark.django_db
def test_status_changes_are_append_only():
    from django.contrib.contenttypes.models import ContentType

    change = StatusChange.objects.create(
        content_type=ContentType.objects.get_for_model(StatusChange),
        object_id=1,
        lifecycle="x",
        to_status="a",
    )
    with pytest.raises(PermissionError):
        StatusChange.objects.filter(pk=change.pk).update(to_status="b")
    with pytest.raises(DatabaseError), transaction.atomic():
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("UPDATE reemploi_statuschange SET to_status = 'b' WHERE id = %s", [change.pk])
