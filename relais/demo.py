"""Demo data for the relais: profiles with opening hours for the 8 relais, the Sale records of the
kernel's demo devices already sold or given (without re-running transitions), loans for the lent
ones, the guarantee return of the returned one, and enough stock at Nevers to try a sale, a refused
second sale to the same household and a loan. Deterministic and idempotent."""

from datetime import timedelta
from decimal import ROUND_DOWN, Decimal

from django.utils import timezone

from beneficiaries.demo import check, person, staff_of
from beneficiaries.enums import CriterionKind
from beneficiaries.models import EligibilityCriterion, QuotaException
from reemploi.enums import DeviceState as S
from reemploi.enums import Provenance
from reemploi.lifecycle import device_create, device_transition
from reemploi.models import Device, EquipmentCategory

from . import rules
from .enums import PROGRAMME_RELAIS_NUMERIQUE, PaymentMethod, ReturnRemedy, SaleKind
from .models import GuaranteeReturn, Loan, RelaisProfile, Sale, SaleLine
from .services import receipt_request

HOURS = [
    "Mo-Fr 09:00-12:00,14:00-17:30; Sa 09:00-12:00; PH off",
    "Mo-Fr 08:30-12:00,13:30-17:00; PH off",
    "Tu-Sa 10:00-12:30,14:00-18:00",
    "Mo,We,Fr 09:00-12:00; Tu,Th 14:00-17:00; PH off",
    "We 14:00-18:00; Sa 10:00-12:00",
    "Mo-Th 09:00-12:00,13:30-17:00; Fr 09:00-12:00",
    "Tu 09:00-12:00; Th 14:00-17:00",
    "Tu,Th,Sa 10:00-12:00,14:00-18:00",
]
SERVICES = [
    "Accès internet et matériel informatique",
    "Maîtrise des outils numériques du quotidien",
    "Aide aux démarches administratives",
]
FIRST = [
    "Camille",
    "Noah",
    "Léa",
    "Hugo",
    "Manon",
    "Rayan",
    "Emma",
    "Ethan",
    "Jade",
    "Adam",
    "Louise",
    "Nolan",
    "Alice",
    "Sacha",
    "Zoé",
    "Mathis",
    "Lina",
    "Axel",
]
LAST = [
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Morel",
    "Simon",
    "Laurent",
    "Michel",
    "Garcia",
    "David",
    "Bertrand",
    "Vincent",
    "Fournier",
]
PAYMENTS = [PaymentMethod.CASH, PaymentMethod.CARD, PaymentMethod.CHEQUE, PaymentMethod.SOLIDARITY]


def profiles(network):
    for index, relais in enumerate(network.relais):
        site = network.sites[relais.pk]
        programmes = [PROGRAMME_RELAIS_NUMERIQUE, "Conseillers numériques"]
        if "France Services" in relais.name:
            programmes.append("France Services")
        RelaisProfile.objects.get_or_create(
            site=site,
            defaults={
                "opening_hours": HOURS[index % len(HOURS)],
                "is_itinerant": False,
                "sells_equipment": True,
                "lends_equipment": index % 2 == 0,
                "programmes": programmes,
                "services": SERVICES[: 1 + index % 3],
                "summary": "Relais numérique du réseau : matériel reconditionné à prix solidaire et accompagnement.",
            },
        )


def _event(device, state):
    return device.events.filter(to_state=state).order_by("-at").first()


def _price(device, day):
    cap = rules.cap_for(device, day)
    if device.price is not None and (cap is None or device.price <= cap):
        return device.price
    if cap is None:
        return Decimal("20.00")
    return (cap * Decimal("0.8")).quantize(Decimal("1"), rounding=ROUND_DOWN)


def _buyer(network, relais, counter, at, criterion):
    staff = staff_of(relais)
    site = network.sites[relais.pk]
    someone = person(
        relais,
        FIRST[counter % len(FIRST)],
        LAST[(counter * 7) % len(LAST)],
        site.commune,
        1 + counter % 4,
        staff,
        at - timedelta(days=4),
    )
    return someone, check(someone, criterion, staff, at - timedelta(days=4))


