"""Panels this app adds to other apps' pages (device page, beneficiary page) and the sections of a
person's data export, registered from RelaisConfig.ready()."""

from reemploi import permissions
from reemploi.enums import DeviceState
from reemploi.lifecycle import custody_problems

from .models import GuaranteeReturn, Loan, Sale, SaleLine


def device_section(request, device):
    """Sale, loan and guarantee return of a device, for those who may see it (never personal data
    to the workshop or the donor: only the relais and the coordinator see who bought it)."""
    lines = list(
        SaleLine.objects.filter(device=device)
        .select_related("sale__beneficiary", "sale__relais")
        .order_by("-sale__sold_at")
    )
    loans = list(
        Loan.objects.filter(device=device).select_related("beneficiary", "relais").order_by("-lent_on")
    )
    returns = list(GuaranteeReturn.objects.filter(sale_line__device=device).select_related("refurbisher"))
    if not (lines or loans or returns):
        return None
    user = request.user
    relais_ids = permissions.organisation_ids(user)
    coordinator = permissions.is_coordinator(user)
    custody = custody_problems(device) if device.state == DeviceState.IN_STOCK else []
    return {
        "template": "relais/_device_section.html",
        "lines": lines,
        "loans": loans,
        "returns": returns,
        "awaits_erasure": bool(custody),
        "can_clear": bool(custody) and permissions.can_write_for(user, device.holder),
        "show_people": coordinator
        or any(line.sale.relais_id in relais_ids for line in lines)
        or any(loan.relais_id in relais_ids for loan in loans),
    }


def beneficiary_section(request, beneficiary):
    return {
        "template": "relais/_beneficiary_section.html",
        "sales": Sale.objects.filter(beneficiary=beneficiary)
        .prefetch_related("lines__device__category")
        .order_by("-sold_at"),
        "loans": Loan.objects.filter(beneficiary=beneficiary)
        .select_related("device__category")
        .order_by("-lent_on"),
        "can_write": permissions.can_write_for(request.user, beneficiary.relais),
    }


def personal_data_sales(beneficiary):
    rows = []
    for sale in Sale.objects.filter(beneficiary=beneficiary).prefetch_related("lines__device__category"):
        rows.append(
            {
                "nature": sale.get_kind_display(),
                "date": sale.sold_on.isoformat(),
                "relais": sale.relais.name,
                "moyen_de_paiement": sale.get_payment_method_display(),
                "total_ttc": str(sale.total),
                "appareils": [
                    {
                        "catégorie": line.device.category.name,
                        "modèle": f"{line.device.brand} {line.device.model}".strip(),
                        "numéro_de_série": line.device.serial_number,
                        "prix_ttc": str(line.price),
                        "retourné": not line.is_active,
                    }
                    for line in sale.lines.all()
                ],
            }
        )
    return "achats_et_dons", rows


def personal_data_loans(beneficiary):
    return "prêts", [
        {
            "appareil": str(loan.device),
            "prêté_le": loan.lent_on.isoformat(),
            "à_rendre_le": loan.due_on.isoformat(),
            "rendu_le": loan.returned_at.isoformat() if loan.returned_at else None,
        }
        for loan in Loan.objects.filter(beneficiary=beneficiary).select_related("device__category")
    ]
