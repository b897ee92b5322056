from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from beneficiaries import services
from beneficiaries.enums import BeneficiaryKind, CriterionKind, DocumentType
from beneficiaries.exports import personal_data
from beneficiaries.models import Beneficiary, Voucher
from reemploi.enums import DeviceState
from tests.relais.factories import sell, stock_device

from .factories import BeneficiaryFactory, CheckFactory, CriterionFactory, VoucherFactory

pytestmark = pytest.mark.django_db

ALL_KINDS = [k for k in CriterionKind.values if k != CriterionKind.ASSOCIATION]


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_each_criterion_is_checked_within_its_dates_of_effect(staff, relais, kind):
    person = BeneficiaryFactory(relais=relais)
    today = timezone.localdate()
    threshold = Decimal("700") if kind == CriterionKind.FAMILY_QUOTIENT else None
    current = CriterionFactory(
        kind=kind, threshold_amount=threshold, effective_from=today - timedelta(days=10)
    )
    ended = CriterionFactory(
        kind=kind,
        threshold_amount=threshold,
        effective_from=date(2023, 1, 1),
        effective_until=today - timedelta(days=11),
    )
    future = CriterionFactory(kind=kind, threshold_amount=threshold, effective_from=today + timedelta(days=1))
    amount = Decimal("650") if threshold else None
    check = services.eligibility_check_record(
        actor=staff,
        beneficiary=person,
        criterion=current,
        document_type=DocumentType.CAF,
        declared_amount=amount,
    )
    assert check.valid_until == services.default_check_validity(today)
    for criterion in (ended, future):
        with pytest.raises(ValidationError, match="n'est pas en vigueur"):
            services.eligibility_check_record(
                actor=staff,
                beneficiary=person,
                criterion=criterion,
                document_type=DocumentType.CAF,
                declared_amount=amount,
            )


def test_family_quotient_threshold_and_its_change(staff, relais):
    """700 € until yesterday, 720 € from today: 713,37 € is refused under the old row, accepted under the
    new one."""
    today = timezone.localdate()
    old = CriterionFactory(
        family_quotient=True, threshold_amount=Decimal("700"), effective_from=date(2024, 1, 1)
    )
    old = services.criterion_end(
        actor=_coordinator(), criterion=old, effective_until=today - timedelta(days=1)
    )
    new = CriterionFactory(family_quotient=True, threshold_amount=Decimal("720"), effective_from=today)
    person = BeneficiaryFactory(relais=relais)
    with pytest.raises(ValidationError, match="n'est pas en vigueur"):
        services.eligibility_check_record(
            actor=staff,
            beneficiary=person,
            criterion=old,
            document_type="family_quotient",
            declared_amount=Decimal("650"),
        )
    with pytest.raises(ValidationError, match="dépasse le plafond de 720"):
        services.eligibility_check_record(
            actor=staff,
            beneficiary=person,
            criterion=new,
            document_type="family_quotient",
            declared_amount=Decimal("720.01"),
        )
    check = services.eligibility_check_record(
        actor=staff,
        beneficiary=person,
        criterion=new,
        document_type="family_quotient",
        declared_amount=Decimal("713.37"),
    )
    assert check.threshold_applied == Decimal("720.00")
    # The amount read is not stored anywhere: only the decision and the threshold applied. (An amount
    # with cents: a bare "710" could match digits of a timestamp or an identifier.)
    exported = str(personal_data(person))
    assert "713.37" not in exported and "713,37" not in exported


