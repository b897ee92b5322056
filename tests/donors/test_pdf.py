import subprocess
from decimal import Decimal

import pytest
from django.utils import timezone
from pypdf import PdfReader

from donors import services
from donors.enums import DonorKind, HandoverMode
from reemploi.enums import DocumentStatus
from reemploi.models import Document

from . import factories
from .factories import line

pytestmark = pytest.mark.django_db(transaction=True)


def _text(document):
    with document.file.open("rb") as handle:
        return " ".join(" ".join(page.extract_text() for page in PdfReader(handle).pages).split())


def test_reception_sheet_shows_announced_and_arrived_weights_site_and_differences(
    coordinator, refurbisher, refurbisher_org
):
    items = [
        {"serial_number": "PF1AAA", "asset_tag": "INV-1"},
        {"serial_number": "PF1BBB", "asset_tag": "INV-2"},
    ]
    donation = factories.collected(
        coordinator, refurbisher_org, lines=[line("laptop", 2, announced_items=items), line("screen", 3)]
    )
    laptops, screens = donation.lines.order_by("position")
    site = factories.workshop(refurbisher_org, name="Atelier de Nevers", address="15 rue des Ateliers")
    reception = services.donation_receive(
        donation=donation,
        actor=refurbisher,
        site=site,
        weight_kg=Decimal("18.40"),
        note="Un écran rayé.",
        lines=[
            {
                "line": laptops,
                "received_quantity": 2,
                "items": [{"serial_number": "PF1AAA"}, {"serial_number": "PF9NEW"}],
            },
            {"line": screens, "received_quantity": 2, "items": [], "note": "Un écran manquant"},
        ],
    )
    sheet = Document.objects.about(reception).get()
    assert sheet.status == DocumentStatus.ISSUED, sheet.error
    text = _text(sheet)
    for expected in (
        "Fiche de réception",
        donation.reference,
        sheet.number,
        "Nivernaise de Services",
        "Atelier de Nevers",
        "15 rue des Ateliers",
        "18,40 kg",  # received weight
        "7,00 kg",  # weight at collection
        "PF1AAA",
        "INV-1",
        "PF9NEW",
        "PF1BBB",  # announced, not received
        "Un écran manquant",
        "Un écran rayé.",
    ):
        assert expected in text, expected
    assert "Annoncés, non reçus" in text and "Reçus, non annoncés" in text
    assert sheet.public_facts["Don"] == donation.reference and sheet.public_facts["Écarts"] == "oui"
    assert "camille@example.org" not in str(sheet.public_facts)


def test_the_donors_confirmation_issues_a_new_version_of_the_sheet_that_says_so(
    coordinator, refurbisher, refurbisher_org
):
    donation = factories.collected(coordinator, refurbisher_org, lines=[line("laptop", 2)])
    reception = services.donation_receive(
        donation=donation,
        actor=refurbisher,
        site=factories.workshop(refurbisher_org),
        lines=[{"line": donation.lines.get(), "received_quantity": 1, "items": []}],
    )
    first = Document.objects.about(reception).get()
    assert "Rapprochement confirmé par le donateur : en attente" in _text(first)
    services.reception_confirm(donation=donation, note="Le second est resté chez nous.")
    first.refresh_from_db()
    second = first.superseded_by
    assert second.status == DocumentStatus.ISSUED and second.number != first.number
    reception.refresh_from_db()
    confirmed_on = timezone.localtime(reception.donor_confirmed_at).strftime("%d/%m/%Y")
    assert f"Rapprochement confirmé par le donateur : le {confirmed_on}" in _text(second)
    assert second.donation == donation  # still filed under the donation, for the tracking page


def test_an_individuals_sheet_shows_no_personal_data_on_the_verification_page(
    client, coordinator, refurbisher_org
):
    site = factories.workshop(refurbisher_org)
    donation = factories.received(
        coordinator,
        refurbisher_org,
        site=site,
        kind=DonorKind.INDIVIDUAL,
        lines=[line("laptop", 2)],
        handover_mode=HandoverMode.DROP_OFF,
        drop_off_site=site,
    )
    sheet = Document.objects.about(donation.reception).get()
    assert sheet.status == DocumentStatus.ISSUED
    assert sheet.public_facts["Donateur"] == "Particulier"
    page = client.get(f"/v/{sheet.verification_code}/").content.decode()
    assert "Camille" not in page and donation.reference in page
    assert "Camille Martin (particulier)" in _text(sheet)


def test_reception_sheet_renders_to_an_image(coordinator, refurbisher_org, tmp_path):
    """The rendered page as a reader sees it (pdftoppm, when poppler is installed)."""
    donation = factories.received(coordinator, refurbisher_org)
    sheet = Document.objects.about(donation.reception).get()
    target = tmp_path / "sheet.pdf"
    with sheet.file.open("rb") as handle:
        target.write_bytes(handle.read())
    try:
        subprocess.run(["pdftoppm", "-png", "-r", "40", str(target), str(tmp_path / "page")], check=True)
    except FileNotFoundError:
        pytest.skip("pdftoppm is not installed")
    assert list(tmp_path.glob("page-*.png"))
