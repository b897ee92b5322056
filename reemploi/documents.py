"""One PDF renderer and one register for every document the platform issues.

An app declares a kind of document with `register_kind` (from its AppConfig.ready()), giving a
number prefix and a builder that returns the template, its context and the public facts shown on the
verification page. `document_request` records a pending document and enqueues its generation after
the transaction commits; the Celery task `reemploi.tasks.generate_document` calls
`document_generate`, which numbers (per kind and year, no gaps), renders, hashes and stores it,
exactly once however often it is retried."""

import base64
import hashlib
import io
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.contrib.staticfiles import finders
from django.core.files.base import ContentFile
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from .enums import DocumentStatus
from .models import Document
from .queue import enqueue_on_commit
from .sequences import sequence_next

logger = logging.getLogger(__name__)


@dataclass
class Rendered:
    template: str
    context: dict
    public_facts: dict = field(default_factory=dict)


@dataclass
class DocumentKind:
    code: str
    prefix: str
    label: str
    build: Callable[[Document], Rendered]


_kinds: dict[str, DocumentKind] = {}


def register_kind(code, *, prefix, label, build):
    _kinds[code] = DocumentKind(code=code, prefix=prefix, label=label, build=build)


def get_kind(code) -> DocumentKind:
    try:
        return _kinds[code]
    except KeyError:
        raise LookupError(f"Unknown document kind {code!r}") from None


# Apps may give a better download link for a document (e.g. a donation's private tracking link for
# a donor without an account): functions document -> path or None, tried in order.
DOWNLOAD_LINKS: list[Callable[[Document], str | None]] = []


def register_download_link(fn):
    if fn not in DOWNLOAD_LINKS:
        DOWNLOAD_LINKS.append(fn)


def download_path(document):
    for fn in DOWNLOAD_LINKS:
        path = fn(document)
        if path:
            return path
    return reverse("document_download", args=[document.uuid])


def kind_label(code):
    return _kinds[code].label if code in _kinds else code


# --- Rendering -----------------------------------------------------------------------------------


def _static_path(relative):
    found = finders.find(relative)
    return Path(found) if found else None


def qr_svg_data_uri(text):
    import segno

    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="svg", scale=4, border=1, xmldecl=False, svgns=True)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def network_siren():
    """The network's SIREN: NETWORK_SIREN, else the coordinator organisation's (from its SIRET)."""
    if settings.NETWORK_SIREN:
        return settings.NETWORK_SIREN
    from .enums import OrganisationKind
    from .models import Organisation

    coordinator = (
        Organisation.objects.filter(kind=OrganisationKind.COORDINATOR, is_active=True)
        .exclude(siret="")
        .order_by("pk")
        .first()
    )
    return coordinator.siren if coordinator is not None else ""


def network_context():
    logo = _static_path(settings.NETWORK_LOGO)
    return {
        "network_name": settings.NETWORK_NAME,
        "network_address": settings.NETWORK_ADDRESS,
        "network_siren": network_siren(),
        "network_logo_uri": logo.as_uri() if logo else "",
    }


def render_pdf(template_name, context) -> bytes:
    """Render an HTML/CSS template to PDF bytes with WeasyPrint."""
    from weasyprint import HTML

    html = render_to_string(template_name, {**network_context(), **context})
    base_url = str(settings.BASE_DIR / "static")
    return HTML(string=html, base_url=base_url).write_pdf()


def verification_url(document):
    return settings.SITE_URL + reverse("document_verify", args=[document.verification_code])


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- Services ------------------------------------------------------------------------------------


def document_request(
    *,
    kind,
    subject,
    title,
    owner=None,
    recipient_email="",
    requested_by=None,
    params=None,
    supersedes=None,
    donation=None,
):
    """Record a document to issue and enqueue its generation once the transaction commits.

    `donation` (a donors.Donation) files the document under that donation: its donor finds it on the
    tracking page and in their space, whatever the document's subject is."""
    from .tasks import generate_document

    get_kind(kind)
    document = Document.objects.create(
        kind=kind,
        title=title,
        subject_type=ContentType.objects.get_for_model(subject),
        subject_id=subject.pk,
        owner=owner,
        recipient_email=recipient_email,
        requested_by=requested_by,
        params=params or {},
        supersedes=supersedes,
        donation=donation,
    )
    enqueue_on_commit(generate_document, document.pk)
    return document