def test_threshold_is_required_for_family_quotient_only(coordinator):
    from reemploi.models import Departement

    nievre = Departement.objects.get(code="58")
    with pytest.raises(ValidationError, match="plafond"):
        services.criterion_create(
            actor=coordinator,
            departement=nievre,
            kind=CriterionKind.FAMILY_QUOTIENT,
            effective_from=date(2025, 1, 1),
        )
    with pytest.raises(ValidationError, match="pas de plafond"):
        services.criterion_create(
            actor=coordinator,
            departement=nievre,
            kind=CriterionKind.RSA,
            effective_from=date(2025, 1, 1),
            threshold_amount=Decimal("646.52"),
        )
    criterion = services.criterion_create(
        actor=coordinator,
        departement=nievre,
        kind=CriterionKind.FAMILY_QUOTIENT,
        effective_from=date(2025, 1, 1),
        threshold_amount=Decimal("700"),
    )
    assert str(criterion) == "Quotient familial sous un plafond (≤ 700,00 €)"


def test_only_the_coordinator_sets_criteria(staff):
    from reemploi.models import Departement

    with pytest.raises(PermissionDenied):
        services.criterion_create(
            actor=staff,
            departement=Departement.objects.get(code="58"),
            kind=CriterionKind.RSA,
            effective_from=date(2025, 1, 1),
        )


def test_criterion_of_another_departement_is_refused(staff, relais):
    from reemploi.models import Departement

    other = CriterionFactory(departement=Departement.objects.get(code="21"))
    with pytest.raises(ValidationError, match="département"):
        services.eligibility_check_record(
            actor=staff, beneficiary=BeneficiaryFactory(relais=relais), criterion=other, document_type="caf"
        )


def test_check_validity_is_twelve_months_at_most_and_configurable(staff, relais, settings):
    person = BeneficiaryFactory(relais=relais)
    criterion = CriterionFactory()
    today = timezone.localdate()
    with pytest.raises(ValidationError, match="au plus 12 mois"):
        services.eligibility_check_record(
            actor=staff,
            beneficiary=person,
            criterion=criterion,
            document_type="caf",
            valid_until=today + timedelta(days=400),
        )
    settings.ELIGIBILITY_VALIDITY_MONTHS = 6
    check = services.eligibility_check_record(
        actor=staff, beneficiary=person, criterion=criterion, document_type="caf"
    )
    assert check.valid_until == services.add_months(today, 6)


def test_expired_check_is_refused_at_sale(staff, relais):
    person = CheckFactory(
        beneficiary=BeneficiaryFactory(relais=relais), valid_until=timezone.localdate() - timedelta(days=1)
    ).beneficiary
    with pytest.raises(ValidationError, match="pas de vérification d'éligibilité valide"):
        sell(staff, person, (stock_device(relais), "90"))


def test_association_is_checked_on_the_association_criterion(staff, relais):
    association = services.beneficiary_create(
        actor=staff,
        relais=relais,
        kind=BeneficiaryKind.ASSOCIATION,
        organisation_name="Secours solidaire",
        commune=BeneficiaryFactory().commune,
    )
    assert association.household is None
    with pytest.raises(ValidationError, match="type de bénéficiaire"):
        services.eligibility_check_record(
            actor=staff, beneficiary=association, criterion=CriterionFactory(), document_type="statutes"
        )
    services.eligibility_check_record(
        actor=staff,
        beneficiary=association,
        criterion=CriterionFactory(kind=CriterionKind.ASSOCIATION),
        document_type="statutes",
    )
    sale = sell(staff, association, (stock_device(relais), "150"), (stock_device(relais), "150"))
    assert sale.household is None  # the household quota binds people, not associations


def test_second_person_joins_an_existing_household(staff, relais):
    first = BeneficiaryFactory(relais=relais)
    second = services.beneficiary_create(
        actor=staff, relais=relais, last_name="Martin", commune=first.commune, household=first.household
    )
    assert second.household == first.household
    with pytest.raises(ValidationError, match="foyer"):
        services.beneficiary_create(
            actor=staff,
            relais=relais,
            last_name="Autre",
            commune=first.commune,
            household=BeneficiaryFactory().household,
        )


