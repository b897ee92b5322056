"""The sanitisation guard and its companions, registered on the device lifecycle from AppConfig.ready().

A device becomes « données effacées » or « prêt », or leaves for a relais, only when every storage
medium it holds has a successful sanitisation (verified Clear or Purge) or a recorded destruction, or
when someone declared on their name that it holds none. Because the check lives in the transition
service, every path (screens, API, imports, the coordinator, the shipment service) goes through it.

After a device comes back to a workshop (a guarantee return, a shipment sent back), records made
before its return no longer count: someone may have written data on it meanwhile.

As the kernel's contract says, a caller passing `check_permission=False` is a trusted internal path
(the demo network, which records histories first and proofs after): the guards let it through. No
view, API endpoint, import or service of this app does that."""

from django.db.models import Max
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from reemploi.enums import DeviceState as S
from reemploi.enums import OrganisationKind
from reemploi.lifecycle import TransitionError
from reemploi.models import DeviceEvent

from .enums import SanitisationOutcome, ShipmentLineStatus, ShipmentStatus
from .models import Destruction, Grading, NoStorageDeclaration, Sanitisation, ShipmentLine, StorageMedium

FIRST_ARRIVAL_FROM = {"", S.EXPECTED, S.COLLECTED}


def returned_at(device):
    """When the device last came back to a workshop after leaving it, or None."""
    return (
        DeviceEvent.objects.filter(device=device, to_state=S.RECEIVED)
        .exclude(from_state__in=FIRST_ARRIVAL_FROM)
        .aggregate(at=Max("at"))["at"]
    )


def storage_problems(device, since=None):
    """Why the device's data is not known to be gone, in French; an empty list when it is. Only proofs
    recorded at or after the device last came back to a workshop count, and at or after `since` when
    given (the kernel's custody rule passes the moment the device came back from a person)."""
    since = max((moment for moment in (returned_at(device), since) if moment is not None), default=None)
    media = list(StorageMedium.objects.attached().filter(device=device))
    if not media:
        declarations = NoStorageDeclaration.objects.filter(device=device)
        if since is not None:
            declarations = declarations.filter(declared_at__gte=since)
        if declarations.exists():
            return []
        return [
            _(
                "Aucun support de stockage n'est enregistré pour cet appareil : enregistrez ses disques "
                "(diagnostic, import lshw) ou déclarez qu'il n'en contient aucun."
            )
        ]
    erased = Sanitisation.objects.filter(medium__in=media, outcome=SanitisationOutcome.ERASED)
    destroyed = Destruction.objects.filter(medium__in=media)
    if since is not None:
        erased = erased.filter(recorded_at__gte=since)
        destroyed = destroyed.filter(recorded_at__gte=since)
    done = set(erased.values_list("medium_id", flat=True)) | set(
        destroyed.values_list("medium_id", flat=True)
    )
    pending = [medium for medium in media if medium.pk not in done]
    if not pending:
        return []
    return [
        ngettext(
            "Le support %(media)s n'a pas d'effacement vérifié ni de destruction enregistrés.",
            "Les supports %(media)s n'ont pas d'effacement vérifié ni de destruction enregistrés.",
            len(pending),
        )
        % {"media": ", ".join(str(medium) for medium in pending)}
    ]


def _trusted(context):
    return context.get("check_permission", True) is False


def require_storage_cleared(device, to_state, **context):
    if _trusted(context):
        return
    problems = storage_problems(device)
    if problems:
        raise TransitionError(
            _("Données non effacées : %(problems)s") % {"problems": " ".join(problems)},
            code="storage_not_sanitised",
        )


def require_grading(device, to_state, **context):
    """« Prêt » needs a grading made in the device's current state, with a price under today's cap."""
    if _trusted(context):
        return
    grading = (
        Grading.objects.filter(device=device, graded_at__gte=device.state_changed_at)
        .select_related("category")
        .first()
    )
    if grading is None:
        raise TransitionError(
            _(
                "Enregistrez d'abord le classement et le prix de l'appareil (formulaire « Prêt à distribuer »)."
            ),
            code="grading_required",
        )
    cap = device.category.cap_on(timezone.localdate())
    if cap is not None and grading.price > cap.amount:
        raise TransitionError(
            _("Le prix de %(price)s € dépasse le plafond de %(cap)s € en vigueur pour « %(category)s ».")
            % {
                "price": number_format(grading.price, 2),
                "cap": number_format(cap.amount, 2),
                "category": device.category.name,
            },
            code="price_above_cap",
        )


def require_shipment(device, to_state, holder=None, **context):
    """A device leaves for a relais only inside a shipment being dispatched to that relais."""
    if _trusted(context):
        return
    if holder is None or holder.kind != OrganisationKind.RELAIS:
        raise TransitionError(
            _(
                "Un appareil part vers un relais au sein d'une expédition : passez par le menu « Expéditions »."
            ),
            code="shipment_required",
        )
    in_shipment = ShipmentLine.objects.filter(
        device=device,
        status=ShipmentLineStatus.PENDING,
        shipment__status=ShipmentStatus.DRAFT,
        shipment__relais=holder,
        shipment__refurbisher_id=device.holder_id,
    ).exists()
    if not in_shipment:
        raise TransitionError(
            _("Cet appareil ne fait partie d'aucune expédition en préparation vers %(relais)s.")
            % {"relais": holder.name},
            code="shipment_required",
        )


def sanitisation_proof(device, since):
    """The kernel's custody rule asks whether the data of a device that came back from a person at
    `since` is known to be gone: the same proofs as the workshop's guard, recorded since then."""
    return storage_problems(device, since=since)


def register():
    from reemploi.lifecycle import register_guard, register_sanitisation_proof

    register_sanitisation_proof(sanitisation_proof)

    register_guard(S.SANITISED, require_storage_cleared)
    register_guard(S.READY, require_storage_cleared)
    register_guard(S.READY, require_grading)
    register_guard(S.IN_TRANSIT, require_storage_cleared)
    register_guard(S.IN_TRANSIT, require_shipment)
