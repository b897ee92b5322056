from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from reemploi.enums import DeviceState
from reemploi.lifecycle import TransitionError, device_transition
from relais import services
from relais.models import Loan, Sale
from tests.beneficiaries.factories import BeneficiaryFactory
from tests.reemploi.factories import OrganisationFactory

from .factories import sell, stock_device

pytestmark = pytest.mark.django_db


def test_lend_a_tablet_then_take_it_back(staff, relais):
    tablet = stock_device(relais, "tablet")
    person = BeneficiaryFactory(relais=relais)
    loan = services.loan_create(
        actor=staff,
        relais=relais,
        device=tablet,
        beneficiary=person,
        due_on=timezone.localdate() + timedelta(days=14),
    )
    tablet.refresh_from_db()
    assert tablet.state == DeviceState.LENT and tablet.events.last().cause == loan
    services.loan_return(actor=staff, loan=loan, note="Bon état")
    tablet.refresh_from_db()
    loan.refresh_from_db()
    assert tablet.state == DeviceState.IN_STOCK and loan.returned_at and loan.return_note == "Bon état"
    with pytest.raises(ValidationError, match="déjà clos"):
        services.loan_return(actor=staff, loan=loan)


def test_overdue_loans_are_listed(staff, relais):
    person = BeneficiaryFactory(relais=relais)
    late = services.loan_create(
        actor=staff,
        relais=relais,
        device=stock_device(relais, "tablet"),
        beneficiary=person,
        due_on=timezone.localdate(),
    )
    services.loan_create(
        actor=staff, relais=relais, device=stock_device(relais, "laptop"), beneficiary=person
    )
    Loan.objects.filter(pk=late.pk).update(
        due_on=timezone.localdate() - timedelta(days=1), lent_on=timezone.localdate() - timedelta(days=30)
    )
    assert list(Loan.objects.overdue()) == [late]


def test_loan_goes_through_the_loans_screen_only(staff, relais):
    tablet = stock_device(relais, "tablet")
    with pytest.raises(TransitionError, match="Prêts"):
        device_transition(device=tablet, to_state=DeviceState.LENT, actor=staff)


def test_return_under_guarantee_goes_back_to_a_refurbisher_with_its_history(staff, buyer, relais):
    laptop = stock_device(relais, "laptop")
    sale = sell(staff, buyer, (laptop, "150"))
    guarantee_return = services.return_register(
        actor=staff, sale_line=sale.lines.get(), defect="Écran noir au démarrage", remedy="replacement"
    )
    laptop.refresh_from_db()
    assert laptop.state == DeviceState.RETURNED and guarantee_return.defect_presumed
    workshop = OrganisationFactory(refurbisher=True, name="Atelier du Val")
    services.return_send(actor=staff, guarantee_return=guarantee_return, refurbisher=workshop)
    laptop.refresh_from_db()
    assert (laptop.state, laptop.holder) == (DeviceState.RECEIVED, workshop)
    states = list(laptop.events.values_list("to_state", flat=True))
    assert states[-3:] == [DeviceState.SOLD, DeviceState.RETURNED, DeviceState.RECEIVED]
    # The household may get a replacement: the returned device no longer counts in its quota.
    sell(staff, buyer, (stock_device(relais, "laptop"), "150"))


def test_guarantee_ends_two_years_after_the_sale(staff, buyer, relais):
    sale = sell(staff, buyer, (stock_device(relais), "150"))
    Sale.objects.filter(pk=sale.pk).update(sold_on=timezone.localdate() - timedelta(days=800))
    with pytest.raises(ValidationError, match="garantie légale de conformité de 2 ans a pris fin"):
        services.return_register(
            actor=staff, sale_line=sale.lines.get(), defect="Batterie morte", remedy="repair"
        )


def test_defect_presumed_only_during_the_first_twelve_months(staff, buyer, relais):
    sale = sell(staff, buyer, (stock_device(relais), "150"))
    Sale.objects.filter(pk=sale.pk).update(sold_on=timezone.localdate() - timedelta(days=400))
    guarantee_return = services.return_register(
        actor=staff, sale_line=sale.lines.get(), defect="Clavier HS", remedy="repair"
    )
    assert not guarantee_return.defect_presumed


def test_stock_price_may_be_lowered_never_above_the_cap(staff, relais):
    laptop = stock_device(relais, "laptop", price=150)
    services.stock_set_price(actor=staff, device=laptop, price="120")
    laptop.refresh_from_db()
    assert laptop.price == 120
    with pytest.raises(ValidationError, match="180,00 €"):
        services.stock_set_price(actor=staff, device=laptop, price="180.01")
