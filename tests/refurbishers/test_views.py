import csv
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pypdf import PdfReader

from reemploi.enums import DeviceState as S
from refurbishers import services
from refurbishers.models import Audit, Grading, Shipment, StorageMedium, WasteLot
from tests.reemploi.factories import DeviceFactory, OrganisationFactory, category, member_of

from .factories import MediumFactory, erased_medium, ready_device, sanitised_device

pytestmark = pytest.mark.django_db


def pdf_text(content):
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


# --- Work queue ----------------------------------------------------------------------------------


def test_work_queue_shows_only_this_workshops_devices(client, refurbisher, refurbisher_org):
    mine = DeviceFactory(holder=refurbisher_org, serial_number="MINE-1", state=S.RECEIVED)
    theirs = DeviceFactory(serial_number="THEIRS-1", state=S.RECEIVED)
    gone = DeviceFactory(holder=refurbisher_org, serial_number="GONE-1", state=S.DEEE)
    client.force_login(refurbisher)
    page = client.get(reverse("refurbishers:work_queue")).content.decode()
    assert mine.serial_number in page and theirs.serial_number not in page and gone.serial_number not in page
    assert "Diagnostiquer" in page


def test_work_queue_tabs_and_storage_status(client, refurbisher, refurbisher_org):
    DeviceFactory(holder=refurbisher_org, state=S.RECEIVED)
    audited = DeviceFactory(holder=refurbisher_org, state=S.AUDITED, serial_number="AUD-1")
    MediumFactory(device=audited)
    erased_medium(audited)
    client.force_login(refurbisher)
    page = client.get(reverse("refurbishers:work_queue"), {"state": "audited"}).content.decode()
    assert "AUD-1" in page and "1/2 effacés" in page and "Effacer les données" in page


def test_scanning_a_label_opens_the_device(client, refurbisher, refurbisher_org):
    device = DeviceFactory(holder=refurbisher_org)
    client.force_login(refurbisher)
    response = client.get(
        reverse("refurbishers:work_queue"), {"q": f"https://reemploi.example/d/{device.public_id}/"}
    )
    assert response.status_code == 302 and response["Location"] == reverse(
        "device_detail", args=[device.uuid]
    )
    response = client.get(reverse("refurbishers:work_queue"), {"q": device.serial_number.lower()})
    assert response["Location"] == reverse("device_detail", args=[device.uuid])


def test_work_queue_query_count_does_not_grow_with_page_size(client, refurbisher, refurbisher_org):
    for index in range(40):
        device = DeviceFactory(
            holder=refurbisher_org, state=[S.RECEIVED, S.AUDITED, S.SANITISED, S.READY][index % 4]
        )
        if index % 3:
            erased_medium(device)
    client.force_login(refurbisher)
    client.get(reverse("refurbishers:work_queue"))  # warm the session
    counts = {}
    for per_page in (25, 200):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("refurbishers:work_queue"), {"per_page": per_page})
        assert response.status_code == 200
        counts[per_page] = len(queries)
    assert response.content.decode().count('name="devices"') == 40
    assert counts[25] == counts[200], counts


def test_department_staff_and_relais_cannot_open_the_work_queue(client, relais_user):
    client.force_login(relais_user)
    assert client.get(reverse("refurbishers:work_queue")).status_code == 403


# --- Device records ------------------------------------------------------------------------------


def test_device_page_shows_the_workshop_panels(client, refurbisher, refurbisher_org):
    device = ready_device(refurbisher_org)
    client.force_login(refurbisher)
    page = client.get(reverse("device_detail", args=[device.uuid])).content.decode()
    for text in ("Diagnostic", "Supports de stockage", "Effacé", "120,00 €", "Étiquette"):
        assert text in page


def test_audit_form_records_a_diagnostic(client, refurbisher, refurbisher_org):
    device = DeviceFactory(holder=refurbisher_org, state=S.RECEIVED)
    client.force_login(refurbisher)
    url = reverse("refurbishers:audit_create", args=[device.uuid])
    assert client.get(url).status_code == 200
    data = {
        "cpu_model": "Intel Core i5",
        "ram_gb": "8",
        "battery_health_pct": "150",
        "keyboard_test": "ok",
        "touchpad_test": "ok",
        "ports_test": "ok",
        "webcam_test": "na",
        "wifi_test": "ok",
        "charger_included": "true",
        "cosmetic_grade": "B",
        "functional_grade": "full",
        "storage_kind": "ssd",
        "storage_serial": "",
    }
    response = client.post(url, data)
    body = response.content.decode()
    assert response.status_code == 200 and "100" in body and "numéro de série du support" in body
    assert not Audit.objects.exists()
    response = client.post(url, {**data, "battery_health_pct": "80", "storage_serial": "SSD-FORM"})
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.state == S.AUDITED and device.storage_media.get().serial_number == "SSD-FORM"


