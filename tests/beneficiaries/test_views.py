import json

import pytest
from django.urls import reverse

from beneficiaries.models import Beneficiary, EligibilityCheck
from tests.reemploi.factories import OrganisationFactory, departement, member_of

from .factories import BeneficiaryFactory, CheckFactory, CriterionFactory, VoucherFactory

pytestmark = pytest.mark.django_db


def test_relais_never_sees_another_relais_beneficiaries(client, staff, relais):
    mine = BeneficiaryFactory(relais=relais, last_name="Mienne")
    other = BeneficiaryFactory(last_name="Autrui")
    client.force_login(staff)
    page = client.get(reverse("beneficiaries:list")).content.decode()
    assert "Mienne" in page and "Autrui" not in page
    assert client.get(reverse("beneficiaries:detail", args=[other.uuid])).status_code == 404
    assert client.get(reverse("beneficiaries:export", args=[other.uuid])).status_code == 404
    assert client.post(reverse("beneficiaries:check_create", args=[other.uuid]), {}).status_code == 404
    assert client.get(reverse("beneficiaries:detail", args=[mine.uuid])).status_code == 200


def test_departement_staff_never_see_beneficiaries(client):
    BeneficiaryFactory()
    reader = member_of(OrganisationFactory(departement_staff=True))
    client.force_login(reader)
    assert client.get(reverse("beneficiaries:list")).status_code == 403
    from reemploi.context_processors import _navigation

    assert "Bénéficiaires" not in [label for _url, label in _navigation(reader)]


def test_staff_registers_a_person_then_checks_eligibility(
    client, staff, relais, django_assert_max_num_queries
):
    commune = BeneficiaryFactory(relais=relais).commune
    criterion = CriterionFactory(family_quotient=True)
    client.force_login(staff)
    response = client.post(
        reverse("beneficiaries:create"),
        {
            "kind": "person",
            "first_name": "Inès",
            "last_name": "Moreau",
            "commune": commune.pk,
            "household_size": 3,
        },
    )
    person = Beneficiary.objects.get(last_name="Moreau")
    assert response.status_code == 302 and person.household.size == 3
    url = reverse("beneficiaries:check_create", args=[person.uuid])
    refused = client.post(
        url, {"criterion": criterion.pk, "document_type": "family_quotient", "declared_amount": "812"}
    )
    assert "dépasse le plafond de 700,00" in refused.content.decode()
    assert not EligibilityCheck.objects.exists()
    with django_assert_max_num_queries(30):
        response = client.post(
            url,
            {"criterion": criterion.pk, "document_type": "family_quotient", "declared_amount": "640"},
            follow=True,
        )
    assert "Éligibilité enregistrée" in response.content.decode()
    assert "éligible jusqu" in response.content.decode()


def test_person_form_reports_missing_name_in_french(client, staff):
    client.force_login(staff)
    response = client.post(reverse("beneficiaries:create"), {"kind": "person", "household_size": 1})
    assert "Indiquez au moins le nom" in response.content.decode()
    assert not Beneficiary.objects.exists()


def test_export_downloads_the_person_data_as_json(client, staff, relais):
    person = CheckFactory(beneficiary=BeneficiaryFactory(relais=relais, last_name="Durand")).beneficiary
    client.force_login(staff)
    response = client.get(reverse("beneficiaries:export", args=[person.uuid]))
    assert response["Content-Disposition"].startswith("attachment")
    assert json.loads(response.content)["bénéficiaire"]["nom"] == "Durand"


def test_coordinator_manages_criteria_and_exceptions_relais_cannot(client, staff, coordinator):
    client.force_login(staff)
    assert client.get(reverse("beneficiaries:criteria")).status_code == 403
    assert client.get(reverse("beneficiaries:quota_exceptions")).status_code == 403
    client.force_login(coordinator)
    response = client.post(
        reverse("beneficiaries:criteria"),
        {"departement": departement().pk, "kind": "family_quotient", "effective_from": "2025-01-01"},
    )
    assert "Ce critère demande un plafond" in response.content.decode()
    response = client.post(
        reverse("beneficiaries:criteria"),
        {
            "departement": departement().pk,
            "kind": "family_quotient",
            "threshold_amount": "700",
            "effective_from": "2025-01-01",
        },
        follow=True,
    )
    assert "Critère enregistré" in response.content.decode()
    household = BeneficiaryFactory().household
    response = client.post(
        reverse("beneficiaries:quota_exceptions"),
        {
            "household": household.reference,
            "category": 1,
            "extra_devices": 1,
            "valid_until": "2099-01-01",
            "reason": "court",
        },
    )
    assert "10 caractères" in response.content.decode() or "au moins 10" in response.content.decode()


