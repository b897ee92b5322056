"""Reads: what a page shows about a donation, scoped to who looks at it."""

from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Q, Sum
from django.utils import timezone

from reemploi.enums import DeviceState
from reemploi.models import Device, Document

from .enums import DonationStatus, Verdict
from .models import Donation, DonationLine, Reception
from .reference import reuse_target


def donation_documents(donation):
    """Issued documents the donor may read: the reception sheet (and anything else about the donation
    or its reception), and the documents about its devices addressed to this donor."""
    subjects = Q(donation=donation) | Q(
        subject_type=ContentType.objects.get_for_model(Donation), subject_id=donation.pk
    )
    reception = Reception.objects.filter(donation=donation).only("pk").first()
    if reception is not None:
        subjects |= Q(subject_type=ContentType.objects.get_for_model(Reception), subject_id=reception.pk)
    device_ids = Device.objects.filter(donation_line__donation=donation).values("pk")
    addressed = (
        Q(owner_id=donation.donor_organisation_id)
        if donation.donor_organisation_id
        else Q(owner__isnull=True, recipient_email__iexact=donation.contact_email)
    )
    subjects |= (
        Q(subject_type=ContentType.objects.get_for_model(Device), subject_id__in=device_ids) & addressed
    )
    return Document.objects.issued().filter(subjects).order_by("-issued_at")


def donation_devices(donation):
    return (
        Device.objects.filter(donation_line__donation=donation)
        .select_related("category", "holder", "donation_line")
        .order_by("donation_line__position", "id")
    )


def queue(queryset, *, q="", status="", donor_kind="", handover_mode="", refurbisher=None):
    q = (q or "").strip()
    if q:
        queryset = queryset.filter(
            Q(reference__icontains=q)
            | Q(organisation_name__icontains=q)
            | Q(contact_name__icontains=q)
            | Q(contact_email__icontains=q)
            | Q(commune__name__icontains=q)
            | Q(postal_code=q)
        )
    if status:
        queryset = queryset.filter(status=status)
    if donor_kind:
        queryset = queryset.filter(donor_kind=donor_kind)
    if handover_mode:
        queryset = queryset.filter(handover_mode=handover_mode)
    if refurbisher is not None:
        queryset = queryset.filter(refurbisher=refurbisher)
    return (
        queryset.with_related()
        .annotate(items=Sum("lines__quantity"), line_count=Count("lines", distinct=True))
        .order_by("-created_at", "-id")
    )


def public_reuse_ratio(organisation, year=None):
    """Décret n° 2023-266: A / B × 100, A = items this public body oriented to reuse in year N
    (lines accepted for reuse on donations received that year), B = retired items in stock on
    1 January N as declared on its latest donation of that year. None when B is unknown or zero."""
    year = year or timezone.localdate().year
    donations = Donation.objects.filter(donor_organisation=organisation, retired_stock_year=year)
    latest = donations.exclude(retired_stock_count__isnull=True).order_by("-created_at").first()
    oriented = (
        DonationLine.objects.filter(
            donation__donor_organisation=organisation,
            donation__reception__received_at__year=year,
            decision=Verdict.ACCEPTED,
        ).aggregate(n=Sum("reception_line__received_quantity"))["n"]
        or 0
    )
    stock = latest.retired_stock_count if latest else None
    return {
        "year": year,
        "oriented": oriented,
        "stock": stock,
        "ratio": round(oriented * 100 / stock, 1) if stock else None,
        "target": reuse_target(year),
    }


def reuse_outcome(organisation):
    """Per device given by the organisation: how many were reused, recycled, still in progress."""
    rows = Device.objects.filter(donor_organisation=organisation).values("state").annotate(n=Count("id"))
    counts = {row["state"]: row["n"] for row in rows}
    reused = sum(
        counts.get(s, 0)
        for s in (DeviceState.SOLD, DeviceState.GIVEN, DeviceState.LENT, DeviceState.IN_STOCK)
    )
    recycled = counts.get(DeviceState.DEEE, 0) + counts.get(DeviceState.PARTS, 0)
    return {"total": sum(counts.values()), "reused": reused, "recycled": recycled}


OPEN = [
    DonationStatus.SUBMITTED,
    DonationStatus.QUALIFIED,
    DonationStatus.SCHEDULED,
    DonationStatus.COLLECTED,
]
