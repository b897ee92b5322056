"""The rules a sale must respect, read from data: the decree's caps (kernel PriceCap) as the network's
CapPolicy applies them, the desktop set, the household quota and its exceptions, and the
justification of eligibility (a valid check or an unused, unexpired voucher)."""

from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from beneficiaries.dates import add_months
from beneficiaries.enums import BeneficiaryKind
from beneficiaries.models import EligibilityCheck, QuotaException, QuotaPolicy, Voucher
from reemploi.enums import DeviceState
from reemploi.models import DeviceEvent, EquipmentCategory

from .models import CapPolicy, SaleLine

DESKTOP = "desktop"
# What may join a desktop unit in the decree's set « PC fixe avec écran, clavier et souris ».
SET_ACCESSORIES = {"screen", "keyboard", "mouse"}
# Without any QuotaPolicy row: one device per category, per household, per 12 months.
DEFAULT_QUOTA = (1, 12)


def money(value):
    return f"{Decimal(value):.2f}".replace(".", ",") + " €"


def in_sentence(name):
    """A category name inside a sentence: « ordinateur portable », but « PC fixe » keeps its capitals."""
    return name if name[:2].isupper() else name[:1].lower() + name[1:]


# --- Caps ----------------------------------------------------------------------------------------


def provenance_capped(provenance, day):
    policy = (
        CapPolicy.objects.filter(provenance=provenance, effective_from__lte=day)
        .order_by("-effective_from")
        .first()
    )
    return True if policy is None else policy.is_capped


def cap_for(device, day):
    """The PriceCap amount binding `device` sold on `day`, or None (uncapped category or provenance)."""
    if not provenance_capped(device.provenance, day):
        return None
    cap = device.category.cap_on(day)
    return cap.amount if cap else None


def cap_missing(category, provenance, day):
    """A category of the decree, a provenance the network caps, and no cap in force on `day` (a date
    before the decree took effect): such a sale is refused, never read as uncapped."""
    return category.is_decree_category and provenance_capped(provenance, day) and category.cap_on(day) is None


def _missing_cap_problem(device_or_set, category, day):
    first = category.caps.order_by("effective_from").first()
    return _(
        "Aucun plafond du décret n° 2022-1413 n'est en vigueur le %(date)s pour « %(category)s »%(since)s : "
        "une vente ne peut pas être datée de ce jour (%(device)s)."
    ) % {
        "date": day.strftime("%d/%m/%Y"),
        "category": in_sentence(category.name),
        "since": _(" (plafond en vigueur depuis le %(d)s)") % {"d": first.effective_from.strftime("%d/%m/%Y")}
        if first
        else "",
        "device": device_or_set,
    }


def date_problems(lines, day, today):
    """French messages when a sale dated `day` (recorded `today`) is dated too far back, or before a
    device arrived in the relais' stock. Empty when the date is acceptable."""
    problems = []
    limit = settings.SALE_BACKDATE_DAYS
    if day < today - timedelta(days=limit):
        problems.append(
            ngettext(
                "Une vente se date au plus %(n)s jour avant aujourd'hui : le %(date)s est trop ancien.",
                "Une vente se date au plus %(n)s jours avant aujourd'hui : le %(date)s est trop ancien.",
                limit,
            )
            % {"n": limit, "date": day.strftime("%d/%m/%Y")}
        )
    arrivals = dict(
        DeviceEvent.objects.filter(device__in=[line.device for line in lines], to_state=DeviceState.IN_STOCK)
        .values("device_id")
        .annotate(at=Max("at"))
        .values_list("device_id", "at")
    )
    for line in lines:
        arrived = arrivals.get(line.device.pk)
        if arrived is not None and day < timezone.localdate(arrived):
            problems.append(
                _(
                    "%(device)s est entré dans le stock du relais le %(arrived)s : la vente ne peut pas être datée du %(date)s."
                )
                % {
                    "device": line.device,
                    "arrived": timezone.localdate(arrived).strftime("%d/%m/%Y"),
                    "date": day.strftime("%d/%m/%Y"),
                }
            )
    return problems


