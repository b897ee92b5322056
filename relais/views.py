import uuid as uuid_lib
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from beneficiaries.models import Beneficiary
from beneficiaries.permissions import relais_of
from beneficiaries.views import form_errors
from reemploi.enums import DeviceState, DocumentStatus, OrganisationKind
from reemploi.lifecycle import blocked_by_custody
from reemploi.models import Device, Site
from reemploi.permissions import can_write_for, is_coordinator, organisation_ids
from refurbishers import resets

from . import mednum, rules, services
from .enums import AfterReturn, SaleKind
from .forms import (
    AfterReturnForm,
    LoanForm,
    LoanReturnForm,
    MednumImportForm,
    RelaisProfileForm,
    ReturnForm,
    ReturnSendForm,
    SaleForm,
    StockPriceForm,
)
from .models import GuaranteeReturn, Loan, RelaisProfile, Sale
from .opening_hours import humanise


def _uuid_or_none(value):
    try:
        return uuid_lib.UUID(str(value))
    except ValueError:
        return None


def _relais_ids(user):
    return organisation_ids(user, kinds=[OrganisationKind.RELAIS])


def _require_relais_member(request):
    if not (_relais_ids(request.user) or is_coordinator(request.user)):
        raise PermissionDenied


def _visible_sites(user):
    sites = Site.objects.filter(organisation__kind=OrganisationKind.RELAIS).select_related(
        "organisation", "commune", "relais_profile"
    )
    if is_coordinator(user):
        return sites
    return sites.filter(organisation_id__in=_relais_ids(user))


# --- Directory -----------------------------------------------------------------------------------


def directory(request):
    _require_relais_member(request)
    sites = list(_visible_sites(request.user).order_by("commune__name", "name"))
    for site in sites:
        profile = getattr(site, "relais_profile", None)
        site.hours_text = humanise(profile.opening_hours) if profile else ""
        # The national export needs a pivot (SIRET, RNA or RIDET) for every place.
        site.pivot_missing = not (profile and profile.mednum_pivot)
    return render(
        request,
        "relais/directory.html",
        {
            "sites": sites,
            "pivot_missing": sum(site.pivot_missing for site in sites),
            "import_form": MednumImportForm() if is_coordinator(request.user, write=True) else None,
        },
    )


def directory_export(request):
    _require_relais_member(request)
    profiles = (
        RelaisProfile.objects.filter(site__in=_visible_sites(request.user))
        .select_related("site__organisation", "site__commune")
        .prefetch_related("site__commune__postal_codes")
    )
    text, _incomplete = mednum.export_csv(profiles)
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{mednum.export_filename()}"'
    return response


def directory_import(request):
    if not is_coordinator(request.user, write=True):
        raise PermissionDenied
    form = MednumImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        report = mednum.import_csv(form.cleaned_data["file"], actor=request.user)
        if report.created or report.updated:
            messages.success(
                request,
                _("%(c)s lieu(x) créé(s), %(u)s mis à jour.") % {"c": report.created, "u": report.updated},
            )
    return render(request, "relais/directory_import.html", {"form": form, "report": report})


def profile_edit(request, uuid):
    site = get_object_or_404(_visible_sites(request.user), uuid=uuid)
    if not can_write_for(request.user, site.organisation):
        raise PermissionDenied
    profile = getattr(site, "relais_profile", None)
    initial = {
        "public_devices": site.public_devices,
        "sells_equipment": True,
        "programmes": mednum.default_programmes(),
    }
    if profile:
        initial.update({name: getattr(profile, name) for name in RelaisProfile.EDITABLE_FIELDS})
    if not site.coordinates_approximate:
        initial.update({"latitude": site.latitude, "longitude": site.longitude})
    form = RelaisProfileForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            services.relais_profile_save(actor=request.user, site=site, **data)
        except ValidationError as error:
            form_errors(form, error)
        else:
            messages.success(request, _("Profil du relais enregistré."))
            return redirect("relais:directory")
    return render(request, "relais/profile_form.html", {"form": form, "site": site})


# --- Stock ---------------------------------------------------------------------------------------


def _stock(user):
    devices = Device.objects.filter(state__in=[DeviceState.IN_STOCK, DeviceState.LENT]).select_related(
        "category", "holder"
    )
    if is_coordinator(user):
        return devices.filter(holder__kind=OrganisationKind.RELAIS)
    return devices.filter(holder_id__in=_relais_ids(user))


