"""Who may do what in a workshop. Shared by views, the API and services.

Members of a refurbisher see and work on the devices their workshop holds (read-only members see
them); the coordinator may act for any workshop. Relais staff see the shipments addressed to their
relais and confirm what arrived."""

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404
from django.utils.translation import gettext as _

from reemploi.enums import OrganisationKind
from reemploi.lifecycle import WORKSHOP_STATES
from reemploi.models import Device, Organisation
from reemploi.permissions import is_coordinator, organisation_ids

REFURBISHER = [OrganisationKind.REFURBISHER]
RELAIS = [OrganisationKind.RELAIS]


def workshop_ids(user, write=False):
    return organisation_ids(user, kinds=REFURBISHER, write=write)


def relais_ids(user, write=False):
    return organisation_ids(user, kinds=RELAIS, write=write)


def is_workshop_member(user):
    return is_coordinator(user) or bool(workshop_ids(user))


def is_relais_member(user):
    return is_coordinator(user) or bool(relais_ids(user))


def workshops(user, write=False):
    """The refurbishers a user may act for (all of them for the coordinator)."""
    queryset = Organisation.objects.filter(kind=OrganisationKind.REFURBISHER, is_active=True)
    if is_coordinator(user, write=write):
        return queryset
    return queryset.filter(pk__in=workshop_ids(user, write=write))


def relais_organisations(user, write=False):
    queryset = Organisation.objects.filter(kind=OrganisationKind.RELAIS, is_active=True)
    if is_coordinator(user, write=write):
        return queryset
    return queryset.filter(pk__in=relais_ids(user, write=write))


def workshop_devices(user):
    """Devices held by the user's workshops (every workshop's for the coordinator)."""
    if is_coordinator(user):
        return Device.objects.filter(holder__kind=OrganisationKind.REFURBISHER)
    return Device.objects.filter(holder_id__in=workshop_ids(user))


def can_work_on(user, device):
    """Write access to a device's workshop records: staff of the workshop holding it, or coordinator."""
    if is_coordinator(user, write=True):
        return True
    return device.holder_id in workshop_ids(user, write=True) and device.state in WORKSHOP_STATES


def can_see_workshop_records(user, device):
    if is_coordinator(user):
        return True
    ids = organisation_ids(user)
    return device.holder_id in ids or bool(
        device.shipment_lines.filter(
            Q(shipment__refurbisher_id__in=ids) | Q(shipment__relais_id__in=ids)
        ).exists()
    )


def require_write(user, organisation):
    """403 unless the user may write for this workshop (read-only members may only look)."""
    if not (is_coordinator(user, write=True) or organisation.pk in organisation_ids(user, write=True)):
        raise PermissionDenied(_("Votre rôle ne permet que la consultation."))


def get_workshop_device(user, uuid, write=True):
    """The device if the user's workshop holds it (404 otherwise); 403 if the user may only read."""
    try:
        device = workshop_devices(user).select_related("category", "holder").get(uuid=uuid)
    except Device.DoesNotExist:
        raise Http404 from None
    if write and not can_work_on(user, device):
        if device.holder_id in workshop_ids(user, write=True):
            raise PermissionDenied(_("Cet appareil a quitté le circuit de l'atelier."))
        raise PermissionDenied(_("Votre rôle ne permet que la consultation."))
    return device


def workshop_donations(user):
    """Donations a workshop works on: assigned to it, or whose devices it holds (all for the
    coordinator)."""
    from donors.models import Donation

    if is_coordinator(user):
        return Donation.objects.all()
    ids = workshop_ids(user)
    return Donation.objects.filter(
        Q(refurbisher_id__in=ids) | Q(lines__devices__holder_id__in=ids)
    ).distinct()


def get_workshop_donation(user, uuid, write=False):
    """The donation if the user's workshop works on it (404 otherwise); 403 if the user may only read."""
    from donors.models import Donation

    try:
        donation = workshop_donations(user).select_related("donor_organisation", "refurbisher").get(uuid=uuid)
    except Donation.DoesNotExist:
        raise Http404 from None
    if write and not is_coordinator(user, write=True):
        writable = workshop_ids(user, write=True)
        holds = Device.objects.filter(donation_line__donation=donation, holder_id__in=writable).exists()
        if donation.refurbisher_id not in writable and not holds:
            raise PermissionDenied(_("Votre rôle ne permet que la consultation."))
    return donation
