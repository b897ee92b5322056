"""The device's lifecycle: one transition table, one guarded service, one history — the kernel's one
lifecycle mechanism (`reemploi.workflow.Lifecycle`) configured for the traced device, whose history row
is its own `DeviceEvent` (holder after the move, the record that caused it).

Apps add guards for the states they own (the refurbishers' sanitisation guard on `ready` and
`in_transit`, the relais' sale guard on `sold`) with `register_guard`, from their AppConfig.ready(),
so the kernel never imports them.

Custody is the kernel's own rule, not an app's guard: a device that has been in a person's hands
(sold, lent, given) reaches another person only after a proof, recorded *after* it came back, that its
data is gone: a verified erasure or a destruction of every medium, or a declaration that it holds
none. The proofs live in the refurbishers' records; that app registers the one function that reads
them (`register_sanitisation_proof`). With none registered, every such handover is refused. Trusted
internal paths (`check_permission=False`) are held to it too: nothing may hand a previous person's data
to the next one."""

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .enums import DeviceState as S
from .models import Device, DeviceEvent
from .workflow import Lifecycle, TransitionError, TransitionForbidden

__all__ = ["TransitionError", "TransitionForbidden", "DEVICE", "device_transition", "devices_transition"]

TRANSITIONS: dict[str, set[str]] = {
    S.EXPECTED: {S.COLLECTED, S.RECEIVED, S.LOST},
    S.COLLECTED: {S.RECEIVED, S.LOST},
    S.RECEIVED: {S.AUDITED, S.PARTS, S.DEEE, S.LOST},
    S.AUDITED: {S.SANITISED, S.READY, S.PARTS, S.DEEE, S.LOST},
    S.SANITISED: {S.READY, S.AUDITED, S.PARTS, S.DEEE, S.LOST},
    S.READY: {S.IN_TRANSIT, S.AUDITED, S.PARTS, S.DEEE, S.LOST},
    S.IN_TRANSIT: {S.IN_STOCK, S.RECEIVED, S.LOST},
    S.IN_STOCK: {S.SOLD, S.LENT, S.GIVEN, S.RETURNED, S.LOST},
    S.LENT: {S.IN_STOCK, S.LOST},
    S.SOLD: {S.RETURNED},
    S.GIVEN: {S.RETURNED},
    S.RETURNED: {S.RECEIVED},
    S.PARTS: set(),
    S.DEEE: set(),
    S.LOST: set(),
}
INITIAL_STATES = {S.EXPECTED, S.RECEIVED}
TERMINAL_STATES = {state for state, targets in TRANSITIONS.items() if not targets}
# States in which the device is at a refurbisher's workshop.
WORKSHOP_STATES = {S.RECEIVED, S.AUDITED, S.SANITISED, S.READY}
DISTRIBUTED_STATES = {S.SOLD, S.LENT, S.GIVEN}
# States in which the device is in a person's hands: leaving one of them means it comes back from
# someone whose data it may now hold.
HANDOVER_STATES = DISTRIBUTED_STATES


_sanitisation_proofs = []


def register_sanitisation_proof(check):
    """`check(device, since)` returns the French reasons why the device's data is not known to be gone
    by proofs recorded at or after `since` (an empty list when it is)."""
    if check not in _sanitisation_proofs:
        _sanitisation_proofs.append(check)


def came_back_at(device):
    """When the device last left a person's hands (a loan returned, a sale or gift taken back), or None
    when it never was in anyone's."""
    return (
        DeviceEvent.objects.filter(device=device, from_state__in=HANDOVER_STATES)
        .order_by("-at", "-id")
        .values_list("at", flat=True)
        .first()
    )


def custody_problems(device):
    """Why `device` may not go to a person now: it came back from someone and no proof recorded since
    shows their data is gone. An empty list when it may."""
    since = came_back_at(device)
    if since is None:
        return []
    if not _sanitisation_proofs:
        return [_("Aucune preuve d'effacement ne peut être vérifiée.")]
    problems = []
    for check in _sanitisation_proofs:
        problems.extend(check(device, since))
    return problems


def blocked_by_custody(devices):
    """The ids, among the `devices` queryset, of those that came back from a person and may not go to
    another yet. Only devices that ever left a person's hands are examined one by one."""
    came_back = DeviceEvent.objects.filter(device=OuterRef("pk"), from_state__in=HANDOVER_STATES)
    return {device.pk for device in devices.filter(Exists(came_back)) if custody_problems(device)}


def check_custody(device, to_state):
    if to_state not in HANDOVER_STATES:
        return
    problems = custody_problems(device)
    if problems:
        since = timezone.localtime(came_back_at(device))
        raise TransitionError(
            _(
                "Cet appareil est revenu d'une personne le %(date)s : il ne peut être remis à une autre "
                "qu'après l'effacement vérifié (ou la destruction) de chacun de ses supports, ou la "
                "déclaration qu'il n'en contient aucun, enregistrés depuis ce retour. %(problems)s"
            )
            % {"date": since.strftime("%d/%m/%Y à %H:%M"), "problems": " ".join(problems)},
            code="custody_erasure_required",
        )


