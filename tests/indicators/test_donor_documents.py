"""The reuse attestation (décret n° 2023-266) and the impact report: what their PDF says, who may ask
for them, and how they are issued automatically."""

import io
from decimal import Decimal

import pytest
from django.utils import timezone
from pypdf import PdfReader

from donors import services as donors_services
from donors.enums import DonorKind, HandoverMode
from indicators import services
from indicators.models import IndicatorSnapshot, SnapshotRun
from reemploi.enums import DeviceState, DocumentStatus, OrganisationKind
from reemploi.lifecycle import device_transition
from reemploi.models import Device, Document
from tests.beneficiaries.factories import BeneficiaryFactory, CheckFactory
from tests.donors import factories
from tests.donors.factories import line
from tests.reemploi.factories import CommuneFactory, OrganisationFactory, departement, member_of
from tests.relais.factories import sell

from .factories import departement_org

pytestmark = pytest.mark.django_db(transaction=True)

SERIALS = ["PF3PUB01", "PF3PUB02", "PF3PUB03", "PF3PUB04"]


def text_of(document):
    with document.file.open("rb") as handle:
        return " ".join(" ".join(page.extract_text() for page in PdfReader(handle).pages).split())


def _received(coordinator, refurbisher_org, kind, serials, **kwargs):
    """A donation received with one laptop per serial number."""
    donation = factories.collected(
        coordinator, refurbisher_org, kind=kind, lines=[line("laptop", len(serials))], **kwargs
    )
    donors_services.donation_receive(
        donation=donation,
        actor=coordinator,
        site=factories.workshop(refurbisher_org),
        weight_kg=Decimal("9"),
        lines=[
            {
                "line": donation.lines.get(),
                "received_quantity": len(serials),
                "items": [{"serial_number": s} for s in serials],
            }
        ],
    )
    donation.refresh_from_db()
    return donation


def _sell_to(coordinator, device, relais, beneficiary):
    Device.objects.filter(pk=device.pk).update(state=DeviceState.IN_STOCK, holder=relais, price=Decimal("90"))
    device.refresh_from_db()
    return sell(coordinator, beneficiary, (device, 90))


@pytest.fixture
def chain(coordinator, refurbisher_org):
    """A public body's donation of four laptops: one sold to a person of Decize, one lent to a person
    of Imphy, one sent to DEEE treatment, one still at the workshop."""
    donation = _received(coordinator, refurbisher_org, DonorKind.PUBLIC_BODY, SERIALS)
    devices = {d.serial_number: d for d in Device.objects.filter(donation_line__donation=donation)}
    relais = OrganisationFactory(relais=True, name="Relais de Decize", departement=departement())
    decize = CommuneFactory(insee_code="58095", name="Decize")
    imphy = CommuneFactory(insee_code="58134", name="Imphy")
    buyer = CheckFactory(
        beneficiary=BeneficiaryFactory(
            relais=relais, commune=decize, first_name="Yasmine", last_name="Durandeau"
        )
    ).beneficiary
    borrower = CheckFactory(beneficiary=BeneficiaryFactory(relais=relais, commune=imphy)).beneficiary
    _sell_to(coordinator, devices["PF3PUB01"], relais, buyer)
    from relais import services as relais_services

    lent = devices["PF3PUB02"]
    Device.objects.filter(pk=lent.pk).update(state=DeviceState.IN_STOCK, holder=relais)
    lent.refresh_from_db()
    relais_services.loan_create(
        actor=coordinator, relais=relais, beneficiary=borrower, device=lent, due_on=timezone.localdate()
    )
    device_transition(device=devices["PF3PUB03"], to_state=DeviceState.DEEE, actor=coordinator, note="lot")
    return {"donation": donation, "organisation": donation.donor_organisation, "buyer": buyer}


def test_reuse_attestation_gives_each_serials_outcome_and_the_decree_ratio(chain, coordinator):
    organisation, year = chain["organisation"], timezone.localdate().year
    document = services.reuse_attestation_request(
        organisation=organisation, year=year, requested_by=coordinator
    )
    document.refresh_from_db()
    assert document.status == DocumentStatus.ISSUED, document.error
    assert document.number.startswith(f"ATR-{year}-")
    text = text_of(document)
    for expected in (
        "Attestation de réemploi",
        organisation.name,
        "SIREN 215801945",
        chain["donation"].reference,
        "Réemployé",
        "Recyclé (traitement DEEE)",
        "En cours de traitement",
        *SERIALS,
        # A = 2 reused (sold, lent) of 4 laptops (DEEE 6°), B = 120 declared: 1.7 %, target 50 %.
        "1,7 %",
        "objectif",
        "120 équipements réformés en stock au 1er janvier",  # B
    ):
        assert expected in text, expected
    outcomes = {serial: text.split(serial, 1)[1][:80] for serial in SERIALS}
    assert "Réemployé" in outcomes["PF3PUB01"] and "Réemployé" in outcomes["PF3PUB02"]
    assert "Recyclé" in outcomes["PF3PUB03"] and "En cours" in outcomes["PF3PUB04"]
    assert "Durandeau" not in text and "Yasmine" not in text

    # The same A, B and ratio as the indicator, which reads B through the same selector.
    services.snapshots_compute(run_id=SnapshotRun.objects.create().pk)
    row = IndicatorSnapshot.objects.get(
        indicator="public_donor_reuse", period_type="year", territory_type="departement"
    )
    (line_,) = row.extra["donors"]
    assert (line_["oriented"], line_["retired_stock"]) == (2, 120)
    assert f"{line_['ratio']:.1f}".replace(".", ",") + " %" in text


