from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from donors.enums import DonorKind, TaxReceiptStatus
from donors.models import Donation, TaxReceiptRequest
from donors.permissions import donor_organisation_ids
from donors.tokens import donation_for_token
from reemploi.enums import DocumentStatus
from reemploi.models import Document, Organisation
from reemploi.permissions import is_coordinator

from . import catalogue, exports, reports, services
from .forms import DonorDocumentForm, year_choices
from .permissions import (
    can_request_computation,
    can_view_indicators,
    departements_visible_to,
    donor_document_organisation,
)


def _check_access(request):
    if not can_view_indicators(request.user):
        raise PermissionDenied


def _sections(figures):
    sections = []
    for code, title in catalogue.SECTIONS.items():
        of_section = [f for f in figures if f.indicator.section == code]
        if of_section:
            sections.append({"code": code, "title": title, "figures": of_section})
    return sections


@require_GET
def dashboard(request):
    _check_access(request)
    selection = reports.selection_resolve(request.user, request.GET)
    data = reports.dashboard(selection, request.user)
    return render(
        request,
        "indicators/dashboard.html",
        {
            "selection": selection,
            "sections": _sections(data["figures"]),
            "tables": data["page_tables"],
            "status": data["status"],
            "charts": {"series": data["series"], "states": data["state_series"]},
            "map": reports.map_layers(selection) if not selection.is_relais else None,
            "query": urlencode(selection.query()),
            "catalogue": [i for i in catalogue.INDICATORS if selection.territory_type in i.territories],
            "export_formats": ("csv", "xlsx"),
        },
    )


@require_GET
def export(request, table, fmt):
    _check_access(request)
    selection = reports.selection_resolve(request.user, request.GET)
    name = slugify(f"indicateurs-{selection.code}-{selection.territory_label}-{selection.label}")
    if table == "tout" and fmt == "xlsx":
        context = {}
        tables = [reports.build_table(code, selection, context) for code in reports.tables_for(selection)]
        return _download(exports.tables_xlsx(tables, selection), f"{name}.xlsx", fmt)
    if table not in reports.tables_for(selection) or fmt not in ("csv", "xlsx"):
        raise Http404
    built = reports.build_table(table, selection)
    content = exports.table_csv(built, selection) if fmt == "csv" else exports.tables_xlsx([built], selection)
    return _download(content, f"{name}-{slugify(str(reports.TABLES[table]))}.{fmt}", fmt)


def _download(content, filename, fmt):
    content_type = {
        "csv": "text/csv; charset=utf-8",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }[fmt]
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_POST
def recompute(request):
    _check_access(request)
    code = request.POST.get("departement", "")
    departement = departements_visible_to(request.user).filter(code=code).first()
    if departement is None:
        raise Http404
    if not can_request_computation(request.user, departement):
        raise PermissionDenied
    run, created = services.snapshot_run_request(departement=departement, requested_by=request.user)
    run.refresh_from_db()
    if run.status == "done":
        messages.success(request, _("Les indicateurs ont été recalculés."))
    elif run.status == "failed":
        messages.error(
            request, _("Le calcul a échoué. Réessayez plus tard ou prévenez la coordination du réseau.")
        )
    elif created:
        messages.success(
            request, _("Le calcul est demandé : les chiffres seront à jour dans quelques minutes.")
        )
    else:
        messages.info(request, _("Un calcul est déjà en cours ; il n'a pas été demandé une seconde fois."))
    query = {
        k: v
        for k, v in request.POST.items()
        if k in ("departement", "territory", "period_type", "period") and v
    }
    return redirect(f"{reverse('indicators:dashboard')}?{urlencode(query)}")


@require_GET
def status(request):
    """For the page to know when a requested computation is over."""
    _check_access(request)
    selection = reports.selection_resolve(request.user, request.GET)
    state = reports.run_status(request.user, selection.departement)
    done = state["last_done"]
    return JsonResponse(
        {
            "pending": state["pending"] is not None,
            "last_done": done.finished_at.isoformat() if done else None,
            "last_done_label": date_format(done.finished_at, "SHORT_DATETIME_FORMAT") if done else None,
        }
    )


