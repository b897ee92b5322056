"""Documents for donors that read the whole chain: the reuse attestation of public donors (décret
n° 2023-266) and the impact report, per donation or per donor organisation and year.

Both are issued through the kernel's register (kinds registered in `apps.py`). They hold counts and
serial numbers, never a personal datum: the people equipped are counted, by commune."""

from collections import Counter
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.translation import gettext as _

from beneficiaries.enums import BeneficiaryKind
from donors import selectors as donors_selectors
from donors.enums import Outcome
from reemploi.documents import Rendered
from reemploi.models import Device
from relais.models import Loan, SaleLine

from . import selectors
from .catalogue import DECREE_2023_266, decree_2023_266_target
from .computations import decree_ratio

DIVERTED = (Outcome.REUSED, Outcome.RECYCLED, Outcome.PARTS)


@dataclass
class Impact:
    """What became of a set of donated devices, in counts and kilograms."""

    devices: list
    counts: dict = field(default_factory=dict)  # outcome -> devices
    kg: dict = field(default_factory=dict)  # outcome -> kilograms
    by_category: list = field(default_factory=list)  # (category, {outcome: devices}, total)
    people: int = 0
    structures: int = 0
    communes: list = field(default_factory=list)  # (commune label, people), most people first

    @property
    def total(self):
        return len(self.devices)

    @property
    def kg_diverted(self):
        return sum((self.kg[o] for o in DIVERTED), 0)

    def count(self, outcome):
        return self.counts.get(outcome, 0)

    @property
    def reused(self):
        return self.count(Outcome.REUSED)

    @property
    def recycled(self):
        return self.count(Outcome.RECYCLED) + self.count(Outcome.PARTS)

    @property
    def in_progress(self):
        return self.count(Outcome.IN_PROGRESS)


def impact_of(devices):
    """The impact of a queryset of devices: outcomes, kilograms, people and structures equipped
    (distinct beneficiaries of their standing sales and of their loans) and their communes."""
    rows = donors_selectors.with_outcomes(devices)
    impact = Impact(devices=rows)
    impact.counts = Counter(device.outcome for device in rows)
    impact.kg = {outcome: sum((d.kg for d in rows if d.outcome == outcome), 0) for outcome in Outcome.values}
    categories = {}
    for device in rows:
        categories.setdefault(device.category, Counter())[device.outcome] += 1
    impact.by_category = [(category, counts, sum(counts.values())) for category, counts in categories.items()]
    ids = [device.pk for device in rows]
    beneficiaries = set(
        SaleLine.objects.filter(device_id__in=ids, is_active=True).values_list(
            "sale__beneficiary_id",
            "sale__beneficiary__kind",
            "sale__beneficiary__commune__name",
            "sale__beneficiary__commune__insee_code",
        )
    ) | set(
        Loan.objects.filter(device_id__in=ids).values_list(
            "beneficiary_id",
            "beneficiary__kind",
            "beneficiary__commune__name",
            "beneficiary__commune__insee_code",
        )
    )
    people = {row for row in beneficiaries if row[1] == BeneficiaryKind.PERSON}
    impact.people = len({row[0] for row in people})
    impact.structures = len({row[0] for row in beneficiaries if row[1] == BeneficiaryKind.ASSOCIATION})
    by_commune = Counter()
    for beneficiary in {row[0]: row for row in people}.values():
        name, insee = beneficiary[2], beneficiary[3]
        by_commune[f"{name} ({insee[:2]})" if name else _("Commune non renseignée")] += 1
    impact.communes = sorted(by_commune.items(), key=lambda item: (-item[1], item[0]))
    return impact


def _kg(value):
    return f"{value:.1f}".replace(".", ",") + " kg"


# --- Reuse attestation (public donors, décret n° 2023-266) -----------------------------------------


def attestation_figures(organisation, year):
    """The attestation's figures: every device the public body gave that was received in `year`,
    with its outcome, and the décret's ratio A / B with B from the same selector as the indicator."""
    devices = donors_selectors.devices_received(organisation, year).select_related("donation_line__donation")
    impact = impact_of(devices)
    covered = [
        d for d in impact.devices if d.category.deee_category in donors_selectors.DECREE_DEEE_CATEGORIES
    ]
    oriented = sum(1 for d in covered if d.outcome == Outcome.REUSED)
    stock = selectors.public_donors_retired_stock([organisation.pk]).get((organisation.pk, year))
    return {
        "impact": impact,
        "covered": len(covered),
        "oriented": oriented,
        "stock": stock,
        "ratio": decree_ratio(oriented, stock),
        "target": decree_2023_266_target(year),
    }


def build_reuse_attestation(document):
    organisation = document.subject
    year = int(document.params["year"])
    figures = attestation_figures(organisation, year)
    donations = (
        organisation.donations.filter(lines__devices__in=[d.pk for d in figures["impact"].devices])
        .distinct()
        .order_by("created_at")
    )
    ratio = figures["ratio"]
    facts = {
        _("Donateur public"): organisation.name,
        _("Année"): str(year),
        _("Équipements reçus"): str(figures["impact"].total),
        _("Réemployés"): str(figures["impact"].reused),
        _("Recyclés ou démantelés"): str(figures["impact"].recycled),
        _("Taux décret n° 2023-266"): f"{ratio:.1f} %".replace(".", ",") if ratio is not None else "—",
    }
    return Rendered(
        template="indicators/pdf/reuse_attestation.html",
        context={
            "organisation": organisation,
            "year": year,
            "figures": figures,
            "impact": figures["impact"],
            "donations": donations,
            "decree": DECREE_2023_266,
            "outcomes": Outcome,
            "as_of": timezone.localdate(),
        },
        public_facts=facts,
    )


# --- Impact report ---------------------------------------------------------------------------------


def impact_devices(document):
    """The devices an impact report is about: a donation's, or an organisation's received in a year."""
    subject = document.subject
    if "year" in document.params:
        return donors_selectors.devices_received(subject, int(document.params["year"]))
    return Device.objects.filter(donation_line__donation=subject)


def build_impact_report(document):
    subject = document.subject
    year = document.params.get("year")
    impact = impact_of(impact_devices(document))
    if year:
        donor_label = subject.name
        scope = _("Appareils donnés par %(name)s et reçus en %(year)s") % {"name": subject.name, "year": year}
    else:
        donor_label = subject.donor_organisation.name if subject.donor_organisation_id else _("Particulier")
        scope = _("Appareils du don %(reference)s") % {"reference": subject.reference}
    facts = {
        _("Donateur"): donor_label,
        _("Périmètre"): scope,
        _("Appareils"): str(impact.total),
        _("Réemployés"): str(impact.reused),
        _("Recyclés ou démantelés"): str(impact.recycled),
        _("Kilogrammes détournés de l'enfouissement"): _kg(impact.kg_diverted),
        _("Personnes équipées"): str(impact.people),
    }
    return Rendered(
        template="indicators/pdf/impact_report.html",
        context={
            "subject": subject,
            "donation": None if year else subject,
            "year": year,
            "donor_label": donor_label,
            "scope": scope,
            "impact": impact,
            "kg_diverted": _kg(impact.kg_diverted),
            "kg_reused": _kg(impact.kg[Outcome.REUSED]),
            "kg_recycled": _kg(impact.kg[Outcome.RECYCLED] + impact.kg[Outcome.PARTS]),
            "outcomes": Outcome,
            "as_of": timezone.localdate(),
        },
        public_facts=facts,
    )