def _device_permission(actor, locked, to_state, *, note="", **context):
    """Refurbisher staff move what their workshop holds up to `in_transit`; relais staff receive and
    distribute what their relais holds; the coordinator anything, giving a reason for another's device."""
    from .permissions import can_transition, is_coordinator, organisation_ids

    if actor is None or not can_transition(actor, locked, to_state):
        raise TransitionForbidden(
            _("Vous n'avez pas le droit de faire passer cet appareil à « %(to)s ».")
            % {"to": _label(to_state)}
        )
    if is_coordinator(actor) and locked.holder_id not in organisation_ids(actor) and not note.strip():
        raise TransitionError(
            _("En tant que coordination, indiquez la raison de ce changement."), code="note_required"
        )


def _device_log(device, from_state, to_state, *, actor, organisation, note, at, cause=None, **context):
    event = _event(device, from_state, to_state, actor, organisation, note, cause, at)
    event.save()
    return event


DEVICE = Lifecycle(
    name="device",
    model=Device,
    transitions=TRANSITIONS,
    field="state",
    changed_at_field="state_changed_at",
    permission=_device_permission,
    log=_device_log,
    checks=[check_custody],
    select_related=("holder", "category"),
    subject=gettext_lazy("un appareil"),
)


def register_guard(to_state, guard):
    """`guard(device, to_state, **context)` raises TransitionError to refuse the transition. The
    context holds `actor`, `holder`, `check_permission` (False on trusted internal paths such as the
    demo) and whatever the caller passed to device_transition."""
    DEVICE.register_guard(to_state, guard)


def allowed_targets(state):
    return DEVICE.targets(state)


def _label(state):
    return S(state).label if state in S.values else state


def device_create(*, actor, organisation, state, holder, note="", cause=None, at=None, **fields):
    """Create a traced device in an initial state, with its first history row."""
    if state not in INITIAL_STATES:
        raise TransitionError(_("Un appareil ne peut être créé qu'à l'état « annoncé » ou « réceptionné »."))
    now = at or timezone.now()
    device = Device(state=state, holder=holder, state_changed_at=now, created_at=now, **fields)
    device.full_clean(exclude=["donation_line"] if device.donation_line_id is None else None)
    with transaction.atomic():
        device.save()
        _log(device, "", state, actor=actor, organisation=organisation, note=note, cause=cause, at=now)
    return device


def device_transition(
    *,
    device,
    to_state,
    actor=None,
    organisation=None,
    note="",
    holder=None,
    cause=None,
    check_permission=True,
    at=None,
    **guard_context,
):
    """Move a device to `to_state`, atomically: lock the row, check the table, custody, the actor's
    right and the guards, save, and append a history row. Returns the locked, updated device."""
    return DEVICE.move(
        device,
        to_state,
        actor=actor,
        organisation=organisation,
        note=note,
        at=at,
        check_permission=check_permission,
        fields={"holder": holder} if holder is not None else None,
        holder=holder,
        cause=cause,
        **guard_context,
    )


def devices_transition(*, moves, to_state, actor, organisation=None, note="", check_permission=True):
    """`device_transition` for many devices at once (imports): `moves` is a list of (device, cause).
    The same checks run on each locked row, then one UPDATE and one INSERT of history rows; the first
    refused device raises TransitionError and nothing moves. Holders do not change."""
    if not moves:
        return
    with transaction.atomic():
        locked = {
            device.pk: device
            for device in Device.objects.select_for_update()
            .select_related("holder", "category")
            .filter(pk__in=[device.pk for device, _cause in moves])
            .order_by("pk")
        }
        now = timezone.now()
        events = []
        for device, cause in moves:
            current = locked[device.pk]
            DEVICE.check(
                current, to_state, actor=actor, check_permission=check_permission, note=note, holder=None
            )
            events.append(_event(current, current.state, to_state, actor, organisation, note, cause, now))
        Device.objects.filter(pk__in=locked).update(state=to_state, state_changed_at=now)
        DeviceEvent.objects.bulk_create(events)
    for device, _cause in moves:
        device.state, device.state_changed_at = to_state, now


def _log(device, from_state, to_state, *, actor, organisation, note, cause, at):
    event = _event(device, from_state, to_state, actor, organisation, note, cause, at)
    event.save()
    return event


def _event(device, from_state, to_state, actor, organisation, note, cause, at):
    cause_fields = {}
    if cause is not None:
        cause_fields = {"cause_type": ContentType.objects.get_for_model(cause), "cause_id": cause.pk}
    if organisation is None and actor is not None:
        organisation = _default_organisation(actor, device)
    return DeviceEvent(
        device=device,
        from_state=from_state,
        to_state=to_state,
        actor=actor,
        organisation=organisation,
        holder_id=device.holder_id,
        note=note,
        at=at,
        **cause_fields,
    )


def _default_organisation(actor, device):
    from .permissions import memberships

    own = memberships(actor)
    for membership in own:
        if membership.organisation_id == device.holder_id:
            return membership.organisation
    return own[0].organisation if own else None
