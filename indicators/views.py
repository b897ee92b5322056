from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.http import urlencode
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from . import catalogue, exports, reports, services
from .permissions import can_request_computation, can_view_indicators, departements_visible_to


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
