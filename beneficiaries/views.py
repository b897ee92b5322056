from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from reemploi.permissions import can_write_for, is_coordinator, organisation_ids
from reemploi.views import duration_text

from . import services
from .exports import personal_data
from .forms import (
    BeneficiaryForm,
    CriterionEndForm,
    CriterionForm,
    EligibilityCheckForm,
    QuotaExceptionForm,
    VoucherForm,
    VoucherRedeemForm,
)
from .models import Beneficiary, EligibilityCriterion, Household, QuotaException, QuotaPolicy, Voucher
from .permissions import can_manage_rules, can_see_beneficiaries, prescribers_of, relais_of
from .selectors import beneficiary_search

# Panels other apps add to the beneficiary page: functions `(request, beneficiary) -> {"template": ...}`.
BENEFICIARY_SECTIONS: list = []


def form_errors(form, error):
    """Put a service's ValidationError on the form: on its field when there is one, else on top."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            for item in errors:
                form.add_error(field if field in form.fields else None, item.messages)
    else:
        form.add_error(None, error.messages)


def _require_beneficiary_access(request):
    if not can_see_beneficiaries(request.user):
        raise PermissionDenied


def beneficiary_list(request):
    _require_beneficiary_access(request)
    beneficiaries = Beneficiary.objects.visible_to(request.user).select_related(
        "commune", "household", "relais"
    )
    query = request.GET.get("q", "")
    beneficiaries = beneficiary_search(beneficiaries, query).order_by(
        "anonymised_at", "last_name", "first_name", "id"
    )
    page = Paginator(beneficiaries, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "beneficiaries/beneficiary_list.html",
        {
            "page": page,
            "q": query,
            "query": f"q={query}" if query else "",
            "can_create": bool(relais_of(request.user, write=True)),
            "redeem_form": VoucherRedeemForm(),
        },
    )


def beneficiary_create(request):
    relais_list = relais_of(request.user, write=True)
    if not relais_list:
        raise PermissionDenied
    form = BeneficiaryForm(request.POST or None, relais_list=relais_list)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        relais = form.chosen_relais()
        same = data.get("same_household_as")
        try:
            beneficiary = services.beneficiary_create(
                actor=request.user,
                relais=relais,
                kind=data["kind"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                organisation_name=data["organisation_name"],
                commune=data["commune"],
                household_size=data.get("household_size") or 1,
                household=same.household if same else None,
            )
        except ValidationError as error:
            form_errors(form, error)
        else:
            messages.success(
                request,
                _("%(name)s est enregistré(e). Vérifiez maintenant son éligibilité.")
                % {"name": beneficiary.display_name},
            )
            return redirect("beneficiaries:detail", uuid=beneficiary.uuid)
    return render(
        request,
        "beneficiaries/beneficiary_form.html",
        {"form": form, "retention": duration_text(settings.BENEFICIARY_RETENTION_MONTHS)},
    )


def _get_beneficiary(request, uuid):
    _require_beneficiary_access(request)
    return get_object_or_404(
        Beneficiary.objects.visible_to(request.user).select_related("commune", "household", "relais"),
        uuid=uuid,
    )


def beneficiary_detail(request, uuid, check_form=None):
    beneficiary = _get_beneficiary(request, uuid)
    today = timezone.localdate()
    checks = list(beneficiary.checks.select_related("criterion", "checked_by"))
    can_write = can_write_for(request.user, beneficiary.relais) and not beneficiary.is_anonymised
    return render(
        request,
        "beneficiaries/beneficiary_detail.html",
        {
            "beneficiary": beneficiary,
            "checks": checks,
            "valid_check": next((c for c in checks if c.is_valid_on(today)), None),
            "vouchers": beneficiary.vouchers.select_related("prescriber", "sale"),
            # A voucher stands in for a check until it expires or a sale uses it.
            "open_voucher": beneficiary.vouchers.filter(expires_on__gte=today, sale__isnull=True)
            .order_by("expires_on")
            .first(),
            "household_members": beneficiary.household.members.exclude(pk=beneficiary.pk)
            if beneficiary.household
            else [],
            "check_form": check_form
            or (EligibilityCheckForm(beneficiary=beneficiary) if can_write else None),
            "can_write": can_write,
            "sections": [
                section for provider in BENEFICIARY_SECTIONS if (section := provider(request, beneficiary))
            ],
            "today": today,
        },
    )


@require_POST
def check_create(request, uuid):
    beneficiary = _get_beneficiary(request, uuid)
    if not can_write_for(request.user, beneficiary.relais):
        raise PermissionDenied
    form = EligibilityCheckForm(request.POST, beneficiary=beneficiary)
    if form.is_valid():
        try:
            check = services.eligibility_check_record(
                actor=request.user, beneficiary=beneficiary, **form.cleaned_data
            )
        except ValidationError as error:
            form_errors(form, error)
        else:
            messages.success(
                request,
                _(
                    "Éligibilité enregistrée : %(criterion)s, valable jusqu'au %(date)s. Le justificatif n'est pas conservé."
                )
                % {"criterion": check.criterion, "date": check.valid_until.strftime("%d/%m/%Y")},
            )
            return redirect("beneficiaries:detail", uuid=uuid)
    return beneficiary_detail(request, uuid, check_form=form)


def beneficiary_export(request, uuid):
    """The person's data, as JSON, on request (RGPD art. 15 and 20)."""
    beneficiary = _get_beneficiary(request, uuid)
    if not can_write_for(request.user, beneficiary.relais):
        raise PermissionDenied
    response = JsonResponse(
        personal_data(beneficiary), json_dumps_params={"ensure_ascii": False, "indent": 2}
    )
    response["Content-Disposition"] = f'attachment; filename="donnees-{beneficiary.uuid}.json"'
    return response