def test_impact_report_of_a_donation_counts_people_by_commune_and_no_personal_data(chain, client):
    donation = chain["donation"]
    member = factories.donor_member(donation, username="cc-loire")
    client.force_login(member)
    response = client.post(f"/indicateurs/bilan-impact/don/{donation.uuid}/")
    assert response.status_code == 302
    document = Document.objects.get(kind="impact_report", donation=donation)
    assert document.status == DocumentStatus.ISSUED, document.error
    text = text_of(document)
    for expected in (
        "Bilan d'impact",
        donation.reference,
        "Decize (58) 1",
        "Imphy (58) 1",
        "2 personnes et 0 structure",
        "6,6 kg",  # 3 laptops sold, lent or recycled, typical 2.2 kg each
    ):
        assert expected in text, expected
    assert "Durandeau" not in text and "Yasmine" not in text
    assert "Durandeau" not in str(document.public_facts)
    # It is listed on the donor's page and the donor was emailed.
    page = client.get(f"/dons/{donation.uuid}/").content.decode()
    assert document.number in page


def test_a_tampered_attestation_fails_verification_and_a_new_version_supersedes_it(
    chain, client, coordinator
):
    organisation, year = chain["organisation"], timezone.localdate().year
    first = services.reuse_attestation_request(organisation=organisation, year=year, requested_by=coordinator)
    first.refresh_from_db()
    with first.file.open("rb") as handle:
        original = handle.read()
    middle = len(original) // 2  # one byte changed inside the file (its text is compressed)
    tampered = original[:middle] + bytes([original[middle] ^ 0x01]) + original[middle + 1 :]
    url = f"/v/{first.verification_code}/"
    for content, verdict in ((original, "Identique"), (tampered, "Différent")):
        upload = io.BytesIO(content)
        upload.name = "attestation.pdf"
        assert f"<strong>{verdict}</strong>" in client.post(url, {"file": upload}).content.decode()

    second = services.reuse_attestation_request(
        organisation=organisation, year=year, requested_by=coordinator
    )
    second.refresh_from_db()
    assert second.supersedes_id == first.pk and second.number != first.number
    page = client.get(url).content.decode()
    assert "remplacé" in page and second.number in page


def test_who_may_ask_for_a_donor_document(chain, client, refurbisher_org):
    organisation, year = chain["organisation"], timezone.localdate().year
    stranger_org = OrganisationFactory(kind=OrganisationKind.PUBLIC_BODY, name="Autre commune")
    data = {"organisation": str(organisation.uuid), "year": year}

    client.force_login(member_of(stranger_org, username="autre"))
    assert client.post("/indicateurs/attestation-reemploi/", data).status_code == 404
    client.force_login(member_of(departement_org("58"), username="dep"))
    assert client.post("/indicateurs/attestation-reemploi/", data).status_code == 403
    assert client.post(f"/indicateurs/bilan-impact/don/{chain['donation'].uuid}/").status_code == 404
    client.force_login(member_of(refurbisher_org, username="atelier-x"))
    assert client.post(f"/indicateurs/bilan-impact/don/{chain['donation'].uuid}/").status_code == 403

    member = factories.donor_member(chain["donation"], username="cc-loire")
    client.force_login(member)
    assert client.post("/indicateurs/attestation-reemploi/", {**data, "year": year + 1}).status_code == 400
    assert client.post("/indicateurs/attestation-reemploi/", data).status_code == 302
    assert Document.objects.filter(kind="reuse_attestation", owner=organisation).count() == 1


def test_a_company_gets_no_reuse_attestation(coordinator, refurbisher_org, client):
    donation = _received(coordinator, refurbisher_org, DonorKind.COMPANY, ["PFCOMP1"])
    client.force_login(factories.donor_member(donation, username="entreprise"))
    data = {"organisation": str(donation.donor_organisation.uuid), "year": timezone.localdate().year}
    response = client.post("/indicateurs/attestation-reemploi/", data)
    assert response.status_code == 400
    assert "réservée aux donateurs publics" in response.content.decode()


