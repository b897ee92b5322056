"""A device that has been in a person's hands reaches another person only after an erasure (or a
destruction, or a "holds no storage" declaration) recorded after it came back: the kernel's custody
rule, whatever path brought it back."""

import html
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from reemploi.enums import DeviceState
from reemploi.lifecycle import TransitionError, blocked_by_custody, device_transition
from reemploi.models import Device
from refurbishers.models import Sanitisation, StorageMedium
from refurbishers.resets import FactoryReset
from relais import services
from relais.enums import AfterReturn
from relais.models import Loan
from tests.beneficiaries.factories import BeneficiaryFactory, CheckFactory
from tests.reemploi.factories import OrganisationFactory, member_of
from tests.refurbishers.factories import MediumFactory, SanitisationFactory

from .factories import sell, stock_device

pytestmark = pytest.mark.django_db


def erased_stock_device(relais, code="laptop", **fields):
    """A device in stock whose disk the workshop erased before it left."""
    device = stock_device(relais, code, **fields)
    SanitisationFactory(medium=MediumFactory(device=device))
    return device


def lend_and_return(staff, relais, device, **return_kwargs):
    first = CheckFactory(beneficiary=BeneficiaryFactory(relais=relais)).beneficiary
    loan = services.loan_create(actor=staff, relais=relais, device=device, beneficiary=first)
    services.loan_return(actor=staff, loan=loan, note="Rendu", **return_kwargs)
    device.refresh_from_db()
    return loan


def a_reset(**fields):
    now = timezone.now()
    values = {
        "started_at": now - timedelta(minutes=12),
        "ended_at": now - timedelta(minutes=1),
        "encryption_confirmed": True,
        "verified": True,
        "validator_name": "Awa Relais",
    }
    return FactoryReset(**{**values, **fields})


def reset_form(**overrides):
    """The return screen's fields for a verified reset done a few minutes ago (None leaves one out)."""
    now = timezone.localtime()
    data = {
        "after": AfterReturn.RESET,
        "started_at": (now - timedelta(minutes=15)).strftime("%Y-%m-%dT%H:%M"),
        "ended_at": (now - timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M"),
        "encryption_confirmed": "on",
        "verified": "on",
        **overrides,
    }
    return {name: value for name, value in data.items() if value is not None}


def test_a_returned_laptop_is_lent_to_nobody_else_before_its_erasure(staff, relais, buyer):
    laptop = erased_stock_device(relais)
    lend_and_return(staff, relais, laptop)
    assert laptop.state == DeviceState.IN_STOCK
    with pytest.raises(ValidationError, match="revenu d'une personne"):
        services.loan_create(actor=staff, relais=relais, device=laptop, beneficiary=buyer)
    with pytest.raises(ValidationError, match="revenu d'une personne"):
        sell(staff, buyer, (laptop, "120"))
    laptop.refresh_from_db()
    assert laptop.state == DeviceState.IN_STOCK
    assert Loan.objects.filter(device=laptop).count() == 1


def test_the_api_refuses_the_next_loan_with_a_french_detail_and_saves_nothing(staff, relais, buyer):
    laptop = erased_stock_device(relais)
    lend_and_return(staff, relais, laptop)
    client = APIClient()
    client.force_authenticate(staff)
    response = client.post(
        "/api/loans/", {"device": str(laptop.uuid), "beneficiary": str(buyer.uuid)}, format="json"
    )
    assert response.status_code in (400, 409)
    assert "effacement" in str(response.json())
    assert Loan.objects.filter(device=laptop).count() == 1


def test_an_erasure_made_before_the_loan_does_not_count(staff, relais, buyer):
    """The workshop's erasure proves the donor's data is gone, not the borrower's."""
    laptop = erased_stock_device(relais)
    assert not blocked_by_custody(Device.objects.filter(pk=laptop.pk))
    lend_and_return(staff, relais, laptop)
    assert blocked_by_custody(Device.objects.filter(pk=laptop.pk)) == {laptop.pk}


def test_a_returned_laptop_sent_to_a_workshop_comes_back_erased_and_can_be_lent(staff, relais, buyer):
    workshop = OrganisationFactory(refurbisher=True, name="Atelier du Val")
    laptop = erased_stock_device(relais)
    lend_and_return(staff, relais, laptop, after=AfterReturn.WORKSHOP, refurbisher=workshop)
    assert (laptop.state, laptop.holder) == (DeviceState.RECEIVED, workshop)
    notes = list(laptop.events.values_list("note", flat=True))
    assert "Atelier du Val" in notes[-1] and "effacement" in notes[-1]
    # The workshop erases the disk again, the device comes back to the relais' stock.
    SanitisationFactory(medium=laptop.storage_media.get())
    for state in (DeviceState.AUDITED, DeviceState.SANITISED, DeviceState.READY, DeviceState.IN_TRANSIT):
        device_transition(device=laptop, to_state=state, check_permission=False)
    device_transition(device=laptop, to_state=DeviceState.IN_STOCK, holder=relais, check_permission=False)
    loan = services.loan_create(actor=staff, relais=relais, device=laptop, beneficiary=buyer)
    assert loan.device_id == laptop.pk


def test_a_smartphone_reset_at_the_relais_can_go_to_the_next_person(staff, relais, buyer):
    phone = erased_stock_device(relais, "smartphone")
    lend_and_return(staff, relais, phone, after=AfterReturn.RESET, reset=a_reset())
    reset = Sanitisation.objects.filter(medium__device=phone).latest("recorded_at")
    assert (reset.level, reset.technique, reset.organisation) == ("purge", "crypto_erase", relais)
    assert reset.validator_name == "Awa Relais" and "assistant de configuration" in reset.notes
    sale = sell(staff, buyer, (phone, "80"))
    assert sale.lines.get().device_id == phone.pk


def test_a_reset_records_the_internal_memory_when_the_audit_listed_none(staff, relais, buyer):
    phone = stock_device(relais, "tablet")
    first = CheckFactory(beneficiary=BeneficiaryFactory(relais=relais)).beneficiary
    loan = services.loan_create(actor=staff, relais=relais, device=phone, beneficiary=first)
    services.loan_return(actor=staff, loan=loan, after=AfterReturn.RESET, reset=a_reset())
    medium = StorageMedium.objects.get(device=phone)
    assert medium.sanitisations.get().succeeded
    services.loan_create(actor=staff, relais=relais, device=phone, beneficiary=buyer)


def test_a_laptop_cannot_be_reset_at_the_relais_and_the_return_is_not_half_saved(staff, relais):
    laptop = erased_stock_device(relais)
    first = CheckFactory(beneficiary=BeneficiaryFactory(relais=relais)).beneficiary
    loan = services.loan_create(actor=staff, relais=relais, device=laptop, beneficiary=first)
    with pytest.raises(ValidationError, match="renvoyez-le à un atelier"):
        services.loan_return(actor=staff, loan=loan, after=AfterReturn.RESET, reset=a_reset())
    loan.refresh_from_db()
    laptop.refresh_from_db()
    assert loan.returned_at is None and laptop.state == DeviceState.LENT


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"encryption_confirmed": False}, "chiffrement"),
        ({"verified": False}, "assistant de configuration"),
    ],
)
def test_a_reset_needs_encryption_and_its_verification(staff, relais, fields, message):
    phone = erased_stock_device(relais, "smartphone")
    lend_and_return(staff, relais, phone)
    with pytest.raises(ValidationError, match=message):
        services.device_reset(actor=staff, device=phone, reset=a_reset(**fields))
    assert blocked_by_custody(Device.objects.filter(pk=phone.pk)) == {phone.pk}