def stock(request):
    _require_relais_member(request)
    devices = _stock(request.user).order_by("category__sort_order", "state", "brand", "model")
    category = request.GET.get("categorie", "")
    if category:
        devices = devices.filter(category__code=category)
    today = timezone.localdate()
    page = Paginator(devices, 50).get_page(request.GET.get("page"))
    waiting = blocked_by_custody(Device.objects.filter(pk__in=[d.pk for d in page.object_list]))
    for device in page.object_list:
        device.cap = rules.cap_for(device, today)
        device.awaits_erasure = device.pk in waiting
    own_sites = Site.objects.filter(organisation_id__in=_relais_ids(request.user)).select_related(
        "relais_profile"
    )
    return render(
        request,
        "relais/stock.html",
        {
            "page": page,
            "category": category,
            "own_sites": own_sites,
            "query": f"categorie={category}" if category else "",
            "show_holder": is_coordinator(request.user) or len(_relais_ids(request.user)) > 1,
        },
    )


@require_POST
def stock_price(request, uuid):
    device = get_object_or_404(_stock(request.user), uuid=uuid)
    form = StockPriceForm(request.POST)
    if form.is_valid():
        try:
            services.stock_set_price(actor=request.user, device=device, price=form.cleaned_data["price"])
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request,
                _("Prix de %(device)s : %(price)s.") % {"device": device, "price": rules.money(device.price)},
            )
    else:
        messages.error(request, _("Prix invalide."))
    return redirect("relais:stock")


# --- Sales ---------------------------------------------------------------------------------------


def sale_list(request):
    _require_relais_member(request)
    sales = (
        Sale.objects.visible_to(request.user)
        .select_related("beneficiary", "relais")
        .prefetch_related("lines__device__category")
    )
    page = Paginator(sales, 50).get_page(request.GET.get("page"))
    return render(request, "relais/sale_list.html", {"page": page, "query": ""})


def _parse_lines(post, devices):
    """Read the chosen devices, prices and set numbers from the sale form; errors in French."""
    lines, errors = [], []
    for device in devices:
        key = str(device.uuid)
        if post.get(f"device-{key}") != "on":
            continue
        raw_price = "".join((post.get(f"price-{key}") or "").replace(",", ".").replace("€", "").split())
        try:
            price = Decimal(raw_price)
        except InvalidOperation:
            price = None
        if price is None or not price.is_finite():
            errors.append(
                _("Prix illisible pour %(device)s : écrivez un montant en euros, par exemple 179,50.")
                % {"device": device}
            )
            continue
        raw_bundle = (post.get(f"bundle-{key}") or "").strip()
        bundle = None
        if raw_bundle:
            if not raw_bundle.isdigit() or int(raw_bundle) < 1:
                errors.append(_("Numéro d'ensemble invalide pour %(device)s.") % {"device": device})
                continue
            bundle = int(raw_bundle)
        lines.append(rules.LineRequest(device, price, bundle))
    return lines, errors


def sale_create(request):
    relais_list = relais_of(request.user, write=True)
    if not relais_list:
        raise PermissionDenied
    relais = relais_list[0]
    beneficiaries = Beneficiary.objects.active().filter(relais=relais).select_related("commune", "household")
    beneficiary = None
    wanted = _uuid_or_none(request.POST.get("beneficiary") or request.GET.get("beneficiaire"))
    if wanted:
        beneficiary = beneficiaries.filter(uuid=wanted).first()
    devices = list(
        _handover_ready(Device.objects.filter(holder=relais, state=DeviceState.IN_STOCK))
        .select_related("category")
        .order_by("category__sort_order", "brand", "model")
    )
    today = timezone.localdate()
    for device in devices:
        device.cap = rules.cap_for(device, today)
        device.suggested = device.price if device.price is not None else device.cap
    form = SaleForm(request.POST or None)
    errors = []
    if request.method == "POST":
        if beneficiary is None:
            errors.append(_("Choisissez le bénéficiaire."))
        lines, line_errors = _parse_lines(request.POST, devices)
        errors += line_errors
        if not lines and not line_errors:
            errors.append(_("Cochez au moins un appareil."))
        if form.is_valid() and not errors:
            try:
                sale = services.sale_create(
                    actor=request.user,
                    relais=relais,
                    beneficiary=beneficiary,
                    lines=lines,
                    payment_method=form.cleaned_data["payment_method"],
                    kind=form.cleaned_data["kind"],
                )
            except ValidationError as error:
                errors += error.messages
            else:
                label = _("Don enregistré") if sale.kind == SaleKind.GIFT else _("Vente enregistrée")
                messages.success(
                    request,
                    _("%(label)s : %(n)s appareil(s), %(total)s. Le reçu est prêt.")
                    % {"label": label, "n": len(lines), "total": rules.money(sale.total)},
                )
                return redirect("relais:sale_detail", uuid=sale.uuid)
        chosen = {str(line.device.uuid): line for line in lines}
        for device in devices:
            line = chosen.get(str(device.uuid))
            device.checked = line is not None
            if line is not None:
                device.suggested, device.bundle = line.price, line.bundle
    eligibility = None
    if beneficiary:
        check, voucher = rules.justification(beneficiary, today)
        eligibility = {"check": check, "voucher": voucher}
    return render(
        request,
        "relais/sale_form.html",
        {
            "form": form,
            "relais": relais,
            "beneficiaries": beneficiaries.order_by("last_name", "first_name", "organisation_name"),
            "beneficiary": beneficiary,
            "eligibility": eligibility,
            "devices": devices,
            "errors": errors,
        },
    )


