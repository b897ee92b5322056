"""A workshop's day in a real browser: a received laptop goes through diagnostic, erasure, repair and
grading, gets its label, leaves in a shipment the relais confirms; another goes to a DEEE lot."""

import json

import pytest

from reemploi.enums import DeviceState as S
from refurbishers.models import Shipment, WasteLot
from tests.browser import login
from tests.reemploi.factories import DeviceFactory, category, member_of

from .factories import MediumFactory
from .test_imports import nwipe_v1

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = "/tmp/refurb-{}.png"


def shot(page, name):
    # A full-page screenshot resizes the viewport for a moment; Chromium then scrolls a focused field
    # back into view when it loses focus, i.e. between the mousedown and the mouseup of the next
    # click, which lands on another element and submits nothing. Take the focus away first.
    page.evaluate("document.activeElement?.blur()")
    page.screenshot(path=SHOTS.format(name), full_page=True)


def test_workshop_takes_a_laptop_from_reception_to_a_relais(
    page, live_server, refurbisher, refurbisher_org, relais_org, tmp_path
):
    laptop = DeviceFactory(
        holder=refurbisher_org,
        state=S.RECEIVED,
        serial_number="PF-LAPTOP-1",
        brand="HP",
        model="ProBook 450 G5",
    )
    broken = DeviceFactory(
        holder=refurbisher_org, state=S.RECEIVED, serial_number="PF-SCREEN-9", category=category("screen")
    )
    for index in range(6):
        DeviceFactory(holder=refurbisher_org, state=[S.RECEIVED, S.AUDITED, S.READY][index % 3])
    login(page, live_server, refurbisher.username)

    page.goto(f"{live_server.url}/atelier/")
    shot(page, "queue")
    page.fill("#id_q", "pf-laptop-1")
    page.press("#id_q", "Enter")
    assert "PF-LAPTOP-1" in page.locator("h1").inner_text() or "PF-LAPTOP-1" in page.content()
    shot(page, "device-received")

    page.click("text=Saisir le diagnostic")
    page.fill("#id_cpu_model", "Intel Core i5-8250U")
    page.fill("#id_ram_gb", "8")
    page.fill("#id_battery_health_pct", "84")
    for test in ("keyboard_test", "touchpad_test", "ports_test", "webcam_test", "wifi_test"):
        page.check(f"input[name={test}][value=ok]")
    page.select_option("#id_charger_included", "true")
    page.select_option("#id_cosmetic_grade", "B")
    page.select_option("#id_functional_grade", "full")
    page.select_option("#id_storage_kind", "hdd")
    page.fill("#id_storage_serial", "DISK-NW-1")
    page.fill("#id_storage_capacity_gb", "500")
    shot(page, "audit-form")
    with page.expect_navigation(timeout=60000):
        page.click("text=Enregistrer le diagnostic")
    assert "Diagnostic enregistré" in page.locator(".messages").inner_text()

    report = tmp_path / "nwipe_report.json"
    report.write_text(json.dumps(nwipe_v1()))
    page.click("text=Importer un rapport nwipe")
    shot(page, "import-nwipe")
    page.set_input_files("#id_files", str(report))
    page.click("button:has-text('Importer')")
    assert "1 ligne enregistrée" in page.content()
    shot(page, "import-result")
    page.click(f"text={laptop.public_id}")
    assert "Effacé" in page.locator("#supports").inner_text()
    shot(page, "device-sanitised")

    page.click("text=Nouvelle réparation")
    page.fill("#id_actions", "Nettoyage, pâte thermique changée")
    page.fill("#id_duration_minutes", "25")
    page.fill("#id_bought-0-description", "Pâte thermique")
    page.fill("#id_bought-0-unit_cost", "3.90")
    shot(page, "repair-form")
    page.click("text=Enregistrer la réparation")
    assert "Réparation enregistrée" in page.locator(".messages").inner_text()

    page.click("text=Prêt à distribuer…")
    page.fill("#id_price", "190")
    page.click("text=Déclarer prêt")
    assert "plafond" in page.locator(".errorlist").first.inner_text()
    shot(page, "ready-refused")
    page.fill("#id_price", "150")
    page.click("text=Déclarer prêt")
    assert "prêt à partir" in page.locator(".messages").inner_text()
    shot(page, "device-ready")

    with page.expect_popup() as popup:
        page.click("text=Étiquette")
    label = popup.value
    label.wait_for_load_state()
    label.close()

    page.goto(f"{live_server.url}/atelier/?state=ready")
    page.check(f"input[value='{laptop.uuid}']")
    page.click("text=Expédier vers un relais")
    page.select_option("#id_relais", str(relais_org.pk))
    page.fill("#id_carrier", "Navette du jeudi")
    shot(page, "shipment-form")
    page.click("text=Préparer l'expédition")
    page.click("button:has-text('Expédier')")
    assert "Expédition partie" in page.locator(".messages").inner_text()
    shot(page, "shipment-dispatched")
    laptop.refresh_from_db()
    assert (laptop.state, laptop.holder) == (S.IN_TRANSIT, relais_org)

    page.goto(f"{live_server.url}/atelier/")
    page.check(f"input[value='{broken.uuid}']")
    page.click("text=Mettre dans un lot DEEE")
    shot(page, "deee-choose")
    page.select_option("#id_waste_code", "16 02 13*")
    page.select_option("#id_eco_organisme", "ecosystem")
    page.fill("#id_destination_name", "Envie 58")
    page.fill("#id_destination_siret", "58123456400010")
    page.select_option("#id_treatment_code", "R4")
    page.click("text=Créer le lot avec ces appareils")
    page.click("text=Enregistrer la remise")
    assert "BSDD" in page.content()
    page.fill("#id_bsdd_number", "BSD-20260302-X7")
    page.fill("#id_measured_weight_kg", "5")
    page.click("text=Enregistrer la remise")
    shot(page, "deee-lot")
    broken.refresh_from_db()
    assert broken.state == S.DEEE and WasteLot.objects.get().bsdd_number == "BSD-20260302-X7"

    page.goto(f"{live_server.url}/atelier/pieces/")
    shot(page, "parts")
    page.goto(f"{live_server.url}/atelier/imports/?format=csv")
    shot(page, "import-csv")
    page.goto(f"{live_server.url}/atelier/jeton-api/")
    page.click("text=Créer un jeton")
    shot(page, "api-token")

    relais = member_of(relais_org, username="relais-b")
    page.context.clear_cookies()
    login(page, live_server, relais.username)
    page.click("text=Livraisons à recevoir")
    shot(page, "deliveries")
    page.click("text=Réceptionner")
    shot(page, "receipt-form")
    page.click("text=Confirmer la réception")
    assert "1 appareil entré en stock" in page.locator(".messages").inner_text()
    shot(page, "receipt-done")
    laptop.refresh_from_db()
    assert laptop.state == S.IN_STOCK
    assert Shipment.objects.get().status == "received"


