"""Demo: compute the indicators of the demo network so the dashboard opens on figures, and issue the
demo donors' documents (the company's impact report, the public body's reuse attestation)."""

from django.db.models import Count, Q
from django.utils import timezone

from donors.models import Donation
from donors.selectors import REUSED_STATES, devices_received
from reemploi.enums import OrganisationKind
from reemploi.models import Document

from . import services
from .models import IndicatorSnapshot, SnapshotRun


def build(network):
    donor_documents(network)
    snapshots(network)


def snapshots(network):
    """Compute the demo département's snapshots once a day: running the demo again the same day
    changes nothing."""
    code = network.departement.code
    if IndicatorSnapshot.objects.filter(departement_code=code, computed_on=timezone.localdate()).exists():
        return
    run = SnapshotRun.objects.create(departement=network.departement)
    services.snapshots_compute(run_id=run.pk)


def donor_documents(network):
    """Once: the impact report of the company's donation whose devices were most reused, and the
    public body's reuse attestation for the latest year it gave devices in."""
    company = network.donors.get(OrganisationKind.COMPANY)
    public = network.donors.get(OrganisationKind.PUBLIC_BODY)
    if (
        company is not None
        and not Document.objects.filter(kind=services.IMPACT_REPORT, owner=company).exists()
    ):
        donation = (
            Donation.objects.filter(donor_organisation=company)
            .annotate(reused=Count("lines__devices", filter=Q(lines__devices__state__in=REUSED_STATES)))
            .order_by("-reused", "created_at")
            .first()
        )
        if donation is not None:
            services.impact_report_request(donation=donation, requested_by=network.users.get("donateur"))
    if (
        public is not None
        and not Document.objects.filter(kind=services.REUSE_ATTESTATION, owner=public).exists()
    ):
        this_year = timezone.localdate().year
        year = this_year if devices_received(public, this_year).exists() else this_year - 1
        services.reuse_attestation_request(
            organisation=public, year=year, requested_by=network.users.get("donateur-public")
        )