def sale_detail(request, uuid):
    _require_relais_member(request)
    sale = get_object_or_404(
        Sale.objects.visible_to(request.user).select_related(
            "beneficiary__commune", "relais", "sold_by", "eligibility_check__criterion", "voucher"
        ),
        uuid=uuid,
    )
    lines = list(sale.lines.select_related("device__category", "guarantee_return__refurbisher"))
    can_write = can_write_for(request.user, sale.relais)
    # A device sent back to a workshop under guarantee is no longer the relais' to open: no dead link.
    visible = set(
        Device.objects.visible_to(request.user)
        .filter(pk__in=[line.device_id for line in lines])
        .values_list("pk", flat=True)
    )
    for line in lines:
        line.device_visible = line.device_id in visible
        try:
            line.guarantee = line.guarantee_return
        except GuaranteeReturn.DoesNotExist:
            line.guarantee = None
    return render(
        request,
        "relais/sale_detail.html",
        {
            "sale": sale,
            "lines": lines,
            "receipt": sale.receipt,
            "can_write": can_write,
            "return_form": ReturnForm(),
            "send_form": ReturnSendForm(),
            "exceptions": sale.quota_exceptions.all(),
        },
    )


@require_POST
def receipt_issue(request, uuid):
    """Issue the receipt of a sale that has none, or whose generation failed."""
    sale = get_object_or_404(Sale.objects.visible_to(request.user), uuid=uuid)
    if not can_write_for(request.user, sale.relais):
        raise PermissionDenied
    receipt = sale.receipt
    if receipt is not None and receipt.status != DocumentStatus.FAILED:
        messages.info(request, _("Le reçu de cette vente existe déjà."))
    else:
        services.receipt_request(sale=sale, requested_by=request.user)
        messages.success(request, _("Le reçu est demandé ; il est prêt dans quelques instants."))
    return redirect("relais:sale_detail", uuid=sale.uuid)


@require_POST
def return_create(request, uuid):
    sale = get_object_or_404(Sale.objects.visible_to(request.user), uuid=uuid)
    device_uuid = _uuid_or_none(request.POST.get("device", ""))
    if device_uuid is None:
        raise Http404
    line = get_object_or_404(sale.lines.select_related("sale"), device__uuid=device_uuid, is_active=True)
    form = ReturnForm(request.POST)
    if form.is_valid():
        try:
            services.return_register(actor=request.user, sale_line=line, **form.cleaned_data)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("Retour sous garantie enregistré. Renvoyez l'appareil à un atelier."))
    else:
        messages.error(request, _("Décrivez le défaut et choisissez une solution."))
    return redirect("relais:sale_detail", uuid=line.sale.uuid)


@require_POST
def return_send(request, uuid):
    guarantee_return = get_object_or_404(
        GuaranteeReturn.objects.visible_to(request.user).select_related("sale_line__sale"), uuid=uuid
    )
    form = ReturnSendForm(request.POST)
    if form.is_valid():
        try:
            services.return_send(
                actor=request.user,
                guarantee_return=guarantee_return,
                refurbisher=form.cleaned_data["refurbisher"],
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request, _("Appareil confié à %(w)s.") % {"w": form.cleaned_data["refurbisher"].name}
            )
    else:
        messages.error(request, _("Choisissez un atelier."))
    return redirect("relais:sale_detail", uuid=guarantee_return.sale_line.sale.uuid)


# --- Loans ---------------------------------------------------------------------------------------


def loan_list(request):
    _require_relais_member(request)
    loans = Loan.objects.visible_to(request.user).select_related("device__category", "beneficiary", "relais")
    show = request.GET.get("voir", "en-cours")
    today = timezone.localdate()
    if show == "en-retard":
        loans = loans.overdue(today)
    elif show == "en-cours":
        loans = loans.open()
    else:
        loans = loans.order_by("-lent_on")
    page = Paginator(loans, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "relais/loan_list.html",
        {
            "page": page,
            "show": show,
            "overdue_count": Loan.objects.visible_to(request.user).overdue(today).count(),
            "return_form": LoanReturnForm(),
            "query": f"voir={show}",
            "can_create": bool(relais_of(request.user, write=True)),
        },
    )


