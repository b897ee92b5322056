"""The company donor's tax receipt (CGI art. 238 bis, form 2041-MEC-SD): asked with a value, issued or
refused by the coordinator, its PDF, and who may ask."""

from decimal import Decimal

import pytest
from pypdf import PdfReader

from donors import services
from donors.enums import DonorKind, HandoverMode, TaxReceiptStatus
from donors.models import TaxReceiptRequest
from donors.tokens import tracking_token
from reemploi.enums import DocumentStatus, OrganisationKind
from tests.reemploi.factories import OrganisationFactory, member_of

from . import factories
from .factories import line

pytestmark = pytest.mark.django_db(transaction=True)


def _text(document):
    with document.file.open("rb") as handle:
        return " ".join(" ".join(page.extract_text() for page in PdfReader(handle).pages).split())


def _received_company_donation(coordinator, refurbisher_org):
    donation = factories.collected(
        coordinator,
        refurbisher_org,
        lines=[
            line("laptop", 2, description="Dell Latitude 5490"),
            line("screen", 1, description="Écran 24 pouces"),
        ],
    )
    laptops, screens = donation.lines.order_by("position")
    services.donation_receive(
        donation=donation,
        actor=coordinator,
        site=factories.workshop(refurbisher_org),
        weight_kg=Decimal("9"),
        lines=[
            {
                "line": laptops,
                "received_quantity": 2,
                "items": [{"serial_number": "5CG1A"}, {"serial_number": "5CG1B"}],
            },
            {"line": screens, "received_quantity": 1, "items": [{"serial_number": "CN0SCR"}]},
        ],
    )
    donation.refresh_from_db()
    return donation


def test_a_company_asks_the_coordinator_issues_and_the_receipt_holds_the_form_fields(
    client, coordinator, refurbisher_org, settings, mailoutbox
):
    settings.NETWORK_SIREN = "812345678"
    settings.NETWORK_ADDRESS = "12 rue de la Loire, 58000 Nevers"
    donation = _received_company_donation(coordinator, refurbisher_org)
    member = factories.donor_member(donation, username="entreprise")
    client.force_login(member)
    response = client.post(f"/dons/{donation.uuid}/recu-fiscal/", {"declared_value": "1 250,50"})
    assert response.status_code == 302
    receipt = TaxReceiptRequest.objects.get(donation=donation)
    assert receipt.declared_value == Decimal("1250.50") and receipt.status == TaxReceiptStatus.REQUESTED
    # A second request while the first is pending is refused.
    again = client.post(f"/dons/{donation.uuid}/recu-fiscal/", {"declared_value": "10"})
    assert again.status_code == 400 and "déjà été demandé" in again.content.decode()

    mailoutbox.clear()
    client.force_login(coordinator)
    response = client.post(f"/dons/recus-fiscaux/{receipt.uuid}/decision/", {"decision": "issue"})
    assert response.status_code == 302
    receipt.refresh_from_db()
    document = receipt.document
    assert receipt.status == TaxReceiptStatus.ISSUED and document.status == DocumentStatus.ISSUED, (
        document.error
    )
    assert document.number.startswith("RF-") and document.donation_id == donation.pk
    text = _text(document)
    for expected in (
        "Reçu n° " + document.number,
        "2041-MEC-SD",
        settings.NETWORK_NAME,
        "812345678",
        "12 rue de la Loire, 58000 Nevers",
        "Nivernaise de Services",
        "732829320",  # the company's SIREN
        "1 rue du Commerce, 58000 Nevers",
        donation.collection.collected_at.astimezone().strftime("%d/%m/%Y"),
        "Don en nature",
        "Ordinateur portable",
        "Dell Latitude 5490",
        "Écran 24 pouces",
        "5CG1A",
        "5CG1B",
        "CN0SCR",
        "1 250,50 €",
        "article 238 bis du code général des impôts",
    ):
        assert expected in text, expected
    assert "Total 3" in text
    assert [m.to for m in mailoutbox] == [[donation.contact_email]]
    assert document.public_facts["Valeur déclarée par l'entreprise"] == "1 250,50 €"
    assert "camille" not in str(document.public_facts).lower()
    # The donor finds it on the tracking page.
    client.logout()
    page = client.get(f"/dons/suivi/{tracking_token(donation)}/").content.decode()
    assert document.number in page


@pytest.mark.parametrize("value", ["0", "-5", "abc", ""])
def test_a_value_must_be_positive_euros(client, coordinator, refurbisher_org, value):
    donation = _received_company_donation(coordinator, refurbisher_org)
    response = client.post(f"/dons/suivi/{tracking_token(donation)}/recu-fiscal/", {"declared_value": value})
    assert response.status_code == 400
    assert "Valeur de votre don" in response.content.decode()
    assert not TaxReceiptRequest.objects.exists()


def test_the_database_refuses_a_zero_value(coordinator, refurbisher_org):
    from django.db import IntegrityError

    donation = _received_company_donation(coordinator, refurbisher_org)
    with pytest.raises(IntegrityError):
        TaxReceiptRequest.objects.create(donation=donation, declared_value=0)


def test_individuals_and_public_bodies_cannot_ask(client, coordinator, refurbisher_org):
    site = factories.workshop(refurbisher_org)
    individual = factories.received(
        coordinator,
        refurbisher_org,
        site=site,
        kind=DonorKind.INDIVIDUAL,
        handover_mode=HandoverMode.DROP_OFF,
        drop_off_site=site,
    )
    response = client.post(
        f"/dons/suivi/{tracking_token(individual)}/recu-fiscal/", {"declared_value": "100"}
    )
    assert response.status_code == 403
    assert "Seules les entreprises peuvent demander un reçu fiscal" in response.content.decode()

    public = factories.received(coordinator, refurbisher_org, site=site, kind=DonorKind.PUBLIC_BODY)
    client.force_login(factories.donor_member(public, username="commune"))
    response = client.post(f"/dons/{public.uuid}/recu-fiscal/", {"declared_value": "100"})
    assert response.status_code == 403
    assert "organismes publics" in response.content.decode()
    assert not TaxReceiptRequest.objects.exists()
    with pytest.raises(services.TaxReceiptRefused):
        services.tax_receipt_ask(donation=public, declared_value=Decimal("100"))


