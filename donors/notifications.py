"""French emails at every step. Each template's first line is the subject; mails leave only once the
transaction commits, one per recipient (donors never see each other's address)."""

from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string

from reemploi.enums import OrganisationKind, Role
from reemploi.models import Membership, Organisation

_muted = ContextVar("donors_notifications_muted", default=False)


@contextmanager
def muted():
    """Build records without mailing anyone (the demo)."""
    token = _muted.set(True)
    try:
        yield
    finally:
        _muted.reset(token)


def is_muted():
    return _muted.get()


def send(template, recipients, context):
    recipients = sorted({address for address in recipients if address})
    if _muted.get() or not recipients:
        return
    text = render_to_string(
        f"donors/emails/{template}.txt",
        {"network_name": settings.NETWORK_NAME, "site_url": settings.SITE_URL, **context},
    )
    subject, _blank, body = text.lstrip().partition("\n")
    subject = " ".join(subject.split())

    def deliver():
        for address in recipients:
            send_mail(subject, body.lstrip("\n"), settings.DEFAULT_FROM_EMAIL, [address])

    transaction.on_commit(deliver)


def organisation_emails(organisation):
    """Where to write to an organisation: its address, else its members who may act."""
    if organisation is None:
        return []
    if organisation.email:
        return [organisation.email]
    return list(
        Membership.objects.filter(organisation=organisation, role__in=[Role.ADMIN, Role.STAFF])
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )


def coordination_emails():
    if settings.DONORS_COORDINATION_EMAIL:
        return [settings.DONORS_COORDINATION_EMAIL]
    addresses = []
    for organisation in Organisation.objects.filter(kind=OrganisationKind.COORDINATOR, is_active=True):
        addresses += organisation_emails(organisation)
    return addresses
