"""Who sees which département's indicators. Departmental staff see their own département; the
coordinator sees every département. Nobody else sees the dashboard. Indicators never carry
personal data, whoever reads them."""

from django.db.models import Q

from reemploi.enums import OrganisationKind
from reemploi.models import Departement, Organisation, Site
from reemploi.permissions import is_coordinator, memberships


def can_view_indicators(user):
    return is_coordinator(user) or bool(memberships(user, kinds=[OrganisationKind.DEPARTEMENT]))


def departements_visible_to(user):
    """The départements whose indicators `user` may read."""
    if is_coordinator(user):
        with_sites = Site.objects.filter(is_active=True).values("commune__departement")
        with_staff = Organisation.objects.filter(kind=OrganisationKind.DEPARTEMENT).values("departement")
        return Departement.objects.filter(Q(pk__in=with_sites) | Q(pk__in=with_staff))
    ids = {
        m.organisation.departement_id
        for m in memberships(user, kinds=[OrganisationKind.DEPARTEMENT])
        if m.organisation.departement_id
    }
    return Departement.objects.filter(pk__in=ids)


def can_request_computation(user, departement):
    """Coordinator staff, or admin and staff members (not read-only) of the département."""
    if is_coordinator(user, write=True):
        return True
    return any(
        m.organisation.departement_id == departement.pk
        for m in memberships(user, kinds=[OrganisationKind.DEPARTEMENT], write=True)
    )


def donor_document_organisation(user, organisation_uuid):
    """The donor organisation whose documents `user` may ask for: the coordinator (staff) any, a
    member their own. Another organisation is a 404 (`None`); a user with no donor organisation at
    all (departmental staff, workshops...) may not ask: PermissionDenied."""
    from django.core.exceptions import PermissionDenied

    from donors.enums import DonorKind

    donors = Organisation.objects.filter(kind__in=DonorKind.organisation_kinds())
    if not is_coordinator(user, write=True):
        ids = {m.organisation_id for m in memberships(user, kinds=DonorKind.organisation_kinds())}
        if not ids:
            raise PermissionDenied
        donors = donors.filter(pk__in=ids)
    return donors.filter(uuid=organisation_uuid).first()
