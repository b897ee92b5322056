import csv
import io
import uuid as uuid_module

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from reemploi.documents import qr_svg_data_uri, render_pdf
from reemploi.enums import DeviceState as S
from reemploi.enums import OrganisationKind
from reemploi.lifecycle import WORKSHOP_STATES, TransitionError
from reemploi.models import Device, Document, Organisation
from reemploi.permissions import is_coordinator, organisation_ids
from reemploi.selectors import device_search

from . import documents, forms, imports, parsers, permissions, selectors, services
from .enums import ImportKind, PartKind, PartStatus, SanitisationOutcome, ShipmentLineStatus, ShipmentStatus
from .guards import storage_problems
from .models import Evidence, ImportJob, Part, Sanitisation, Shipment, ShipmentLine, StorageMedium, WasteLot


def _workshop_only(request):
    if not permissions.is_workshop_member(request.user):
        raise PermissionDenied(_("Cette page est réservée aux ateliers de reconditionnement."))


def _error_messages(error):
    if hasattr(error, "message_dict"):
        return [str(m) for messages_ in error.message_dict.values() for m in messages_]
    return [str(m) for m in getattr(error, "messages", [error])]


def _apply_errors(form, error):
    """Put a service's ValidationError on the form's fields (or on the form)."""
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


def _devices_from_post(request, queryset):
    uuids = request.POST.getlist("devices")
    if not uuids:
        return []
    try:
        return list(queryset.filter(uuid__in=uuids).select_related("category", "holder"))
    except ValidationError:
        return []


# --- Work queue ----------------------------------------------------------------------------------


def work_queue(request):
    _workshop_only(request)
    user = request.user
    workshops = list(permissions.workshops(user))
    data = request.GET.copy() if request.GET else None
    if data is not None:
        data.setdefault("per_page", "50")
    form = forms.WorkQueueFilterForm(data, workshops=workshops)
    base = permissions.workshop_devices(user)
    filters = form.cleaned_data if form.is_valid() else {}
    if filters.get("workshop"):
        base = base.filter(holder=filters["workshop"])
    if filters.get("category"):
        base = base.filter(category=filters["category"])
    query = (filters.get("q") or "").strip()
    if query:
        base = device_search(base, q=query)
        exact = list(
            base.filter(
                Q(serial_number__iexact=query.rstrip("/").rsplit("/", 1)[-1])
                | Q(asset_tag__iexact=query.rstrip("/").rsplit("/", 1)[-1])
                | Q(public_id=query.rstrip("/").rsplit("/", 1)[-1].upper())
            ).values_list("uuid", flat=True)[:2]
        )
        if len(exact) == 1:
            return redirect("device_detail", uuid=exact[0])
    counts = {
        row["state"]: row["n"]
        for row in base.filter(state__in=WORKSHOP_STATES).values("state").annotate(n=Count("id"))
    }
    state = filters.get("state") or ""
    devices = base.filter(state=state) if state else base.filter(state__in=WORKSHOP_STATES)
    # Page through bare ids (cheap to sort), then annotate only the rows shown: a page's query count
    # does not depend on its size, nor its cost on how many devices the workshop holds.
    ordered_ids = devices.order_by("-state_changed_at", "-id").values_list("pk", flat=True)
    paginator = Paginator(ordered_ids, filters.get("per_page") or 50)
    paginator.__dict__["count"] = counts.get(state, 0) if state else sum(counts.values())  # counted above
    page = paginator.get_page(request.GET.get("page"))
    ids = list(page.object_list)
    shown = {device.pk: device for device in selectors.work_queue(Device.objects.filter(pk__in=ids))}
    # Per-row work done once: get_state_display(), {% url %} and |date cost more than the SQL here.
    labels = {value: str(label) for value, label in S.choices}
    url_pattern = reverse("device_detail", args=[uuid_module.UUID(int=0)])
    zero = str(uuid_module.UUID(int=0))
    rows = [
        {
            "device": shown[pk],
            "url": url_pattern.replace(zero, str(shown[pk].uuid)),
            "since": timezone.localtime(shown[pk].state_changed_at).strftime("%d/%m/%Y"),
            "state_label": labels.get(shown[pk].state, shown[pk].state),
            "step": selectors.next_step(shown[pk]),
            "storage": selectors.storage_status(shown[pk]),
        }
        for pk in ids
        if pk in shown
    ]
    params = request.GET.copy()
    params.pop("page", None)
    tab_params = params.copy()
    tab_params.pop("state", None)
    tabs = [
        ("", _("Tous"), sum(counts.values())),
        (S.RECEIVED, _("À diagnostiquer"), counts.get(S.RECEIVED, 0)),
        (S.AUDITED, _("Diagnostiqués"), counts.get(S.AUDITED, 0)),
        (S.SANITISED, _("Données effacées"), counts.get(S.SANITISED, 0)),
        (S.READY, _("Prêts"), counts.get(S.READY, 0)),
    ]
    return render(
        request,
        "refurbishers/work_queue.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "tabs": tabs,
            "state": state,
            "query": params.urlencode(),
            "tab_query": tab_params.urlencode(),
            "can_write": bool(permissions.workshop_ids(user, write=True)) or is_coordinator(user, write=True),
            "show_holder": len(workshops) > 1,
        },
    )


