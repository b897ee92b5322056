"""Who may see and do what with beneficiaries. Relais staff handle their own people; the coordinator
sets the rules and grants quota exceptions; prescribers issue vouchers; the département sees none."""

from reemploi.enums import OrganisationKind
from reemploi.permissions import (
    can_write_for,
    is_coordinator,
    is_departement_staff,
    memberships,
    organisations,
)


def relais_of(user, write=False):
    return organisations(user, kinds=[OrganisationKind.RELAIS], write=write)


def prescribers_of(user, write=False):
    return organisations(user, kinds=[OrganisationKind.PRESCRIBER], write=write)


def can_see_beneficiaries(user):
    if is_coordinator(user):
        return True
    return bool(memberships(user, kinds=[OrganisationKind.RELAIS])) and not (
        is_departement_staff(user) and not relais_of(user)
    )


def can_manage_beneficiary(user, beneficiary):
    return can_write_for(user, beneficiary.relais)


def can_manage_rules(user):
    """Eligibility criteria, quota rules and exceptions are the coordinator's."""
    return is_coordinator(user, write=True)
