"""Demo data for beneficiaries: the Nièvre's eligibility criteria (with a quotient familial threshold
that changed on 1 January 2025), people with households and checks at each relais, and vouchers
from the CCAS. Deterministic and idempotent; the relais demo adds their sales and loans."""

import random
from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from reemploi.enums import Role
from reemploi.models import Commune, Membership

from .dates import add_months
from .enums import BeneficiaryKind, CriterionKind, DocumentType
from .models import Beneficiary, EligibilityCheck, EligibilityCriterion, Household, Voucher

CRITERIA = [
    (CriterionKind.RSA, "", None, date(2023, 1, 1), None),
    (CriterionKind.ASS, "", None, date(2023, 1, 1), None),
    (CriterionKind.AAH, "", None, date(2023, 1, 1), None),
    (CriterionKind.ASPA, "", None, date(2023, 1, 1), None),
    (CriterionKind.CSS, "", None, date(2023, 1, 1), None),
    (CriterionKind.GRANT, "Collège, lycée ou enseignement supérieur", None, date(2023, 1, 1), None),
    (CriterionKind.ADA, "", None, date(2023, 1, 1), None),
    (
        CriterionKind.FAMILY_QUOTIENT,
        "Quotient familial CAF",
        Decimal("650"),
        date(2023, 1, 1),
        date(2024, 12, 31),
    ),
    (CriterionKind.FAMILY_QUOTIENT, "Quotient familial CAF", Decimal("700"), date(2025, 1, 1), None),
    (
        CriterionKind.PRESCRIBER,
        "Travailleur social d'une structure conventionnée",
        None,
        date(2023, 1, 1),
        None,
    ),
    (CriterionKind.ASSOCIATION, "", None, date(2023, 1, 1), None),
]
KIND_DOCUMENTS = {
    CriterionKind.RSA: DocumentType.CAF,
    CriterionKind.ASS: DocumentType.FRANCE_TRAVAIL,
    CriterionKind.AAH: DocumentType.DISABILITY,
    CriterionKind.ASPA: DocumentType.PENSION,
    CriterionKind.CSS: DocumentType.CSS,
    CriterionKind.GRANT: DocumentType.GRANT,
    CriterionKind.ADA: DocumentType.OFII,
    CriterionKind.FAMILY_QUOTIENT: DocumentType.FAMILY_QUOTIENT,
    CriterionKind.PRESCRIBER: DocumentType.PRESCRIPTION,
    CriterionKind.ASSOCIATION: DocumentType.STATUTES,
}
FIRST_NAMES = [
    "Amina",
    "Kevin",
    "Sylvie",
    "Mohamed",
    "Julie",
    "Thierry",
    "Fatou",
    "Nathalie",
    "Lucas",
    "Chantal",
    "Yanis",
    "Brigitte",
    "Océane",
    "Gérard",
    "Inès",
    "Patrick",
]
LAST_NAMES = [
    "Benali",
    "Lefèvre",
    "Moreau",
    "Diallo",
    "Girard",
    "Roux",
    "Ndiaye",
    "Fontaine",
    "Chevalier",
    "Mercier",
    "Blanc",
    "Guérin",
    "Faure",
    "Perrot",
    "Barbier",
    "Lemoine",
]


def staff_of(organisation):
    membership = (
        Membership.objects.filter(organisation=organisation, role=Role.STAFF)
        .select_related("user")
        .order_by("pk")
        .first()
    )
    return membership.user if membership else None


def criteria(network):
    rows = {}
    for kind, label, threshold, start, end in CRITERIA:
        criterion, _created = EligibilityCriterion.objects.get_or_create(
            departement=network.departement,
            kind=kind,
            effective_from=start,
            defaults={
                "label": label,
                "threshold_amount": threshold,
                "effective_until": end,
                "created_by": network.users["coordination"],
            },
        )
        if end is None:
            rows[kind] = criterion
    return rows


def person(relais, first_name, last_name, commune, size, created_by, at, household=None):
    """Get or create a person of `relais` (idempotent on the name)."""
    existing = Beneficiary.objects.filter(relais=relais, first_name=first_name, last_name=last_name).first()
    if existing:
        return existing
    if household is None:
        household = Household.objects.create(relais=relais, size=size, created_at=at)
    return Beneficiary.objects.create(
        relais=relais,
        kind=BeneficiaryKind.PERSON,
        first_name=first_name,
        last_name=last_name,
        commune=commune,
        household=household,
        created_by=created_by,
        created_at=at,
        last_contact_at=at,
    )


def check(beneficiary, criterion, checked_by, at):
    existing = beneficiary.checks.filter(criterion=criterion).first()
    if existing:
        return existing
    return EligibilityCheck.objects.create(
        beneficiary=beneficiary,
        criterion=criterion,
        document_type=KIND_DOCUMENTS[criterion.kind],
        threshold_applied=criterion.threshold_amount,
        relais=beneficiary.relais,
        checked_by=checked_by,
        checked_at=at,
        valid_until=add_months(timezone.localdate(at), 12),
    )


def build(network):
    rng = random.Random(5858)
    in_force = criteria(network)
    kinds = [
        CriterionKind.RSA,
        CriterionKind.CSS,
        CriterionKind.FAMILY_QUOTIENT,
        CriterionKind.AAH,
        CriterionKind.ASS,
        CriterionKind.GRANT,
    ]
    now = network.now
    for index, relais in enumerate(network.relais):
        site = network.sites[relais.pk]
        nearby = list(
            Commune.objects.filter(departement=network.departement).order_by("insee_code")[
                index * 30 : index * 30 + 30
            ]
        ) or [site.commune]
        staff = staff_of(relais)
        for number in range(3):
            at = now - timedelta(days=20 + rng.randint(0, 60))
            someone = person(
                relais,
                FIRST_NAMES[(index * 3 + number) % len(FIRST_NAMES)],
                LAST_NAMES[(index * 5 + number * 3) % len(LAST_NAMES)],
                site.commune if number == 0 else rng.choice(nearby),
                rng.randint(1, 5),
                staff,
                at,
            )
            check(someone, in_force[kinds[(index + number) % len(kinds)]], staff, at)
    # The CCAS orients people: one voucher waiting for a relais, one already taken in at Nevers.
    social_worker = network.users["prescripteur"]
    nevers = network.relais[0]
    for first_name, last_name, redeemed in (("Samira", "Haddad", False), ("Jean-Marc", "Perreau", True)):
        if Voucher.objects.filter(prescriber=network.prescriber, last_name=last_name).exists():
            continue
        issued = now - timedelta(days=10)
        voucher = Voucher.objects.create(
            prescriber=network.prescriber,
            issued_by=social_worker,
            first_name=first_name,
            last_name=last_name,
            commune=network.sites[nevers.pk].commune,
            household_size=3,
            issued_at=issued,
            expires_on=timezone.localdate(issued) + timedelta(days=90),
        )
        if redeemed:
            staff = staff_of(nevers)
            beneficiary = person(
                nevers, first_name, last_name, voucher.commune, 3, staff, now - timedelta(days=3)
            )
            voucher.redeemed_at, voucher.redeemed_by, voucher.beneficiary = (
                now - timedelta(days=3),
                nevers,
                beneficiary,
            )
            voucher.save()