def test_a_donation_not_yet_received_cannot_have_a_receipt(client, coordinator, refurbisher_org):
    donation = factories.qualified(coordinator, refurbisher_org)
    response = client.post(f"/dons/suivi/{tracking_token(donation)}/recu-fiscal/", {"declared_value": "100"})
    assert response.status_code == 400
    assert "une fois le don réceptionné" in response.content.decode()


def test_who_may_ask_and_decide(client, coordinator, refurbisher, refurbisher_org):
    donation = _received_company_donation(coordinator, refurbisher_org)
    other = member_of(OrganisationFactory(kind=OrganisationKind.COMPANY, name="Autre SA"), username="autre")
    client.force_login(other)
    assert client.post(f"/dons/{donation.uuid}/recu-fiscal/", {"declared_value": "100"}).status_code == 404
    client.force_login(refurbisher)  # the workshop sees the donation but does not act for the donor
    assert client.post(f"/dons/{donation.uuid}/recu-fiscal/", {"declared_value": "100"}).status_code == 403
    receipt = services.tax_receipt_ask(donation=donation, declared_value=Decimal("80"))
    assert (
        client.post(f"/dons/recus-fiscaux/{receipt.uuid}/decision/", {"decision": "issue"}).status_code == 403
    )
    client.force_login(factories.donor_member(donation, username="entreprise"))
    assert (
        client.post(f"/dons/recus-fiscaux/{receipt.uuid}/decision/", {"decision": "issue"}).status_code == 403
    )
    receipt.refresh_from_db()
    assert receipt.status == TaxReceiptStatus.REQUESTED and receipt.document is None


def test_the_coordinator_refuses_with_a_reason(client, coordinator, refurbisher_org, mailoutbox):
    donation = _received_company_donation(coordinator, refurbisher_org)
    receipt = services.tax_receipt_ask(donation=donation, declared_value=Decimal("80"))
    client.force_login(coordinator)
    url = f"/dons/recus-fiscaux/{receipt.uuid}/decision/"
    client.post(url, {"decision": "refuse", "reason": ""})
    receipt.refresh_from_db()
    assert receipt.status == TaxReceiptStatus.REQUESTED
    mailoutbox.clear()
    client.post(url, {"decision": "refuse", "reason": "La valeur nette comptable de ce matériel est nulle."})
    receipt.refresh_from_db()
    assert receipt.status == TaxReceiptStatus.REFUSED
    assert [m.to for m in mailoutbox] == [[donation.contact_email]]
    assert "valeur nette comptable" in mailoutbox[0].body
    # Refused: the company may ask again.
    assert services.tax_receipt_ask(donation=donation, declared_value=Decimal("40")).status == "requested"


def test_the_api_asks_for_a_receipt_with_readable_errors(client, coordinator, refurbisher_org):
    donation = _received_company_donation(coordinator, refurbisher_org)
    client.force_login(factories.donor_member(donation, username="entreprise"))
    url = f"/api/donations/{donation.uuid}/tax-receipt/"
    response = client.post(url, {"declared_value": "0"}, content_type="application/json")
    assert response.status_code == 400 and "declared_value" in response.json()
    response = client.post(url, {"declared_value": "420.00"}, content_type="application/json")
    assert response.status_code == 201 and response.json()["status"] == "requested"
    response = client.post(url, {"declared_value": "420.00"}, content_type="application/json")
    assert response.status_code == 400 and "déjà été demandé" in response.json()["detail"]

    public = factories.received(coordinator, refurbisher_org, kind=DonorKind.PUBLIC_BODY)
    client.force_login(factories.donor_member(public, username="commune"))
    response = client.post(
        f"/api/donations/{public.uuid}/tax-receipt/",
        {"declared_value": "10"},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert "Seules les entreprises" in response.json()["detail"]


def test_no_receipt_without_the_networks_siren(client, coordinator, refurbisher_org, settings):
    """Form 2041-MEC-SD identifies the receiving body: with no NETWORK_SIREN and no SIRET on the
    coordinator organisation, the coordinator is told what to configure and nothing is issued."""
    from reemploi.enums import OrganisationKind
    from reemploi.models import Document, Organisation

    settings.NETWORK_SIREN = ""
    Organisation.objects.filter(kind=OrganisationKind.COORDINATOR).update(siret="")
    donation = _received_company_donation(coordinator, refurbisher_org)
    receipt = TaxReceiptRequest.objects.create(donation=donation, declared_value=Decimal("300"))
    client.force_login(coordinator)
    response = client.post(
        f"/dons/recus-fiscaux/{receipt.uuid}/decision/", {"decision": "issue"}, follow=True
    )
    assert "NETWORK_SIREN" in response.content.decode()
    receipt.refresh_from_db()
    assert receipt.status == TaxReceiptStatus.REQUESTED
    assert not Document.objects.filter(kind="tax_receipt").exists()
    # The coordinator organisation's SIRET is enough.
    Organisation.objects.filter(kind=OrganisationKind.COORDINATOR).update(siret="82414798700013")
    client.post(f"/dons/recus-fiscaux/{receipt.uuid}/decision/", {"decision": "issue"})
    receipt.refresh_from_db()
    assert receipt.status == TaxReceiptStatus.ISSUED