def test_prescriber_issues_a_voucher_that_a_relais_redeems(client, staff):
    prescriber = OrganisationFactory(prescriber=True, departement=departement())
    social_worker = member_of(prescriber)
    commune = BeneficiaryFactory().commune
    client.force_login(social_worker)
    response = client.post(
        reverse("beneficiaries:vouchers"),
        {"first_name": "Amina", "last_name": "Benali", "commune": commune.pk, "household_size": 2},
        follow=True,
    )
    assert "émis pour Amina Benali" in response.content.decode()
    code = response.context["page"].object_list[0].display_code
    client.force_login(staff)
    response = client.post(reverse("beneficiaries:voucher_redeem"), {"code": code}, follow=True)
    assert "accepté" in response.content.decode() and "Benali" in response.content.decode()
    assert client.get(reverse("beneficiaries:vouchers")).status_code == 403


def test_check_form_reads_a_french_decimal_comma(client, staff, relais):
    """« 640,50 » is 640,50 €, not 64 050 € (a number input drops the comma in some browsers)."""
    person = BeneficiaryFactory(relais=relais)
    criterion = CriterionFactory(family_quotient=True)  # up to 700 €
    client.force_login(staff)
    page = client.get(reverse("beneficiaries:detail", args=[person.uuid])).content.decode()
    assert 'name="declared_amount"' in page and 'inputmode="decimal"' in page
    response = client.post(
        reverse("beneficiaries:check_create", args=[person.uuid]),
        {"criterion": criterion.pk, "document_type": "family_quotient", "declared_amount": "640,50"},
        follow=True,
    )
    assert "Éligibilité enregistrée" in response.content.decode()
    assert EligibilityCheck.objects.filter(beneficiary=person).exists()
    response = client.post(
        reverse("beneficiaries:check_create", args=[person.uuid]),
        {"criterion": criterion.pk, "document_type": "family_quotient", "declared_amount": "six cents"},
    )
    assert "Écrivez un montant en euros, par exemple 640,50." in response.content.decode()


def test_person_with_an_open_voucher_is_shown_eligible_until_a_sale_uses_it(client, staff, relais):
    from beneficiaries.services import voucher_redeem
    from tests.relais.factories import sell, stock_device

    voucher = voucher_redeem(actor=staff, relais=relais, code=VoucherFactory().code)
    person = voucher.beneficiary
    client.force_login(staff)
    page = client.get(reverse("beneficiaries:detail", args=[person.uuid])).content.decode()
    assert f"éligible par le bon {voucher.display_code}" in page and "Vendre ou donner un appareil" in page
    sell(staff, person, (stock_device(relais), "100"))
    page = client.get(reverse("beneficiaries:detail", args=[person.uuid])).content.decode()
    assert "éligibilité à vérifier" in page and "utilisé pour un achat" in page
    assert "Vendre ou donner un appareil" not in page


def test_forms_state_the_configured_validity_and_retention(client, staff, relais, settings):
    settings.ELIGIBILITY_VALIDITY_MONTHS = 6
    settings.BENEFICIARY_RETENTION_MONTHS = 18
    person = BeneficiaryFactory(relais=relais)
    client.force_login(staff)
    assert (
        "Par défaut : 6 mois."
        in client.get(reverse("beneficiaries:detail", args=[person.uuid])).content.decode()
    )
    assert "au bout de 18 mois sans contact" in client.get(reverse("beneficiaries:create")).content.decode()


@pytest.mark.parametrize(("months", "said"), [(24, "2 ans"), (12, "1 an"), (30, "30 mois")])
def test_privacy_notice_says_what_is_kept_for_how_long_and_the_export(client, settings, months, said):
    settings.BENEFICIARY_RETENTION_MONTHS = months
    page = client.get(reverse("privacy")).content.decode()
    assert "sans jamais en garder de copie" in page
    assert "critère, type de justificatif vu, qui l'a vérifié, quand et jusqu'à quand" in page
    assert f"Au bout de {said} sans contact avec le relais, ces données sont anonymisées" in page
    assert "la commune, la catégorie de matériel et les dates" in page
    assert "l'export de vos données" in page
