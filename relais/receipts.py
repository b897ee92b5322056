"""The sale receipt (or gift attestation), a registered document: number VTE-YYYY-NNNNNN, SHA-256,
QR code to its verification page. The verification page shows no personal data."""

from django.utils import timezone
from django.utils.translation import gettext as _

from reemploi.documents import Rendered

from . import rules
from .enums import SaleKind
from .models import Sale


def build(document):
    sale = Sale.objects.select_related(
        "relais", "beneficiary__commune", "sold_by", "voucher", "eligibility_check__criterion"
    ).get(pk=document.subject_id)
    lines = list(sale.lines.select_related("device__category").order_by("bundle", "id"))
    groups = []
    for line in lines:
        if line.bundle is not None and groups and groups[-1]["bundle"] == line.bundle:
            groups[-1]["lines"].append(line)
        else:
            groups.append({"bundle": line.bundle, "lines": [line]})
    for group in groups:
        group["total"] = sum(line.price for line in group["lines"])
        group["cap"] = group["lines"][0].cap_amount
    site = sale.relais.sites.filter(is_relais_shop=True).select_related("commune").first()
    is_gift = sale.kind == SaleKind.GIFT
    return Rendered(
        template="relais/pdf/sale_receipt.html",
        context={
            "sale": sale,
            "groups": groups,
            "site": site,
            "is_gift": is_gift,
            "total_display": rules.money(sale.total),
            "guarantee_end": _guarantee_end(sale.sold_on, 24),
            "presumption_end": _guarantee_end(sale.sold_on, 12),
            "caps": _caps_on(sale.sold_on),
        },
        public_facts={
            _("Relais"): sale.relais.name,
            _("Date"): sale.sold_on.strftime("%d/%m/%Y"),
            _("Nature"): sale.get_kind_display(),
            _("Appareils"): str(len(lines)),
            _("Total TTC"): rules.money(sale.total),
            _("Généré"): timezone.localtime().strftime("%d/%m/%Y"),
        },
    )


def _guarantee_end(day, months):
    from beneficiaries.dates import add_months

    return add_months(day, months)


def _caps_on(day):
    from reemploi.models import EquipmentCategory

    caps = []
    for category in EquipmentCategory.objects.filter(is_decree_category=True):
        cap = category.cap_on(day)
        if cap:
            caps.append(f"{rules.in_sentence(category.name)} {rules.money(cap.amount)}")
    return ", ".join(caps)
