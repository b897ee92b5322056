import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from pypdf import PdfReader

from reemploi import documents
from reemploi.enums import DocumentStatus
from reemploi.models import Document

from .factories import DeviceFactory


def _build(document):
    device = document.subject
    return documents.Rendered(
        template="tests/pdf_sample.html",
        context={"device": device},
        public_facts={"Appareil": device.public_id},
    )


@pytest.fixture(autouse=True)
def sample_kind(settings, tmp_path):
    template_dir = tmp_path / "templates" / "tests"
    template_dir.mkdir(parents=True)
    (template_dir / "pdf_sample.html").write_text(
        '{% extends "pdf/base.html" %}{% block content %}<p>Appareil {{ device.serial_number }}</p>{% endblock %}'
    )
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [*settings.TEMPLATES[0]["DIRS"], tmp_path / "templates"]}
    ]
    documents.register_kind("sample", prefix="TEST", label="Document d'essai", build=_build)


def _text(document):
    with document.file.open("rb") as handle:
        return "\n".join(page.extract_text() for page in PdfReader(handle).pages)


@pytest.mark.django_db(transaction=True)
def test_document_is_numbered_hashed_and_verifiable(client, mailoutbox):
    device = DeviceFactory(serial_number="PF2XYZ")
    document = documents.document_request(
        kind="sample", subject=device, title="Essai", recipient_email="d@example.org"
    )
    document.refresh_from_db()
    assert document.status == DocumentStatus.ISSUED
    assert document.number.startswith("TEST-") and document.number.endswith("-000001")
    text = _text(document)
    assert "PF2XYZ" in text and document.number in text
    with document.file.open("rb") as handle:
        assert documents.sha256_of(handle.read()) == document.sha256
    assert len(mailoutbox) == 1 and document.number in mailoutbox[0].subject
    # The mail carries the issued file itself, and a link to download it again.
    [(name, content, mimetype)] = mailoutbox[0].attachments
    assert name == f"{document.number}.pdf" and mimetype == "application/pdf"
    assert documents.sha256_of(content) == document.sha256
    assert reverse("document_download", args=[document.uuid]) in mailoutbox[0].body

    page = client.get(reverse("document_verify", args=[document.verification_code]))
    assert page.status_code == 200
    assert "authentique" in page.content.decode() and device.public_id in page.content.decode()
    with document.file.open("rb") as handle:
        original = handle.read()
    same = client.post(
        reverse("document_verify", args=[document.verification_code]),
        {"file": SimpleUploadedFile("d.pdf", original)},
    )
    assert "Identique" in same.content.decode()
    middle = len(original) // 2
    tampered = original[:middle] + bytes([original[middle] ^ 0x01]) + original[middle + 1 :]
    different = client.post(
        reverse("document_verify", args=[document.verification_code]),
        {"file": SimpleUploadedFile("d.pdf", tampered)},
    )
    assert "Différent" in different.content.decode()


@pytest.mark.django_db(transaction=True)
def test_reissue_gives_a_new_number_and_supersedes(client):
    device = DeviceFactory()
    first = documents.document_request(kind="sample", subject=device, title="Essai")
    first.refresh_from_db()
    second = documents.document_reissue(document=first)
    second.refresh_from_db()
    first.refresh_from_db()
    assert second.number != first.number and second.sequence == first.sequence + 1
    assert second.supersedes == first and first.status == DocumentStatus.ISSUED
    page = client.get(reverse("document_verify", args=[first.verification_code])).content.decode()
    assert "remplacé" in page and second.number in page
    with pytest.raises(ValueError):
        documents.document_reissue(document=first)


@pytest.mark.django_db(transaction=True)
def test_generation_is_idempotent():
    device = DeviceFactory()
    document = documents.document_request(kind="sample", subject=device, title="Essai")
    document.refresh_from_db()
    number, digest = document.number, document.sha256
    documents.document_generate(document.pk)  # a retried task
    document.refresh_from_db()
    assert (document.number, document.sha256) == (number, digest)
    assert Document.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_issued_document_cannot_be_changed_or_deleted():
    from django.db import DatabaseError, connection, transaction

    document = documents.document_request(kind="sample", subject=DeviceFactory(), title="Essai")
    document.refresh_from_db()
    document.title = "Autre"
    with pytest.raises(PermissionError):
        document.save()
    with pytest.raises(PermissionError):
        document.delete()
    with pytest.raises(PermissionError):
        Document.objects.filter(pk=document.pk).update(sha256="0" * 64)
    if connection.vendor == "postgresql":
        with pytest.raises(DatabaseError, match="émis"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("UPDATE reemploi_document SET sha256 = %s WHERE id = %s", ["0" * 64, document.pk])
    document.refresh_from_db()
    assert document.title == "Essai"


@pytest.mark.django_db(transaction=True)
def test_broker_down_leaves_document_pending_and_it_is_resubmitted(monkeypatch):
    from reemploi import tasks

    calls = []

    def broken_apply_async(*args, **kwargs):
        calls.append(args)
        raise ConnectionError("Redis est arrêté")

    monkeypatch.setattr(tasks.generate_document, "apply_async", broken_apply_async)
    document = documents.document_request(kind="sample", subject=DeviceFactory(), title="Essai")
    document.refresh_from_db()
    assert calls and document.status == DocumentStatus.PENDING  # the request did not fail
    monkeypatch.undo()
    assert tasks.resubmit_pending(older_than_minutes=0) == 1
    document.refresh_from_db()
    assert document.status == DocumentStatus.ISSUED
