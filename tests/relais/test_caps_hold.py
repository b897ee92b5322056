"""The legal cap holds on every path: no sale dated out of the cap's reach, caps and cap policies that
nobody can rewrite, and a device's asking price under its cap in the database too."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from reemploi.enums import DeviceState, Provenance
from reemploi.lifecycle import device_transition
from reemploi.models import Device, PriceCap
from relais import rules, services
from relais.models import CapPolicy, Sale, SaleLine
from tests.beneficiaries.factories import BeneficiaryFactory, CheckFactory
from tests.reemploi.factories import DeviceFactory, category

from .factories import sell, stock_device

pytestmark = pytest.mark.django_db

BEFORE_THE_DECREE = date(2022, 11, 9)


def arrived_stock_device(relais, code="laptop", days_ago=3, **fields):
    """A device that arrived in the relais' stock `days_ago` days ago, through the lifecycle."""
    device = DeviceFactory(holder=relais, state=DeviceState.IN_TRANSIT, category=category(code), **fields)
    device_transition(
        device=device,
        to_state=DeviceState.IN_STOCK,
        holder=relais,
        check_permission=False,
        at=timezone.now() - timedelta(days=days_ago),
    )
    return device


def an_old_buyer(relais):
    return CheckFactory(
        beneficiary=BeneficiaryFactory(relais=relais), checked_at=timezone.now() - timedelta(days=60)
    ).beneficiary


# --- A backdated sale ------------------------------------------------------------------------------


def test_a_sale_dated_before_the_decree_is_refused_not_read_as_uncapped(staff, relais):
    buyer = an_old_buyer(relais)
    with pytest.raises(ValidationError) as refused:
        sell(staff, buyer, (stock_device(relais), "999"), sold_on=BEFORE_THE_DECREE)
    assert "jours avant aujourd'hui" in str(refused.value)
    assert not Sale.objects.exists()


def test_no_cap_in_force_on_the_date_means_refused_not_uncapped(relais):
    """Whatever the sale window, a capped provenance with no cap of the decree on the date is refused."""
    laptop, unit, screen = (stock_device(relais, code) for code in ("laptop", "desktop", "screen"))
    problems = rules.price_problems([rules.LineRequest(laptop, Decimal("999"))], BEFORE_THE_DECREE)
    assert problems and "Aucun plafond du décret" in problems[0]
    problems = rules.price_problems(
        [rules.LineRequest(unit, Decimal("100"), 1), rules.LineRequest(screen, Decimal("20"), 1)],
        BEFORE_THE_DECREE,
    )
    assert problems and "ensemble n° 1" in problems[0]
    assert (
        rules.price_problems(
            [rules.LineRequest(stock_device(relais, "mouse"), Decimal("5"))], BEFORE_THE_DECREE
        )
        == []
    )


def test_the_api_refuses_a_backdated_sale_with_a_french_detail(staff, relais):
    buyer = an_old_buyer(relais)
    laptop = stock_device(relais)
    client = APIClient()
    client.force_authenticate(staff)
    response = client.post(
        "/api/sales/",
        {
            "beneficiary": str(buyer.uuid),
            "payment_method": "cash",
            "sold_on": "2022-11-09",
            "lines": [{"device": str(laptop.uuid), "price": "999"}],
        },
        format="json",
    )
    assert response.status_code == 400, response.json()
    assert "trop ancien" in str(response.json())
    assert not Sale.objects.exists()


def test_a_sale_is_dated_at_most_the_configured_number_of_days_back(staff, relais, settings):
    settings.SALE_BACKDATE_DAYS = 7
    buyer = an_old_buyer(relais)
    today = timezone.localdate()
    with pytest.raises(ValidationError, match="au plus 7 jours"):
        sell(staff, buyer, (stock_device(relais), "100"), sold_on=today - timedelta(days=8))
    sale = sell(staff, buyer, (stock_device(relais), "100"), sold_on=today - timedelta(days=7))
    assert sale.sold_on == today - timedelta(days=7)


def test_a_sale_cannot_be_dated_before_the_device_arrived_at_the_relais(staff, relais):
    buyer = an_old_buyer(relais)
    laptop = arrived_stock_device(relais, days_ago=2)
    today = timezone.localdate()
    with pytest.raises(ValidationError, match="entré dans le stock du relais"):
        sell(staff, buyer, (laptop, "100"), sold_on=today - timedelta(days=3))
    sale = sell(staff, buyer, (laptop, "100"), sold_on=today - timedelta(days=2))
    assert sale.lines.get().device_id == laptop.pk


def test_raw_sql_cannot_move_a_sale_before_the_decree(staff, buyer, relais):
    sale = sell(staff, buyer, (stock_device(relais), "150"))
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE relais_sale SET sold_on = '2020-01-01' WHERE id = %s", [sale.pk])
    sale.refresh_from_db()
    assert sale.sold_on == timezone.localdate()


