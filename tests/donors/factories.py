"""Donations in any state, built through the services (so their history and devices are real)."""

from datetime import time, timedelta

from django.utils import timezone

from donors import services
from donors.enums import Condition, DonorKind, HandoverMode, Verdict
from reemploi.models import Commune, CommunePostalCode
from tests.reemploi.factories import CommuneFactory, OrganisationFactory, SiteFactory, category, member_of


def commune(postal_code="58000", name="Nevers", insee="58194"):
    place = CommuneFactory(insee_code=insee, name=name)
    CommunePostalCode.objects.get_or_create(commune=place, code=postal_code)
    return place


def workshop(organisation=None, **fields):
    organisation = organisation or OrganisationFactory(refurbisher=True, name="Atelier du Val")
    defaults = {
        "name": f"Atelier – {organisation.name}",
        "address": "15 rue des Ateliers",
        "postal_code": "58000",
    }
    defaults.update(fields)
    return SiteFactory(
        organisation=organisation,
        commune=commune(),
        is_workshop=True,
        is_collection_point=True,
        **defaults,
    )


def line(code="laptop", quantity=3, age_years=5, condition=Condition.WORKS, **extra):
    return {
        "category": category(code),
        "quantity": quantity,
        "age_years": age_years,
        "condition": condition,
        "has_charger": True,
        "holds_data": False,
        "description": "",
        **extra,
    }


def submit(*, kind=DonorKind.COMPANY, lines=None, handover_mode=HandoverMode.PICKUP, **overrides):
    place = Commune.objects.filter(postal_codes__code="58000").first() or commune()
    data = {
        "donor_kind": kind,
        "contact_name": "Camille Martin",
        "contact_email": "camille@example.org",
        "contact_phone": "03 86 00 00 00",
        "postal_code": "58000",
        "commune": place,
        "address": "1 rue du Commerce",
        "handover_mode": handover_mode,
        "lines": lines if lines is not None else [line()],
        "privacy_consent": True,
        "availability": ["mon-am", "tue-pm"],
    }
    if kind in DonorKind.organisation_kinds():
        data.update(organisation_name="Nivernaise de Services", siret="73282932000074")
    if kind == DonorKind.ASSOCIATION:
        data.update(siret="")
    if kind == DonorKind.PUBLIC_BODY:
        data.update(
            organisation_name="Communauté de communes Loire et Allier",
            siret="21580194500019",
            reuse_commitment=True,
            retired_stock_count=120,
        )
    data.update(overrides)
    return services.donation_submit(**data)


def qualified(coordinator, refurbisher_org, **submit_kwargs):
    donation = submit(**submit_kwargs)
    services.donation_qualify(
        donation=donation,
        actor=coordinator,
        refurbisher=refurbisher_org,
        decisions=[
            {"line": item, "decision": item.verdict, "reason": item.verdict_reason, "quantity": None}
            for item in donation.lines.all()
        ],
    )
    donation.refresh_from_db()
    return donation


def scheduled(coordinator, refurbisher_org, **submit_kwargs):
    donation = qualified(coordinator, refurbisher_org, **submit_kwargs)
    services.donation_schedule(
        donation=donation,
        actor=coordinator,
        planned_date=timezone.localdate() + timedelta(days=3),
        slot_start=time(9),
        slot_end=time(12),
        carrier=refurbisher_org,
    )
    donation.refresh_from_db()
    return donation


def collected(coordinator, refurbisher_org, **submit_kwargs):
    donation = scheduled(coordinator, refurbisher_org, **submit_kwargs)
    count = sum(item.expected_quantity for item in donation.lines.all())
    services.donation_collect(donation=donation, actor=coordinator, items_count=count, weight_kg=7)
    donation.refresh_from_db()
    return donation


def received(coordinator, refurbisher_org, site=None, **submit_kwargs):
    donation = collected(coordinator, refurbisher_org, **submit_kwargs)
    site = site or workshop(refurbisher_org)
    services.donation_receive(
        donation=donation,
        actor=coordinator,
        site=site,
        weight_kg=7,
        lines=[
            {"line": item, "received_quantity": item.expected_quantity, "items": [], "note": ""}
            for item in donation.lines.all()
            if item.decision != Verdict.REFUSED
        ],
    )
    donation.refresh_from_db()
    return donation


def donor_member(donation, **user_fields):
    return member_of(donation.donor_organisation, **user_fields)
