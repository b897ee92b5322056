import pytest
from django.core.management import call_command

from donors.enums import DonationStatus, DonorKind
from donors.models import Donation, Reception
from reemploi.demo import STATE_PLAN
from reemploi.models import Device, Document, Organisation


@pytest.mark.django_db
def test_demo_has_donations_from_each_kind_of_donor_at_each_step():
    call_command("demo")
    for kind in DonorKind.values:
        statuses = set(Donation.objects.filter(donor_kind=kind).values_list("status", flat=True))
        assert {
            DonationStatus.SUBMITTED,
            DonationStatus.QUALIFIED,
            DonationStatus.SCHEDULED,
            DonationStatus.COLLECTED,
            DonationStatus.RECEIVED,
        } <= statuses, kind
    assert Donation.objects.filter(status=DonationStatus.CLOSED).exists()
    for reception in Reception.objects.all():
        assert Document.objects.about(reception).filter(kind="reception_sheet").exists()
    attached = Device.objects.filter(serial_number__startswith="DEMO-", donation_line__isnull=False)
    kernel_devices = sum(count for _state, count in STATE_PLAN)
    assert attached.count() >= 0.9 * kernel_devices  # all but the citizen's announced and lost ones
    for device in attached.select_related("donation_line__donation"):
        assert device.donation_line.donation.donor_organisation_id == device.donor_organisation_id
    before = Donation.objects.count()
    call_command("demo")
    assert Donation.objects.count() == before
    # One of each donor document for the demo donors, however often the demo runs.
    company = Organisation.objects.get(memberships__user__username="donateur")
    public = Organisation.objects.get(memberships__user__username="donateur-public")
    for kind, owner in (("tax_receipt", company), ("impact_report", company), ("reuse_attestation", public)):
        assert Document.objects.filter(kind=kind, owner=owner).count() == 1, kind