def test_sanitisation_form_refuses_an_unverified_erasure(client, refurbisher, refurbisher_org):
    device = DeviceFactory(holder=refurbisher_org, state=S.AUDITED)
    medium = MediumFactory(device=device)
    client.force_login(refurbisher)
    url = reverse("refurbishers:sanitisation_create", args=[medium.uuid])
    data = {
        "level": "clear",
        "technique": "overwrite",
        "standard": "nist-800-88-r2",
        "tool": "nwipe",
        "tool_version": "0.38",
        "verification_method": "none",
        "verification_result": "not_done",
        "started_at": "2026-03-01T09:00",
        "ended_at": "2026-03-01T10:30",
        "operator_name": "Karim",
        "outcome": "erased",
        "destination": "reuse",
    }
    response = client.post(url, data)
    assert response.status_code == 200 and "vérification réussie" in response.content.decode()
    response = client.post(url, {**data, "verification_method": "last_pass", "verification_result": "passed"})
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.state == S.SANITISED


def test_ready_form_refuses_a_price_above_the_cap(client, refurbisher, refurbisher_org):
    device = sanitised_device(refurbisher_org)
    client.force_login(refurbisher)
    url = reverse("refurbishers:make_ready", args=[device.uuid])
    page = client.get(url).content.decode()
    assert "Plafond en vigueur : 180" in page
    data = {
        "cosmetic_grade": "A",
        "functional_grade": "full",
        "price": "199",
        "has_charger": "on",
        "has_storage": "on",
        "has_os": "on",
        "battery_ok": "on",
    }
    response = client.post(url, data)
    assert response.status_code == 200 and "plafond" in response.content.decode()
    assert client.post(url, {**data, "price": "175"}).status_code == 302
    device.refresh_from_db()
    assert (device.state, device.price) == (S.READY, Decimal("175"))


def test_read_only_member_sees_but_cannot_write(client, refurbisher_org):
    reader = member_of(refurbisher_org, role="read_only")
    device = DeviceFactory(holder=refurbisher_org, state=S.AUDITED)
    medium = MediumFactory(device=device)
    client.force_login(reader)
    assert client.get(reverse("refurbishers:work_queue")).status_code == 200
    assert (
        "Saisir le diagnostic"
        not in client.get(reverse("device_detail", args=[device.uuid])).content.decode()
    )
    for url in (
        reverse("refurbishers:audit_create", args=[device.uuid]),
        reverse("refurbishers:make_ready", args=[device.uuid]),
        reverse("refurbishers:sanitisation_create", args=[medium.uuid]),
    ):
        assert client.get(url).status_code == 403
        assert client.post(url, {}).status_code == 403


def test_another_workshops_device_is_a_404_everywhere(client, refurbisher):
    device = DeviceFactory(state=S.AUDITED)  # another workshop's
    medium = MediumFactory(device=device)
    client.force_login(refurbisher)
    for url in (
        reverse("refurbishers:audit_create", args=[device.uuid]),
        reverse("refurbishers:medium_create", args=[device.uuid]),
        reverse("refurbishers:make_ready", args=[device.uuid]),
        reverse("refurbishers:harvest", args=[device.uuid]),
        reverse("refurbishers:repair_create", args=[device.uuid]),
        reverse("refurbishers:no_storage", args=[device.uuid]),
        reverse("refurbishers:sanitisation_create", args=[medium.uuid]),
        reverse("refurbishers:destruction_create", args=[medium.uuid]),
        reverse("refurbishers:medium_detach", args=[medium.uuid]),
    ):
        assert client.get(url).status_code == 404, url
    assert not StorageMedium.objects.exclude(pk=medium.pk).exists()