@dataclass
class LineRequest:
    device: object
    price: Decimal
    bundle: int | None = None


def price_problems(lines, day):
    """French messages for every line or set priced above its cap on `day` (empty when all is well)."""
    problems = []
    bundles = {}
    for line in lines:
        if line.price is None or Decimal(line.price) < 0:
            problems.append(_("Indiquez un prix positif pour %(device)s.") % {"device": line.device})
            continue
        if line.bundle is not None:
            bundles.setdefault(line.bundle, []).append(line)
            continue
        if cap_missing(line.device.category, line.device.provenance, day):
            problems.append(_missing_cap_problem(line.device, line.device.category, day))
            continue
        cap = cap_for(line.device, day)
        if cap is not None and Decimal(line.price) > cap:
            problems.append(
                _(
                    "%(price)s pour %(device)s dépasse le plafond légal de %(cap)s (%(category)s, décret "
                    "n° 2022-1413, en vigueur le %(date)s)."
                )
                % {
                    "price": money(line.price),
                    "device": line.device,
                    "cap": money(cap),
                    "category": in_sentence(line.device.category.name),
                    "date": day.strftime("%d/%m/%Y"),
                }
            )
    desktop = EquipmentCategory.objects.filter(code=DESKTOP).first()
    for number, members in sorted(bundles.items()):
        codes = Counter(line.device.category.code for line in members)
        if (
            codes[DESKTOP] != 1
            or any(code not in SET_ACCESSORIES | {DESKTOP} for code in codes)
            or any(codes[code] > 1 for code in SET_ACCESSORIES)
        ):
            problems.append(
                _(
                    "L'ensemble n° %(n)s doit réunir une unité centrale et au plus un écran, un clavier et une "
                    "souris."
                )
                % {"n": number}
            )
            continue
        total = sum(Decimal(line.price) for line in members)
        capped = any(provenance_capped(line.device.provenance, day) for line in members)
        cap = desktop.cap_on(day) if desktop and capped else None
        if capped and desktop and cap is None:
            problems.append(_missing_cap_problem(_("ensemble n° %(n)s") % {"n": number}, desktop, day))
            continue
        if cap is not None and total > cap.amount:
            problems.append(
                _(
                    "L'ensemble PC fixe n° %(n)s (unité centrale, écran, clavier, souris) coûte %(total)s : le "
                    "plafond légal d'un PC fixe complet est de %(cap)s le %(date)s."
                )
                % {
                    "n": number,
                    "total": money(total),
                    "cap": money(cap.amount),
                    "date": day.strftime("%d/%m/%Y"),
                }
            )
    return problems


def line_cap(line, day):
    """The cap shown on a line: the desktop cap for a set member, the category's cap otherwise."""
    if line.bundle is not None:
        desktop = EquipmentCategory.objects.get(code=DESKTOP).cap_on(day)
        return desktop.amount if desktop else None
    return cap_for(line.device, day)


# --- Quota ---------------------------------------------------------------------------------------


def quota_policy(category, day):
    """(max devices, period in months) for `category` on `day`: its own rule, else the default rule."""
    policies = QuotaPolicy.objects.in_force(day).filter(Q(category=category) | Q(category__isnull=True))
    specific = [p for p in policies if p.category_id == category.pk]
    chosen = (specific or [p for p in policies if p.category_id is None] or [None])[0]
    return (chosen.max_devices, chosen.period_months) if chosen else DEFAULT_QUOTA


def quota_counted_category(line_category_code, bundle):
    """In a desktop set only the unit counts (the set is one « PC fixe »)."""
    return line_category_code if bundle is None or line_category_code == DESKTOP else None


def household_received(household, category, since, until, exclude_sale=None):
    """Devices of `category` the household received (sold or given, not returned) in [since, until]."""
    lines = SaleLine.objects.filter(
        sale__household=household,
        sale__sold_on__gt=since,
        sale__sold_on__lte=until,
        device__category=category,
        is_active=True,
    ).filter(Q(bundle__isnull=True) | Q(device__category__code=DESKTOP))
    if exclude_sale is not None:
        lines = lines.exclude(sale=exclude_sale)
    return lines.count()


