"""The workshop's documents: a certificate per medium, the donation's summary and destruction
certificates, the DEEE treatment certificate; when they are issued, what they say, who may ask."""

import contextlib
import hashlib
import io
import os
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from reemploi.documents import document_generate
from reemploi.enums import DocumentStatus, Role
from reemploi.models import Device, Document
from refurbishers import documents, services
from refurbishers.models import NoStorageDeclaration
from tests.donors import factories as donations
from tests.reemploi.factories import OrganisationFactory, member_of

from .factories import MediumFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Run the callbacks a block registers once it commits (document generation, emails)."""

    def run(function, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return function(*args, **kwargs)

    return run


def pdf_text(document):
    document.refresh_from_db()
    assert document.status == DocumentStatus.ISSUED, document.error
    with document.file.open("rb") as handle:
        text = "\n".join(page.extract_text() for page in PdfReader(handle).pages)
    if dump := os.environ.get("DUMP_PDF_DIR"):
        with document.file.open("rb") as handle, open(f"{dump}/{document.number}.pdf", "wb") as out:
            out.write(handle.read())
    return " ".join(text.split())  # table cells wrap lines


def erase(medium, actor, **overrides):
    end = timezone.now() - timedelta(hours=1)
    fields = dict(
        level="clear",
        technique="overwrite",
        tool="nwipe",
        tool_version="0.38",
        method_detail="PRNG Stream, 1 passage, vérification Last Pass",
        verification_method="last_pass",
        verification_result="passed",
        started_at=end - timedelta(minutes=95),
        ended_at=end,
        outcome="erased",
        operator_name="Karim Benali",
        operator_title="Technicien reconditionnement",
        operator_phone="03 86 11 22 33",
        validator_name="Sophie Laurent",
        validator_title="Responsable d'atelier",
        data_backed_up=False,
        passes=1,
        rounds=1,
        blanking=True,
        error_count=0,
        bytes_erased=500_107_862_016,
    )
    fields.update(overrides)
    return services.sanitisation_record(medium=medium, actor=actor, **fields)


def destroy(medium, actor, **overrides):
    fields = dict(
        iso_level="H-4",
        method="shredding",
        performed_at=timezone.now() - timedelta(minutes=30),
        operator_name="Lucas Bernard",
    )
    fields.update(overrides)
    return services.destruction_record(medium=medium, actor=actor, **fields)


@pytest.fixture
def donation(coordinator, refurbisher_org):
    return donations.received(coordinator, refurbisher_org, lines=[donations.line("laptop", quantity=2)])


def devices_of(donation):
    return list(Device.objects.filter(donation_line__donation=donation).order_by("pk"))


def current(donation, kind):
    return Document.objects.filter(donation=donation, kind=kind, superseded_by__isnull=True).get()


# --- One certificate per medium ------------------------------------------------------------------


def test_a_verified_erasure_issues_its_medium_certificate_with_appendix_g_fields(
    client, run_on_commit, refurbisher, donation
):
    device = devices_of(donation)[0]
    medium = MediumFactory(device=device, serial_number="WD-WCC4M1234567", property_number="INV-D-042")
    record = run_on_commit(erase, medium, refurbisher)

    certificate = Document.objects.about(record).get(kind=documents.MEDIUM_CERTIFICATE)
    assert certificate.number.startswith("CEF-") and certificate.donation == donation
    assert certificate.owner == donation.donor_organisation and certificate.recipient_email == ""
    text = pdf_text(certificate)
    for expected in [
        "WD-WCC4M1234567",
        "INV-D-042",
        device.public_id,
        "Clear",
        "Écrasement",
        "PRNG Stream",
        "nwipe 0.38",
        "Relecture du dernier passage",
        "Vérification réussie",
        "Effacé",
        "Karim Benali",
        "Technicien reconditionnement",
        "03 86 11 22 33",
        "Sophie Laurent",
        timezone.localtime(record.ended_at).strftime("%d/%m/%Y %H:%M:%S"),
        "NIST SP 800-88 Rév. 2",
        "IEEE 2883-2022",
        "1 tour",
        "0 erreur",
        "500107862016 octets effacés",
        certificate.number,
        reverse("document_verify", args=[certificate.verification_code]),
    ]:
        assert expected in text, expected
    facts = " ".join(f"{k} {v}" for k, v in certificate.public_facts.items())
    assert "Clear" in facts and "Karim" not in facts and "Sophie" not in facts
    page = client.get(reverse("document_verify", args=[certificate.verification_code])).content.decode()
    assert "Karim" not in page and device.public_id in page


def test_a_failed_erasure_issues_nothing_and_a_retry_issues_nothing_twice(
    run_on_commit, refurbisher, donation
):
    medium = MediumFactory(device=devices_of(donation)[0])
    failed = run_on_commit(
        erase, medium, refurbisher, outcome="failed", verification_result="failed", error_count=12
    )
    assert not Document.objects.about(failed).exists()
    record = run_on_commit(erase, medium, refurbisher)
    first = Document.objects.about(record).get()
    again = run_on_commit(documents.medium_certificate_issue, record=record, actor=refurbisher)
    assert again == first
    number, digest = pdf_text(first) and first.number, first.sha256
    document_generate(first.pk)  # a retried task
    first.refresh_from_db()
    assert (first.number, first.sha256) == (number, digest)
    assert Document.objects.filter(kind=documents.MEDIUM_CERTIFICATE).count() == 1


def test_a_destruction_issues_a_destruction_record(run_on_commit, refurbisher, donation):
    medium = MediumFactory(device=devices_of(donation)[0], serial_number="Z1D2E3F4")
    destruction = run_on_commit(destroy, medium, refurbisher)
    record = Document.objects.about(destruction).get(kind=documents.MEDIUM_CERTIFICATE)
    assert record.number.startswith("CEF-") and "destruction" in record.title
    text = pdf_text(record)
    for expected in ["Z1D2E3F4", "DÉTRUIT", "H-4", "Broyage", "Lucas Bernard", "Destroy"]:
        assert expected in text, expected


def test_a_tampered_certificate_fails_verification(client, run_on_commit, refurbisher, donation):
    record = run_on_commit(erase, MediumFactory(device=devices_of(donation)[0]), refurbisher)
    certificate = Document.objects.about(record).get()
    pdf_text(certificate)
    with certificate.file.open("rb") as handle:
        original = handle.read()
    url = reverse("document_verify", args=[certificate.verification_code])
    assert "Identique" in client.post(url, {"file": SimpleUploadedFile("c.pdf", original)}).content.decode()
    middle = len(original) // 2
    tampered = original[:middle] + bytes([original[middle] ^ 0x01]) + original[middle + 1 :]
    assert "Différent" in client.post(url, {"file": SimpleUploadedFile("c.pdf", tampered)}).content.decode()


# --- The donation's summary and destruction certificates -----------------------------------------


def test_summary_and_destruction_certificates_come_once_every_medium_is_cleared(
    client, run_on_commit, refurbisher, donation, mailoutbox
):
    first, second = devices_of(donation)
    erased_disk = MediumFactory(device=first, serial_number="S3Z9NB0K123456")
    destroyed_disk = MediumFactory(device=second, serial_number="WX21A9876543")
    erasure = run_on_commit(erase, erased_disk, refurbisher)
    assert not Document.objects.filter(donation=donation, kind=documents.SUMMARY).exists()

    destruction = run_on_commit(destroy, destroyed_disk, refurbisher)
    summary = current(donation, documents.SUMMARY)
    assert summary.number.startswith("CER-") and summary.recipient_email == donation.contact_email
    assert summary.owner == donation.donor_organisation
    text = pdf_text(summary)
    for expected in [
        "S3Z9NB0K123456",
        "WX21A9876543",
        first.public_id,
        second.public_id,
        "Clear",
        "Écrasement",
        "nwipe 0.38",
        "réussie",
        "Effacé",
        "Détruit",
        "H-4",
        "Karim Benali",
        "Lucas Bernard",
        timezone.localtime(erasure.ended_at).strftime("%d/%m/%Y %H:%M"),
        timezone.localtime(destruction.performed_at).strftime("%d/%m/%Y %H:%M"),
        donation.reference,
    ]:
        assert expected in text, expected
    assert "Page 1 / 1" in text

    certificate = current(donation, documents.DESTRUCTION_CERTIFICATE)
    assert certificate.number.startswith("CDD-")
    text = pdf_text(certificate)
    performed = timezone.localtime(destruction.performed_at)
    for expected in [
        "WX21A9876543",
        second.public_id,
        "Broyage",
        "H-4",
        "Lucas Bernard",
        "Atelier A",
        performed.strftime("%d/%m/%Y"),
        performed.strftime("%H:%M"),
    ]:
        assert expected in text, expected
    subjects = [message.subject for message in mailoutbox]
    assert any(summary.number in s for s in subjects) and any(certificate.number in s for s in subjects)
    # The donor gets the PDF attached, and the private tracking link to download it again.
    mail = next(m for m in mailoutbox if summary.number in m.subject)
    [(name, content, _mimetype)] = mail.attachments
    assert name == f"{summary.number}.pdf" and hashlib.sha256(content).hexdigest() == summary.sha256
    assert "/dons/suivi/" in mail.body and str(summary.uuid) in mail.body
    facts = str(summary.public_facts) + str(certificate.public_facts)
    assert "Karim" not in facts and "Lucas" not in facts and "Camille" not in facts

    # A retried trigger issues nothing new.
    run_on_commit(documents.donation_certificates_refresh, donation=donation, actor=refurbisher)
    assert Document.objects.filter(donation=donation, kind=documents.SUMMARY).count() == 1
    assert Document.objects.filter(donation=donation, kind=documents.DESTRUCTION_CERTIFICATE).count() == 1

    # A medium found later and erased: a new version supersedes the summary.
    late = MediumFactory(device=first, serial_number="LATE-NVME-0001")
    run_on_commit(erase, late, refurbisher)
    newer = current(donation, documents.SUMMARY)
    assert newer.pk != summary.pk and newer.supersedes == summary
    assert "LATE-NVME-0001" in pdf_text(newer) and newer.recipient_email == donation.contact_email
    page = client.get(reverse("document_verify", args=[summary.verification_code])).content.decode()
    assert "remplacé" in page and newer.number in page
    # The donor's tracking page lists the current version; the replaced copy still downloads.
    from donors.tokens import tracking_token

    token = tracking_token(donation)
    tracking = client.get(reverse("donors:track", args=[token])).content.decode()
    assert newer.number in tracking and summary.number not in tracking
    old_copy = client.get(reverse("donors:track_document", args=[token, summary.uuid]))
    assert old_copy.status_code == 200
    # The destruction certificate lists the same destructions: no new version.
    assert Document.objects.filter(donation=donation, kind=documents.DESTRUCTION_CERTIFICATE).count() == 1


def test_no_summary_while_a_device_is_neither_cleared_nor_declared_empty(
    run_on_commit, refurbisher, donation
):
    first, second = devices_of(donation)
    run_on_commit(erase, MediumFactory(device=first), refurbisher)
    assert not documents.donation_is_cleared(donation)
    assert not Document.objects.filter(donation=donation, kind=documents.SUMMARY).exists()
    run_on_commit(services.no_storage_declare, device=second, actor=refurbisher, reason="Baie vide, vérifiée")
    summary = current(donation, documents.SUMMARY)
    assert NoStorageDeclaration.objects.filter(device=second).exists()
    assert second.public_id in pdf_text(summary)
    assert not Document.objects.filter(donation=donation, kind=documents.DESTRUCTION_CERTIFICATE).exists()


def test_summary_on_demand_lists_what_is_left(run_on_commit, refurbisher, donation):
    first, second = devices_of(donation)
    run_on_commit(erase, MediumFactory(device=first, serial_number="DONE-0001"), refurbisher)
    MediumFactory(device=second, serial_number="TODO-0002")
    requested = run_on_commit(services.donation_certificates_request, donation=donation, actor=refurbisher)
    assert [d.kind for d in requested] == [documents.SUMMARY]
    text = pdf_text(requested[0])
    assert "DONE-0001" in text and "TODO-0002" in text and "À effacer" in text and "reste" in text
    again = run_on_commit(services.donation_certificates_request, donation=donation, actor=refurbisher)
    assert again == []


def test_summary_of_many_media_repeats_its_header_and_numbers_pages(run_on_commit, refurbisher, donation):
    first, second = devices_of(donation)
    run_on_commit(services.no_storage_declare, device=second, actor=refurbisher, reason="Vide")
    for index in range(80):
        MediumFactory(device=first, serial_number=f"BULK-{index:04d}")
    for medium in first.storage_media.all():
        erase(medium, refurbisher)  # generation is left to the end (no on-commit callbacks run)
    summary = current(donation, documents.SUMMARY)
    assert len(summary.params["snapshot"]["sanitisations"]) == 80
    MediumFactory(device=first, serial_number="AFTER-0001")  # found before the worker ran
    document_generate(summary.pk)
    reader_text = pdf_text(summary)
    assert "AFTER-0001" not in reader_text and "À effacer" not in reader_text
    summary.refresh_from_db()
    with summary.file.open("rb") as handle:
        pages = len(PdfReader(handle).pages)
    assert pages >= 2 and f"Page {pages} / {pages}" in reader_text
    with summary.file.open("rb") as handle:
        table_pages = [" ".join(p.extract_text().split()) for p in PdfReader(handle).pages]
    table_pages = [text for text in table_pages if "BULK-" in text]
    assert len(table_pages) >= 2
    assert all("N° de série · support" in text for text in table_pages)  # the header repeats
    for index in range(80):
        assert f"BULK-{index:04d}" in reader_text


# --- DEEE treatment ------------------------------------------------------------------------------


def test_handing_a_lot_over_issues_a_deee_certificate_per_donation(
    run_on_commit, refurbisher, refurbisher_org, donation
):
    first, _second = devices_of(donation)
    lot = services.waste_lot_create(
        organisation=refurbisher_org,
        actor=refurbisher,
        waste_code="16 02 13*",
        eco_organisme="ecosystem",
        destination_name="Envie 58",
        destination_siret="58123456400010",
        treatment_code="R4",
    )
    services.waste_lot_add_devices(lot=lot, devices=[first], actor=refurbisher)
    run_on_commit(
        services.waste_lot_hand_over,
        lot=lot,
        actor=refurbisher,
        handover_date=date(2026, 3, 2),
        bsdd_number="BSD-20260302-ABCD1234",
    )
    certificate = Document.objects.get(donation=donation, kind=documents.DEEE_CERTIFICATE)
    assert certificate.number.startswith("CTD-") and certificate.recipient_email == donation.contact_email
    first.refresh_from_db()
    text = pdf_text(certificate)
    weight = f"{first.effective_weight_kg:.2f}".replace(".", ",")
    for expected in [
        first.public_id,
        first.serial_number,
        first.category.name,
        f"{first.category.deee_category}°",
        "Envie 58",
        "58123456400010",
        "R4",
        "BSD-20260302-ABCD1234",
        "16 02 13*",
        "02/03/2026",
        lot.reference,
        "ecosystem",
    ]:
        assert expected in text, expected
    assert weight in text or str(first.effective_weight_kg) in text
    assert certificate.public_facts["Code de traitement"] == "R4"
    assert run_on_commit(documents.deee_certificates_issue, lot=lot) == []  # retried: once only
    assert (
        Decimal(certificate.public_facts["Poids total (kg)"].replace(",", ".")) == first.effective_weight_kg
    )


# --- The button ----------------------------------------------------------------------------------


def test_workshop_staff_issue_the_donation_certificates_from_a_button(
    client, refurbisher, donation, run_on_commit
):
    first, second = devices_of(donation)
    record = run_on_commit(erase, MediumFactory(device=first), refurbisher)
    client.force_login(refurbisher)
    device_page = client.get(reverse("device_detail", args=[first.uuid])).content.decode()
    assert Document.objects.about(record).get().number in device_page
    assert f"Certificats du don {donation.reference}" in device_page
    url = reverse("refurbishers:donation_certificates", args=[donation.uuid])
    page = client.get(url).content.decode()
    assert "Émettre les certificats du don" in page and first.public_id in page
    with_commit = run_on_commit(
        client.post, reverse("refurbishers:donation_certificates_issue", args=[donation.uuid])
    )
    assert with_commit.status_code == 302
    summary = current(donation, documents.SUMMARY)
    assert summary.requested_by == refurbisher and summary.status == DocumentStatus.ISSUED
    page = client.get(url).content.decode()
    assert summary.number in page
    download = client.get(reverse("refurbishers:donation_document", args=[donation.uuid, summary.uuid]))
    assert download.status_code == 200 and b"%PDF" in b"".join(download.streaming_content)[:10]


def test_the_button_is_404_for_another_workshop_and_403_for_read_only(client, donation, refurbisher_org):
    url = reverse("refurbishers:donation_certificates_issue", args=[donation.uuid])
    other = member_of(OrganisationFactory(refurbisher=True, name="Atelier B"), username="atelier-b")
    client.force_login(other)
    assert client.post(url).status_code == 404
    assert client.get(reverse("refurbishers:donation_certificates", args=[donation.uuid])).status_code == 404
    reader = member_of(refurbisher_org, role=Role.READ_ONLY, username="lecteur")
    client.force_login(reader)
    assert client.post(url).status_code == 403
    page = client.get(reverse("refurbishers:donation_certificates", args=[donation.uuid])).content.decode()
    assert "Émettre les certificats du don" not in page
    assert not Document.objects.filter(donation=donation, kind=documents.SUMMARY).exists()


def test_coordinator_may_issue_for_any_workshop(client, coordinator, donation, run_on_commit, refurbisher):
    run_on_commit(erase, MediumFactory(device=devices_of(donation)[0]), refurbisher)
    client.force_login(coordinator)
    response = run_on_commit(
        client.post, reverse("refurbishers:donation_certificates_issue", args=[donation.uuid])
    )
    assert response.status_code == 302
    assert current(donation, documents.SUMMARY).requested_by == coordinator


def test_donor_downloads_the_certificates_filed_under_their_donation(
    client, run_on_commit, refurbisher, donation
):
    first, second = devices_of(donation)
    run_on_commit(erase, MediumFactory(device=first), refurbisher)
    run_on_commit(destroy, MediumFactory(device=second), refurbisher)
    donor = donations.donor_member(donation, username="donateur-test")
    client.force_login(donor)
    for kind in (documents.MEDIUM_CERTIFICATE, documents.SUMMARY, documents.DESTRUCTION_CERTIFICATE):
        document = Document.objects.filter(donation=donation, kind=kind).first()
        response = client.get(reverse("document_download", args=[document.uuid]))
        assert response.status_code == 200, kind
        assert io.BytesIO(b"".join(response.streaming_content)).read(4) == b"%PDF"


@pytest.mark.django_db(transaction=True)
def test_the_last_two_media_cleared_at_once_issue_one_summary(
    coordinator, refurbisher, refurbisher_org, monkeypatch
):
    """Two workers record the donation's last two erasures at the same moment: the lock on the
    donation makes the second one see the first, so exactly one summary is issued."""
    import threading

    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("row locks are only meaningful on PostgreSQL")
    donation = donations.received(coordinator, refurbisher_org, lines=[donations.line("laptop", quantity=2)])
    media = [MediumFactory(device=device) for device in devices_of(donation)]
    barrier = threading.Barrier(2)
    both_checking = threading.Barrier(2, timeout=2)
    errors = []
    is_cleared = documents.donation_is_cleared

    def slow_check(donation):
        # Without the lock both transactions would check here together, each blind to the other's
        # uncommitted erasure; with it the second one waits for the first to commit.
        with contextlib.suppress(threading.BrokenBarrierError):
            both_checking.wait()
        return is_cleared(donation)

    monkeypatch.setattr(documents, "donation_is_cleared", slow_check)

    def work(medium):
        from django.db import connections

        try:
            barrier.wait()
            erase(medium, refurbisher)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(medium,)) for medium in media]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert Document.objects.filter(donation=donation, kind=documents.SUMMARY).count() == 1
    assert Document.objects.filter(kind=documents.MEDIUM_CERTIFICATE).count() == 2
