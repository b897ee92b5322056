import pytest

from beneficiaries.models import EligibilityCheck
from reemploi.enums import DeviceState
from relais.models import Sale
from tests.beneficiaries.factories import BeneficiaryFactory, CriterionFactory
from tests.browser import login
from tests.reemploi.factories import CommuneFactory, OrganisationFactory, SiteFactory, departement, member_of

from .factories import stock_device

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_relais_staff_checks_eligibility_then_sells_a_laptop(page, live_server):
    relais = OrganisationFactory(relais=True, name="Relais de Nevers", departement=departement())
    staff = member_of(relais, username="relais-navigateur")
    commune = CommuneFactory(insee_code="58194", name="Nevers")
    SiteFactory(organisation=relais, commune=commune, name="Relais du Banlay")
    CriterionFactory(family_quotient=True)
    laptop = stock_device(relais, "laptop", price=150, serial_number="BROWSER-LAPTOP")
    second = stock_device(relais, "laptop", serial_number="BROWSER-LAPTOP-2")
    login(page, live_server, staff.username)

    page.goto(f"{live_server.url}/beneficiaires/nouveau/")
    page.fill("#id_first_name", "Inès")
    page.fill("#id_last_name", "Moreau")
    page.select_option("#id_commune", str(commune.pk))
    page.fill("#id_household_size", "3")
    page.click("main button[type=submit]")
    assert "éligibilité à vérifier" in page.locator("h1").inner_text()

    page.select_option("#id_criterion", label="Quotient familial sous un plafond (≤ 700,00 €)")
    page.select_option("#id_document_type", "family_quotient")
    page.fill("#id_declared_amount", "812")
    page.click("text=Enregistrer la vérification")
    assert "dépasse le plafond de 700,00 €" in page.locator("#field-declared_amount").inner_text()
    page.fill("#id_declared_amount", "640")
    page.click("text=Enregistrer la vérification")
    assert "Éligibilité enregistrée" in page.locator(".messages").inner_text()
    assert EligibilityCheck.objects.get().beneficiary.last_name == "Moreau"

    page.click("text=Vendre ou donner un appareil")
    assert "Éligible" in page.locator(".alert.success").inner_text()
    page.check(f"#device-{laptop.uuid}")
    page.fill(f"#price-{laptop.uuid}", "180,01")
    page.click("text=Enregistrer et éditer le reçu")
    assert "dépasse le plafond légal de 180,00 €" in page.locator(".alert.error").inner_text()
    page.fill(f"#price-{laptop.uuid}", "180")
    page.click("text=Enregistrer et éditer le reçu")
    assert "Vente enregistrée : 1 appareil(s), 180,00 €" in page.locator(".messages").inner_text()
    page.locator("text=Télécharger le reçu").wait_for()
    laptop.refresh_from_db()
    assert laptop.state == DeviceState.SOLD and Sale.objects.get().total == 180

    # The same household cannot get a second laptop this year.
    buyer = Sale.objects.get().beneficiary
    page.goto(f"{live_server.url}/relais/ventes/nouvelle/?beneficiaire={buyer.uuid}")
    page.check(f"#device-{second.uuid}")
    page.fill(f"#price-{second.uuid}", "120")
    page.click("text=Enregistrer et éditer le reçu")
    assert "Quota atteint" in page.locator(".alert.error").inner_text()
    assert BeneficiaryFactory._meta.model.objects.count() == 1