@dataclass
class QuotaVerdict:
    category: object
    already: int
    asked: int
    policy_max: int
    allowed: int
    exceptions: list
    months: int = DEFAULT_QUOTA[1]

    @property
    def exceeded(self):
        return self.already + self.asked > self.allowed


def quota_verdicts(household, lines, day, exclude_sale=None):
    asked = Counter()
    categories = {}
    for line in lines:
        code = quota_counted_category(line.device.category.code, line.bundle)
        if code:
            asked[code] += 1
            categories[code] = line.device.category
    verdicts = []
    for code, count in asked.items():
        category = categories[code]
        max_devices, months = quota_policy(category, day)
        since = add_months(day, -months)
        already = household_received(household, category, since, day, exclude_sale=exclude_sale)
        exceptions = list(QuotaException.objects.valid_on(day).filter(household=household, category=category))
        allowed = max_devices + sum(e.extra_devices for e in exceptions)
        verdicts.append(QuotaVerdict(category, already, count, max_devices, allowed, exceptions, months))
    return verdicts


def quota_problems(verdicts):
    return [
        _(
            "Quota atteint : ce foyer a déjà reçu %(already)s appareil(s) « %(category)s » sur les %(months)s "
            "derniers mois et peut en recevoir %(allowed)s. Une exception ne peut être accordée que par la "
            "coordination, avec une raison écrite."
        )
        % {"already": v.already, "category": v.category.name, "allowed": v.allowed, "months": v.months}
        for v in verdicts
        if v.exceeded
    ]


# --- Eligibility ---------------------------------------------------------------------------------


def justification(beneficiary, day):
    """(check, voucher) proving eligibility on `day`: the valid check lasting longest, else a voucher
    redeemed for this beneficiary, unexpired and not used by a sale yet. (None, None) if neither."""
    check = (
        EligibilityCheck.objects.valid_on(day)
        .filter(beneficiary=beneficiary)
        .select_related("criterion")
        .order_by("-valid_until", "-checked_at")
        .first()
    )
    if check is not None:
        return check, None
    voucher = (
        Voucher.objects.filter(beneficiary=beneficiary, expires_on__gte=day, sale__isnull=True)
        .order_by("expires_on")
        .first()
    )
    return None, voucher


def eligibility_problem(beneficiary, day):
    if beneficiary.is_anonymised:
        return _("Ce bénéficiaire a été anonymisé.")
    check, voucher = justification(beneficiary, day)
    if check is None and voucher is None:
        who = (
            _("Cette association") if beneficiary.kind == BeneficiaryKind.ASSOCIATION else _("Cette personne")
        )
        return _(
            "%(who)s n'a pas de vérification d'éligibilité valide le %(date)s, ni de bon de prescription "
            "valide : vérifiez son éligibilité d'abord."
        ) % {"who": who, "date": day.strftime("%d/%m/%Y")}
    return None


def sale_justification_problem(sale):
    """For a recorded sale: is its justification valid on the sale date?"""
    day = sale.sold_on
    if sale.eligibility_check_id:
        check = sale.eligibility_check
        if check.beneficiary_id != sale.beneficiary_id or not check.is_valid_on(day):
            return _(
                "La vérification d'éligibilité n'est pas valide à la date de la vente (elle court jusqu'au %(date)s)."
            ) % {"date": check.valid_until.strftime("%d/%m/%Y")}
        return None
    voucher = sale.voucher
    if voucher is None:
        return _("Une vente demande une vérification d'éligibilité valide ou un bon de prescription.")
    if voucher.beneficiary_id != sale.beneficiary_id:
        return _("Ce bon a été remis à une autre personne.")
    if voucher.is_expired_on(day):
        return _("Le bon %(code)s a expiré le %(date)s.") % {
            "code": voucher.display_code,
            "date": voucher.expires_on.strftime("%d/%m/%Y"),
        }
    return None
