"""Lifecycle guards: a device leaves the relais' stock only through the record that justifies it.

- `sold` / `given` need the Sale (eligibility on the sale date, quota, caps re-checked here);
- `lent`, and `lent` → `in_stock`, need the Loan;
- `sold`/`given` → `returned` needs the GuaranteeReturn.
The kernel's generic transition screen and API therefore cannot sell around these rules. Trusted
internal paths (check_permission=False: the demo, data imports) may record states without a record."""

from django.utils import timezone
from django.utils.translation import gettext as _

from reemploi.enums import DeviceState
from reemploi.lifecycle import TransitionError

from . import rules


def sale_guard(device, to_state, *, sale=None, check_permission=True, **context):
    if sale is None:
        if not check_permission:
            return
        raise TransitionError(
            _(
                "Une vente ou un don s'enregistre depuis l'écran « Ventes » du relais, qui vérifie l'éligibilité, le quota et le plafond."
            ),
            code="sale_required",
        )
    lines = list(sale.lines.filter(is_active=True).select_related("device__category"))
    if device.pk not in {line.device_id for line in lines}:
        raise TransitionError(_("Cet appareil ne fait pas partie de cette vente."))
    if sale.relais_id != device.holder_id:
        raise TransitionError(_("Seul le relais qui détient l'appareil peut le vendre."))
    problem = rules.sale_justification_problem(sale)
    if problem:
        raise TransitionError(problem, code="not_eligible")
    requests = [rules.LineRequest(line.device, line.price, line.bundle) for line in lines]
    problems = rules.date_problems(requests, sale.sold_on, timezone.localdate())
    if problems:
        raise TransitionError(problems[0], code="sale_date")
    problems = rules.price_problems(requests, sale.sold_on)
    if problems:
        raise TransitionError(problems[0], code="above_cap")
    if sale.household_id:
        verdicts = rules.quota_verdicts(sale.household, requests, sale.sold_on, exclude_sale=sale)
        problems = rules.quota_problems(verdicts)
        if problems:
            raise TransitionError(problems[0], code="quota")


def loan_guard(device, to_state, *, loan=None, check_permission=True, **context):
    if to_state == DeviceState.IN_STOCK and device.state != DeviceState.LENT:
        return  # arrival from a workshop: the refurbishers' shipment handles it
    if loan is None:
        if not check_permission:
            return
        raise TransitionError(
            _("Un prêt et son retour s'enregistrent depuis l'écran « Prêts » du relais."),
            code="loan_required",
        )
    if loan.device_id != device.pk:
        raise TransitionError(_("Ce prêt concerne un autre appareil."))


def return_guard(
    device, to_state, *, guarantee_return=None, sending_back=False, check_permission=True, **context
):
    if device.state == DeviceState.IN_STOCK:
        if sending_back or not check_permission:
            return
        raise TransitionError(
            _(
                "Un appareil du stock repart à l'atelier depuis le stock du relais (« Renvoyer à l'atelier »)."
            ),
            code="send_back_required",
        )
    if device.state not in (DeviceState.SOLD, DeviceState.GIVEN):
        return
    if guarantee_return is None:
        if not check_permission:
            return
        raise TransitionError(
            _("Un retour sous garantie s'enregistre depuis la fiche de la vente."), code="return_required"
        )
    if guarantee_return.sale_line.device_id != device.pk:
        raise TransitionError(_("Ce retour concerne un autre appareil."))


def register():
    from reemploi.lifecycle import register_guard

    register_guard(DeviceState.SOLD, sale_guard)
    register_guard(DeviceState.GIVEN, sale_guard)
    register_guard(DeviceState.LENT, loan_guard)
    register_guard(DeviceState.IN_STOCK, loan_guard)
    register_guard(DeviceState.RETURNED, return_guard)