def test_harvest_and_repair_screens(client, refurbisher, refurbisher_org):
    donor = DeviceFactory(holder=refurbisher_org, state=S.AUDITED)
    client.force_login(refurbisher)
    url = reverse("refurbishers:harvest", args=[donor.uuid])
    data = {
        "note": "Écran cassé, carte mère HS",
        "parts-TOTAL_FORMS": "2",
        "parts-INITIAL_FORMS": "0",
        "parts-0-kind": "ram",
        "parts-0-description": "DDR4 8 Go",
        "parts-1-kind": "",
        "parts-1-description": "",
    }
    assert client.post(url, data).status_code == 302
    donor.refresh_from_db()
    assert donor.state == S.PARTS
    page = client.get(reverse("refurbishers:parts")).content.decode()
    assert "DDR4 8 Go" in page
    target = DeviceFactory(holder=refurbisher_org, state=S.AUDITED)
    part = donor.harvested_parts.get()
    response = client.post(
        reverse("refurbishers:repair_create", args=[target.uuid]),
        {
            "actions": "Barrette ajoutée",
            "duration_minutes": "15",
            "other_cost": "0",
            "stock_parts": [part.pk],
            "bought-TOTAL_FORMS": "1",
            "bought-INITIAL_FORMS": "0",
            "bought-0-description": "Pâte thermique",
            "bought-0-quantity": "1",
            "bought-0-unit_cost": "4.50",
        },
    )
    assert response.status_code == 302
    repair = target.repairs.get()
    assert repair.total_cost == Decimal("4.50") and repair.parts.count() == 2


# --- Labels, DEEE, shipments, relais -------------------------------------------------------------


def test_labels_sheet_has_a_qr_code_and_public_id_per_device(client, refurbisher, refurbisher_org, settings):
    settings.SITE_URL = "https://reemploi.example"
    devices = [DeviceFactory(holder=refurbisher_org) for _ in range(26)]
    client.force_login(refurbisher)
    response = client.post(reverse("refurbishers:labels"), {"devices": [d.uuid for d in devices]})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    assert len(reader.pages) == 2  # 24 labels per A4 sheet
    text = pdf_text(response.content)
    assert all(device.public_id in text for device in devices)
    theirs = DeviceFactory()
    response = client.post(reverse("refurbishers:labels"), {"devices": [theirs.uuid]})
    assert response.status_code == 302  # nothing the user may see: back to the queue


def test_waste_lot_screens_and_register_export(client, refurbisher, refurbisher_org):
    device = DeviceFactory(holder=refurbisher_org, state=S.RECEIVED, category=category("screen"))
    client.force_login(refurbisher)
    response = client.post(
        reverse("refurbishers:waste_lot_create"),
        {
            "devices": [device.uuid],
            "waste_code": "16 02 14",
            "eco_organisme": "ecologic",
            "destination_name": "Envie 58",
            "destination_siret": "581 234 564 00010",
            "treatment_code": "R0",
        },
    )
    assert "R0 (réemploi)" in response.content.decode() and not WasteLot.objects.exists()
    response = client.post(
        reverse("refurbishers:waste_lot_create"),
        {
            "devices": [device.uuid],
            "waste_code": "16 02 14",
            "eco_organisme": "ecologic",
            "destination_name": "Envie 58",
            "destination_siret": "581 234 564 00010",
            "treatment_code": "R4",
        },
    )
    lot = WasteLot.objects.get()
    assert response["Location"] == reverse("refurbishers:waste_lot_detail", args=[lot.uuid])
    detail = reverse("refurbishers:waste_lot_detail", args=[lot.uuid])
    assert "4,50" in client.get(detail).content.decode()
    client.post(detail, {"action": "hand_over", "handover_date": "2026-03-02", "bsdd_number": ""})
    device.refresh_from_db()
    assert device.state == S.DEEE
    export = client.get(reverse("refurbishers:waste_register"), {"annee": "2026"})
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:4] == ["date", "lot", "code_dechet", "categorie_deee"]
    assert (
        rows[1][0] == "2026-03-02"
        and rows[1][2] == "16 02 14"
        and rows[1][5] == "4,50"
        and rows[1][9] == "R4"
    )