# --- Documents for donors (reuse attestation, impact report) ---------------------------------------


def _next_url(request, default):
    """The page the form came from (`next`, on this site only), else the `default` URL name."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return reverse(default)


def _back(request, default):
    return redirect(_next_url(request, default))


def _document_requested(request, document):
    if document.status == DocumentStatus.ISSUED:
        messages.info(
            request,
            _("« %(title)s » a déjà été émis aujourd'hui (%(number)s) : il est dans la liste des documents.")
            % {"title": document.title, "number": document.number},
        )
        return
    messages.success(
        request,
        _(
            "Votre document « %(title)s » est en cours de génération : il apparaîtra dans la liste des "
            "documents et vous sera envoyé par e-mail."
        )
        % {"title": document.title},
    )


def _refused(request, message):
    """A donor document that cannot be issued: the reason, in a page, with a 400."""
    back = _next_url(request, "donors:space")
    return render(request, "400.html", {"message": message, "back": back}, status=400)


def _yearly_document(request, service):
    """An organisation's yearly document (reuse attestation, impact report), asked for by its members
    or the coordinator: rights first, then the form, then the service's own rules."""
    if not (is_coordinator(request.user, write=True) or donor_organisation_ids(request.user)):
        raise PermissionDenied
    form = DonorDocumentForm(request.POST)
    if not form.is_valid():
        message = " ".join(" ".join(errors) for errors in form.errors.values())
        return _refused(request, _("Demande incomplète : %(errors)s") % {"errors": message})
    organisation = donor_document_organisation(request.user, form.cleaned_data["organisation"])
    if organisation is None:
        raise Http404
    try:
        document = service(
            organisation=organisation, year=form.cleaned_data["year"], requested_by=request.user
        )
    except services.DocumentRefused as refused:
        return _refused(request, refused.message)
    _document_requested(request, document)
    return _back(request, "donors:space")


@require_POST
def reuse_attestation_request(request):
    """A public donor's members, or the coordinator, ask for the year's reuse attestation."""
    return _yearly_document(request, services.reuse_attestation_request)


@require_POST
def impact_report_request(request):
    """A donor organisation's yearly impact report, asked for by its members or the coordinator."""
    return _yearly_document(request, services.impact_report_request)


@require_POST
def donation_impact_report(request, uuid):
    """A donation's impact report, asked for from its page by the donor's members or the coordinator."""
    donation = get_object_or_404(Donation.objects.visible_to(request.user), uuid=uuid)
    if not (
        is_coordinator(request.user, write=True)
        or donation.donor_organisation_id in donor_organisation_ids(request.user)
    ):
        raise PermissionDenied
    document = services.impact_report_request(donation=donation, requested_by=request.user)
    _document_requested(request, document)
    return redirect(reverse("donors:detail", args=[uuid]) + "#documents-title")


@login_not_required
@require_POST
def tracked_impact_report(request, token):
    """The same from the donor's private tracking link."""
    donation = donation_for_token(token, Donation.objects.all())
    document = services.impact_report_request(donation=donation)
    _document_requested(request, document)
    return redirect(reverse("donors:track", args=[token]) + "#documents-title")


@require_GET
def donor_documents(request):
    """The coordinator's page: every donor organisation, its documents, and forms to issue them."""
    if not is_coordinator(request.user):
        raise PermissionDenied
    organisations = Organisation.objects.filter(kind__in=DonorKind.organisation_kinds(), is_active=True)
    documents = (
        Document.objects.filter(kind__in=[services.REUSE_ATTESTATION, services.IMPACT_REPORT])
        .select_related("owner")
        .order_by("-requested_at")[:50]
    )
    return render(
        request,
        "indicators/donor_documents.html",
        {
            "organisations": organisations,
            "documents": documents,
            "years": year_choices(),
            "can_issue": is_coordinator(request.user, write=True),
            "tax_receipts": TaxReceiptRequest.objects.filter(status=TaxReceiptStatus.REQUESTED)
            .select_related("donation__donor_organisation")
            .order_by("requested_at"),
        },
    )