def test_sanitisation_and_destruction_forms(page, live_server, refurbisher, refurbisher_org):
    device = DeviceFactory(holder=refurbisher_org, state=S.AUDITED, serial_number="PF-DESK-2")
    hdd = MediumFactory(device=device, serial_number="HDD-FORM")
    MediumFactory(device=device, serial_number="SSD-FORM", kind="ssd", model="Samsung SSD 860")
    login(page, live_server, refurbisher.username)
    page.goto(f"{live_server.url}/appareils/{device.uuid}/")
    page.locator(".medium", has_text="HDD-FORM").locator("text=Saisir une destruction").click()
    page.select_option("#id_iso_level", "E-3")
    page.select_option("#id_method", "shredding")
    page.click("text=Enregistrer la destruction")
    assert "classe H" in page.content()
    shot(page, "destruction-refused")
    page.select_option("#id_iso_level", "H-5")
    page.click("text=Enregistrer la destruction")
    page.locator(".medium", has_text="SSD-FORM").locator("text=Saisir un effacement").click()
    page.select_option("#id_level", "purge")
    page.select_option("#id_technique", "ata_sanitize_block")
    page.fill("#id_tool", "hdparm")
    page.select_option("#id_verification_method", "sampling")
    shot(page, "sanitisation-form")
    page.click("text=Enregistrer l'effacement")
    assert "Effacement enregistré" in page.locator(".messages").inner_text()
    shot(page, "device-media")
    device.refresh_from_db()
    assert device.state == S.SANITISED and hdd.destruction.iso_level == "H-5"
