from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Count
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import documents, permissions
from .enums import DeviceState, DocumentStatus
from .forms import DeviceFilterForm, DocumentCheckForm, TransitionForm
from .lifecycle import TransitionError, allowed_targets, device_transition
from .models import Device, Document, Organisation
from .selectors import device_search


def home(request):
    user = request.user
    counts = {}
    if permissions.can_see_personal_data(request.user) or permissions.is_coordinator(user):
        rows = Device.objects.visible_to(user).values("state").annotate(n=Count("id"))
        counts = {row["state"]: row["n"] for row in rows}
    by_state = [(state, label, counts.get(state, 0)) for state, label in DeviceState.choices]
    return render(
        request,
        "reemploi/home.html",
        {
            "memberships": permissions.memberships(user),
            "by_state": by_state,
            "is_coordinator": permissions.is_coordinator(user),
            "is_departement": permissions.is_departement_staff(user),
            "home_panels": [panel for provider in HOME_PANELS if (panel := provider(request))],
        },
    )


# Panels other apps add to the home page: functions `(request) -> {"template": ..., ...} | None`.
HOME_PANELS: list = []


def device_list(request):
    user = request.user
    holders = Organisation.objects.filter(
        pk__in=Device.objects.visible_to(user).values("holder_id").distinct()
    )
    form = DeviceFilterForm(request.GET or None, holders=holders)
    devices = Device.objects.visible_to(user).with_related()
    if form.is_valid():
        devices = device_search(devices, **form.cleaned_data)
    page = Paginator(devices, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "reemploi/device_list.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
        },
    )


def device_detail(request, uuid):
    device = get_object_or_404(Device.objects.visible_to(request.user).with_related(), uuid=uuid)
    events = device.events.select_related("actor", "organisation", "holder")
    targets = [
        t
        for t in sorted(allowed_targets(device.state))
        if permissions.can_transition(request.user, device, t)
    ]
    return render(
        request,
        "reemploi/device_detail.html",
        {
            "device": device,
            "events": events,
            "transition_form": TransitionForm(targets=targets) if targets else None,
            "sections": device_sections(request, device),
        },
    )


def device_sections(request, device):
    """Panels other apps add to the device page (audit, sanitisation, sale...): a list of
    (template name, context) from functions registered in DEVICE_SECTIONS."""
    sections = []
    for provider in DEVICE_SECTIONS:
        section = provider(request, device)
        if section:
            sections.append(section)
    return sections


DEVICE_SECTIONS: list = []


def device_by_public_id(request, public_id):
    """Where a label's QR code points: the device page, for those who may see it."""
    device = get_object_or_404(Device.objects.visible_to(request.user), public_id=public_id.upper())
    return redirect("device_detail", uuid=device.uuid)


@require_POST
def device_transition_view(request, uuid):
    device = get_object_or_404(Device.objects.visible_to(request.user).with_related(), uuid=uuid)
    targets = [
        t for t in allowed_targets(device.state) if permissions.can_transition(request.user, device, t)
    ]
    form = TransitionForm(request.POST, targets=targets)
    if not targets:
        messages.error(request, _("Vous ne pouvez pas modifier l'état de cet appareil."))
        return redirect("device_detail", uuid=uuid)
    if form.is_valid():
        try:
            device_transition(
                device=device,
                to_state=form.cleaned_data["to_state"],
                actor=request.user,
                note=form.cleaned_data["note"],
            )
        except TransitionError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request, _("État mis à jour : %(state)s.") % {"state": device.get_state_display()}
            )
    else:
        messages.error(request, _("Choisissez un état proposé dans la liste."))
    return redirect("device_detail", uuid=uuid)


def document_download(request, uuid):
    document = get_object_or_404(Document.objects.issued(), uuid=uuid)
    if not (
        permissions.is_coordinator(request.user)
        or document.owner_id in permissions.organisation_ids(request.user)
        or document.requested_by_id == request.user.pk
    ):
        raise Http404
    return FileResponse(
        document.file.open("rb"),
        as_attachment=True,
        filename=f"{document.number}.pdf",
        content_type="application/pdf",
    )


@login_not_required
@require_http_methods(["GET", "POST"])
def document_verify(request, code):
    """Public: the document's key facts (never personal data), and whether a file is the issued one."""
    document = get_object_or_404(
        Document.objects.exclude(status=DocumentStatus.FAILED), verification_code=code
    )
    result = None
    form = DocumentCheckForm()
    if request.method == "POST":
        form = DocumentCheckForm(request.POST, request.FILES)
        if form.is_valid():
            result = documents.document_matches(document, form.cleaned_data["file"])
    return render(
        request,
        "reemploi/document_verify.html",
        {
            "document": document,
            "kind_label": documents.kind_label(document.kind),
            "superseded_by": document._superseded_by_or_none(),
            "form": form,
            "result": result,
        },
    )


@login_not_required
@require_GET
def privacy(request):
    months = settings.BENEFICIARY_RETENTION_MONTHS
    return render(request, "reemploi/privacy.html", {"beneficiary_retention": duration_text(months)})


def duration_text(months):
    """« 2 ans », « 1 an », « 18 mois »: a retention period as the privacy notices say it."""
    if months % 12:
        return ngettext("%(n)s mois", "%(n)s mois", months) % {"n": months}
    years = months // 12
    return ngettext("%(n)s an", "%(n)s ans", years) % {"n": years}


@login_not_required
@require_GET
def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def server_error(request):
    """handler500: a French page that queries nothing. While the database is unreachable (a restart,
    a failover) the answer is a 503 with Retry-After: the request can be sent again in a moment."""
    import sys

    from django.db import InterfaceError, OperationalError
    from django.http import HttpResponse
    from django.template import loader

    error = sys.exc_info()[1]
    if isinstance(error, OperationalError | InterfaceError):
        status, title, message = (
            503,
            "Service momentanément indisponible",
            "La base de données ne répond pas pour l'instant. Rien de ce que vous avez déjà enregistré "
            "n'est perdu : réessayez dans quelques secondes.",
        )
    else:
        status, title, message = (
            500,
            "Erreur du serveur",
            "Une erreur inattendue s'est produite ; l'équipe technique est prévenue. Réessayez plus "
            "tard ou revenez à l'accueil.",
        )
    if request.path.startswith("/api/"):
        from django.http import JsonResponse

        response = JsonResponse({"detail": f"{title}. {message}"}, status=status)
    else:
        html = loader.get_template("500.html").render({"title": title, "message": message})
        response = HttpResponse(html, status=status)
    if status == 503:
        response["Retry-After"] = "5"
    return response
