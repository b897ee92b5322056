import pytest
from django.core.management import call_command

from reemploi.enums import OrganisationKind
from reemploi.models import Document, Organisation
from refurbishers import documents
from refurbishers.models import Destruction, NoStorageDeclaration, Sanitisation

KINDS = [
    documents.MEDIUM_CERTIFICATE,
    documents.SUMMARY,
    documents.DESTRUCTION_CERTIFICATE,
    documents.DEEE_CERTIFICATE,
]


@pytest.mark.django_db
def test_demo_files_every_workshop_document_under_a_company_and_a_public_donation():
    call_command("demo")
    for kind in (OrganisationKind.COMPANY, OrganisationKind.PUBLIC_BODY):
        donor = Organisation.objects.get(kind=kind, memberships__user__username__startswith="donateur")
        filed = Document.objects.filter(donation__donor_organisation=donor, owner=donor)
        assert set(filed.values_list("kind", flat=True)) >= set(KINDS), kind
    before = Document.objects.filter(kind__in=KINDS).count()
    call_command("demo")
    assert Document.objects.filter(kind__in=KINDS).count() == before
    # Proofs are recorded by workshops, never by the relais that holds a device later.
    for model in (Sanitisation, Destruction, NoStorageDeclaration):
        kinds = set(model.objects.values_list("organisation__kind", flat=True))
        assert kinds <= {OrganisationKind.REFURBISHER}, (model.__name__, kinds)
