from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from beneficiaries.models import QuotaException, QuotaPolicy
from reemploi.enums import DeviceState, Provenance
from reemploi.lifecycle import TransitionError, device_transition
from reemploi.models import Document, PriceCap
from relais.enums import SaleKind
from relais.models import CapPolicy, Sale
from tests.beneficiaries.factories import BeneficiaryFactory, CheckFactory, VoucherFactory
from tests.reemploi.factories import category, member_of

from .factories import sell, stock_device

pytestmark = pytest.mark.django_db


def test_relais_sells_laptop_at_the_cap_with_receipt_and_history(
    staff, buyer, relais, django_capture_on_commit_callbacks
):
    laptop = stock_device(relais, "laptop", price=Decimal("150"))
    with django_capture_on_commit_callbacks(execute=True):
        sale = sell(staff, buyer, (laptop, "180.00"))
    laptop.refresh_from_db()
    assert laptop.state == DeviceState.SOLD
    event = laptop.events.get(to_state=DeviceState.SOLD)
    assert event.cause == sale and event.actor == staff
    assert buyer.last_name not in event.note  # no personal data in the append-only history
    assert sale.total == Decimal("180.00") and sale.eligibility_check is not None
    receipt = Document.objects.about(sale).get()
    assert receipt.number.startswith("VTE-") and receipt.sha256
    assert buyer.last_name not in str(receipt.public_facts)


def test_relais_cannot_sell_above_decree_cap(staff, buyer, relais):
    laptop = stock_device(relais, "laptop")
    with pytest.raises(ValidationError, match="180,01 € .* dépasse le plafond légal de 180,00 €"):
        sell(staff, buyer, (laptop, "180.01"))
    laptop.refresh_from_db()
    assert laptop.state == DeviceState.IN_STOCK
    assert not Sale.objects.exists()


@pytest.mark.parametrize(
    ("code", "accepted", "refused"), [("screen", "30", "30.01"), ("tablet", "100", "100.01")]
)
def test_cap_boundaries_per_category(staff, relais, code, accepted, refused):
    ok = stock_device(relais, code)
    ko = stock_device(relais, code)
    first = CheckFactory(beneficiary=BeneficiaryFactory(relais=relais)).beneficiary
    second = CheckFactory(beneficiary=BeneficiaryFactory(relais=relais)).beneficiary
    sell(staff, first, (ok, accepted))
    with pytest.raises(ValidationError, match="plafond légal"):
        sell(staff, second, (ko, refused))


def test_cap_in_force_on_the_sale_date_applies(staff, relais):
    """A later PriceCap row (here 160 € from today) binds sales from its date; earlier sales keep the old cap."""
    PriceCap.objects.create(
        category=category("laptop"),
        amount=Decimal("160"),
        legal_reference="Décret futur (test)",
        effective_from=timezone.localdate(),
    )
    today_buyer = CheckFactory(beneficiary=BeneficiaryFactory(relais=relais)).beneficiary
    with pytest.raises(ValidationError, match="plafond légal de 160,00 €"):
        sell(staff, today_buyer, (stock_device(relais), "170"))
    earlier = CheckFactory(
        beneficiary=BeneficiaryFactory(relais=relais), checked_at=timezone.now() - timedelta(days=20)
    ).beneficiary
    sale = sell(
        staff, earlier, (stock_device(relais), "180"), sold_on=timezone.localdate() - timedelta(days=5)
    )
    assert sale.lines.get().cap_amount == Decimal("180.00")


def test_desktop_set_sold_together_under_one_desktop_cap(staff, buyer, relais):
    unit, screen, keyboard, mouse = (
        stock_device(relais, code) for code in ("desktop", "screen", "keyboard", "mouse")
    )
    sale = sell(staff, buyer, (unit, "100", 1), (screen, "40", 1), (keyboard, "5", 1), (mouse, "5", 1))
    assert sale.total == Decimal("150.00")  # the screen alone would be capped at 30 €
    assert set(sale.lines.values_list("cap_amount", flat=True)) == {Decimal("150.00")}


