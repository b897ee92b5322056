import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from reemploi.enums import DeviceState
from relais.models import Sale
from tests.beneficiaries.factories import BeneficiaryFactory, CheckFactory, CriterionFactory, VoucherFactory
from tests.reemploi.factories import OrganisationFactory, departement, member_of

from .factories import sell, stock_device

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(staff):
    client = APIClient()
    client.force_authenticate(staff)
    return client


def _sale(buyer, *lines):
    return {
        "beneficiary": str(buyer.uuid),
        "payment_method": "card",
        "lines": [
            {"device": str(d.uuid), "price": p, **({"bundle": b[0]} if b else {})} for d, p, *b in lines
        ],
    }


def test_api_sells_at_180_and_refuses_180_01_with_a_400(api, buyer, relais):
    laptop, other = stock_device(relais), stock_device(relais)
    refused = api.post("/api/sales/", _sale(buyer, (laptop, "180.01")), format="json")
    assert refused.status_code == 400
    assert "dépasse le plafond légal de 180,00 €" in refused.json()["detail"]
    created = api.post("/api/sales/", _sale(buyer, (laptop, "180.00")), format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["total"] == "180.00" and body["lines"][0]["cap_amount"] == "180.00"
    quota = api.post("/api/sales/", _sale(buyer, (other, "100")), format="json")
    assert quota.status_code == 400 and "Quota atteint" in quota.json()["detail"]


def test_api_sale_for_someone_else_s_beneficiary_is_refused(api, relais):
    stranger = CheckFactory(beneficiary=BeneficiaryFactory()).beneficiary
    response = api.post("/api/sales/", _sale(stranger, (stock_device(relais), "100")), format="json")
    assert response.status_code == 400 and "inconnu" in str(response.json())


def test_api_scopes_beneficiaries_and_sales_between_relais(api, relais, staff):
    mine = BeneficiaryFactory(relais=relais)
    other_relais = OrganisationFactory(relais=True, departement=departement())
    theirs = CheckFactory(beneficiary=BeneficiaryFactory(relais=other_relais)).beneficiary
    their_sale = sell(member_of(other_relais), theirs, (stock_device(other_relais), "90"))
    listed = [b["uuid"] for b in api.get("/api/beneficiaries/").json()["results"]]
    assert listed == [str(mine.uuid)]
    assert api.get(f"/api/beneficiaries/{theirs.uuid}/").status_code == 404
    assert api.get(f"/api/sales/{their_sale.uuid}/").status_code == 404
    assert api.get(f"/api/beneficiaries/{theirs.uuid}/export/").status_code == 404


def test_api_departement_staff_get_no_beneficiaries(db):
    client = APIClient()
    client.force_authenticate(member_of(OrganisationFactory(departement_staff=True)))
    assert client.get("/api/beneficiaries/").status_code == 403


def test_api_registers_a_person_and_records_a_check(api, relais):
    commune = BeneficiaryFactory().commune
    criterion = CriterionFactory()
    created = api.post(
        "/api/beneficiaries/",
        {"first_name": "Inès", "last_name": "Moreau", "commune": commune.insee_code, "household_size": 4},
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["household_size"] == 4
    url = f"/api/beneficiaries/{created.json()['uuid']}/checks/"
    bad = api.post(url, {"criterion": str(criterion.uuid), "document_type": "nope"}, format="json")
    assert bad.status_code == 400
    ok = api.post(url, {"criterion": str(criterion.uuid), "document_type": "caf"}, format="json")
    assert ok.status_code == 201 and ok.json()["valid_until"]


def test_api_loans_with_overdue_filter_and_return(api, relais):
    person = BeneficiaryFactory(relais=relais)
    tablet = stock_device(relais, "tablet")
    created = api.post(
        "/api/loans/",
        {"device": str(tablet.uuid), "beneficiary": str(person.uuid), "due_on": "2099-01-01"},
        format="json",
    )
    assert created.status_code == 201
    assert api.get("/api/loans/?overdue=true").json()["results"] == []
    returned = api.post(f"/api/loans/{created.json()['uuid']}/return/", {"note": "ok"}, format="json")
    assert returned.status_code == 200 and returned.json()["returned_at"]
    tablet.refresh_from_db()
    assert tablet.state == DeviceState.IN_STOCK


def test_api_return_under_guarantee_and_send_to_workshop(api, staff, buyer, relais):
    laptop = stock_device(relais)
    sale = sell(staff, buyer, (laptop, "150"))
    created = api.post(
        "/api/guarantee-returns/",
        {"sale": str(sale.uuid), "device": str(laptop.uuid), "defect": "Écran cassé", "remedy": "repair"},
        format="json",
    )
    assert created.status_code == 201 and created.json()["defect_presumed"] is True
    workshop = OrganisationFactory(refurbisher=True)
    sent = api.post(
        f"/api/guarantee-returns/{created.json()['uuid']}/send/",
        {"refurbisher": str(workshop.uuid)},
        format="json",
    )
    assert sent.status_code == 200
    laptop.refresh_from_db()
    assert laptop.state == DeviceState.RECEIVED and laptop.holder == workshop


def test_api_voucher_issue_and_redeem(api, relais):
    prescriber = OrganisationFactory(prescriber=True)
    social = APIClient()
    social.force_authenticate(member_of(prescriber))
    commune = BeneficiaryFactory().commune
    issued = social.post(
        "/api/vouchers/",
        {"last_name": "Benali", "commune": commune.insee_code, "household_size": 2},
        format="json",
    )
    assert issued.status_code == 201, issued.json()
    redeemed = api.post("/api/vouchers/redeem/", {"code": issued.json()["display_code"]}, format="json")
    assert redeemed.status_code == 200 and redeemed.json()["beneficiary"]
    again = api.post("/api/vouchers/redeem/", {"code": issued.json()["code"]}, format="json")
    assert again.status_code == 400 and "déjà été utilisé" in str(again.json())
    expired = VoucherFactory(expires_on="2020-01-01")
    assert api.post("/api/vouchers/redeem/", {"code": expired.code}, format="json").status_code == 400


def test_api_kernel_transition_to_sold_is_a_409(api, relais):
    laptop = stock_device(relais)
    response = api.post(f"/api/devices/{laptop.uuid}/transition/", {"to_state": "sold"}, format="json")
    assert response.status_code == 409 and "Ventes" in response.json()["detail"]
    assert not Sale.objects.exists()


def test_api_stock_shows_caps_and_the_directory_exports_csv(api, relais):
    stock_device(relais, "screen")
    body = api.get("/api/stock/").json()
    assert body["results"][0]["cap"] == "30.00"
    response = api.get(reverse("relais-site-mednum"))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")


def test_api_relais_updates_its_directory_profile_and_not_another_one(api, relais):
    from relais.models import RelaisProfile
    from tests.reemploi.factories import SiteFactory

    site = SiteFactory(organisation=relais, is_relais_shop=True, latitude=None, longitude=None)
    url = reverse("relais-site-profile", args=[site.uuid])
    response = api.post(url, {"opening_hours": "Lundi 9h-12h"}, format="json")
    assert response.status_code == 400 and "OpenStreetMap" in str(response.json())
    response = api.post(
        url,
        {
            "opening_hours": "Mo-Fr 09:00-12:00",
            "is_itinerant": True,
            "public_devices": 3,
            "pivot": "W581234567",
        },
        format="json",
    )
    body = response.json()
    assert (
        response.status_code == 200 and body["opening_hours"] == "Mo-Fr 09:00-12:00" and body["is_itinerant"]
    )
    assert body["public_devices"] == 3 and body["coordinates_approximate"]
    # Only what is sent changes.
    body = api.post(url, {"latitude": 46.99, "longitude": 3.16}, format="json").json()
    assert body["opening_hours"] == "Mo-Fr 09:00-12:00" and not body["coordinates_approximate"]
    assert site.relais_profile.pivot == "W581234567"
    other = SiteFactory(organisation=OrganisationFactory(relais=True), is_relais_shop=True)
    response = api.post(
        reverse("relais-site-profile", args=[other.uuid]), {"is_itinerant": True}, format="json"
    )
    assert response.status_code == 403 and not RelaisProfile.objects.filter(site=other).exists()


def test_api_directory_import_reports_errors_per_row_for_the_coordinator(api, coordinator):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.reemploi.factories import CommuneFactory

    CommuneFactory(insee_code="58194", name="Nevers", latitude=46.99, longitude=3.16)
    header = "id,pivot,nom,commune,code_postal,code_insee,adresse,date_maj,services\n"
    good = "lieu-1,W581234567,Le Lien,Nevers,58000,58194,3 rue du Midi,2025-03-01,Acquisition de matériel informatique à prix solidaire\n"
    bad = "lieu-2,1,Sans pivot,Nevers,5800,58194,,01/03/2025,\n"
    url = reverse("relais-site-mednum-import")
    upload = SimpleUploadedFile("lieux.csv", (header + good + bad).encode(), content_type="text/csv")
    assert api.post(url, {"file": upload}, format="multipart").status_code == 403  # relais staff
    client = APIClient()
    client.force_authenticate(coordinator)
    upload = SimpleUploadedFile("lieux.csv", (header + good + bad).encode(), content_type="text/csv")
    response = client.post(url, {"file": upload}, format="multipart")
    body = response.json()
    assert response.status_code == 200 and (body["created"], body["updated"]) == (1, 0)
    assert {(e["line"], e["field"]) for e in body["errors"]} == {
        (3, "pivot"),
        (3, "code_postal"),
        (3, "adresse"),
        (3, "date_maj"),
    }
    upload = SimpleUploadedFile("lieux.csv", (header + bad).encode(), content_type="text/csv")
    assert client.post(url, {"file": upload}, format="multipart").status_code == 400


def test_api_coordinator_ends_a_criterion(coordinator, relais):
    criterion = CriterionFactory(family_quotient=True)
    client = APIClient()
    client.force_authenticate(coordinator)
    url = reverse("eligibility-criterion-end", args=[criterion.uuid])
    response = client.post(url, {"effective_until": "2000-01-01"}, format="json")
    assert response.status_code == 400 and "précéder" in str(response.json())
    response = client.post(url, {"effective_until": "2099-12-31"}, format="json")
    assert response.status_code == 200 and response.json()["effective_until"] == "2099-12-31"
    staff = APIClient()
    staff.force_authenticate(member_of(relais))
    assert staff.post(url, {"effective_until": "2099-12-30"}, format="json").status_code == 403
