from datetime import date, timedelta

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from donors.enums import Channel, DonationStatus, Verdict
from donors.models import Donation
from reemploi.enums import DeviceState, OrganisationKind, Role
from reemploi.models import Device
from tests.reemploi.factories import OrganisationFactory, member_of

from . import factories
from .factories import line

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def company():
    factories.commune()
    return OrganisationFactory(kind=OrganisationKind.COMPANY, name="Nivernaise SAS", siret="73282932000074")


def payload(**overrides):
    data = {
        "contact_name": "Service informatique",
        "contact_email": "dsi@example.org",
        "postal_code": "58000",
        "address": "1 rue du Commerce",
        "handover_mode": "pickup",
        "availability": ["mon-am"],
        "privacy_consent": True,
        "lines": [
            {
                "category": "laptop",
                "quantity": 3,
                "age_years": 4,
                "condition": "works",
                "announced_items": [{"serial_number": "PF1AAA", "asset_tag": "INV-1"}],
            },
            {"category": "cable", "quantity": 10},
        ],
    }
    data.update(overrides)
    return data


def test_a_company_intranet_creates_a_donation_with_its_token(api, company):
    member = member_of(company)
    token = Token.objects.create(user=member)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    response = api.post("/api/donations/", payload(), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["reference"].startswith("DON-") and body["status"] == "submitted"
    assert body["donor_organisation"] == str(company.uuid)
    assert [line["verdict"] for line in body["lines"]] == ["accepted", "refused"]
    assert "souris" in body["lines"][1]["verdict_reason"]
    donation = Donation.objects.get()
    assert donation.channel == Channel.API and donation.created_by == member


def test_creating_for_another_organisation_is_forbidden(api, company):
    outsider = member_of(OrganisationFactory(kind=OrganisationKind.COMPANY))
    api.force_authenticate(outsider)
    response = api.post("/api/donations/", payload(donor_organisation=str(company.uuid)), format="json")
    assert response.status_code == 403
    reader = member_of(company, role=Role.READ_ONLY)
    api.force_authenticate(reader)
    assert api.post("/api/donations/", payload(), format="json").status_code == 403
    assert not Donation.objects.exists()


def test_bad_input_is_a_readable_400(api, company):
    api.force_authenticate(member_of(company))
    response = api.post(
        "/api/donations/",
        payload(postal_code="99999", lines=[{"category": "fridge", "quantity": 0}]),
        format="json",
    )
    assert response.status_code == 400
    assert "lines" in response.json() or "commune" in response.json()
    only_cables = payload(lines=[{"category": "cable", "quantity": 3}])
    response = api.post("/api/donations/", only_cables, format="json")
    assert response.status_code == 400 and "Aucun des équipements" in str(response.json()["lines"])
    response = api.post("/api/donations/", payload(privacy_consent=False), format="json")
    assert response.status_code == 400 and "privacy_consent" in response.json()
    assert not Donation.objects.exists()


def test_creation_is_throttled(api, company, monkeypatch):
    from rest_framework.throttling import ScopedRateThrottle

    rates = {**ScopedRateThrottle.THROTTLE_RATES, "donation_form": "2/hour"}
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", rates)
    api.force_authenticate(member_of(company))
    codes = [api.post("/api/donations/", payload(), format="json").status_code for _ in range(3)]
    assert codes == [201, 201, 429]
    assert Donation.objects.count() == 2


def test_evaluate_says_what_the_rules_decide_without_recording(api, company):
    api.force_authenticate(member_of(company))
    response = api.post(
        "/api/donations/evaluate/",
        {"donor_kind": "individual", "lines": [{"category": "laptop", "quantity": 1, "age_years": 14}]},
        format="json",
    )
    body = response.json()
    assert body["lines"][0]["verdict"] == "deee" and body["drop_off_only"] is True
    assert not Donation.objects.exists()


def test_list_and_read_are_scoped(api, coordinator, refurbisher_org):
    mine = factories.submit()
    theirs = factories.submit(organisation_name="Tiers SARL", siret="44306184100047")
    member = factories.donor_member(mine)
    api.force_authenticate(member)
    listed = api.get("/api/donations/").json()
    assert [row["reference"] for row in listed["results"]] == [mine.reference]
    outside = api.get(f"/api/donations/{theirs.uuid}/")
    assert outside.status_code == 404 and outside.json() == {"detail": "Non trouvé."}
    api.force_authenticate(coordinator)
    assert api.get("/api/donations/").json()["count"] == 2
    assert api.get("/api/donations/", {"status": "submitted"}).json()["count"] == 2
    workshop_user = member_of(refurbisher_org)
    api.force_authenticate(workshop_user)
    assert api.get("/api/donations/").json()["count"] == 0


def test_one_action_per_step_from_qualification_to_reception(api, coordinator, refurbisher, refurbisher_org):
    donation = factories.submit(
        lines=[
            line("laptop", 2, announced_items=[{"serial_number": "PF1AAA", "asset_tag": ""}]),
            line("cable", 4),
        ]
    )
    site = factories.workshop(refurbisher_org)
    api.force_authenticate(coordinator)
    url = f"/api/donations/{donation.uuid}/"
    response = api.post(
        url + "qualify/",
        {
            "refurbisher": str(refurbisher_org.uuid),
            "lines": [
                {"position": 1, "decision": "accepted", "quantity": 2},
                {"position": 2, "decision": "refused", "reason": "Câbles non collectés"},
            ],
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "qualified"
    assert Device.objects.get(serial_number="PF1AAA").state == DeviceState.EXPECTED

    api.force_authenticate(refurbisher)
    response = api.post(
        url + "schedule/",
        {
            "planned_date": (date.today() + timedelta(days=2)).isoformat(),
            "slot_start": "09:00",
            "slot_end": "10:00",
            "carrier": str(refurbisher_org.uuid),
        },
        format="json",
    )
    assert response.status_code == 200 and response.json()["collection"]["status"] == "proposed"
    response = api.post(url + "collect/", {"items_count": 2, "weight_kg": "4.40"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "collected"
    response = api.post(
        url + "receive/",
        {
            "site": str(site.uuid),
            "weight_kg": "4.50",
            "lines": [{"position": 1, "received_quantity": 2, "items": [{"serial_number": "PF1AAA"}]}],
            "extra_lines": [{"category": "mouse", "received_quantity": 1}],
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "received"
    assert [(row["position"], row["received_quantity"]) for row in body["reception"]["lines"]] == [
        (1, 2),
        (3, 1),
    ]
    assert Device.objects.filter(donation_line__donation=donation, state=DeviceState.RECEIVED).count() == 3


def test_steps_out_of_order_are_409_and_forbidden_ones_403(api, coordinator, refurbisher, refurbisher_org):
    donation = factories.submit()
    factories.workshop(refurbisher_org)
    url = f"/api/donations/{donation.uuid}/"
    api.force_authenticate(coordinator)
    response = api.post(url + "collect/", {"items_count": 1, "weight_kg": "1"}, format="json")
    assert response.status_code == 409 and "Seul un don" in response.json()["detail"]
    qualified = factories.qualified(coordinator, refurbisher_org)
    api.force_authenticate(refurbisher)
    response = api.post(
        f"/api/donations/{qualified.uuid}/qualify/",
        {"refurbisher": str(refurbisher_org.uuid), "lines": [{"position": 1, "decision": "accepted"}]},
        format="json",
    )
    assert response.status_code == 403
    response = api.post(url + "qualify/", {"lines": [{"position": 9, "decision": "accepted"}]}, format="json")
    assert response.status_code == 404  # not assigned to this workshop: out of its scope


def test_qualify_errors_are_readable(api, coordinator):
    donation = factories.submit()
    api.force_authenticate(coordinator)
    response = api.post(
        f"/api/donations/{donation.uuid}/qualify/",
        {"lines": [{"position": 1, "decision": Verdict.ACCEPTED}]},
        format="json",
    )
    assert response.status_code == 400 and "atelier" in str(response.json())
    donation.refresh_from_db()
    assert donation.status == DonationStatus.SUBMITTED


def test_the_schema_documents_the_donations_api(api, coordinator):
    api.force_authenticate(coordinator)
    schema = api.get("/api/schema/").content.decode()
    for path in ("/api/donations/", "/qualify/", "/schedule/", "/collect/", "/receive/", "/evaluate/"):
        assert path in schema
