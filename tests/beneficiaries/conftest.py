import pytest

from tests.beneficiaries.factories import BeneficiaryFactory, CheckFactory
from tests.reemploi.factories import OrganisationFactory, departement, member_of


@pytest.fixture
def relais(db):
    return OrganisationFactory(relais=True, name="Relais de Nevers", departement=departement())


@pytest.fixture
def staff(relais):
    return member_of(relais, username="relais-nevers")


@pytest.fixture
def buyer(relais):
    """A person of the relais with a valid eligibility check."""
    return CheckFactory(beneficiary=BeneficiaryFactory(relais=relais)).beneficiary