def distributed(network):
    """Sale, gift, loan and return records for the kernel's demo devices that already went out."""
    criterion = (
        EligibilityCriterion.objects.filter(departement=network.departement, kind=CriterionKind.RSA)
        .order_by("-effective_from")
        .first()
    )
    devices = (
        Device.objects.filter(
            serial_number__startswith="DEMO-", state__in=[S.SOLD, S.GIVEN, S.LENT, S.RETURNED]
        )
        .select_related("category", "holder")
        .order_by("serial_number")
    )
    for counter, device in enumerate(devices):
        relais = device.holder
        staff = staff_of(relais)
        if device.state == S.LENT:
            if Loan.objects.filter(device=device).exists():
                continue
            event = _event(device, S.LENT)
            someone, _check = _buyer(network, relais, counter, event.at, criterion)
            lent_on = timezone.localdate(event.at)
            Loan.objects.create(
                relais=relais,
                device=device,
                beneficiary=someone,
                lent_on=lent_on,
                due_on=lent_on + timedelta(days=30),
                lent_by=staff,
            )
            continue
        if SaleLine.objects.filter(device=device).exists():
            continue
        state = S.SOLD if device.state == S.RETURNED else device.state
        event = _event(device, state)
        day = timezone.localdate(event.at)
        someone, eligibility = _buyer(network, relais, counter, event.at, criterion)
        gift = state == S.GIVEN
        price = Decimal("0") if gift else _price(device, day)
        sale = Sale.objects.create(
            relais=relais,
            kind=SaleKind.GIFT if gift else SaleKind.SALE,
            beneficiary=someone,
            household=someone.household,
            sold_on=day,
            sold_at=event.at,
            payment_method=PaymentMethod.FREE if gift else PAYMENTS[counter % len(PAYMENTS)],
            total=price,
            eligibility_check=eligibility,
            sold_by=staff,
        )
        line = SaleLine.objects.create(
            sale=sale, device=device, price=price, cap_amount=None if gift else rules.cap_for(device, day)
        )
        if device.state == S.RETURNED:
            returned = _event(device, S.RETURNED)
            line.is_active = False
            line.save(update_fields=["is_active"])
            GuaranteeReturn.objects.create(
                sale_line=line,
                relais=relais,
                defect=returned.note or "Défaut signalé par l'acheteur",
                remedy=ReturnRemedy.REPLACEMENT,
                returned_at=returned.at,
                received_by=staff,
            )
        receipt_request(sale=sale, requested_by=staff)


TRY_OUT = [
    ("DEMO-R001", "laptop", "Lenovo", "ThinkPad T480"),
    ("DEMO-R002", "laptop", "Dell", "Latitude 5490"),
    ("DEMO-R003", "tablet", "Samsung", "Galaxy Tab A 10.1"),
    ("DEMO-R004", "screen", "Dell", "P2219H"),
]


def stock_to_try(network):
    """Two laptops, a tablet and a screen in stock at Nevers, with their whole history, to try the
    relais screens: check a new person, sell a laptop at the cap, be refused a second one, lend a tablet."""
    nevers, workshop = network.relais[0], network.refurbishers[0]
    categories = {c.code: c for c in EquipmentCategory.objects.all()}
    workshop_staff, relais_staff = staff_of(workshop), staff_of(nevers)
    for serial, code, brand, model in TRY_OUT:
        if Device.objects.filter(serial_number=serial).exists():
            continue
        at = network.now - timedelta(days=30)
        device = device_create(
            actor=workshop_staff,
            organisation=workshop,
            state=S.RECEIVED,
            holder=workshop,
            category=categories[code],
            brand=brand,
            model=model,
            serial_number=serial,
            provenance=Provenance.PUBLIC,
            donor_organisation=network.donors.get("public_body"),
            note="Réception à l'atelier",
            at=at,
        )
        for offset, state in enumerate([S.AUDITED, S.SANITISED, S.READY, S.IN_TRANSIT, S.IN_STOCK], start=1):
            device_transition(
                device=device,
                to_state=state,
                actor=relais_staff if state == S.IN_STOCK else workshop_staff,
                holder=nevers if state == S.IN_TRANSIT else None,
                at=at + timedelta(days=offset * 2),
                check_permission=False,
            )
        cap = rules.cap_for(device, timezone.localdate())
        Device.objects.filter(pk=device.pk).update(
            price=cap if code == "laptop" else (cap * Decimal("0.7")).quantize(Decimal("1"))
        )


def prices(network):
    """The workshop's proposed price on stock that has none (80 % of the cap)."""
    today = timezone.localdate()
    for device in Device.objects.filter(state=S.IN_STOCK, price__isnull=True).select_related("category"):
        cap = rules.cap_for(device, today)
        if cap is not None:
            Device.objects.filter(pk=device.pk).update(
                price=(cap * Decimal("0.8")).quantize(Decimal("1"), rounding=ROUND_DOWN)
            )


def exception(network):
    """One quota exception granted by the coordinator, with its reason."""
    household = (
        Sale.objects.filter(relais=network.relais[0], household__isnull=False)
        .values_list("household", flat=True)
        .first()
    )
    if household is None or QuotaException.objects.filter(household_id=household).exists():
        return
    QuotaException.objects.create(
        household_id=household,
        category=EquipmentCategory.objects.get(code="laptop"),
        reason="Deux lycéens dans le foyer, chacun a besoin d'un ordinateur pour ses cours.",
        granted_by=network.users["coordination"],
        valid_until=timezone.localdate() + timedelta(days=60),
    )


def build(network):
    profiles(network)
    distributed(network)
    stock_to_try(network)
    prices(network)
    exception(network)
