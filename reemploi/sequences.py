"""Gapless yearly numbering (documents, shipments, DEEE lots, donations…): one counter row per kind
and year, locked until the calling transaction ends, so that two concurrent requests never get the
same number and a rolled-back one leaves no gap."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import DocumentCounter


def sequence_next(kind, year=None):
    """The next number of `kind` in `year` (this year by default), from 1."""
    year = year or timezone.localdate().year
    with transaction.atomic():
        if not DocumentCounter.objects.filter(kind=kind, year=year).exists():
            try:
                with transaction.atomic():
                    DocumentCounter.objects.create(kind=kind, year=year)
            except IntegrityError:
                pass  # created meanwhile by a concurrent request
        counter = DocumentCounter.objects.select_for_update().get(kind=kind, year=year)
        counter.last += 1
        counter.save(update_fields=["last"])
        return year, counter.last


def reference_next(kind, prefix, *, digits=5, year=None):
    """A reference such as EXP-2026-00012."""
    year, number = sequence_next(kind, year)
    return f"{prefix}-{year}-{number:0{digits}d}"