def test_prescriber_issues_voucher_and_relais_redeems_it_once(staff, relais):
    from tests.reemploi.factories import OrganisationFactory, member_of

    prescriber = OrganisationFactory(prescriber=True)
    social_worker = member_of(prescriber)
    voucher = services.voucher_issue(
        actor=social_worker,
        prescriber=prescriber,
        first_name="Amina",
        last_name="Benali",
        commune=BeneficiaryFactory().commune,
        household_size=4,
    )
    assert voucher.expires_on == timezone.localdate() + timedelta(days=90)
    redeemed = services.voucher_redeem(actor=staff, relais=relais, code=voucher.display_code)
    assert redeemed.beneficiary.last_name == "Benali" and redeemed.beneficiary.household.size == 4
    with pytest.raises(ValidationError, match="déjà été utilisé"):
        services.voucher_redeem(actor=staff, relais=relais, code=voucher.code)
    with pytest.raises(PermissionDenied):
        services.voucher_issue(
            actor=staff, prescriber=prescriber, first_name="X", last_name="Y", commune=voucher.commune
        )


def test_anonymisation_job_erases_people_inactive_for_24_months(
    staff, relais, django_capture_on_commit_callbacks
):
    from beneficiaries.tasks import anonymise_inactive

    old = CheckFactory(beneficiary=BeneficiaryFactory(relais=relais, last_name="Ancien")).beneficiary
    sale = sell(staff, old, (stock_device(relais, "laptop"), "150"))
    recent = BeneficiaryFactory(relais=relais, last_name="Récent")
    now = timezone.now()
    Beneficiary.objects.filter(pk=old.pk).update(last_contact_at=now - timedelta(days=735))
    Beneficiary.objects.filter(pk=recent.pk).update(last_contact_at=now - timedelta(days=700))
    voucher = VoucherFactory(expires_on=timezone.localdate() - timedelta(days=800))

    assert anonymise_inactive.delay().get() == 1
    old.refresh_from_db()
    recent.refresh_from_db()
    assert old.is_anonymised and old.first_name == old.last_name == ""
    assert str(old) == "Bénéficiaire anonymisé"
    # What indicators need stays: commune, household size, category and dates of what was received.
    assert old.commune_id and old.household.size == 2
    line = sale.lines.get()
    assert (
        line.device.category.code == "laptop" and line.sale.sold_on and line.device.state == DeviceState.SOLD
    )
    assert not recent.is_anonymised
    voucher.refresh_from_db()
    assert voucher.last_name == "" and voucher.anonymised_at
    assert anonymise_inactive.delay().get() == 0  # idempotent


def test_retention_period_is_configurable(relais, settings):
    settings.BENEFICIARY_RETENTION_MONTHS = 6
    person = BeneficiaryFactory(relais=relais)
    Beneficiary.objects.filter(pk=person.pk).update(last_contact_at=timezone.now() - timedelta(days=190))
    assert services.anonymise_inactive() == 1


def test_anonymisation_beat_entry_exists(settings):
    entries = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "beneficiaries.tasks.anonymise_inactive" in entries


def test_personal_data_export_holds_everything_about_the_person(staff, relais):
    person = CheckFactory(
        beneficiary=BeneficiaryFactory(relais=relais, first_name="Léa", last_name="Durand")
    ).beneficiary
    sell(staff, person, (stock_device(relais, "tablet", serial_number="TAB-1"), "80"))
    data = personal_data(person)
    assert data["bénéficiaire"]["nom"] == "Durand"
    assert data["vérifications_d_éligibilité"][0]["justificatif_vu"] == "Attestation de paiement CAF ou MSA"
    assert data["achats_et_dons"][0]["appareils"][0]["numéro_de_série"] == "TAB-1"
    assert "prêts" in data


def test_voucher_stays_unredeemed_until_a_relais_takes_it(staff):
    voucher = VoucherFactory()
    assert Voucher.objects.unredeemed().get() == voucher


def _coordinator():
    from tests.reemploi.factories import OrganisationFactory, member_of

    return member_of(OrganisationFactory(coordinator=True))