def test_desktop_set_above_its_cap_is_refused(staff, buyer, relais):
    unit, screen = stock_device(relais, "desktop"), stock_device(relais, "screen")
    with pytest.raises(ValidationError, match="ensemble PC fixe n° 1 .* 150,01 €"):
        sell(staff, buyer, (unit, "120.01", 1), (screen, "30", 1))


def test_set_needs_one_desktop_unit(staff, buyer, relais):
    with pytest.raises(ValidationError, match="unité centrale"):
        sell(staff, buyer, (stock_device(relais, "screen"), "20", 1), (stock_device(relais, "mouse"), "2", 1))


def test_screen_alone_capped_at_30(staff, buyer, relais):
    with pytest.raises(ValidationError, match="30,00 €"):
        sell(staff, buyer, (stock_device(relais, "screen"), "40"))


def test_uncapped_provenance_follows_the_network_policy(staff, buyer, relais):
    CapPolicy.objects.create(
        provenance=Provenance.COMPANY, is_capped=False, effective_from=timezone.localdate()
    )
    company = stock_device(relais, "laptop", provenance=Provenance.COMPANY)
    public = stock_device(relais, "laptop", provenance=Provenance.PUBLIC)
    sale = sell(staff, buyer, (company, "250"))
    assert sale.lines.get().cap_amount is None
    other = CheckFactory(beneficiary=BeneficiaryFactory(relais=relais)).beneficiary
    with pytest.raises(ValidationError, match="plafond légal"):
        sell(staff, other, (public, "250"))


def test_buyer_without_valid_check_is_refused(staff, relais):
    person = BeneficiaryFactory(relais=relais)
    CheckFactory(beneficiary=person, valid_until=timezone.localdate() - timedelta(days=1))
    with pytest.raises(ValidationError, match="pas de vérification d'éligibilité valide"):
        sell(staff, person, (stock_device(relais), "100"))


def test_redeemed_voucher_justifies_one_sale_then_is_used(staff, relais):
    from beneficiaries.services import voucher_redeem

    voucher = voucher_redeem(actor=staff, relais=relais, code=f"bon-{VoucherFactory().code.lower()}")
    person = voucher.beneficiary
    sale = sell(staff, person, (stock_device(relais, "laptop"), "100"))
    assert sale.voucher == voucher and sale.eligibility_check is None
    with pytest.raises(ValidationError, match="bon de prescription"):
        sell(staff, person, (stock_device(relais, "tablet"), "50"))


def test_expired_voucher_cannot_be_redeemed(staff, relais):
    from beneficiaries.services import voucher_redeem

    voucher = VoucherFactory(expires_on=timezone.localdate() - timedelta(days=1))
    with pytest.raises(ValidationError, match="a expiré"):
        voucher_redeem(actor=staff, relais=relais, code=voucher.code)


def test_redeemed_voucher_that_expired_no_longer_justifies_a_sale(staff, relais):
    from beneficiaries.services import voucher_redeem

    voucher = voucher_redeem(actor=staff, relais=relais, code=VoucherFactory().code)
    type(voucher).objects.filter(pk=voucher.pk).update(expires_on=timezone.localdate() - timedelta(days=1))
    with pytest.raises(ValidationError, match="ni de bon de prescription valide"):
        sell(staff, voucher.beneficiary, (stock_device(relais), "100"))


def test_second_laptop_to_the_same_household_is_refused(staff, buyer, relais):
    sell(staff, buyer, (stock_device(relais, "laptop"), "180"))
    partner = CheckFactory(
        beneficiary=BeneficiaryFactory(relais=relais, household=buyer.household)
    ).beneficiary
    with pytest.raises(ValidationError, match="Quota atteint : ce foyer a déjà reçu 1 appareil"):
        sell(staff, partner, (stock_device(relais, "laptop"), "100"))
    # Another category is fine: the quota is per category.
    sell(staff, partner, (stock_device(relais, "tablet"), "90"))


