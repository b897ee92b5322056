"""People and structures equipped, from the relais' sales records, against a count made here."""

from datetime import timedelta

import pytest
from django.utils import timezone

from beneficiaries.enums import BeneficiaryKind
from indicators.enums import PeriodType
from indicators.models import IndicatorSnapshot
from indicators.tasks import compute_all_snapshots
from relais import services
from relais.enums import SaleKind
from tests.beneficiaries.factories import BeneficiaryFactory, CheckFactory
from tests.reemploi.factories import member_of
from tests.relais.factories import sell, stock_device

from .factories import DECIZE, NEVERS, relais_at

pytestmark = pytest.mark.django_db


def eligible(relais, **fields):
    return CheckFactory(beneficiary=BeneficiaryFactory(relais=relais, **fields)).beneficiary


def value(indicator, territory_code="58", period_type=PeriodType.TOTAL):
    return IndicatorSnapshot.objects.get(
        indicator=indicator, territory_code=territory_code, period_type=period_type
    ).value


def test_people_and_structures_equipped_are_distinct_beneficiaries_of_standing_sales(nievre):
    nevers, decize = relais_at(NEVERS), relais_at(DECIZE)
    staff_nevers, staff_decize = member_of(nevers), member_of(decize)
    day = timezone.localdate() - timedelta(days=5)
    alice, bruno, chloe = eligible(nevers), eligible(nevers), eligible(decize)
    association = eligible(
        decize, kind=BeneficiaryKind.ASSOCIATION, household=None, organisation_name="Secours nivernais"
    )
    sell(staff_nevers, alice, (stock_device(nevers, "laptop"), "150"), sold_on=day)
    sell(
        staff_nevers, alice, (stock_device(nevers, "smartphone"), "60"), sold_on=day
    )  # the same person again
    returned = sell(staff_nevers, bruno, (stock_device(nevers, "laptop"), "150"), sold_on=day)
    services.return_register(
        actor=staff_nevers, sale_line=returned.lines.get(), defect="Écran noir", remedy="repair"
    )
    sell(
        staff_decize,
        chloe,
        (stock_device(decize, "tablet"), "0"),
        kind=SaleKind.GIFT,
        payment_method="free",
        sold_on=day,
    )
    sell(
        staff_decize,
        association,
        (stock_device(decize, "laptop"), "120"),
        (stock_device(decize, "screen"), "20"),
    )

    compute_all_snapshots()

    # Alice (twice) and Chloé (a gift); Bruno's only laptop came back under guarantee.
    assert value("people_equipped") == 2
    assert value("people_equipped", str(nevers.uuid)) == 1
    assert value("people_equipped", str(decize.uuid)) == 1
    assert value("structures_equipped") == 1
    assert value("structures_equipped", str(decize.uuid)) == 1
    month = IndicatorSnapshot.objects.get(
        indicator="people_equipped",
        territory_code="58",
        period_type=PeriodType.MONTH,
        period_start=day.replace(day=1),
    )
    assert month.value == 2
    # The devices sold and given are counted from the history, the returned laptop left out.
    assert value("devices_distributed") == 5 and value("pcs_distributed") == 1 + 1
