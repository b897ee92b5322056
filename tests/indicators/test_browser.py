"""The dashboard in headless Chromium: on the demo network, departmental staff read the Nièvre's
figures, look at the map and the charts, change the period and download the spreadsheet; the
figures agree with a count made here from the device history."""

from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.utils import timezone
from openpyxl import load_workbook

from reemploi.demo import DEMO_PASSWORD
from reemploi.models import DeviceEvent
from tests.browser import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PARIS = ZoneInfo("Europe/Paris")


def pcs_sold_or_given(year):
    """PCs sold or given in `year` (Paris time), a sale undone by a later return left out."""
    events = DeviceEvent.objects.select_related("device__category").order_by("device_id", "at", "id")
    count, previous = 0, {}
    standing = []
    for event in events:
        if event.to_state == "returned" and previous.get(event.device_id) in standing:
            standing.remove(previous[event.device_id])
        if event.to_state in ("sold", "given") and event.device.category.code in ("laptop", "desktop"):
            standing.append(event)
        previous[event.device_id] = event
    for event in standing:
        if event.at.astimezone(PARIS).year == year:
            count += 1
    return count


def figure(page, label):
    card = page.locator(".stat.figure", has=page.locator(".label", has_text=label)).first
    return card.locator(".value").inner_text().split()[0]


def test_departement_staff_read_the_demo_figures_map_and_charts(page, live_server, tmp_path):
    call_command("demo")
    year = timezone.localdate().year
    login(page, live_server, "departement", DEMO_PASSWORD)
    page.click("nav >> text=Indicateurs")
    page.wait_for_load_state("networkidle")
    assert "Nièvre" in page.locator("h1").inner_text()
    assert figure(page, "PC reconditionnés vendus ou donnés") == str(pcs_sold_or_given(year))

    # The charts are drawn and the map shows every commune and the places.
    for chart in ("chart-pcs", "chart-devices", "chart-weights", "chart-mesh"):
        assert page.evaluate(f"!!Chart.getChart('{chart}')"), chart
    assert page.locator("#indicators-map .leaflet-overlay-pane canvas").count() == 1
    assert page.locator("#indicators-map .leaflet-marker-icon").count() == 8  # the eight relais
    drawn = page.evaluate(
        "() => { let n = 0; document.querySelector('#indicators-map').indicatorsMap.eachLayer(l => { if (l instanceof L.CircleMarker) n++; }); return n; }"
    )
    assert drawn == 309
    page.check("input[name=network][value=deee]")
    assert page.locator("#indicators-map .leaflet-marker-icon").count() == 3  # the three workshops
    page.screenshot(path="/tmp/ind-browser-dashboard.png", full_page=True)

    # A month instead of the year.
    page.select_option("#id_period_type", "month")
    page.click("text=Afficher")
    page.wait_for_load_state("networkidle")
    assert "Mois" in page.locator("#id_period_type option:checked").inner_text()
    month_label = page.locator("#id_period option:checked").inner_text()
    assert month_label in page.locator(".lead").inner_text()

    # The whole dashboard as a spreadsheet, for the year.
    page.select_option("#id_period_type", "year")
    page.click("text=Afficher")
    with page.expect_download() as download:
        page.click("text=Tout exporter (XLSX)")
    path = tmp_path / "indicateurs.xlsx"
    download.value.save_as(path)
    sheet = load_workbook(path)["Chiffres clés"]
    values = {row[0].value: row[1].value for row in sheet.iter_rows(min_row=2)}
    assert values["PC reconditionnés vendus ou donnés"] == pcs_sold_or_given(year)


def test_the_dashboard_fits_a_phone(browser, live_server):
    call_command("demo")
    phone = browser.new_page()
    phone.set_viewport_size({"width": 390, "height": 844})
    try:
        login(phone, live_server, "departement", DEMO_PASSWORD)
        phone.goto(f"{live_server.url}/indicateurs/?period_type=month")
        phone.wait_for_load_state("networkidle")
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, width
        assert phone.evaluate("!!Chart.getChart('chart-pcs')")
        phone.screenshot(path="/tmp/ind-browser-phone.png", full_page=True)
    finally:
        phone.close()