def test_january_attestations_and_final_impact_reports_are_issued_once(
    chain, coordinator, settings, mailoutbox
):
    tasks = settings.CELERY_BEAT_SCHEDULE
    assert (
        tasks["indicators-reuse-attestations"]["task"] == "indicators.tasks.issue_yearly_reuse_attestations"
    )
    assert tasks["indicators-final-impact-reports"]["task"] == "indicators.tasks.issue_final_impact_reports"
    from indicators import tasks as indicator_tasks

    year = timezone.localdate().year
    assert services.yearly_reuse_attestations(year=year) == 1
    assert services.yearly_reuse_attestations(year=year) == 0
    # The donation still has a device at the workshop: no impact report yet.
    assert indicator_tasks.issue_final_impact_reports() == 0
    device = Device.objects.get(serial_number="PF3PUB04")
    device_transition(device=device, to_state=DeviceState.DEEE, actor=coordinator, note="lot DEEE")
    mailoutbox.clear()
    assert indicator_tasks.issue_final_impact_reports() == 1
    assert indicator_tasks.issue_final_impact_reports() == 0
    report = Document.objects.get(kind="impact_report", donation=chain["donation"])
    assert report.status == DocumentStatus.ISSUED
    assert [m.to for m in mailoutbox] == [[chain["donation"].contact_email]]
    assert report.number in mailoutbox[0].subject


def test_individual_donation_impact_report_from_the_tracking_link(coordinator, refurbisher_org, client):
    site = factories.workshop(refurbisher_org)
    donation = factories.received(
        coordinator,
        refurbisher_org,
        site=site,
        kind=DonorKind.INDIVIDUAL,
        handover_mode=HandoverMode.DROP_OFF,
        drop_off_site=site,
    )
    from donors.tokens import tracking_token

    token = tracking_token(donation)
    assert client.post(f"/indicateurs/bilan-impact/suivi/{token}/").status_code == 302
    report = Document.objects.get(kind="impact_report", donation=donation)
    assert report.public_facts["Donateur"] == "Particulier"
    page = client.get(f"/dons/suivi/{token}/").content.decode()
    assert report.number in page
    assert client.post("/indicateurs/bilan-impact/suivi/faux-jeton/").status_code == 404


def test_the_coordinators_page_lists_donors_and_pending_tax_receipts(client, coordinator, refurbisher_org):
    from donors.services import tax_receipt_ask

    donation = _received(coordinator, refurbisher_org, DonorKind.COMPANY, ["PFCOMP2"])
    tax_receipt_ask(donation=donation, declared_value=Decimal("1250"))
    client.force_login(coordinator)
    page = client.get("/indicateurs/documents-donateurs/").content.decode()
    assert donation.donor_organisation.name in page and donation.reference in page and "1\xa0250,00 €" in page
    client.force_login(member_of(departement_org("58"), username="dep"))
    assert client.get("/indicateurs/documents-donateurs/").status_code == 403
    client.force_login(factories.donor_member(donation, username="entreprise"))
    assert client.get("/indicateurs/documents-donateurs/").status_code == 403


def test_yearly_impact_report_from_the_space_and_no_access_for_departement_staff(chain, client):
    organisation, year = chain["organisation"], timezone.localdate().year
    member = factories.donor_member(chain["donation"], username="cc-loire")
    client.force_login(member)
    data = {"organisation": str(organisation.uuid), "year": year, "next": "/dons/"}
    assert client.post("/indicateurs/bilan-impact/", data).status_code == 302
    report = Document.objects.get(kind="impact_report", owner=organisation, params={"year": year})
    assert report.status == DocumentStatus.ISSUED, report.error
    text = text_of(report)
    assert f"Bilan d'impact {year}" in text and "4 appareils donnés" in text.replace("\n", " ")
    assert "Decize (58)" in text and "Durandeau" not in text
    space = client.get("/dons/").content.decode()
    assert report.number in space

    staff = member_of(departement_org("58"), username="dep")
    client.force_login(staff)
    assert client.get(f"/dons/{chain['donation'].uuid}/").status_code == 404
    assert client.get(f"/documents/{report.uuid}/telecharger/").status_code == 404
    assert client.post("/indicateurs/bilan-impact/", data).status_code == 403


def test_a_donor_gets_one_new_version_a_day_the_coordinator_any_time(chain, client, coordinator):
    """The private tracking link is enough to ask for an impact report: asking again the same day
    returns the day's document instead of issuing PDFs without end."""
    from donors.tokens import tracking_token

    donation = chain["donation"]
    url = f"/indicateurs/bilan-impact/suivi/{tracking_token(donation)}/"
    reports = Document.objects.filter(kind=services.IMPACT_REPORT, donation=donation)
    assert client.post(url).status_code == 302
    assert reports.get().status == DocumentStatus.ISSUED
    for _attempt in range(2):
        assert client.post(url).status_code == 302
    assert reports.count() == 1
    again = services.impact_report_request(donation=donation, requested_by=coordinator)
    assert again.supersedes_id == reports.earliest("id").pk