def test_quota_exception_granted_by_coordinator_allows_one_more(staff, buyer, relais, coordinator):
    from beneficiaries.services import quota_exception_grant

    sell(staff, buyer, (stock_device(relais, "laptop"), "180"))
    with pytest.raises(PermissionDenied):
        quota_exception_grant(
            actor=staff,
            household=buyer.household,
            category=category("laptop"),
            reason="Deux lycéens",
            valid_until=timezone.localdate(),
        )
    exception = quota_exception_grant(
        actor=coordinator,
        household=buyer.household,
        category=category("laptop"),
        reason="Deux lycéens en terminale dans le foyer",
        valid_until=timezone.localdate() + timedelta(days=30),
    )
    sale = sell(staff, buyer, (stock_device(relais, "laptop"), "150"))
    assert list(sale.quota_exceptions.all()) == [exception]
    with pytest.raises(ValidationError, match="Quota atteint"):
        sell(staff, buyer, (stock_device(relais, "laptop"), "150"))


def test_quota_exception_needs_a_written_reason(coordinator, buyer):
    from beneficiaries.services import quota_exception_grant

    with pytest.raises(ValidationError, match="raison"):
        quota_exception_grant(
            actor=coordinator,
            household=buyer.household,
            category=category("laptop"),
            reason="  ",
            valid_until=timezone.localdate(),
        )
    assert not QuotaException.objects.exists()


def test_quota_is_data(staff, buyer, relais):
    QuotaPolicy.objects.create(
        category=category("smartphone"), max_devices=2, period_months=12, effective_from=date(2024, 1, 1)
    )
    sell(staff, buyer, (stock_device(relais, "smartphone"), "50"), (stock_device(relais, "smartphone"), "50"))
    with pytest.raises(ValidationError, match="peut en recevoir 2"):
        sell(staff, buyer, (stock_device(relais, "smartphone"), "50"))


def test_quota_window_is_twelve_months(staff, buyer, relais):
    old = sell(staff, buyer, (stock_device(relais, "laptop"), "180"))
    Sale.objects.filter(pk=old.pk).update(sold_on=timezone.localdate() - timedelta(days=400))
    sell(staff, buyer, (stock_device(relais, "laptop"), "180"))


def test_gift_is_free_and_moves_device_to_given(staff, buyer, relais):
    tablet = stock_device(relais, "tablet")
    sale = sell(staff, buyer, (tablet, "0"), kind=SaleKind.GIFT)
    tablet.refresh_from_db()
    assert tablet.state == DeviceState.GIVEN and sale.payment_method == "free"
    with pytest.raises(ValidationError, match="gratuit"):
        sell(staff, buyer, (stock_device(relais, "screen"), "10"), kind=SaleKind.GIFT)


def test_another_relais_cannot_sell_my_stock_or_to_my_people(staff, buyer, relais):
    from tests.reemploi.factories import OrganisationFactory, departement

    other = OrganisationFactory(relais=True, departement=departement())
    other_staff = member_of(other)
    with pytest.raises(Exception, match="Vous n'agissez pas pour ce relais"):
        sell(other_staff, buyer, (stock_device(relais), "100"))


def test_read_only_member_cannot_sell(relais, buyer):
    reader = member_of(relais, role="read_only")
    with pytest.raises(Exception, match="Vous n'agissez pas"):
        sell(reader, buyer, (stock_device(relais), "100"))


def test_generic_transition_cannot_sell_around_the_rules(staff, relais):
    laptop = stock_device(relais)
    with pytest.raises(TransitionError, match="écran « Ventes »"):
        device_transition(device=laptop, to_state=DeviceState.SOLD, actor=staff)
    laptop.refresh_from_db()
    assert laptop.state == DeviceState.IN_STOCK


def test_device_already_sold_cannot_be_sold_again(staff, buyer, relais):
    laptop = stock_device(relais)
    sell(staff, buyer, (laptop, "100"))
    other = CheckFactory(beneficiary=BeneficiaryFactory(relais=relais)).beneficiary
    with pytest.raises(ValidationError, match="n'est plus disponible"):
        sell(staff, other, (laptop, "100"))


def test_sale_date_cannot_be_in_the_future(staff, buyer, relais):
    with pytest.raises(ValidationError, match="futur"):
        sell(staff, buyer, (stock_device(relais), "100"), sold_on=timezone.localdate() + timedelta(days=1))


def test_quota_message_names_the_period(staff, buyer, relais):
    sell(staff, buyer, (stock_device(relais), "150"))
    with pytest.raises(ValidationError, match="sur les 12 derniers mois et peut en recevoir 1"):
        sell(staff, buyer, (stock_device(relais), "150"))
