"""Reads: what a page shows about a donation, scoped to who looks at it."""

from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.utils import timezone

from reemploi.enums import DeviceState
from reemploi.models import Device, DeviceEvent, Document

from .enums import DonationStatus, DonorKind, Outcome
from .models import Donation, Reception
from .reference import reuse_target


def donation_documents(donation, *, superseded=False):
    """Issued documents the donor may read: the reception sheet (and anything else about the donation
    or its reception), and the documents about its devices addressed to this donor. Lists show the
    current versions; `superseded=True` keeps the replaced ones too (an old copy still downloads)."""
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
    documents = Document.objects.issued() if superseded else Document.objects.current()
    return documents.filter(subjects).order_by("-issued_at")


def space_documents(organisation_ids, limit=50):
    """Issued documents of a donor's space: those addressed to its organisations and those filed
    under their donations, each with its download link (a document filed under a donation opens
    through the donation's private link, whoever it is addressed to)."""
    from django.urls import reverse

    from .tokens import tracking_token

    documents = (
        Document.objects.current()
        .filter(Q(owner_id__in=organisation_ids) | Q(donation__donor_organisation_id__in=organisation_ids))
        .select_related("donation")
        .order_by("-issued_at", "-id")[:limit]
    )
    rows = []
    for document in documents:
        if document.donation_id:
            url = reverse("donors:track_document", args=[tracking_token(document.donation), document.uuid])
        else:
            url = reverse("document_download", args=[document.uuid])
        rows.append((document, url))
    return rows


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


# --- What became of the donated devices (documents and the décret n° 2023-266 ratio) -------------

REUSED_STATES = (DeviceState.SOLD, DeviceState.GIVEN, DeviceState.LENT)
FINAL_STATES = (*REUSED_STATES, DeviceState.DEEE, DeviceState.PARTS, DeviceState.LOST)
# A device enters the network at its first reception; later receptions are returns to a workshop.
INTAKE_FROM_STATES = ["", DeviceState.EXPECTED, DeviceState.COLLECTED]
DECREE_DEEE_CATEGORIES = ("2", "6")  # décret n° 2023-266: DEEE 2° (screens) and 6° (small IT)


def device_outcome(state, ever_lent=False):
    """Reused once sold, given or lent (a loan counts even after the device came back, a sale
    returned under guarantee does not); recycled once sent to DEEE treatment."""
    if state in REUSED_STATES or ever_lent:
        return Outcome.REUSED
    return {
        DeviceState.DEEE: Outcome.RECYCLED,
        DeviceState.PARTS: Outcome.PARTS,
        DeviceState.LOST: Outcome.LOST,
    }.get(state, Outcome.IN_PROGRESS)


def with_outcomes(devices):
    """Devices (a queryset) as a list, each with `outcome` and `kg` (measured, else typical)."""
    lent = DeviceEvent.objects.filter(device=OuterRef("pk"), to_state=DeviceState.LENT)
    rows = list(
        devices.annotate(ever_lent=Exists(lent))
        .select_related("category")
        .order_by("category__sort_order", "serial_number", "id")
    )
    for device in rows:
        device.outcome = device_outcome(device.state, device.ever_lent)
        device.kg = device.weight_kg if device.weight_kg is not None else device.category.typical_weight_kg
    return rows


def devices_received(organisation, year):
    """The devices an organisation gave that the network received (first reception) in `year`,
    Paris time: the yearly cohort of the attestation, the impact report and the décret's ratio."""
    intakes = DeviceEvent.objects.filter(
        device=OuterRef("pk"),
        to_state=DeviceState.RECEIVED,
        from_state__in=INTAKE_FROM_STATES,
        at__year=year,
    )
    return Device.objects.filter(donor_organisation=organisation).filter(Exists(intakes))


def retired_stock_declarations(organisation_ids=None):
    """{(public donor organisation id, year): retired items in stock on 1 January}, as the donor
    declared it with its donations (DEEE 2° and 6°, items over 10 years old excluded, as the form
    asks); the latest declaration of a year stands."""
    donations = Donation.objects.filter(
        donor_kind=DonorKind.PUBLIC_BODY,
        retired_stock_year__isnull=False,
        retired_stock_count__isnull=False,
    )
    if organisation_ids is not None:
        donations = donations.filter(donor_organisation_id__in=list(organisation_ids))
    stock = {}
    for org_id, year, count in donations.order_by("created_at", "id").values_list(
        "donor_organisation_id", "retired_stock_year", "retired_stock_count"
    ):
        stock[(org_id, year)] = count
    return stock


def public_reuse_ratio(organisation, year=None):
    """Décret n° 2023-266: A / B × 100, A = items (DEEE 2° and 6°) this public body gave that were
    received in year N and reused since, B = the retired stock on 1 January N it declared. The
    indicators compute A the same way. None when B is unknown or zero."""
    year = year or timezone.localdate().year
    devices = devices_received(organisation, year).filter(category__deee_category__in=DECREE_DEEE_CATEGORIES)
    oriented = sum(1 for device in with_outcomes(devices) if device.outcome == Outcome.REUSED)
    stock = retired_stock_declarations([organisation.pk]).get((organisation.pk, year))
    return {
        "year": year,
        "oriented": oriented,
        "stock": stock,
        "ratio": round(oriented * 100 / stock, 1) if stock else None,
        "target": reuse_target(year),
    }


def reuse_outcome(organisation):
    """Per device given by the organisation: how many were reused, recycled, still in progress."""
    counts = {outcome: 0 for outcome in Outcome.values}
    for device in with_outcomes(Device.objects.filter(donor_organisation=organisation)):
        counts[device.outcome] += 1
    return {
        "total": sum(counts.values()),
        "reused": counts[Outcome.REUSED],
        "recycled": counts[Outcome.RECYCLED] + counts[Outcome.PARTS],
    }


OPEN = [
    DonationStatus.SUBMITTED,
    DonationStatus.QUALIFIED,
    DonationStatus.SCHEDULED,
    DonationStatus.COLLECTED,
]
