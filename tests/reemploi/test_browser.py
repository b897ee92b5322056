import pytest

from reemploi.enums import DeviceState
from reemploi.lifecycle import device_transition
from tests.browser import login

from .factories import DeviceFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_refurbisher_opens_a_device_and_reads_its_timeline(page, live_server, refurbisher, refurbisher_org):
    device = DeviceFactory(holder=refurbisher_org, state=DeviceState.RECEIVED, serial_number="PF-BROWSER-1")
    device_transition(device=device, to_state=DeviceState.AUDITED, actor=refurbisher, note="Batterie à 87 %")
    login(page, live_server, refurbisher.username)
    page.goto(f"{live_server.url}/appareils/")
    page.click(f"text={device.public_id}")
    assert page.locator("h2#historique").is_visible()
    assert page.locator(".timeline li").count() == 1
    assert "Batterie à 87 %" in page.locator(".timeline").inner_text()
    page.select_option("#id_to_state", "sanitised")
    page.click("text=Enregistrer")
    assert "État mis à jour" in page.locator(".messages").inner_text()
    assert page.locator(".timeline li").count() == 2
