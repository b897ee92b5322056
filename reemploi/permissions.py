"""Who may do what. Predicates shared by views, the API and services.

Roles come from memberships: a person may belong to several organisations, with a role in each
(admin, staff, read-only). Members of the network coordinator (admin or staff) may act on anything;
members of a département see indicators only, never personal data."""

from .enums import DeviceState, OrganisationKind, Role

WRITE_ROLES = (Role.ADMIN, Role.STAFF)


def _memberships(user):
    if not user or not user.is_authenticated:
        return []
    cache = getattr(user, "_membership_cache", None)
    if cache is None:
        cache = list(user.memberships.select_related("organisation").filter(organisation__is_active=True))
        user._membership_cache = cache
    return cache


def memberships(user, kinds=None, write=False):
    return [
        m
        for m in _memberships(user)
        if (kinds is None or m.organisation.kind in kinds) and (not write or m.role in WRITE_ROLES)
    ]


def organisation_ids(user, kinds=None, write=False, exclude_kinds=()):
    return {
        m.organisation_id
        for m in memberships(user, kinds=kinds, write=write)
        if m.organisation.kind not in exclude_kinds
    }


def organisations(user, kinds=None, write=False):
    return [m.organisation for m in memberships(user, kinds=kinds, write=write)]


def is_coordinator(user, write=False):
    if not user or not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return bool(memberships(user, kinds=[OrganisationKind.COORDINATOR], write=write))


def is_departement_staff(user):
    return bool(memberships(user, kinds=[OrganisationKind.DEPARTEMENT]))


def can_write_for(user, organisation):
    """Admin or staff member of `organisation`, or a coordinator who may act for anyone."""
    if is_coordinator(user, write=True):
        return True
    return organisation.pk in organisation_ids(user, write=True)


def can_see_personal_data(user):
    """Departmental staff and anonymous users never see personal data."""
    if not user or not user.is_authenticated:
        return False
    if is_coordinator(user):
        return True
    return bool(organisation_ids(user, exclude_kinds=[OrganisationKind.DEPARTEMENT]))


# Which states each kind of holder moves a device into, on the devices it holds.
REFURBISHER_TARGETS = {
    DeviceState.COLLECTED,
    DeviceState.RECEIVED,
    DeviceState.AUDITED,
    DeviceState.SANITISED,
    DeviceState.READY,
    DeviceState.IN_TRANSIT,
    DeviceState.PARTS,
    DeviceState.DEEE,
    DeviceState.LOST,
}
RELAIS_TARGETS = {
    DeviceState.IN_STOCK,
    DeviceState.SOLD,
    DeviceState.LENT,
    DeviceState.GIVEN,
    DeviceState.RETURNED,
    DeviceState.LOST,
}
TARGETS_BY_HOLDER_KIND = {
    OrganisationKind.REFURBISHER: REFURBISHER_TARGETS,
    OrganisationKind.RELAIS: RELAIS_TARGETS,
}


def can_transition(user, device, to_state):
    """Refurbisher staff move what their workshop holds up to `in_transit`; relais staff receive and
    distribute what their relais holds; the coordinator may do anything (and says why)."""
    if is_coordinator(user, write=True):
        return True
    if device.holder_id not in organisation_ids(user, write=True):
        return False
    return to_state in TARGETS_BY_HOLDER_KIND.get(device.holder.kind, set())