def loan_create(request):
    relais_list = relais_of(request.user, write=True)
    if not relais_list:
        raise PermissionDenied
    relais = relais_list[0]
    beneficiaries = Beneficiary.objects.active().filter(relais=relais)
    devices = _handover_ready(
        Device.objects.filter(holder=relais, state=DeviceState.IN_STOCK)
    ).select_related("category")
    initial = {"due_on": timezone.localdate() + timedelta(days=settings.LOAN_DEFAULT_DAYS)}
    wanted = _uuid_or_none(request.GET.get("beneficiaire"))
    if wanted:
        initial["beneficiary"] = beneficiaries.filter(uuid=wanted).first()
    form = LoanForm(request.POST or None, initial=initial, beneficiaries=beneficiaries, devices=devices)
    if request.method == "POST" and form.is_valid():
        try:
            loan = services.loan_create(actor=request.user, relais=relais, **form.cleaned_data)
        except ValidationError as error:
            form_errors(form, error)
        else:
            messages.success(
                request,
                _("Prêt enregistré : %(device)s, à rendre le %(date)s.")
                % {"device": loan.device, "date": loan.due_on.strftime("%d/%m/%Y")},
            )
            return redirect("relais:loan_list")
    return render(request, "relais/loan_form.html", {"form": form})


def loan_return(request, uuid):
    """The borrower brings the device back; the page says it goes to nobody else before an erasure,
    and offers what fits the device: a verified reset here (smartphones, tablets) or a workshop."""
    loan = get_object_or_404(
        Loan.objects.visible_to(request.user).select_related("device__category", "beneficiary", "relais"),
        uuid=uuid,
    )
    if not can_write_for(request.user, loan.relais):
        raise PermissionDenied
    if loan.returned_at is not None:
        messages.info(request, _("Ce prêt est déjà clos."))
        return redirect("relais:loan_list")
    form = LoanReturnForm(request.POST or None, reset_allowed=resets.reset_allowed(loan.device))
    if request.method == "POST" and form.is_valid():
        try:
            services.loan_return(
                actor=request.user, loan=loan, note=form.cleaned_data["note"], **form.service_kwargs()
            )
        except ValidationError as error:
            form_errors(form, error)
        else:
            messages.success(request, _after_return_message(loan.device, form.cleaned_data))
            return redirect("relais:loan_list")
    return render(request, "relais/loan_return.html", {"form": form, "loan": loan, "device": loan.device})


def stock_after_return(request, uuid):
    """A device of the stock waiting for its erasure: reset it here, or send it to a workshop."""
    device = get_object_or_404(_stock(request.user).filter(state=DeviceState.IN_STOCK), uuid=uuid)
    if not can_write_for(request.user, device.holder):
        raise PermissionDenied
    form = AfterReturnForm(
        request.POST or None, reset_allowed=resets.reset_allowed(device), allow_later=False
    )
    if request.method == "POST" and form.is_valid():
        kwargs = form.service_kwargs()
        try:
            if kwargs["after"] == AfterReturn.RESET:
                services.device_reset(actor=request.user, device=device, reset=kwargs["reset"])
            else:
                services.device_send_to_workshop(
                    actor=request.user,
                    device=device,
                    refurbisher=kwargs["refurbisher"],
                    reason=_("Effacement des données d'une personne à qui l'appareil avait été remis"),
                )
        except ValidationError as error:
            form_errors(form, error)
        else:
            messages.success(request, _after_return_message(device, form.cleaned_data))
            return redirect("relais:stock")
    return render(
        request,
        "relais/loan_return.html",
        {"form": form, "device": device, "waiting": blocked_by_custody(Device.objects.filter(pk=device.pk))},
    )


def _after_return_message(device, data):
    if data["after"] == AfterReturn.RESET:
        return _("%(device)s est réinitialisé : il peut être remis à une autre personne.") % {
            "device": device
        }
    if data["after"] == AfterReturn.WORKSHOP:
        return _("%(device)s part à %(workshop)s, qui effacera ses données.") % {
            "device": device,
            "workshop": data["refurbisher"].name,
        }
    return _(
        "Retour enregistré : %(device)s est en stock, bloqué jusqu'à l'effacement de ses données "
        "(réinitialisation vérifiée ou renvoi à un atelier)."
    ) % {"device": device}


def _handover_ready(devices):
    """Devices that may go to a person now: not those back from someone and not erased since."""
    return devices.exclude(pk__in=blocked_by_custody(devices))
