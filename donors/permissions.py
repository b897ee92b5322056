"""Who may act on a donation. Shared by the views, the API and the services.

The coordinator qualifies, plans and may do everything; the refurbisher a donation is assigned to
plans its collection, marks it collected and receives it; a carrier organisation marks collected
what it carries; a donor organisation's members see their own donations. Read-only members see
but never act. The donor's own actions (answer a slot, write, confirm the count) go through the
private tracking link."""

from reemploi.enums import OrganisationKind, Role
from reemploi.permissions import is_coordinator, memberships, organisation_ids

from .enums import DonorKind


def can_qualify(user):
    return is_coordinator(user, write=True)


def can_edit_rules(user):
    return is_coordinator(user, write=True)


def is_assigned_refurbisher(user, donation, write=True):
    return donation.refurbisher_id is not None and donation.refurbisher_id in organisation_ids(
        user, kinds=[OrganisationKind.REFURBISHER], write=write
    )


def can_schedule(user, donation):
    return is_coordinator(user, write=True) or is_assigned_refurbisher(user, donation)


def can_mark_collected(user, donation):
    if is_coordinator(user, write=True) or is_assigned_refurbisher(user, donation):
        return True
    collection = getattr(donation, "collection", None)
    return bool(
        collection and collection.carrier_id and collection.carrier_id in organisation_ids(user, write=True)
    )


def can_receive(user, donation):
    return is_coordinator(user, write=True) or is_assigned_refurbisher(user, donation)


def can_write_as_network(user, donation):
    return is_coordinator(user, write=True) or is_assigned_refurbisher(user, donation)


def can_cancel(user, donation):
    return is_coordinator(user, write=True)


def can_act_as_donor(user, donation):
    """A write member of the donor organisation acts for the donor without the link."""
    return bool(
        donation.donor_organisation_id
        and donation.donor_organisation_id
        in organisation_ids(user, kinds=DonorKind.organisation_kinds(), write=True)
    )


def can_decide_access(user, access_request):
    if is_coordinator(user, write=True):
        return True
    return any(
        m.organisation_id == access_request.organisation_id and m.role == Role.ADMIN
        for m in memberships(user)
    )


def donor_organisation_ids(user):
    return organisation_ids(user, kinds=DonorKind.organisation_kinds())


def admin_organisation_ids(user):
    return {
        m.organisation_id
        for m in memberships(user, kinds=DonorKind.organisation_kinds())
        if m.role == Role.ADMIN
    }
