"""The reception sheet ("fiche de réception"): what was announced and what arrived, with the
serial numbers, asset tags, weights and differences. Issued through the kernel's register."""

from django.utils import timezone
from django.utils.translation import gettext as _

from reemploi.documents import Rendered
from reemploi.models import Device


def build_reception_sheet(document):
    reception = document.subject
    donation = reception.donation
    lines = list(reception.lines.select_related("line__category"))
    devices = list(
        Device.objects.filter(donation_line__donation=donation)
        .exclude(state__in=["expected", "collected"])
        .select_related("category", "donation_line")
        .order_by("donation_line__position", "id")
    )
    announced = set()
    for line in donation.lines.all():
        for item in line.announced_items:
            announced |= {_key(item.get("serial_number")), _key(item.get("asset_tag"))} - {""}
    for device in devices:
        device.was_announced = bool({_key(device.serial_number), _key(device.asset_tag)} & announced)
    collection = getattr(donation, "collection", None)
    received = sum(line.received_quantity for line in lines)
    expected = sum(line.announced_quantity for line in lines)
    differences = [line for line in lines if line.has_difference]
    facts = {
        _("Don"): donation.reference,
        _("Donateur"): donation.donor_organisation.name
        if donation.donor_organisation_id
        else _("Particulier"),
        _("Atelier"): reception.refurbisher.name,
        _("Site"): f"{reception.site.name} ({reception.site.commune.name})",
        _("Réceptionné le"): timezone.localtime(reception.received_at).strftime("%d/%m/%Y"),
        _("Équipements attendus"): str(expected),
        _("Équipements reçus"): str(received),
        _("Écarts"): _("oui") if differences else _("aucun"),
    }
    return Rendered(
        template="donors/pdf/reception_sheet.html",
        context={
            "reception": reception,
            "donation": donation,
            "lines": lines,
            "devices": devices,
            "any_announced": bool(announced),
            "collection": collection,
            "received_total": received,
            "expected_total": expected,
            "differences": differences,
        },
        public_facts=facts,
    )


def _key(value):
    return "".join((value or "").split()).upper()


def build_tax_receipt(document):
    """The receipt for a company's gift in kind, with the fields of form 2041-MEC-SD (Cerfa 16216):
    its number is the document's sequential number."""
    from django.conf import settings

    from .models import TaxReceiptRequest

    receipt = TaxReceiptRequest.objects.select_related(
        "donation__donor_organisation", "donation__commune", "donation__reception"
    ).get(pk=document.subject_id)
    donation = receipt.donation
    company = donation.donor_organisation
    reception = donation.reception
    collection = getattr(donation, "collection", None)
    handed_over = (collection.collected_at if collection and collection.collected_at else None) or (
        reception.received_at
    )
    lines = [
        line
        for line in reception.lines.select_related("line__category").order_by("line__position")
        if line.received_quantity
    ]
    devices = list(
        Device.objects.filter(donation_line__donation=donation)
        .exclude(state__in=["expected", "collected", "lost"])
        .select_related("category")
        .order_by("donation_line__position", "serial_number", "id")
    )
    address = company.address or f"{donation.address}, {donation.postal_code} {donation.commune.name}"
    value = f"{receipt.declared_value:,.2f}".replace(",", " ").replace(".", ",") + " €"
    facts = {
        _("Reçu n°"): document.number,
        _("Entreprise donatrice"): company.name,
        _("SIREN"): company.siren or "—",
        _("Date du don"): timezone.localtime(handed_over).strftime("%d/%m/%Y"),
        _("Nature du don"): _("Don en nature"),
        _("Valeur déclarée par l'entreprise"): value,
    }
    return Rendered(
        template="donors/pdf/tax_receipt.html",
        context={
            "receipt": receipt,
            "donation": donation,
            "company": company,
            "company_address": address,
            "handed_over": handed_over,
            "lines": lines,
            "devices": devices,
            "quantity": sum(line.received_quantity for line in lines),
            "value": value,
            "network_object": settings.NETWORK_OBJECT,
        },
        public_facts=facts,
    )