def test_a_device_taken_back_after_a_sale_needs_an_erasure_even_on_trusted_paths(staff, relais, buyer):
    """Whatever path brings a sold device back to a relais' stock, it is sold again only once erased."""
    laptop = erased_stock_device(relais)
    sale = sell(staff, buyer, (laptop, "150"))
    guarantee_return = services.return_register(
        actor=staff, sale_line=sale.lines.get(), defect="Ne démarre plus", remedy="refund"
    )
    workshop = OrganisationFactory(refurbisher=True)
    services.return_send(actor=staff, guarantee_return=guarantee_return, refurbisher=workshop)
    for state in (DeviceState.AUDITED, DeviceState.READY):
        device_transition(device=laptop, to_state=state, check_permission=False)
    device_transition(device=laptop, to_state=DeviceState.IN_TRANSIT, check_permission=False)
    device_transition(device=laptop, to_state=DeviceState.IN_STOCK, holder=relais, check_permission=False)
    with pytest.raises(TransitionError, match="revenu d'une personne"):
        device_transition(device=laptop, to_state=DeviceState.GIVEN, check_permission=False)
    other = CheckFactory(beneficiary=BeneficiaryFactory(relais=relais)).beneficiary
    with pytest.raises(ValidationError, match="revenu d'une personne"):
        sell(staff, other, (laptop, "150"))


def test_a_stock_device_goes_back_to_a_workshop_only_through_the_send_back_service(staff, relais):
    laptop = erased_stock_device(relais)
    with pytest.raises(TransitionError, match="Renvoyer à l'atelier"):
        device_transition(device=laptop, to_state=DeviceState.RETURNED, actor=staff)


def test_a_lent_device_comes_back_through_its_loan_only(staff, relais):
    laptop = erased_stock_device(relais)
    first = CheckFactory(beneficiary=BeneficiaryFactory(relais=relais)).beneficiary
    services.loan_create(actor=staff, relais=relais, device=laptop, beneficiary=first)
    with pytest.raises(TransitionError):
        device_transition(device=laptop, to_state=DeviceState.RETURNED, actor=staff)


