"""The cap holds whoever writes: raw SQL around the application is refused by the database (triggers
on SQLite and PostgreSQL reading the kernel's PriceCap in force on the sale date)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from reemploi.models import PriceCap
from relais.models import Sale, SaleLine
from tests.reemploi.factories import category

from .factories import sell, stock_device

pytestmark = pytest.mark.django_db


def _raw_sale(relais, buyer, staff, sold_on):
    """A sale row written directly, as a careless script would."""
    check = buyer.checks.get()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO relais_sale (uuid, relais_id, kind, beneficiary_id, household_id, sold_on, sold_at,"
            " payment_method, total, eligibility_check_id, sold_by_id)"
            " VALUES (%s, %s, 'sale', %s, %s, %s, %s, 'cash', 0, %s, %s)",
            [
                "0d7c2d4e-0000-4000-8000-000000000001"
                if connection.vendor == "postgresql"
                else "0d7c2d4e000040008000000000000001",
                relais.pk,
                buyer.pk,
                buyer.household_id,
                sold_on,
                timezone.now(),
                check.pk,
                staff.pk,
            ],
        )
    return Sale.objects.get(uuid="0d7c2d4e-0000-4000-8000-000000000001")


def _raw_line(sale, device, price, bundle=None, cap_amount=None):
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO relais_saleline (sale_id, device_id, price, cap_amount, bundle, is_active) VALUES (%s, %s, %s, %s, %s, %s)",
            [sale.pk, device.pk, price, cap_amount, bundle, True],
        )


def test_database_accepts_laptop_at_180_and_refuses_180_01(relais, buyer, staff):
    sale = _raw_sale(relais, buyer, staff, timezone.localdate())
    _raw_line(sale, stock_device(relais), "180.00")
    with pytest.raises(IntegrityError), transaction.atomic():
        # A false cap written on the line changes nothing: the trigger reads the kernel's PriceCap.
        _raw_line(sale, stock_device(relais), "180.01", cap_amount="999")
    assert SaleLine.objects.filter(sale=sale).count() == 1


def test_database_refuses_screen_above_30(relais, buyer, staff):
    sale = _raw_sale(relais, buyer, staff, timezone.localdate())
    _raw_line(sale, stock_device(relais, "screen"), "30")
    with pytest.raises(IntegrityError), transaction.atomic():
        _raw_line(sale, stock_device(relais, "screen"), "30.01")


def test_database_refuses_raising_a_price_by_update(relais, buyer, staff):
    sale = sell(staff, buyer, (stock_device(relais), "120"))
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE relais_saleline SET price = 200 WHERE sale_id = %s", [sale.pk])
    assert sale.lines.get().price == Decimal("120.00")


def test_database_caps_a_desktop_set_as_one(relais, buyer, staff):
    sale = _raw_sale(relais, buyer, staff, timezone.localdate())
    _raw_line(sale, stock_device(relais, "desktop"), "100", bundle=1)
    _raw_line(sale, stock_device(relais, "screen"), "40", bundle=1)  # above 30 alone, fine inside the set
    _raw_line(sale, stock_device(relais, "keyboard"), "10", bundle=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        _raw_line(sale, stock_device(relais, "mouse"), "0.01", bundle=1)  # 150.01 for the set


def test_database_applies_the_cap_in_force_on_the_sale_date(relais, buyer, staff):
    today = timezone.localdate()
    PriceCap.objects.create(
        category=category("laptop"), amount=Decimal("160"), legal_reference="Test", effective_from=today
    )
    old = _raw_sale(relais, buyer, staff, today - timedelta(days=10))
    _raw_line(old, stock_device(relais), "175")  # the 180 € cap was in force then
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        # Moving that sale to today would put it under the new 160 € cap.
        cursor.execute("UPDATE relais_sale SET sold_on = %s WHERE id = %s", [today, old.pk])


def test_database_refuses_changing_the_device_category_under_a_sale(relais, buyer, staff):
    laptop = stock_device(relais)
    sell(staff, buyer, (laptop, "150"))
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE reemploi_device SET category_id = %s WHERE id = %s", [category("screen").pk, laptop.pk]
        )


def test_device_sold_once_unless_returned_is_a_database_constraint(relais, buyer, staff):
    laptop = stock_device(relais)
    sale = sell(staff, buyer, (laptop, "100"))
    with pytest.raises(IntegrityError), transaction.atomic():
        SaleLine.objects.create(sale=sale, device=laptop, price=Decimal("10"))


def test_database_refuses_a_queryset_update_above_the_cap(relais, buyer, staff):
    """The ORM's bulk update skips every Python check: the trigger still refuses it."""
    sale = sell(staff, buyer, (stock_device(relais), "180"))
    with pytest.raises(IntegrityError), transaction.atomic():
        SaleLine.objects.filter(sale=sale).update(price=Decimal("180.01"))
    assert sale.lines.get().price == Decimal("180.00")
