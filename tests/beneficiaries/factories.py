from datetime import date, timedelta

import factory
from django.utils import timezone

from beneficiaries.enums import BeneficiaryKind, CriterionKind, DocumentType
from beneficiaries.models import Beneficiary, EligibilityCheck, EligibilityCriterion, Household, Voucher
from tests.reemploi.factories import CommuneFactory, OrganisationFactory, UserFactory, departement


class CriterionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EligibilityCriterion

    departement = factory.LazyFunction(departement)
    kind = CriterionKind.RSA
    effective_from = date(2024, 1, 1)

    class Params:
        family_quotient = factory.Trait(kind=CriterionKind.FAMILY_QUOTIENT, threshold_amount=700)


class HouseholdFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Household

    relais = factory.SubFactory(
        OrganisationFactory, relais=True, departement=factory.LazyFunction(departement)
    )
    size = 2


class BeneficiaryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Beneficiary

    relais = factory.SubFactory(
        OrganisationFactory, relais=True, departement=factory.LazyFunction(departement)
    )
    kind = BeneficiaryKind.PERSON
    first_name = factory.Faker("first_name", locale="fr_FR")
    last_name = factory.Faker("last_name", locale="fr_FR")
    commune = factory.SubFactory(CommuneFactory)
    household = factory.SubFactory(HouseholdFactory, relais=factory.SelfAttribute("..relais"))


class CheckFactory(factory.django.DjangoModelFactory):
    """An eligibility check valid today (criterion RSA in force since 2024)."""

    class Meta:
        model = EligibilityCheck

    beneficiary = factory.SubFactory(BeneficiaryFactory)
    criterion = factory.SubFactory(CriterionFactory)
    document_type = DocumentType.CAF
    relais = factory.SelfAttribute("beneficiary.relais")
    checked_by = factory.SubFactory(UserFactory)
    checked_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=30))
    valid_until = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=300))


class VoucherFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Voucher

    prescriber = factory.SubFactory(OrganisationFactory, prescriber=True)
    issued_by = factory.SubFactory(UserFactory)
    first_name = "Amina"
    last_name = "Benali"
    commune = factory.SubFactory(CommuneFactory)
    household_size = 3
    expires_on = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=60))
