import re

import pytest

from donors.enums import DonationStatus, Verdict
from donors.models import Donation
from tests.browser import login

from . import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_new_donor_sees_a_broken_line_refused_submits_and_the_coordinator_qualifies(
    page, live_server, coordinator, refurbisher_org
):
    factories.commune(postal_code="58000", name="Challuy", insee="58048")
    factories.commune()
    factories.workshop(refurbisher_org)

    page.goto(f"{live_server.url}/dons/proposer/")
    page.check("input[name=donor_kind][value=company]")
    page.fill("#id_organisation_name", "Imprimerie Morvandelle")
    page.fill("#id_siret", "44306184100047")
    page.fill("#id_contact_name", "Julie Bernard")
    page.fill("#id_contact_email", "julie@example.org")
    page.select_option("#id_lines-0-category", label="Ordinateur portable")
    page.fill("#id_lines-0-quantity", "6")
    page.fill("#id_lines-0-age_years", "5")
    page.locator("#verdict-0").get_by_text("Accepté pour le réemploi").wait_for()

    page.click("text=+ Ajouter un autre équipement")
    page.select_option("#id_lines-1-category", label="Écran")
    page.fill("#id_lines-1-quantity", "2")
    page.select_option("#id_lines-1-condition", value="broken")
    refused = page.locator("#verdict-1")
    refused.get_by_text("Non collecté").wait_for()  # live, before submitting
    assert "hors service ne sont pas collectés" in refused.inner_text()

    page.fill("#id_postal_code", "58000")
    page.locator("#id_commune option", has_text="Nevers").wait_for(state="attached")
    page.select_option("#id_commune", label="Nevers")
    page.fill("#id_address", "8 rue du Rempart")
    page.check("#id_privacy_consent")
    page.click("button[value=submit]")
    page.wait_for_url(re.compile(r"/dons/suivi/"))
    assert "Merci" in page.locator(".messages").inner_text()
    reference = re.search(r"DON-\d{4}-\d{6}", page.locator("h1").inner_text()).group(0)
    donation = Donation.objects.get(reference=reference)
    assert [item.verdict for item in donation.lines.order_by("position")] == [
        Verdict.ACCEPTED,
        Verdict.REFUSED,
    ]

    login(page, live_server, coordinator.username)
    page.goto(f"{live_server.url}/dons/a-qualifier/")
    page.click(f"text={reference}")
    page.click("text=Qualifier ce don")
    page.select_option("#id_refurbisher", label=refurbisher_org.name)
    page.fill("#id_message", "Merci, nous passerons mardi.")
    page.click("text=Enregistrer la qualification")
    page.wait_for_url(re.compile(rf"/dons/{donation.uuid}/$"))
    assert "qualifié" in page.locator(".messages").inner_text()
    donation.refresh_from_db()
    assert donation.status == DonationStatus.QUALIFIED and donation.refurbisher == refurbisher_org
    assert [item.decision for item in donation.lines.order_by("position")] == [
        Verdict.ACCEPTED,
        Verdict.REFUSED,
    ]


def test_the_form_fits_a_phone_screen(page, live_server):
    factories.commune()
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/dons/proposer/")
    page.check("input[name=donor_kind][value=individual]")
    assert not page.locator("#id_organisation_name").is_visible()  # organisation fields hidden for a person
    page.select_option("#id_lines-0-category", label="Ordinateur portable")
    page.locator("#donation-notices").get_by_text("Dépôt uniquement").wait_for()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390


def test_the_tracking_page_reads_on_a_phone_without_sideways_scrolling(
    page, live_server, coordinator, refurbisher_org
):
    from donors.tokens import tracking_path

    donation = factories.received(coordinator, refurbisher_org)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}{tracking_path(donation)}")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    tables = page.locator(".table-wrap")
    assert tables.count() >= 2  # the lines and the reception
    for index in range(tables.count()):
        assert tables.nth(index).evaluate("e => e.scrollWidth <= e.clientWidth"), index
    assert page.locator("td[data-label='Décision']").first.is_visible()