def document_reissue(*, document, requested_by=None, params=None, recipient_email=None):
    """Issue a new version of a document: a new number; the old one is marked superseded. The new
    version keeps the old one's parameters and recipient unless new ones are given (a certificate
    whose list of proofs changed)."""
    if document.status != DocumentStatus.ISSUED:
        raise ValueError(_("Seul un document émis peut être réédité."))
    if document._superseded_by_or_none() is not None:
        raise ValueError(_("Ce document a déjà été remplacé par une nouvelle version."))
    return document_request(
        kind=document.kind,
        subject=document.subject,
        title=document.title,
        owner=document.owner,
        recipient_email=document.recipient_email if recipient_email is None else recipient_email,
        requested_by=requested_by,
        params=document.params if params is None else params,
        supersedes=document,
        donation=document.donation,
    )


def _allocate_number(document_id):
    """Give the document its number in a short transaction of its own, once."""
    with transaction.atomic():
        document = Document.objects.select_for_update().get(pk=document_id)
        if document.number:
            return document
        kind = get_kind(document.kind)
        year, sequence = sequence_next(document.kind)
        document.year, document.sequence = year, sequence
        document.number = f"{kind.prefix}-{year}-{sequence:06d}"
        document.save(update_fields=["year", "sequence", "number"])
        return document


def document_generate(document_id):
    """Number, render, hash and store a document. Idempotent: an issued document is left as is."""
    document = Document.objects.get(pk=document_id)
    if document.status == DocumentStatus.ISSUED:
        return document
    document = _allocate_number(document_id)
    kind = get_kind(document.kind)
    rendered = kind.build(document)
    context = {
        **rendered.context,
        "document": document,
        "verification_url": verification_url(document),
        "qr_uri": qr_svg_data_uri(verification_url(document)),
        "issued_at": timezone.now(),
    }
    pdf = render_pdf(rendered.template, context)
    digest = sha256_of(pdf)
    with transaction.atomic():
        locked = Document.objects.select_for_update().get(pk=document_id)
        if locked.status == DocumentStatus.ISSUED:
            return locked
        if locked.file:
            locked.file.delete(save=False)
        locked.file.save(f"{locked.number}.pdf", ContentFile(pdf), save=False)
        locked.sha256 = digest
        locked.size = len(pdf)
        locked.public_facts = rendered.public_facts
        locked.status = DocumentStatus.ISSUED
        locked.issued_at = context["issued_at"]
        locked.error = ""
        locked.save()
        if locked.recipient_email:
            transaction.on_commit(lambda: _notify_ready(locked.pk))
    return locked


def document_mark_failed(document_id, error):
    Document.objects.filter(pk=document_id, status=DocumentStatus.PENDING).update(
        status=DocumentStatus.FAILED, error=str(error)[:2000]
    )


def _notify_ready(document_id):
    """Mail the recipient the document itself (attached), with a link to download it again and the
    verification page."""
    from django.core.mail import EmailMessage

    document = Document.objects.get(pk=document_id)
    body = render_to_string(
        "emails/document_ready.txt",
        {
            "document": document,
            "download_url": settings.SITE_URL + download_path(document),
            "verification_url": verification_url(document),
            "network_name": settings.NETWORK_NAME,
        },
    )
    message = EmailMessage(
        _("Votre document %(number)s est disponible") % {"number": document.number},
        body,
        settings.DEFAULT_FROM_EMAIL,
        [document.recipient_email],
    )
    with document.file.open("rb") as handle:
        message.attach(f"{document.number}.pdf", handle.read(), "application/pdf")
    message.send()


def document_matches(document, uploaded) -> bool:
    """Whether an uploaded file is exactly the issued one (same SHA-256), read in chunks."""
    digest = hashlib.sha256()
    for chunk in uploaded.chunks():
        digest.update(chunk)
    return bool(document.sha256) and digest.hexdigest() == document.sha256
