import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from reemploi.enums import DeviceState as S
from refurbishers.models import Audit, ImportJob, Sanitisation
from tests.reemploi.factories import DeviceFactory, OrganisationFactory, member_of

from .factories import MediumFactory, ready_device, sanitised_device
from .test_imports import nwipe_v1

pytestmark = pytest.mark.django_db


@pytest.fixture
def audit_station(refurbisher):
    """An audit tool authenticated with the staff member's token, not a session."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=refurbisher).key}")
    return client


def test_audit_station_posts_an_nwipe_report_with_its_token(audit_station, refurbisher_org):
    device = DeviceFactory(holder=refurbisher_org, state=S.AUDITED)
    MediumFactory(device=device, serial_number="DISK-NW-1")
    upload = SimpleUploadedFile("nwipe_report.json", json.dumps(nwipe_v1()).encode())
    response = audit_station.post(
        "/api/refurbishers/imports/", {"kind": "nwipe", "files": [upload]}, format="multipart"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["saved"], body["rejected"]) == ("done", 1, 0)
    assert len(body["evidence"][0]["sha256"]) == 64
    device.refresh_from_db()
    assert device.state == S.SANITISED


def test_malformed_report_is_a_readable_400_and_saves_nothing(audit_station):
    upload = SimpleUploadedFile("machine.json", b"<html>")
    response = audit_station.post(
        "/api/refurbishers/imports/", {"kind": "lshw", "files": [upload]}, format="multipart"
    )
    assert response.status_code == 400
    assert "JSON valide" in response.json()["detail"] and not ImportJob.objects.exists()


def test_csv_import_is_accepted_and_then_done(
    audit_station, refurbisher_org, django_capture_on_commit_callbacks
):
    DeviceFactory(holder=refurbisher_org, serial_number="API-CSV-1")
    upload = SimpleUploadedFile(
        "lot.csv", b"identifiant;grade_esthetique;grade_fonctionnel\r\nAPI-CSV-1;A;fonctionnel\r\n"
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = audit_station.post(
            "/api/refurbishers/imports/", {"kind": "csv", "files": [upload]}, format="multipart"
        )
    assert response.status_code == 202
    job = audit_station.get(f"/api/refurbishers/imports/{response.json()['uuid']}/").json()
    assert (job["status"], job["saved"]) == ("done", 1)


def test_api_without_credentials_is_refused():
    assert APIClient().get("/api/refurbishers/devices/").status_code in (401, 403)


def test_api_is_scoped_to_the_workshop(audit_station, refurbisher_org):
    mine = DeviceFactory(holder=refurbisher_org, state=S.RECEIVED)
    theirs = DeviceFactory(state=S.RECEIVED)
    MediumFactory(device=theirs)
    listed = [d["uuid"] for d in audit_station.get("/api/refurbishers/devices/").json()["results"]]
    assert listed == [str(mine.uuid)]
    assert audit_station.get(f"/api/refurbishers/devices/{theirs.uuid}/").status_code == 404
    assert audit_station.get("/api/refurbishers/media/").json()["count"] == 0
    response = audit_station.post(
        "/api/refurbishers/audits/",
        {"device": str(theirs.uuid), "cosmetic_grade": "A", "functional_grade": "full"},
    )
    assert response.status_code == 400 and not Audit.objects.exists()


def test_read_only_member_gets_403_on_writes(refurbisher_org):
    reader = member_of(refurbisher_org, role="read_only")
    device = DeviceFactory(holder=refurbisher_org, state=S.RECEIVED)
    api = APIClient()
    api.force_authenticate(reader)
    assert api.get(f"/api/refurbishers/devices/{device.uuid}/").status_code == 200
    response = api.post(
        "/api/refurbishers/audits/",
        {"device": str(device.uuid), "cosmetic_grade": "A", "functional_grade": "full"},
    )
    assert response.status_code == 403
    response = api.post(f"/api/refurbishers/devices/{device.uuid}/no-storage/", {"reason": "rien"})
    assert response.status_code == 403


def test_full_workshop_flow_through_the_api(audit_station, refurbisher_org, relais_org, relais_user):
    device = DeviceFactory(holder=refurbisher_org, state=S.RECEIVED)
    response = audit_station.post(
        "/api/refurbishers/audits/",
        {
            "device": str(device.uuid),
            "cpu_model": "i5",
            "cosmetic_grade": "A",
            "functional_grade": "full",
            "battery_health_pct": 90,
        },
        format="json",
    )
    assert response.status_code == 201
    medium = audit_station.post(
        "/api/refurbishers/media/",
        {"device": str(device.uuid), "kind": "ssd", "serial_number": "API-SSD-1"},
        format="json",
    ).json()
    response = audit_station.post(
        f"/api/refurbishers/media/{medium['uuid']}/sanitisations/",
        {
            "level": "purge",
            "technique": "ata_sanitize_block",
            "tool": "hdparm",
            "tool_version": "9.65",
            "verification_method": "sampling",
            "verification_result": "passed",
            "started_at": "2026-03-01T09:00:00+01:00",
            "ended_at": "2026-03-01T09:05:00+01:00",
            "outcome": "erased",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    too_dear = {
        "cosmetic_grade": "A",
        "functional_grade": "full",
        "price": "181",
        "has_charger": True,
        "has_storage": True,
        "has_os": True,
        "battery_ok": True,
    }
    response = audit_station.post(f"/api/refurbishers/devices/{device.uuid}/ready/", too_dear, format="json")
    assert response.status_code == 400 and "plafond" in response.json()["price"][0]
    response = audit_station.post(
        f"/api/refurbishers/devices/{device.uuid}/ready/", {**too_dear, "price": "160"}, format="json"
    )
    assert response.status_code == 200 and response.json()["state"] == "ready"
    shipment = audit_station.post(
        "/api/refurbishers/shipments/",
        {"relais": str(relais_org.uuid), "devices": [str(device.uuid)]},
        format="json",
    ).json()
    response = audit_station.post(f"/api/refurbishers/shipments/{shipment['uuid']}/dispatch/")
    assert response.status_code == 200 and response.json()["status"] == "dispatched"
    relais = APIClient()
    relais.force_authenticate(relais_user)
    assert relais.post(f"/api/refurbishers/shipments/{shipment['uuid']}/dispatch/").status_code == 403
    response = relais.post(
        f"/api/refurbishers/shipments/{shipment['uuid']}/receive/",
        {"received": [str(device.uuid)]},
        format="json",
    )
    assert response.status_code == 200 and response.json()["status"] == "received"
    device.refresh_from_db()
    assert (device.state, device.holder) == (S.IN_STOCK, relais_org)


def test_api_dispatch_of_an_unsanitised_device_is_refused(audit_station, refurbisher_org, relais_org):
    device = ready_device(refurbisher_org)
    shipment = audit_station.post(
        "/api/refurbishers/shipments/",
        {"relais": str(relais_org.uuid), "devices": [str(device.uuid)]},
        format="json",
    ).json()
    MediumFactory(device=device, serial_number="LATE-API")
    response = audit_station.post(f"/api/refurbishers/shipments/{shipment['uuid']}/dispatch/")
    assert response.status_code == 400 and "LATE-API" in json.dumps(response.json(), ensure_ascii=False)
    device.refresh_from_db()
    assert device.state == S.READY


def test_waste_lot_api_refuses_r0_and_hands_over(audit_station, refurbisher_org):
    device = sanitised_device(refurbisher_org)
    base = {"waste_code": "16 02 14", "destination_name": "Envie 58", "destination_siret": "58123456400010"}
    assert (
        audit_station.post(
            "/api/refurbishers/waste-lots/", {**base, "treatment_code": "R0"}, format="json"
        ).status_code
        == 400
    )
    lot = audit_station.post(
        "/api/refurbishers/waste-lots/", {**base, "treatment_code": "R4"}, format="json"
    ).json()
    audit_station.post(
        f"/api/refurbishers/waste-lots/{lot['uuid']}/add-devices/",
        {"devices": [str(device.uuid)]},
        format="json",
    )
    response = audit_station.post(
        f"/api/refurbishers/waste-lots/{lot['uuid']}/hand-over/",
        {"handover_date": "2026-03-02"},
        format="json",
    )
    assert response.status_code == 200 and response.json()["status"] == "handed_over"
    register = audit_station.get("/api/refurbishers/waste-lots/register/").json()
    assert register[0]["waste_code"] == "16 02 14" and register[0]["treatment_code"] == "R4"


def test_another_workshop_cannot_import_into_mine(audit_station):
    other = OrganisationFactory(refurbisher=True)
    upload = SimpleUploadedFile("r.json", json.dumps(nwipe_v1()).encode())
    response = audit_station.post(
        "/api/refurbishers/imports/",
        {"kind": "nwipe", "files": [upload], "organisation": str(other.uuid)},
        format="multipart",
    )
    assert response.status_code == 403 and not Sanitisation.objects.exists()