def test_raw_sql_cannot_record_a_line_on_a_sale_dated_before_the_decree(staff, relais):
    buyer = an_old_buyer(relais)
    sale = Sale.objects.create(
        relais=relais,
        beneficiary=buyer,
        household=buyer.household,
        sold_on=BEFORE_THE_DECREE,
        payment_method="cash",
        total=Decimal("999"),
        eligibility_check=buyer.checks.get(),
        sold_by=staff,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        SaleLine.objects.create(sale=sale, device=stock_device(relais), price=Decimal("999"))
    with pytest.raises(IntegrityError), transaction.atomic():
        SaleLine.objects.create(
            sale=sale, device=stock_device(relais, "desktop"), price=Decimal("999"), bundle=1
        )
    # An uncapped category of the network (a mouse) was never under the decree.
    SaleLine.objects.create(sale=sale, device=stock_device(relais, "mouse"), price=Decimal("5"))


# --- Caps and policies are append-only -------------------------------------------------------------


def laptop_cap():
    return PriceCap.objects.get(category=category("laptop"), amount=Decimal("180"))


def test_a_cap_cannot_be_changed_nor_deleted_through_the_orm():
    cap = laptop_cap()
    cap.amount = Decimal("9999")
    with pytest.raises(PermissionError):
        cap.save()
    with pytest.raises(PermissionError):
        PriceCap.objects.filter(pk=cap.pk).update(amount=Decimal("9999"))
    with pytest.raises(PermissionError):
        cap.delete()
    with pytest.raises(PermissionError):
        PriceCap.objects.filter(pk=cap.pk).delete()
    assert laptop_cap().amount == Decimal("180")


def test_the_database_refuses_rewriting_a_cap():
    cap = laptop_cap()
    for statement in (
        "UPDATE reemploi_pricecap SET amount = 9999 WHERE id = %s",
        "DELETE FROM reemploi_pricecap WHERE id = %s",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [cap.pk])
    assert laptop_cap().amount == Decimal("180")


def test_the_database_refuses_rewriting_a_cap_policy():
    policy = CapPolicy.objects.create(provenance=Provenance.PUBLIC, effective_from=timezone.localdate())
    for statement in (
        "UPDATE relais_cappolicy SET is_capped = %s WHERE id = %s",
        "DELETE FROM relais_cappolicy WHERE id = %s AND %s",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [False, policy.pk] if "UPDATE" in statement else [policy.pk, True])
    with pytest.raises(PermissionError):
        CapPolicy.objects.filter(pk=policy.pk).update(is_capped=False)


def test_a_new_cap_takes_effect_today_or_later_never_in_the_past():
    yesterday = timezone.localdate() - timedelta(days=1)
    cap = PriceCap(
        category=category("laptop"), amount=Decimal("1"), legal_reference="x", effective_from=yesterday
    )
    with pytest.raises(ValidationError, match="aujourd'hui ou plus tard"):
        cap.full_clean()
    with pytest.raises(DatabaseError), transaction.atomic():
        cap.save()
    policy = CapPolicy(provenance=Provenance.COMPANY, is_capped=False, effective_from=yesterday)
    with pytest.raises(ValidationError, match="aujourd'hui ou plus tard"):
        policy.full_clean()
    with pytest.raises(DatabaseError), transaction.atomic():
        policy.save()


def test_a_past_sale_keeps_the_cap_it_was_checked_against(staff, relais):
    buyer = an_old_buyer(relais)
    sale = sell(staff, buyer, (stock_device(relais), "175"), sold_on=timezone.localdate() - timedelta(days=2))
    PriceCap.objects.create(
        category=category("laptop"),
        amount=Decimal("100"),
        legal_reference="Test",
        effective_from=timezone.localdate(),
    )
    # The sale still reads the 180 € cap of its date: re-checking it in the database passes.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE relais_saleline SET price = price WHERE sale_id = %s", [sale.pk])


def test_the_admin_offers_neither_to_edit_nor_to_delete_caps(admin_client):
    cap = laptop_cap()
    assert admin_client.get(f"/admin/reemploi/pricecap/{cap.pk}/delete/").status_code == 403
    page = admin_client.get(f"/admin/reemploi/pricecap/{cap.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    policy = CapPolicy.objects.create(provenance=Provenance.PUBLIC, effective_from=timezone.localdate())
    assert admin_client.get(f"/admin/relais/cappolicy/{policy.pk}/delete/").status_code == 403


# --- The asking price ------------------------------------------------------------------------------


def test_the_database_holds_a_device_asking_price_under_its_cap(relais):
    laptop = stock_device(relais, price=Decimal("180"))
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE reemploi_device SET price = 180.01 WHERE id = %s", [laptop.pk])
    with pytest.raises(IntegrityError), transaction.atomic():
        Device.objects.filter(pk=laptop.pk).update(price=Decimal("180.01"))
    with pytest.raises(IntegrityError), transaction.atomic():
        stock_device(relais, "screen", price=Decimal("30.01"))
    laptop.refresh_from_db()
    assert laptop.price == Decimal("180")
    # An uncapped provenance, and an uncapped category, may be priced freely.
    CapPolicy.objects.create(
        provenance=Provenance.CITIZEN, is_capped=False, effective_from=timezone.localdate()
    )
    stock_device(relais, provenance=Provenance.CITIZEN, price=Decimal("250"))
    stock_device(relais, "mouse", price=Decimal("40"))


def test_setting_a_stock_price_above_the_cap_is_a_french_error(staff, relais):
    laptop = stock_device(relais, price=Decimal("150"))
    with pytest.raises(ValidationError, match="plafond légal"):
        services.stock_set_price(actor=staff, device=laptop, price="180.01")