def test_the_stock_screen_says_which_devices_wait_for_an_erasure(client, staff, relais):
    laptop = erased_stock_device(relais)
    lend_and_return(staff, relais, laptop)
    client.force_login(staff)
    page = client.get(reverse("relais:stock")).content.decode()
    assert "Effacement requis" in page
    form = client.get(reverse("relais:sale_create")).content.decode()
    assert laptop.public_id not in form
    form = client.get(reverse("relais:loan_create")).content.decode()
    assert laptop.public_id not in form


def test_the_return_screen_offers_the_reset_for_a_smartphone_and_the_workshop_for_a_laptop(
    client, staff, relais
):
    member_of(OrganisationFactory(refurbisher=True, name="Atelier du Val"))
    phone = erased_stock_device(relais, "smartphone")
    laptop = erased_stock_device(relais)
    first = CheckFactory(beneficiary=BeneficiaryFactory(relais=relais)).beneficiary
    phone_loan = services.loan_create(actor=staff, relais=relais, device=phone, beneficiary=first)
    laptop_loan = services.loan_create(actor=staff, relais=relais, device=laptop, beneficiary=first)
    client.force_login(staff)
    phone_page = html.unescape(
        client.get(reverse("relais:loan_return", args=[phone_loan.uuid])).content.decode()
    )
    laptop_page = html.unescape(
        client.get(reverse("relais:loan_return", args=[laptop_loan.uuid])).content.decode()
    )
    assert "Réinitialisation d'usine vérifiée" in phone_page
    assert "Réinitialisation d'usine vérifiée" not in laptop_page
    assert "Atelier du Val" in laptop_page and "données de l'emprunteur" in laptop_page


def test_returning_a_laptop_to_the_workshop_from_the_return_screen(client, staff, relais):
    workshop = OrganisationFactory(refurbisher=True, name="Atelier du Val")
    laptop = erased_stock_device(relais)
    first = CheckFactory(beneficiary=BeneficiaryFactory(relais=relais)).beneficiary
    loan = services.loan_create(actor=staff, relais=relais, device=laptop, beneficiary=first)
    client.force_login(staff)
    response = client.post(
        reverse("relais:loan_return", args=[loan.uuid]),
        {"note": "Bon état", "after": AfterReturn.WORKSHOP, "refurbisher": workshop.pk},
    )
    assert response.status_code == 302
    laptop.refresh_from_db()
    assert (laptop.state, laptop.holder) == (DeviceState.RECEIVED, workshop)


def test_resetting_a_phone_from_the_return_screen(client, staff, relais, buyer):
    phone = erased_stock_device(relais, "smartphone")
    first = CheckFactory(beneficiary=BeneficiaryFactory(relais=relais)).beneficiary
    loan = services.loan_create(actor=staff, relais=relais, device=phone, beneficiary=first)
    client.force_login(staff)
    response = client.post(reverse("relais:loan_return", args=[loan.uuid]), reset_form())
    assert response.status_code == 302
    assert not blocked_by_custody(Device.objects.filter(pk=phone.pk))


def test_a_reset_refused_on_the_return_screen_says_why_and_keeps_the_loan_open(client, staff, relais):
    phone = erased_stock_device(relais, "smartphone")
    first = CheckFactory(beneficiary=BeneficiaryFactory(relais=relais)).beneficiary
    loan = services.loan_create(actor=staff, relais=relais, device=phone, beneficiary=first)
    client.force_login(staff)
    response = client.post(
        reverse("relais:loan_return", args=[loan.uuid]), reset_form(encryption_confirmed=None)
    )
    assert response.status_code == 200
    assert "chiffrement" in html.unescape(response.content.decode())
    loan.refresh_from_db()
    assert loan.returned_at is None


def test_the_api_returns_a_phone_with_its_reset(staff, relais, buyer):
    phone = erased_stock_device(relais, "smartphone")
    first = CheckFactory(beneficiary=BeneficiaryFactory(relais=relais)).beneficiary
    loan = services.loan_create(actor=staff, relais=relais, device=phone, beneficiary=first)
    client = APIClient()
    client.force_authenticate(staff)
    now = timezone.now()
    response = client.post(
        f"/api/loans/{loan.uuid}/return/",
        {
            "after": "reset",
            "reset": {
                "started_at": (now - timedelta(minutes=10)).isoformat(),
                "ended_at": (now - timedelta(minutes=1)).isoformat(),
                "encryption_confirmed": True,
                "verified": True,
            },
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    response = client.post(
        "/api/loans/", {"device": str(phone.uuid), "beneficiary": str(buyer.uuid)}, format="json"
    )
    assert response.status_code == 201, response.json()


def test_the_api_sends_a_stock_device_back_to_a_workshop(staff, relais):
    workshop = OrganisationFactory(refurbisher=True)
    laptop = erased_stock_device(relais)
    client = APIClient()
    client.force_authenticate(staff)
    response = client.post(
        f"/api/stock/{laptop.uuid}/send-to-workshop/",
        {"refurbisher": str(workshop.uuid), "reason": "Clavier défectueux"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    laptop.refresh_from_db()
    assert (laptop.state, laptop.holder) == (DeviceState.RECEIVED, workshop)