@require_POST
def voucher_redeem(request):
    relais_list = relais_of(request.user, write=True)
    if not relais_list:
        raise PermissionDenied
    form = VoucherRedeemForm(request.POST)
    if form.is_valid():
        try:
            voucher = services.voucher_redeem(
                actor=request.user, relais=relais_list[0], code=form.cleaned_data["code"]
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request,
                _("Bon %(code)s accepté : %(name)s est éligible jusqu'au %(date)s pour un achat.")
                % {
                    "code": voucher.display_code,
                    "name": voucher.beneficiary.display_name,
                    "date": voucher.expires_on.strftime("%d/%m/%Y"),
                },
            )
            return redirect("beneficiaries:detail", uuid=voucher.beneficiary.uuid)
    else:
        messages.error(request, _("Saisissez le code du bon."))
    return redirect("beneficiaries:list")


# --- Coordinator: rules --------------------------------------------------------------------------


def criteria(request):
    if not (is_coordinator(request.user)):
        raise PermissionDenied
    form = CriterionForm(request.POST or None)
    if request.method == "POST":
        if not can_manage_rules(request.user):
            raise PermissionDenied
        if form.is_valid():
            try:
                services.criterion_create(actor=request.user, **form.cleaned_data)
            except ValidationError as error:
                form_errors(form, error)
            else:
                messages.success(request, _("Critère enregistré."))
                return redirect("beneficiaries:criteria")
    today = timezone.localdate()
    rows = EligibilityCriterion.objects.select_related("departement").order_by(
        "departement__code", "kind", "-effective_from"
    )
    return render(
        request,
        "beneficiaries/criteria.html",
        {
            "form": form,
            "criteria": rows,
            "today": today,
            "end_form": CriterionEndForm(initial={"effective_until": today}),
            "policies": QuotaPolicy.objects.select_related("category"),
        },
    )


@require_POST
def criterion_end(request, uuid):
    if not can_manage_rules(request.user):
        raise PermissionDenied
    criterion = get_object_or_404(EligibilityCriterion, uuid=uuid)
    form = CriterionEndForm(request.POST)
    if form.is_valid():
        try:
            services.criterion_end(actor=request.user, criterion=criterion, **form.cleaned_data)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request,
                _("Le critère prend fin le %(date)s.")
                % {"date": form.cleaned_data["effective_until"].strftime("%d/%m/%Y")},
            )
    return redirect("beneficiaries:criteria")


def quota_exceptions(request):
    if not is_coordinator(request.user):
        raise PermissionDenied
    form = QuotaExceptionForm(request.POST or None, initial={"household": request.GET.get("foyer", "")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        household = Household.objects.filter(reference__iexact=data.pop("household").strip()).first()
        if household is None:
            form.add_error("household", _("Aucun foyer ne porte cette référence."))
        else:
            try:
                services.quota_exception_grant(actor=request.user, household=household, **data)
            except ValidationError as error:
                form_errors(form, error)
            else:
                messages.success(
                    request, _("Exception accordée au foyer %(ref)s.") % {"ref": household.reference}
                )
                return redirect("beneficiaries:quota_exceptions")
    rows = QuotaException.objects.select_related("household__relais", "category", "granted_by")
    return render(
        request,
        "beneficiaries/quota_exceptions.html",
        {"form": form, "exceptions": rows, "today": timezone.localdate()},
    )


# --- Prescribers ---------------------------------------------------------------------------------


def vouchers(request):
    prescribers = prescribers_of(request.user)
    if not prescribers and not is_coordinator(request.user):
        raise PermissionDenied
    writable = prescribers_of(request.user, write=True)
    form = VoucherForm(request.POST or None, prescriber=writable[0]) if writable else None
    if request.method == "POST":
        if form is None:
            raise PermissionDenied
        if form.is_valid():
            try:
                voucher = services.voucher_issue(
                    actor=request.user, prescriber=writable[0], **form.cleaned_data
                )
            except ValidationError as error:
                form_errors(form, error)
            else:
                messages.success(
                    request,
                    _(
                        "Bon %(code)s émis pour %(name)s, valable jusqu'au %(date)s. Communiquez ce code à la personne."
                    )
                    % {
                        "code": voucher.display_code,
                        "name": voucher.person_name,
                        "date": voucher.expires_on.strftime("%d/%m/%Y"),
                    },
                )
                return redirect("beneficiaries:vouchers")
    rows = Voucher.objects.visible_to(request.user).select_related(
        "prescriber", "redeemed_by", "commune", "category"
    )
    if not is_coordinator(request.user):
        rows = rows.filter(prescriber_id__in=organisation_ids(request.user))
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(
        request, "beneficiaries/vouchers.html", {"form": form, "page": page, "today": timezone.localdate()}
    )