def test_shipment_screens_from_queue_to_relais_receipt(
    client, refurbisher, refurbisher_org, relais_org, relais_user, django_capture_on_commit_callbacks
):
    devices = [ready_device(refurbisher_org) for _ in range(2)]
    client.force_login(refurbisher)
    response = client.post(reverse("refurbishers:shipment_create"), {"devices": [d.uuid for d in devices]})
    assert response.status_code == 200  # the form, with the devices checked in the queue
    response = client.post(
        reverse("refurbishers:shipment_create"),
        {
            "devices": [d.uuid for d in devices],
            "workshop": refurbisher_org.pk,
            "relais": relais_org.pk,
            "carrier": "Navette",
        },
    )
    shipment = Shipment.objects.get()
    assert shipment.lines.count() == 2
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("refurbishers:shipment_detail", args=[shipment.uuid]), {"action": "dispatch"})
    note = client.get(reverse("refurbishers:shipment_delivery_note", args=[shipment.uuid]))
    text = pdf_text(b"".join(note.streaming_content))
    assert shipment.reference in text and all(d.public_id in text for d in devices)

    client.force_login(relais_user)
    assert shipment.reference in client.get(reverse("refurbishers:deliveries")).content.decode()
    assert client.get(reverse("refurbishers:shipment_delivery_note", args=[shipment.uuid])).status_code == 200
    url = reverse("refurbishers:delivery_receive", args=[shipment.uuid])
    client.post(url, {"action": "receive", f"device_{devices[0].uuid}": "on", "note": "Un carton abîmé"})
    shipment.refresh_from_db()
    assert shipment.status == "partial"
    devices[1].refresh_from_db()
    assert devices[1].state == S.IN_TRANSIT
    client.post(url, {"action": "found", "device": devices[1].uuid})
    devices[1].refresh_from_db()
    assert devices[1].state == S.IN_STOCK


def test_other_relais_do_not_see_the_delivery(client, refurbisher, refurbisher_org, relais_org):
    device = ready_device(refurbisher_org)
    shipment, _ = services.shipment_create(
        refurbisher=refurbisher_org, relais=relais_org, actor=refurbisher, devices=[device]
    )
    services.shipment_dispatch(shipment=shipment, actor=refurbisher)
    client.force_login(member_of(OrganisationFactory(relais=True)))
    assert client.get(reverse("refurbishers:delivery_receive", args=[shipment.uuid])).status_code == 404
    assert client.get(reverse("refurbishers:shipment_delivery_note", args=[shipment.uuid])).status_code == 404


def test_evidence_is_downloadable_by_its_workshop_only(client, refurbisher, refurbisher_org):
    evidence = services.evidence_store(
        organisation=refurbisher_org, kind="lshw", name="pc.json", data=b'{"a": 1}', actor=refurbisher
    )
    client.force_login(refurbisher)
    response = client.get(reverse("refurbishers:evidence_download", args=[evidence.uuid]))
    assert (
        b"".join(response.streaming_content) == b'{"a": 1}'
        and response["X-Content-SHA256"] == evidence.sha256
    )
    client.force_login(member_of(OrganisationFactory(refurbisher=True)))
    assert client.get(reverse("refurbishers:evidence_download", args=[evidence.uuid])).status_code == 404


def test_api_token_page_creates_and_replaces_the_token(client, refurbisher):
    from rest_framework.authtoken.models import Token

    client.force_login(refurbisher)
    assert "pas encore de jeton" in client.get(reverse("refurbishers:api_token")).content.decode()
    client.post(reverse("refurbishers:api_token"))
    first = Token.objects.get(user=refurbisher).key
    client.post(reverse("refurbishers:api_token"))
    assert Token.objects.get(user=refurbisher).key != first


def test_every_menu_screen_renders(client, refurbisher, refurbisher_org, coordinator):
    ready_device(refurbisher_org)
    for user in (refurbisher, coordinator):
        client.force_login(user)
        for name in (
            "work_queue",
            "imports",
            "parts",
            "waste_lots",
            "waste_lot_create",
            "shipments",
            "shipment_create",
            "api_token",
        ):
            assert client.get(reverse(f"refurbishers:{name}")).status_code == 200, name
    home = client.get(reverse("home")).content.decode()
    assert "File de travail" in home and "Lots DEEE" in home


def test_grading_is_shown_to_the_relais_holding_the_device(
    client, refurbisher, refurbisher_org, relais_org, relais_user
):
    device = ready_device(refurbisher_org, price=Decimal("99"))
    shipment, _ = services.shipment_create(
        refurbisher=refurbisher_org, relais=relais_org, actor=refurbisher, devices=[device]
    )
    services.shipment_dispatch(shipment=shipment, actor=refurbisher)
    client.force_login(relais_user)
    page = client.get(reverse("device_detail", args=[device.uuid])).content.decode()
    assert "99,00 €" in page and "Effacé" in page and "Saisir un effacement" not in page
    assert Grading.objects.filter(device=device).exists()
