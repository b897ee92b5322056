"""Two staff sell the same device at the same moment: exactly one sale goes through."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections

from reemploi.enums import DeviceState
from relais.models import Sale, SaleLine
from tests.beneficiaries.factories import BeneficiaryFactory, CheckFactory
from tests.reemploi.factories import member_of

from .factories import sell, stock_device

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite sérialise toutes les écritures : la concurrence réelle se teste sur PostgreSQL.")


def test_two_desks_selling_the_same_laptop_at_once_exactly_one_succeeds(relais):
    laptop = stock_device(relais, "laptop")
    desks = [
        (member_of(relais), CheckFactory(beneficiary=BeneficiaryFactory(relais=relais)).beneficiary)
        for _ in range(2)
    ]
    barrier = threading.Barrier(len(desks))
    results = []

    def desk(actor, buyer):
        try:
            barrier.wait(timeout=10)
            sell(actor, buyer, (laptop, "150"))
            results.append("sold")
        except ValidationError as error:
            results.append(" ".join(error.messages))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=desk, args=pair) for pair in desks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results, key=lambda r: r != "sold")[0] == "sold"
    assert results.count("sold") == 1, results
    assert "n'est plus disponible" in next(r for r in results if r != "sold")
    laptop.refresh_from_db()
    assert laptop.state == DeviceState.SOLD
    assert Sale.objects.count() == 1 and SaleLine.objects.filter(device=laptop).count() == 1
    assert laptop.events.filter(to_state=DeviceState.SOLD).count() == 1


def test_two_desks_cannot_pass_the_household_quota_together(relais):
    """Two people of one household buy a laptop each at two desks at once: the quota lets one through."""
    household = BeneficiaryFactory(relais=relais).household
    desks = [
        (
            member_of(relais),
            CheckFactory(beneficiary=BeneficiaryFactory(relais=relais, household=household)).beneficiary,
            stock_device(relais),
        )
        for _ in range(2)
    ]
    barrier = threading.Barrier(len(desks))
    results = []

    def desk(actor, buyer, device):
        try:
            barrier.wait(timeout=10)
            sell(actor, buyer, (device, "150"))
            results.append("sold")
        except ValidationError as error:
            results.append(" ".join(error.messages))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=desk, args=args) for args in desks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert results.count("sold") == 1, results
    assert "Quota atteint" in next(r for r in results if r != "sold")