# --- Device records ------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def audit_create(request, uuid):
    device = permissions.get_workshop_device(request.user, uuid)
    latest = device.audits.first()
    initial = {}
    if latest is not None:
        initial = {
            name: getattr(latest, name)
            for name in forms.AuditForm.Meta.fields
            if name not in ("notes", "cosmetic_grade", "functional_grade")
        }
    form = forms.AuditForm(request.POST or None, initial=initial, device=device)
    if request.method == "POST" and form.is_valid():
        medium, no_storage_reason = form.storage()
        fields = {name: form.cleaned_data[name] for name in forms.AuditForm.Meta.fields}
        if latest is not None:
            for name in ("system_vendor", "system_product", "system_serial", "storage_summary"):
                fields.setdefault(name, getattr(latest, name))
        try:
            services.audit_record(
                device=device,
                actor=request.user,
                medium=medium,
                no_storage_reason=no_storage_reason,
                **fields,
            )
        except ValidationError as error:
            _apply_errors(form, error)
        except TransitionError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Diagnostic enregistré."))
            return redirect("device_detail", uuid=device.uuid)
    return render(request, "refurbishers/audit_form.html", {"device": device, "form": form, "latest": latest})


@require_http_methods(["GET", "POST"])
def medium_create(request, uuid):
    device = permissions.get_workshop_device(request.user, uuid)
    form = forms.MediumForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.medium_add(device=device, actor=request.user, **form.medium_fields())
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(
                request, _("Support de stockage enregistré : il reste à l'effacer ou le détruire.")
            )
            return redirect(reverse("device_detail", args=[device.uuid]) + "#supports")
    return render(request, "refurbishers/medium_form.html", {"device": device, "form": form})


def _workshop_medium(request, uuid):
    medium = get_object_or_404(
        StorageMedium.objects.filter(device__in=permissions.workshop_devices(request.user)).select_related(
            "device", "device__holder", "device__category"
        ),
        uuid=uuid,
    )
    permissions.get_workshop_device(request.user, medium.device.uuid)
    return medium


