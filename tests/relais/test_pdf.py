import io

import pytest
from pypdf import PdfReader

from relais.enums import SaleKind
from tests.reemploi.factories import OrganisationFactory

from .factories import sell, stock_device

pytestmark = pytest.mark.django_db


def _text(document):
    with document.file.open("rb") as handle:
        text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(handle.read())).pages)
    return " ".join(text.split())


def test_sale_receipt_shows_lines_caps_total_and_the_legal_guarantee(
    staff, buyer, relais, django_capture_on_commit_callbacks
):
    unit, screen = (
        stock_device(relais, "desktop", serial_number="UC-42"),
        stock_device(relais, "screen", serial_number="ECR-7"),
    )
    laptop = stock_device(relais, "laptop", serial_number="PORT-1")
    with django_capture_on_commit_callbacks(execute=True):
        sale = sell(staff, buyer, (unit, "110", 1), (screen, "40", 1), (laptop, "180"))
    receipt = sale.receipt
    receipt.refresh_from_db()
    text = _text(receipt)
    assert receipt.number in text and "Reçu de vente" in text
    assert buyer.last_name in text and relais.name in text
    assert "UC-42" in text and "ECR-7" in text and "PORT-1" in text
    assert "Ensemble PC fixe" in text and "330,00 €" in text
    assert "garantie légale de conformité de 2 ans" in text and "12 mois" in text and "L217-7" in text
    assert "2022-1413" in text
    assert buyer.last_name not in str(receipt.public_facts)


def test_gift_attestation(staff, buyer, relais, django_capture_on_commit_callbacks):
    OrganisationFactory(refurbisher=True)
    with django_capture_on_commit_callbacks(execute=True):
        sale = sell(staff, buyer, (stock_device(relais, "tablet"), "0"), kind=SaleKind.GIFT)
    text = _text(sale.receipt)
    assert "Attestation de don" in text and "remis gratuitement" in text and "BÉNÉFICIAIRE" in text.upper()
