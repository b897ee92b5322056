"""One lifecycle mechanism for every record that has a status: a transition table, one guarded service
that locks the row, checks the table, the actor's right and the registered guards, saves, and appends a
history row.

Each model declares its lifecycle once, in the app that owns it:

    SHIPMENT = Lifecycle(name="shipment", model=Shipment, transitions={DRAFT: {SENT, CANCELLED}, ...})
    SHIPMENT.move(shipment, SENT, actor=user, note="…", fields={"dispatched_at": now})

The history row is a kernel `StatusChange` unless the lifecycle brings its own writer (`log`): the
device writes its `DeviceEvent`, the donation its `DonationEvent`. Apps add guards for the target states
they care about (`register_guard`) from their AppConfig.ready(), so that no module imports a later one.
Nothing else assigns a status field (a test reads the source for direct assignments)."""

from collections import defaultdict

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

LIFECYCLES = {}


class TransitionError(Exception):
    """A forbidden or refused transition. Its message is meant for the user, in French."""

    def __init__(self, message, code="invalid_transition"):
        super().__init__(message)
        self.message = message
        self.code = code


class TransitionForbidden(TransitionError):
    def __init__(self, message):
        super().__init__(message, code="forbidden")


class Lifecycle:
    """The lifecycle of one model: which status may follow which, who may move it, what refuses a move,
    and how a move is written down."""

    def __init__(
        self,
        *,
        name,
        model,
        transitions,
        field="status",
        changed_at_field=None,
        permission=None,
        log=None,
        checks=(),
        select_related=(),
        error=TransitionError,
        subject=None,
    ):
        self.name = name
        self.model = model
        self.transitions = transitions
        self.field = field
        self.changed_at_field = changed_at_field
        self.permission = permission
        self.log = log or log_status_change
        self.checks = list(checks)
        self.select_related = select_related
        self.error = error
        self.subject = subject
        self.guards = defaultdict(list)
        LIFECYCLES[name] = self

    def __repr__(self):
        return f"<Lifecycle {self.name}>"

    @property
    def states(self):
        return set(self.transitions)

    @property
    def terminal_states(self):
        return {state for state, targets in self.transitions.items() if not targets}

    def targets(self, state):
        return self.transitions.get(state, set())

    def label(self, state):
        choices = dict(self.model._meta.get_field(self.field).choices or ())
        return str(choices.get(state, state))

    def register_guard(self, to_state, guard):
        """`guard(obj, to_state, **context)` raises TransitionError to refuse the move. The context holds
        `actor`, `check_permission` and whatever the caller passed to `move`."""
        if guard not in self.guards[to_state]:
            self.guards[to_state].append(guard)

    def check(self, locked, to_state, *, actor=None, check_permission=True, **context):
        """Raise TransitionError unless `locked` may move to `to_state` now."""
        from_state = getattr(locked, self.field)
        if to_state not in self.targets(from_state):
            raise self.error(
                _("Transition impossible : %(subject)s « %(from)s » ne peut pas passer à « %(to)s ».")
                % {
                    "subject": self.subject or self.model._meta.verbose_name,
                    "from": self.label(from_state),
                    "to": self.label(to_state),
                }
            )
        for check in self.checks:
            check(locked, to_state)
        if check_permission and self.permission is not None:
            self.permission(actor, locked, to_state, **context)
        for guard in self.guards.get(to_state, ()):
            guard(locked, to_state, actor=actor, check_permission=check_permission, **context)

    def move(
        self,
        obj,
        to_state,
        *,
        actor=None,
        organisation=None,
        note="",
        at=None,
        check_permission=True,
        fields=None,
        **context,
    ):
        """Move `obj` to `to_state`, atomically: lock the row, check, save the status (and `fields`), and
        append the history row. Returns the locked, updated row; `obj` gets the new values too."""
        fields = dict(fields or {})
        with transaction.atomic():
            queryset = self.model._base_manager.select_for_update()
            if self.select_related:
                queryset = queryset.select_related(*self.select_related)
            locked = queryset.get(pk=obj.pk)
            from_state = getattr(locked, self.field)
            self.check(locked, to_state, actor=actor, check_permission=check_permission, note=note, **context)
            now = at or timezone.now()
            changed = {self.field: to_state, **fields}
            if self.changed_at_field:
                changed[self.changed_at_field] = now
            for name, value in changed.items():
                setattr(locked, name, value)
            locked.save(update_fields=list(changed))
            self.log(
                locked,
                from_state,
                to_state,
                actor=actor,
                organisation=organisation,
                note=note,
                at=now,
                **context,
            )
        for name in changed:
            setattr(obj, name, getattr(locked, name))
        return locked


def log_status_change(obj, from_state, to_state, *, actor, organisation, note, at, **context):
    """The default history row: a kernel StatusChange pointing at the record."""
    from .models import StatusChange

    return StatusChange.objects.create(
        content_type=ContentType.objects.get_for_model(obj),
        object_id=obj.pk,
        lifecycle=next(name for name, lc in LIFECYCLES.items() if lc.model is type(obj)),
        from_status=from_state,
        to_status=to_state,
        actor=actor,
        organisation=organisation,
        note=note,
        at=at,
    )


def history(obj):
    """The StatusChange rows of `obj`, oldest first."""
    from .models import StatusChange

    return StatusChange.objects.filter(
        content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk
    ).order_by("at", "id")