@require_http_methods(["GET", "POST"])
def sanitisation_create(request, uuid):
    medium = _workshop_medium(request, uuid)
    device = medium.device
    now = timezone.localtime().replace(second=0, microsecond=0)
    form = forms.SanitisationForm(
        request.POST or None,
        initial={
            "operator_name": services.actor_name(request.user),
            "started_at": now,
            "ended_at": now,
            "tool": "nwipe",
            "verification_result": "passed",
            "outcome": "erased",
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            sanitisation = services.sanitisation_record(
                medium=medium, actor=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            _apply_errors(form, error)
        except TransitionError as error:
            form.add_error(None, error.message)
        else:
            if sanitisation.succeeded:
                messages.success(request, _("Effacement enregistré pour %(medium)s.") % {"medium": medium})
            else:
                messages.warning(
                    request, _("Échec d'effacement enregistré : recommencez ou détruisez le support.")
                )
            return redirect(reverse("device_detail", args=[device.uuid]) + "#supports")
    return render(
        request, "refurbishers/sanitisation_form.html", {"device": device, "medium": medium, "form": form}
    )


@require_http_methods(["GET", "POST"])
def destruction_create(request, uuid):
    medium = _workshop_medium(request, uuid)
    device = medium.device
    form = forms.DestructionForm(
        request.POST or None,
        initial={
            "operator_name": services.actor_name(request.user),
            "performed_at": timezone.localtime().replace(second=0, microsecond=0),
            "iso_level": "H-5" if medium.kind == "hdd" else "E-4",
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.destruction_record(medium=medium, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            _apply_errors(form, error)
        except TransitionError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Destruction enregistrée pour %(medium)s.") % {"medium": medium})
            return redirect(reverse("device_detail", args=[device.uuid]) + "#supports")
    return render(
        request, "refurbishers/destruction_form.html", {"device": device, "medium": medium, "form": form}
    )


@require_http_methods(["GET", "POST"])
def medium_detach(request, uuid):
    medium = _workshop_medium(request, uuid)
    form = forms.DetachForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.medium_detach(medium=medium, actor=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, _("Support retiré de l'appareil."))
            return redirect(reverse("device_detail", args=[medium.device.uuid]) + "#supports")
    return render(
        request, "refurbishers/detach_form.html", {"device": medium.device, "medium": medium, "form": form}
    )


@require_http_methods(["GET", "POST"])
def no_storage(request, uuid):
    device = permissions.get_workshop_device(request.user, uuid)
    form = forms.NoStorageForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.no_storage_declare(device=device, actor=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as error:
            _apply_errors(form, error)
        except TransitionError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Déclaration enregistrée à votre nom."))
            return redirect(reverse("device_detail", args=[device.uuid]) + "#supports")
    return render(request, "refurbishers/no_storage_form.html", {"device": device, "form": form})


def donation_certificates(request, uuid):
    """A donation's media and their proofs, its certificates, and the button that issues them."""
    donation = permissions.get_workshop_donation(request.user, uuid)
    rows = documents.donation_media_rows(donation)
    issued = (
        Document.objects.filter(donation=donation)
        .exclude(kind__in=["reception_sheet"])
        .select_related("supersedes")
        .order_by("kind", "-requested_at")
    )
    return render(
        request,
        "refurbishers/donation_certificates.html",
        {
            "donation": donation,
            "rows": rows,
            "cleared": documents.donation_is_cleared(donation),
            "declarations": selectors.donation_declarations(donation),
            "documents": [d for d in issued if d.kind != documents.MEDIUM_CERTIFICATE],
            "medium_certificates": sum(1 for d in issued if d.kind == documents.MEDIUM_CERTIFICATE),
            "writable": _may_issue(request.user, donation),
        },
    )


def donation_document(request, uuid, document_uuid):
    """A document filed under a donation the workshop works on (the donor owns it)."""
    donation = permissions.get_workshop_donation(request.user, uuid)
    document = get_object_or_404(Document.objects.issued(), donation=donation, uuid=document_uuid)
    return FileResponse(
        document.file.open("rb"),
        as_attachment=False,
        filename=f"{document.number}.pdf",
        content_type="application/pdf",
    )


def _may_issue(user, donation):
    try:
        permissions.get_workshop_donation(user, donation.uuid, write=True)
    except PermissionDenied:
        return False
    return True


@require_POST
def donation_certificates_issue(request, uuid):
    donation = permissions.get_workshop_donation(request.user, uuid, write=True)
    requested = services.donation_certificates_request(donation=donation, actor=request.user)
    if not requested:
        messages.info(request, _("Les certificats du don sont déjà à jour : rien de nouveau à certifier."))
    for document in requested:
        document.refresh_from_db()
        if document.number:
            messages.success(
                request,
                _("%(title)s : n° %(number)s émis.") % {"title": document.title, "number": document.number},
            )
        else:
            messages.info(request, _("%(title)s : en cours de génération.") % {"title": document.title})
    return redirect("refurbishers:donation_certificates", uuid=donation.uuid)


@require_http_methods(["GET", "POST"])
def repair_create(request, uuid):
    device = permissions.get_workshop_device(request.user, uuid)
    stock = Part.objects.in_stock().filter(organisation=device.holder).order_by("kind", "description")
    form = forms.RepairForm(request.POST or None, parts=stock)
    formset = forms.BoughtPartFormSet(request.POST or None, prefix="bought")
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        bought = [
            {"description": f["description"], "quantity": f.get("quantity") or 1, "unit_cost": f["unit_cost"]}
            for f in formset.cleaned_data
            if f and f.get("description")
        ]
        try:
            services.repair_record(
                device=device,
                actor=request.user,
                actions=form.cleaned_data["actions"],
                duration_minutes=form.cleaned_data["duration_minutes"],
                other_cost=form.cleaned_data["other_cost"] or 0,
                stock_parts=form.cleaned_data["stock_parts"],
                bought_parts=bought,
                notes=form.cleaned_data["notes"],
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, _("Réparation enregistrée."))
            return redirect(reverse("device_detail", args=[device.uuid]) + "#reparations")
    return render(
        request, "refurbishers/repair_form.html", {"device": device, "form": form, "formset": formset}
    )


@require_http_methods(["GET", "POST"])
def make_ready(request, uuid):
    device = permissions.get_workshop_device(request.user, uuid)
    cap = device.category.cap_on(timezone.localdate())
    audit = device.audits.first()
    problems = storage_problems(device)
    has_media = device.storage_media.filter(detached_at__isnull=True).exists()
    initial = {"has_storage": has_media, "has_os": bool(audit and audit.os_installed), "battery_ok": True}
    if audit is not None:
        initial.update(
            cosmetic_grade=audit.cosmetic_grade,
            functional_grade=audit.functional_grade,
            battery_health_pct=audit.battery_health_pct,
            os_name=audit.os_installed,
            has_charger=bool(audit.charger_included),
            battery_ok=audit.battery_health_pct is None or audit.battery_health_pct >= 50,
        )
    form = forms.ReadyForm(request.POST or None, initial=initial, cap=cap)
    if request.method == "POST" and form.is_valid():
        try:
            _grading, warnings = services.device_make_ready(
                device=device, actor=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            _apply_errors(form, error)
        except TransitionError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("L'appareil est prêt à partir vers un relais."))
            for warning in warnings:
                messages.warning(request, warning)
            return redirect("device_detail", uuid=device.uuid)
    return render(
        request,
        "refurbishers/ready_form.html",
        {"device": device, "form": form, "cap": cap, "problems": problems, "audit": audit},
    )


@require_http_methods(["GET", "POST"])
def harvest(request, uuid):
    device = permissions.get_workshop_device(request.user, uuid)
    form = forms.HarvestForm(request.POST or None)
    formset = forms.ComponentFormSet(request.POST or None, prefix="parts")
    media = list(StorageMedium.objects.attached().filter(device=device))
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        components = [
            {"kind": f["kind"], "description": f["description"], "serial_number": f.get("serial_number", "")}
            for f in formset.cleaned_data
            if f and f.get("kind")
        ]
        try:
            parts = services.device_harvest(
                device=device, actor=request.user, components=components, note=form.cleaned_data["note"]
            )
        except ValidationError as error:
            _apply_errors(form, error)
        except TransitionError as error:
            form.add_error(None, error.message)
        else:
            messages.success(
                request,
                ngettext("%(count)d pièce mise en stock.", "%(count)d pièces mises en stock.", len(parts))
                % {"count": len(parts)},
            )
            return redirect("device_detail", uuid=device.uuid)
    return render(
        request,
        "refurbishers/harvest_form.html",
        {"device": device, "form": form, "formset": formset, "media": media},
    )


# --- Labels --------------------------------------------------------------------------------------

LABELS_PER_SHEET = 24


def labels(request):
    """A4 sheet(s) of 3 × 8 labels: a QR code to the device page and the short public identifier."""
    _workshop_only(request)
    visible = Device.objects.visible_to(request.user)
    if request.method == "POST":
        devices = _devices_from_post(request, visible)
    else:
        devices = (
            list(visible.filter(uuid__in=request.GET.getlist("devices")).select_related("category"))
            if request.GET.getlist("devices")
            else []
        )
    if not devices:
        messages.error(request, _("Cochez au moins un appareil pour imprimer ses étiquettes."))
        return redirect("refurbishers:work_queue")
    items = [
        {
            "device": device,
            "url": settings.SITE_URL + reverse("device_by_public_id", args=[device.public_id]),
            "qr": qr_svg_data_uri(
                settings.SITE_URL + reverse("device_by_public_id", args=[device.public_id])
            ),
        }
        for device in sorted(devices, key=lambda d: d.public_id)
    ]
    sheets = [items[i : i + LABELS_PER_SHEET] for i in range(0, len(items), LABELS_PER_SHEET)]
    pdf = render_pdf("refurbishers/pdf/labels.html", {"sheets": sheets})
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="etiquettes-{timezone.localdate():%Y%m%d}.pdf"'
    return response


# --- Imports -------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def imports_page(request):
    _workshop_only(request)
    user = request.user
    workshops = list(permissions.workshops(user, write=True))
    device = None
    device_uuid = request.GET.get("appareil") or request.POST.get("appareil")
    if device_uuid:
        try:
            device = permissions.get_workshop_device(user, device_uuid)
        except ValidationError:
            raise Http404 from None
    kind = request.POST.get("kind") or request.GET.get("format") or ImportKind.LSHW
    import_forms = {
        value: forms.ImportForm(
            request.POST if request.method == "POST" and kind == value else None,
            request.FILES if request.method == "POST" and kind == value else None,
            workshops=workshops,
            initial={"kind": value, "operator_name": services.actor_name(user), "nwipe_verify": "last"},
            prefix=None,
        )
        for value in ImportKind.values
    }
    if request.method == "POST":
        if not workshops:
            raise PermissionDenied(_("Votre rôle ne permet que la consultation."))
        form = import_forms.get(kind)
        if form is None:
            raise Http404
        if form.is_valid():
            organisation = device.holder if device else form.cleaned_data.get("workshop") or workshops[0]
            if device is None and organisation not in workshops:
                raise PermissionDenied
            uploads = [imports.Upload(name=f.name, data=f.read()) for f in form.cleaned_data["files"]]
            options = {
                key: form.cleaned_data.get(key) or ""
                for key in ("nwipe_method", "nwipe_verify", "standard", "operator_name")
            }
            try:
                job = imports.import_run(
                    kind=kind,
                    organisation=organisation,
                    actor=user,
                    uploads=uploads,
                    device=device,
                    options=options,
                )
            except parsers.MalformedReport as error:
                form.add_error(
                    "files",
                    _("Fichier refusé, rien n'a été enregistré : %(reason)s") % {"reason": error.message},
                )
            else:
                return redirect("refurbishers:import_detail", uuid=job.uuid)
    ids = permissions.workshop_ids(user) if not is_coordinator(user) else None
    jobs = ImportJob.objects.select_related("created_by", "device")
    if ids is not None:
        jobs = jobs.filter(organisation_id__in=ids)
    return render(
        request,
        "refurbishers/imports.html",
        {
            "import_forms": import_forms,
            "active": kind,
            "device": device,
            "jobs": jobs[:20],
            "columns": parsers.CSV_COLUMNS,
            "can_write": bool(workshops),
        },
    )


def _job(request, uuid):
    _workshop_only(request)
    jobs = ImportJob.objects.select_related("device", "created_by", "organisation")
    if not is_coordinator(request.user):
        jobs = jobs.filter(organisation_id__in=permissions.workshop_ids(request.user))
    return get_object_or_404(jobs, uuid=uuid)


def import_detail(request, uuid):
    job = _job(request, uuid)
    evidence = job.evidence.all()
    return render(request, "refurbishers/import_detail.html", {"job": job, "evidence": evidence})


def import_progress(request, uuid):
    """The progress fragment htmx polls while the import runs."""
    job = _job(request, uuid)
    response = render(request, "refurbishers/_import_progress.html", {"job": job})
    if not job.is_running and request.htmx:
        response["HX-Refresh"] = "true"
    return response


def csv_template(request):
    _workshop_only(request)
    response = HttpResponse(parsers.csv_template(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="modele-diagnostics.csv"'
    return response


def evidence_download(request, uuid):
    evidence = get_object_or_404(Evidence.objects.all(), uuid=uuid)
    if not (is_coordinator(request.user) or evidence.organisation_id in organisation_ids(request.user)):
        raise Http404
    response = FileResponse(evidence.file.open("rb"), as_attachment=True, filename=evidence.original_name)
    response["X-Content-SHA256"] = evidence.sha256
    return response


# --- Parts ---------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def parts(request):
    _workshop_only(request)
    user = request.user
    workshops = list(permissions.workshops(user))
    writable = list(permissions.workshops(user, write=True))
    stock = (
        Part.objects.filter(organisation__in=workshops)
        .select_related("source_device", "source_medium", "organisation")
        .annotate(
            data_erased=Exists(
                Sanitisation.objects.filter(
                    medium_id=OuterRef("source_medium_id"), outcome=SanitisationOutcome.ERASED
                )
            )
        )
    )
    status = request.GET.get("statut", PartStatus.IN_STOCK)
    if status in PartStatus.values:
        stock = stock.filter(status=status)
    kind = request.GET.get("type", "")
    if kind:
        stock = stock.filter(kind=kind)
    form = forms.PartForm(request.POST or None, workshops=writable)
    if request.method == "POST":
        if not writable:
            raise PermissionDenied(_("Votre rôle ne permet que la consultation."))
        if form.is_valid():
            fields = dict(form.cleaned_data)
            organisation = fields.pop("workshop", None) or writable[0]
            try:
                services.part_add(organisation=organisation, actor=user, **fields)
            except ValidationError as error:
                _apply_errors(form, error)
            else:
                messages.success(request, _("Pièce ajoutée au stock."))
                return redirect("refurbishers:parts")
    summary = (
        Part.objects.in_stock()
        .filter(organisation__in=workshops)
        .values("kind")
        .annotate(n=Count("id"))
        .order_by("kind")
    )
    page = Paginator(stock, 50).get_page(request.GET.get("page"))
    kinds = dict(PartKind.choices)
    return render(
        request,
        "refurbishers/parts.html",
        {
            "page": page,
            "form": form,
            "summary": [(row["kind"], kinds.get(row["kind"], row["kind"]), row["n"]) for row in summary],
            "status": status,
            "kind": kind,
            "statuses": PartStatus.choices,
            "kinds": PartKind.choices,
            "show_workshop": len(workshops) > 1,
            "can_write": bool(writable),
        },
    )


@require_POST
def part_discard(request, uuid):
    _workshop_only(request)
    part = get_object_or_404(
        Part.objects.filter(organisation__in=permissions.workshops(request.user)), uuid=uuid
    )
    permissions.require_write(request.user, part.organisation)
    try:
        services.part_discard(part=part, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(_error_messages(error)))
    else:
        messages.success(request, _("Pièce mise au rebut."))
    return redirect("refurbishers:parts")


# --- DEEE lots -----------------------------------------------------------------------------------


def _lots(request):
    _workshop_only(request)
    return WasteLot.objects.filter(organisation__in=permissions.workshops(request.user)).select_related(
        "organisation"
    )


def waste_lots(request):
    lots = _lots(request).annotate(devices=Count("lines")).order_by("-created_at", "-id")
    year = request.GET.get("annee", "")
    return render(
        request,
        "refurbishers/waste_lots.html",
        {
            "open_lots": [lot for lot in lots if lot.is_open],
            "handed_over": [lot for lot in lots if not lot.is_open][:50],
            "year": year,
            "years": sorted({lot.handover_date.year for lot in lots if lot.handover_date}, reverse=True),
            "can_write": bool(permissions.workshop_ids(request.user, write=True))
            or is_coordinator(request.user, write=True),
        },
    )


@require_http_methods(["GET", "POST"])
def waste_lot_create(request):
    _workshop_only(request)
    writable = list(permissions.workshops(request.user, write=True))
    if not writable:
        raise PermissionDenied(_("Votre rôle ne permet que la consultation."))
    devices = (
        _devices_from_post(request, permissions.workshop_devices(request.user))
        if request.method == "POST"
        else []
    )
    form = forms.WasteLotForm(request.POST if "waste_code" in request.POST else None)
    if form.is_bound and form.is_valid():
        organisation = devices[0].holder if devices else writable[0]
        try:
            lot = services.waste_lot_create(
                organisation=organisation, actor=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            _report_added(
                request, *services.waste_lot_add_devices(lot=lot, devices=devices, actor=request.user)
            )
            messages.success(request, _("Lot %(reference)s créé.") % {"reference": lot.reference})
            return redirect("refurbishers:waste_lot_detail", uuid=lot.uuid)
    return render(request, "refurbishers/waste_lot_form.html", {"form": form, "devices": devices})


def _report_added(request, added, refused):
    if added:
        messages.success(
            request,
            ngettext("%(count)d appareil ajouté.", "%(count)d appareils ajoutés.", len(added))
            % {"count": len(added)},
        )
    for device, reason in refused.items():
        messages.error(
            request, _("%(device)s refusé : %(reason)s.") % {"device": device.public_id, "reason": reason}
        )


@require_POST
def waste_lot_add(request):
    """From the work queue: put the checked devices into an open lot (or create one)."""
    _workshop_only(request)
    if not permissions.workshops(request.user, write=True).exists():
        raise PermissionDenied(_("Votre rôle ne permet que la consultation."))
    devices = _devices_from_post(request, permissions.workshop_devices(request.user))
    if not devices:
        messages.error(request, _("Cochez au moins un appareil."))
        return redirect("refurbishers:work_queue")
    lot_uuid = request.POST.get("lot")
    if lot_uuid:
        lot = get_object_or_404(_lots(request), uuid=lot_uuid)
        permissions.require_write(request.user, lot.organisation)
        try:
            _report_added(
                request, *services.waste_lot_add_devices(lot=lot, devices=devices, actor=request.user)
            )
        except ValidationError as error:
            messages.error(request, " ".join(_error_messages(error)))
        return redirect("refurbishers:waste_lot_detail", uuid=lot.uuid)
    return render(
        request,
        "refurbishers/waste_lot_choose.html",
        {
            "devices": devices,
            "lots": selectors.open_lots(permissions.workshops(request.user, write=True)),
            "form": forms.WasteLotForm(),
        },
    )


@require_http_methods(["GET", "POST"])
def waste_lot_detail(request, uuid):
    lot = get_object_or_404(_lots(request), uuid=uuid)
    writable = is_coordinator(request.user, write=True) or lot.organisation_id in permissions.workshop_ids(
        request.user, write=True
    )
    add_form = forms.IdentifiersForm(request.POST if request.POST.get("action") == "add" else None)
    hand_over_form = forms.HandOverForm(
        request.POST if request.POST.get("action") == "hand_over" else None,
        initial={"handover_date": timezone.localdate(), "bsdd_number": lot.bsdd_number},
    )
    if request.method == "POST":
        if not writable:
            raise PermissionDenied(_("Votre rôle ne permet que la consultation."))
        action = request.POST.get("action")
        try:
            if action == "add" and add_form.is_valid():
                devices, unknown = _devices_by_identifier(lot.organisation, add_form.identifier_list())
                for identifier in unknown:
                    messages.error(
                        request, _("« %(id)s » : aucun appareil de l'atelier.") % {"id": identifier}
                    )
                _report_added(
                    request, *services.waste_lot_add_devices(lot=lot, devices=devices, actor=request.user)
                )
                return redirect("refurbishers:waste_lot_detail", uuid=lot.uuid)
            if action == "remove":
                device = get_object_or_404(Device, uuid=request.POST.get("device"), waste_lot_line__lot=lot)
                services.waste_lot_remove_device(lot=lot, device=device, actor=request.user)
                messages.success(request, _("%(device)s retiré du lot.") % {"device": device.public_id})
                return redirect("refurbishers:waste_lot_detail", uuid=lot.uuid)
            if action == "hand_over" and hand_over_form.is_valid():
                services.waste_lot_hand_over(lot=lot, actor=request.user, **hand_over_form.cleaned_data)
                messages.success(
                    request, _("Lot remis : ses appareils sont enregistrés comme envoyés en traitement DEEE.")
                )
                return redirect("refurbishers:waste_lot_detail", uuid=lot.uuid)
        except ValidationError as error:
            if action == "hand_over":
                _apply_errors(hand_over_form, error)
            else:
                for message in _error_messages(error):
                    messages.error(request, message)
        except TransitionError as error:
            messages.error(request, error.message)
    lines = list(lot.lines.select_related("device", "device__category"))
    unsanitised = [line.device for line in lines if lot.is_open and storage_problems(line.device)]
    return render(
        request,
        "refurbishers/waste_lot_detail.html",
        {
            "lot": lot,
            "lines": lines,
            "weights": selectors.lot_weights(lot),
            "total_weight": sum((line.weight_kg for line in lines), 0),
            "add_form": add_form,
            "hand_over_form": hand_over_form,
            "writable": writable,
            "unsanitised": unsanitised,
        },
    )


def _devices_by_identifier(organisation, identifiers):
    devices, unknown = [], []
    queryset = Device.objects.filter(holder=organisation).select_related("category", "holder")
    for identifier in identifiers:
        found = list(
            queryset.filter(
                Q(public_id=identifier)
                | Q(serial_number__iexact=identifier)
                | Q(asset_tag__iexact=identifier)
            )[:2]
        )
        if len(found) == 1:
            devices.append(found[0])
        else:
            unknown.append(identifier)
    return devices, unknown


def waste_register(request):
    """The waste register as CSV (semicolon-separated, for a spreadsheet)."""
    lots = _lots(request)
    year = request.GET.get("annee", "")
    if year.isdigit():
        lots = lots.filter(handover_date__year=int(year))
    rows = selectors.waste_register(lots)
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(
        [
            "date",
            "lot",
            "code_dechet",
            "categorie_deee",
            "nombre_appareils",
            "poids_kg",
            "poids_pese",
            "destination",
            "eco_organisme",
            "code_traitement",
            "numero_bordereau",
        ]
    )
    for row in rows:
        writer.writerow(
            [
                row["date"].isoformat(),
                row["reference"],
                row["waste_code"],
                row["category"],
                row["devices"],
                str(row["weight_kg"]).replace(".", ","),
                "oui" if row["weighed"] else "non",
                row["destination"],
                row["eco_organisme"],
                row["treatment_code"],
                row["slip"],
            ]
        )
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    suffix = f"-{year}" if year.isdigit() else ""
    response["Content-Disposition"] = f'attachment; filename="registre-dechets{suffix}.csv"'
    return response


# --- Shipments -----------------------------------------------------------------------------------


def _shipments(request):
    return Shipment.objects.visible_to(request.user).select_related("refurbisher", "relais", "relais_site")


def shipments(request):
    _workshop_only(request)
    ids = permissions.workshop_ids(request.user)
    queryset = _shipments(request)
    if not is_coordinator(request.user):
        queryset = queryset.filter(refurbisher_id__in=ids)
    queryset = queryset.annotate(
        devices=Count("lines"), missing=Count("lines", filter=Q(lines__status=ShipmentLineStatus.MISSING))
    ).order_by("-created_at", "-id")
    page = Paginator(queryset, 30).get_page(request.GET.get("page"))
    return render(
        request,
        "refurbishers/shipments.html",
        {
            "page": page,
            "can_write": bool(permissions.workshop_ids(request.user, write=True))
            or is_coordinator(request.user, write=True),
        },
    )


@require_http_methods(["GET", "POST"])
def shipment_create(request):
    _workshop_only(request)
    workshops = list(permissions.workshops(request.user, write=True))
    if not workshops:
        raise PermissionDenied(_("Votre rôle ne permet que la consultation."))
    devices = (
        _devices_from_post(request, permissions.workshop_devices(request.user))
        if request.method == "POST"
        else []
    )
    relais = Organisation.objects.filter(kind=OrganisationKind.RELAIS, is_active=True)
    form = forms.ShipmentForm(
        request.POST if "relais" in request.POST else None, workshops=workshops, relais=relais
    )
    if form.is_bound and form.is_valid():
        try:
            shipment, refused = services.shipment_create(
                refurbisher=form.cleaned_data["workshop"],
                relais=form.cleaned_data["relais"],
                actor=request.user,
                devices=devices,
                carrier=form.cleaned_data["carrier"],
                notes=form.cleaned_data["notes"],
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            _report_added(request, [d for d in devices if d not in refused], refused)
            messages.success(
                request, _("Expédition %(reference)s créée.") % {"reference": shipment.reference}
            )
            return redirect("refurbishers:shipment_detail", uuid=shipment.uuid)
    return render(request, "refurbishers/shipment_form.html", {"form": form, "devices": devices})


@require_http_methods(["GET", "POST"])
def shipment_detail(request, uuid):
    _workshop_only(request)
    shipment = get_object_or_404(_shipments(request), uuid=uuid)
    writable = is_coordinator(
        request.user, write=True
    ) or shipment.refurbisher_id in permissions.workshop_ids(request.user, write=True)
    add_form = forms.IdentifiersForm(request.POST if request.POST.get("action") == "add" else None)
    if request.method == "POST":
        if not writable:
            raise PermissionDenied(_("Votre rôle ne permet que la consultation."))
        action = request.POST.get("action")
        try:
            if action == "add" and add_form.is_valid():
                devices, unknown = _devices_by_identifier(shipment.refurbisher, add_form.identifier_list())
                for identifier in unknown:
                    messages.error(
                        request, _("« %(id)s » : aucun appareil de l'atelier.") % {"id": identifier}
                    )
                _report_added(
                    request,
                    *services.shipment_add_devices(shipment=shipment, devices=devices, actor=request.user),
                )
            elif action == "remove":
                device = get_object_or_404(
                    Device, uuid=request.POST.get("device"), shipment_lines__shipment=shipment
                )
                services.shipment_remove_device(shipment=shipment, device=device, actor=request.user)
                messages.success(
                    request, _("%(device)s retiré de l'expédition.") % {"device": device.public_id}
                )
            elif action == "dispatch":
                services.shipment_dispatch(shipment=shipment, actor=request.user)
                messages.success(
                    request, _("Expédition partie : le relais la verra dans « Livraisons à recevoir ».")
                )
            return redirect("refurbishers:shipment_detail", uuid=shipment.uuid)
        except ValidationError as error:
            for message in _error_messages(error):
                messages.error(request, message)
        except TransitionError as error:
            messages.error(request, error.message)
        return redirect("refurbishers:shipment_detail", uuid=shipment.uuid)
    return render(
        request,
        "refurbishers/shipment_detail.html",
        _shipment_context(shipment, writable=writable, add_form=add_form),
    )


def _shipment_context(shipment, **extra):
    lines = list(
        shipment.lines.select_related("device", "device__category", "received_by").order_by(
            "device__public_id"
        )
    )
    note = Document.objects.about(shipment).filter(kind="delivery_note").order_by("-requested_at").first()
    return {"shipment": shipment, "lines": lines, "delivery_note": note, **extra}


def shipment_delivery_note(request, uuid):
    """The delivery note, for the workshop and for the relais it is addressed to."""
    shipment = get_object_or_404(_shipments(request), uuid=uuid)
    note = (
        Document.objects.about(shipment).filter(kind="delivery_note").issued().order_by("-issued_at").first()
    )
    if note is None:
        raise Http404
    return FileResponse(
        note.file.open("rb"),
        as_attachment=False,
        filename=f"{note.number}.pdf",
        content_type="application/pdf",
    )


# --- Relais: receipt -----------------------------------------------------------------------------


def _relais_only(request):
    if not permissions.is_relais_member(request.user):
        raise PermissionDenied(_("Cette page est réservée aux relais numériques."))


def deliveries(request):
    _relais_only(request)
    queryset = _shipments(request).exclude(status=ShipmentStatus.DRAFT)
    if not is_coordinator(request.user):
        queryset = queryset.filter(relais_id__in=permissions.relais_ids(request.user))
    queryset = queryset.annotate(
        devices=Count("lines"), missing=Count("lines", filter=Q(lines__status=ShipmentLineStatus.MISSING))
    ).order_by("-created_at", "-id")
    return render(
        request,
        "refurbishers/deliveries.html",
        {
            "awaiting": [s for s in queryset if s.status == ShipmentStatus.DISPATCHED],
            "done": sorted(
                (s for s in queryset if s.status != ShipmentStatus.DISPATCHED),
                key=lambda s: s.received_at or s.dispatched_at or s.created_at,
                reverse=True,
            )[:50],
        },
    )


@require_http_methods(["GET", "POST"])
def delivery_receive(request, uuid):
    _relais_only(request)
    queryset = _shipments(request).exclude(status=ShipmentStatus.DRAFT)
    if not is_coordinator(request.user):
        queryset = queryset.filter(relais_id__in=permissions.relais_ids(request.user))
    shipment = get_object_or_404(queryset, uuid=uuid)
    writable = is_coordinator(request.user, write=True) or shipment.relais_id in permissions.relais_ids(
        request.user, write=True
    )
    pending = shipment.lines.filter(status=ShipmentLineStatus.PENDING).select_related(
        "device", "device__category"
    )
    form = forms.ReceiptForm(request.POST or None, lines=pending if shipment.awaits_receipt else [])
    if request.method == "POST":
        if not writable:
            raise PermissionDenied(_("Votre rôle ne permet que la consultation."))
        action = request.POST.get("action", "receive")
        try:
            if action == "found":
                line = get_object_or_404(
                    ShipmentLine,
                    shipment=shipment,
                    device__uuid=request.POST.get("device"),
                    status=ShipmentLineStatus.MISSING,
                )
                services.shipment_line_found(line=line, actor=request.user)
                messages.success(
                    request, _("%(device)s est entré dans votre stock.") % {"device": line.device.public_id}
                )
                return redirect("refurbishers:delivery_receive", uuid=shipment.uuid)
            if form.is_valid():
                received = form.received_devices()
                shipment, missing = services.shipment_receive(
                    shipment=shipment,
                    actor=request.user,
                    received_devices=received,
                    note=form.cleaned_data["note"],
                )
                messages.success(
                    request,
                    ngettext(
                        "%(count)d appareil entré en stock.",
                        "%(count)d appareils entrés en stock.",
                        len(received),
                    )
                    % {"count": len(received)},
                )
                if missing:
                    messages.warning(
                        request,
                        ngettext(
                            "%(count)d appareil signalé manquant : l'atelier est prévenu.",
                            "%(count)d appareils signalés manquants : l'atelier est prévenu.",
                            len(missing),
                        )
                        % {"count": len(missing)},
                    )
                return redirect("refurbishers:delivery_receive", uuid=shipment.uuid)
        except ValidationError as error:
            for message in _error_messages(error):
                messages.error(request, message)
        except TransitionError as error:
            messages.error(request, error.message)
    return render(
        request,
        "refurbishers/delivery_receive.html",
        _shipment_context(shipment, form=form, writable=writable),
    )


# --- API token -----------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def api_token(request):
    """The personal API token an audit station uses to post its reports."""
    _workshop_only(request)
    from rest_framework.authtoken.models import Token

    if request.method == "POST":
        with transaction.atomic():
            Token.objects.filter(user=request.user).delete()
            Token.objects.create(user=request.user)
        messages.success(request, _("Nouveau jeton créé : l'ancien ne fonctionne plus."))
        return redirect("refurbishers:api_token")
    token = Token.objects.filter(user=request.user).first()
    return render(request, "refurbishers/api_token.html", {"token": token, "site_url": settings.SITE_URL})
