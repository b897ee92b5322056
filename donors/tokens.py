"""The private tracking link: a signed, timestamped token carrying the donation's public UUID.
No password; a wrong, tampered or expired token is a 404."""

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.http import Http404
from django.urls import reverse

from .models import Donation

SALT = "donors.tracking"


def tracking_token(donation):
    return signing.dumps(str(donation.uuid), salt=SALT)


def donation_for_token(token, queryset=None):
    """The donation a token designates, or Http404 when it is wrong or older than the configured age."""
    try:
        value = signing.loads(token, salt=SALT, max_age=timedelta(days=settings.DONORS_TRACKING_MAX_AGE_DAYS))
    except signing.BadSignature:  # SignatureExpired is a BadSignature too
        raise Http404 from None
    queryset = queryset if queryset is not None else Donation.objects.all()
    try:
        return queryset.get(uuid=value)
    except (Donation.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def tracking_path(donation):
    return reverse("donors:track", args=[tracking_token(donation)])


def tracking_url(donation):
    return settings.SITE_URL + tracking_path(donation)
