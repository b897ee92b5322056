import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from reemploi.enums import OrganisationKind
from reemploi.lifecycle import TransitionError
from reemploi.models import EquipmentCategory, Organisation
from reemploi.permissions import is_coordinator, organisation_ids

from . import abuse, forms, notifications, permissions, selectors, services
from .enums import (
    AccessRequestStatus,
    CollectionStatus,
    Condition,
    DonationStatus,
    DonorKind,
    HandoverMode,
    MessageSide,
    TaxReceiptStatus,
    Verdict,
)
from .models import (
    AcceptancePolicy,
    CategoryRule,
    Donation,
    DonationPhoto,
    DonorAccessRequest,
    TaxReceiptRequest,
)
from .rules import Rules
from .tokens import donation_for_token, tracking_path, tracking_token

logger = logging.getLogger(__name__)


def _apply_errors(form, error, fields=None):
    """Put a service's ValidationError on a form: on its fields when they exist, else on top."""
    fields = fields if fields is not None else form.fields
    if hasattr(error, "error_dict"):
        for field, messages_ in error.message_dict.items():
            for message in messages_:
                form.add_error(field if field in fields else None, message)
    else:
        for message in error.messages:
            form.add_error(None, message)


# --- The public donation form ---------------------------------------------------------------------


def _line_results(data):
    """The live verdict for each line typed so far: {formset index: LineAssessment} and the
    donation-level assessment."""
    donor_kind = data.get("donor_kind") or ""
    indexed = forms.lenient_lines(data)
    assessment = Rules.load().assess(donor_kind, [line for _index, line in indexed])
    return {
        index: result for (index, _line), result in zip(indexed, assessment.lines, strict=True)
    }, assessment


def _form_context(form, formset, *, show_errors=True, results=None, assessment=None):
    results = results or {}
    return {
        "form": form,
        "formset": formset,
        "lines": [(line_form, results.get(index)) for index, line_form in enumerate(formset.forms)],
        "assessment": assessment,
        "show_errors": show_errors,
        "summary": Rules.load().summary(EquipmentCategory.objects.all()),
        "max_upload_mb": settings.MAX_UPLOAD_SIZE // (1024 * 1024),
    }


@login_not_required
@require_http_methods(["GET", "POST"])
@abuse.refuse_oversized
def propose(request):
    if request.method == "GET":
        form = forms.DonationForm(initial={"handover_mode": HandoverMode.PICKUP})
        formset = forms.LineFormSet(prefix=forms.LINES_PREFIX)
        return render(request, "donors/propose.html", _form_context(form, formset))

    action = request.POST.get("action", "submit")
    data = request.POST.copy()
    if action == "add_line":
        total = forms._int(data.get(f"{forms.LINES_PREFIX}-TOTAL_FORMS")) or 1
        if total < services.MAX_LINES:
            data[f"{forms.LINES_PREFIX}-TOTAL_FORMS"] = str(total + 1)
            # The new line starts as the htmx one does: one item, in working order.
            data[f"{forms.LINES_PREFIX}-{total}-quantity"] = "1"
            data[f"{forms.LINES_PREFIX}-{total}-condition"] = Condition.WORKS
    form = forms.DonationForm(data, request.FILES)
    formset = forms.LineFormSet(data, prefix=forms.LINES_PREFIX)
    results, assessment = _line_results(data)
    if action in ("add_line", "check"):
        context = _form_context(form, formset, show_errors=False, results=results, assessment=assessment)
        return render(request, "donors/propose.html", context)

    if not abuse.hit(
        "propose", request, limit=settings.DONORS_FORM_RATE_LIMIT, window=settings.DONORS_FORM_RATE_WINDOW
    ):
        return abuse.too_many(request)
    if form.is_spam:
        logger.info("Donation form honeypot filled; nothing recorded")
        return render(request, "donors/rejected.html", status=400)
    context = _form_context(form, formset, results=results, assessment=assessment)
    if not (form.is_valid() and formset.is_valid()):
        _add_submission_errors(form, formset, context)
        return render(request, "donors/propose.html", context, status=400)
    data = form.cleaned_data
    try:
        donation = services.donation_submit(
            donor_kind=data["donor_kind"],
            organisation_name=data["organisation_name"],
            siret=data["siret"],
            contact_name=data["contact_name"],
            contact_email=data["contact_email"],
            contact_phone=data["contact_phone"],
            postal_code=data["postal_code"],
            commune=data["commune"],
            address=data["address"],
            access_notes=data["access_notes"],
            handover_mode=data["handover_mode"],
            drop_off_site=data["drop_off_site"],
            availability=data["availability"],
            availability_note=data["availability_note"],
            reuse_commitment=data["reuse_commitment"],
            retired_stock_count=data["retired_stock_count"],
            privacy_consent=data["privacy_consent"],
            lines=[line_form.as_line() for line_form in formset.active_forms()],
            photos=data["photos"],
            actor=request.user if request.user.is_authenticated else None,
        )
    except ValidationError as error:
        _apply_errors(form, error)
        if hasattr(error, "error_dict") and "lines" in error.error_dict:
            context["lines_error"] = error.message_dict["lines"]
        return render(request, "donors/propose.html", context, status=400)
    messages.success(
        request,
        _(
            "Merci ! Votre proposition est enregistrée sous la référence %(reference)s. Un e-mail avec ce lien "
            "de suivi vient de vous être envoyé."
        )
        % {"reference": donation.reference},
    )
    organisation = donation.donor_organisation
    if organisation is not None and donation.organisation_name.lower() != organisation.name.lower():
        messages.info(
            request,
            _(
                "Ce SIRET est enregistré au nom de « %(name)s » : votre don lui est rattaché. S'il ne s'agit pas "
                "de votre organisation, dites-le-nous dans un message ci-dessous."
            )
            % {"name": organisation.name},
        )
    return redirect(tracking_path(donation))


def _add_submission_errors(form, formset, context):
    """The form has field errors: run the submission's own checks (SIRET, consent, commitment,
    drop-off only...) on what is valid, so that the donor sees every error at once instead of
    discovering new ones after each correction. Fields already in error keep their one message."""
    data = form.cleaned_data
    lines_valid = formset.is_valid()
    try:
        services.validate_submission(
            donor_kind=data.get("donor_kind"),
            organisation_name=data.get("organisation_name", ""),
            siret=data.get("siret", ""),
            postal_code=data.get("postal_code", ""),
            commune=data.get("commune"),
            address=data.get("address", ""),
            handover_mode=data.get("handover_mode"),
            drop_off_site=data.get("drop_off_site"),
            availability=data.get("availability") or [],
            reuse_commitment=data.get("reuse_commitment", False),
            retired_stock_count=data.get("retired_stock_count"),
            privacy_consent=data.get("privacy_consent", False),
            lines=[line_form.as_line() for line_form in formset.active_forms()] if lines_valid else [],
        )
    except ValidationError as error:
        skipped = set(form.errors)
        if "postal_code" in form.errors:
            skipped.add("commune")  # the commune cannot be checked against a wrong postal code
        for field, messages_ in error.message_dict.items():
            if field == "lines":
                if lines_valid:
                    context["lines_error"] = messages_
            elif field in form.fields and field not in skipped:
                for message in messages_:
                    form.add_error(field, message)


@login_not_required
@require_GET
def propose_line(request):
    """htmx: one more equipment line, and the formset's updated form count."""
    index = forms._int(request.GET.get(f"{forms.LINES_PREFIX}-TOTAL_FORMS")) or 1
    if index >= services.MAX_LINES:
        return HttpResponse(status=204)
    formset = forms.LineFormSet(prefix=forms.LINES_PREFIX)
    line_form = formset._construct_form(index, empty_permitted=True, use_required_attribute=False)
    return render(
        request,
        "donors/_line_added.html",
        {"line_form": line_form, "index": index, "total": index + 1, "show_errors": False},
    )


@login_not_required
@require_GET
def evaluate(request):
    """htmx: the acceptance rules' verdict on every line as the donor types (out-of-band swaps)."""
    if not abuse.hit("evaluate", request, limit=settings.DONORS_LOOKUP_RATE_LIMIT):
        return HttpResponse(status=429)
    results, assessment = _line_results(request.GET)
    total = min(forms._int(request.GET.get(f"{forms.LINES_PREFIX}-TOTAL_FORMS")) or 0, services.MAX_LINES)
    return render(
        request,
        "donors/_verdicts.html",
        {"results": [(index, results.get(index)) for index in range(total)], "assessment": assessment},
    )


@login_not_required
@require_GET
def communes(request):
    """htmx: the communes of a postal code, as the commune field."""
    if not abuse.hit("evaluate", request, limit=settings.DONORS_LOOKUP_RATE_LIMIT):
        return HttpResponse(status=429)
    form = forms.DonationForm(initial={"postal_code": request.GET.get("postal_code", "")})
    return render(request, "donors/_commune_field.html", {"form": form})


@login_not_required
@require_GET
def privacy_notice(request):
    return render(
        request,
        "donors/privacy.html",
        {
            "tracking_days": settings.DONORS_TRACKING_MAX_AGE_DAYS,
            "retention_years": settings.DONORS_RETENTION_YEARS,
            "rate_limit": settings.DONORS_FORM_RATE_LIMIT,
        },
    )


@login_not_required
@require_http_methods(["GET", "POST"])
def resend_link(request):
    """Lost or expired link: we mail fresh links for the open donations of that address, without
    saying whether there are any."""
    form = forms.ResendLinkForm(request.POST or None)
    if request.method == "POST":
        if not abuse.hit(
            "propose", request, limit=settings.DONORS_FORM_RATE_LIMIT, window=settings.DONORS_FORM_RATE_WINDOW
        ):
            return abuse.too_many(request)
        if form.is_valid() and not (form.cleaned_data.get("website") or "").strip():
            email = form.cleaned_data["email"].strip().lower()
            donations = list(
                Donation.objects.filter(contact_email__iexact=email).order_by("-created_at")[:20]
            )
            if donations:
                links = [(donation, settings.SITE_URL + tracking_path(donation)) for donation in donations]
                notifications.send("resend_links", [email], {"links": links})
            messages.success(
                request,
                _(
                    "Si des dons sont enregistrés avec cette adresse, un e-mail avec leurs liens de suivi vient d'y être envoyé."
                ),
            )
            return redirect("donors:resend_link")
    return render(request, "donors/resend.html", {"form": form})


# --- The tracking page (private link, no account) -------------------------------------------------


def _tracked(token):
    return donation_for_token(token, Donation.objects.with_related())


STEPS = [
    DonationStatus.SUBMITTED,
    DonationStatus.QUALIFIED,
    DonationStatus.SCHEDULED,
    DonationStatus.COLLECTED,
    DonationStatus.RECEIVED,
    DonationStatus.CLOSED,
]


def _donation_context(request, donation, *, donor_view, token=None):
    lines = list(donation.lines.select_related("category"))
    events = donation.events.select_related("actor")
    if donor_view:
        events = events.filter(is_public=True)
    reception = getattr(donation, "reception", None)
    collection = getattr(donation, "collection", None)
    context = {
        "donation": donation,
        "lines": lines,
        "events": events,
        "thread": donation.messages.all(),
        "collection": collection,
        "reception": reception,
        "reception_lines": list(reception.lines.select_related("line__category")) if reception else [],
        "devices": selectors.donation_devices(donation)
        if donation.status in (DonationStatus.RECEIVED, DonationStatus.CLOSED)
        else [],
        "documents": selectors.donation_documents(donation),
        "donor_view": donor_view,
        "token": token,
        "step_list": [(status, DonationStatus(status).label) for status in STEPS],
        "done_steps": STEPS[: STEPS.index(donation.status)] if donation.status in STEPS else [],
        "message_form": forms.MessageForm(),
        "tax_receipts": list(donation.tax_receipt_requests.select_related("document")),
        "can_ask_tax_receipt": _may_ask_tax_receipt(donation),
        "tax_receipt_form": forms.TaxReceiptForm(),
        "can_request_impact_report": donation.status in services.TAX_RECEIPT_STATUSES,
    }
    if token:
        context.update(
            slot_card_shown=bool(
                donation.status == DonationStatus.SCHEDULED
                and collection
                and collection.status != CollectionStatus.DONE
            ),
            slot_form=forms.SlotAnswerForm(),
            reconciliation_form=forms.ReconciliationForm(),
            cancel_form=forms.CancelForm(),
            can_cancel=donation.status
            in (DonationStatus.SUBMITTED, DonationStatus.QUALIFIED, DonationStatus.SCHEDULED),
        )
    return context


@login_not_required
@require_GET
def track(request, token):
    donation = _tracked(token)
    context = _donation_context(request, donation, donor_view=True, token=token)
    context["can_create_account"] = donation.donor_organisation_id is not None and not (
        request.user.is_authenticated and donation.donor_organisation_id in organisation_ids(request.user)
    )
    return render(request, "donors/track.html", context)


def _back_to_track(token):
    return redirect(reverse("donors:track", args=[token]) + "#suivi")


def _donor_actor(request):
    return request.user if request.user.is_authenticated else None


def _may_ask_tax_receipt(donation):
    return (
        donation.donor_kind == DonorKind.COMPANY
        and donation.status in services.TAX_RECEIPT_STATUSES
        and not any(r.status != TaxReceiptStatus.REFUSED for r in donation.tax_receipt_requests.all())
    )


def _ask_tax_receipt(request, donation, back, actor):
    """The company's request for a tax receipt: a 403 with the reason for individuals and public
    bodies, the form again with its errors (400), or back to the donation's page."""
    form = forms.TaxReceiptForm(request.POST)
    context = {"donation": donation, "form": form, "back": back}
    if donation.donor_kind != DonorKind.COMPANY:
        context["refused"] = _(
            "Seules les entreprises peuvent demander un reçu fiscal (article 238 bis du CGI) : les "
            "particuliers et les organismes publics ne peuvent pas en bénéficier pour ce don."
        )
        return render(request, "donors/tax_receipt_form.html", context, status=403)
    if form.is_valid():
        try:
            services.tax_receipt_ask(
                donation=donation, declared_value=form.cleaned_data["declared_value"], actor=actor
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(
                request,
                _(
                    "Votre demande de reçu fiscal est transmise à la coordination : vous recevrez le reçu par "
                    "e-mail dès sa validation."
                ),
            )
            return redirect(back + "#documents-title")
    return render(request, "donors/tax_receipt_form.html", context, status=400)


@login_not_required
@require_POST
def track_tax_receipt(request, token):
    donation = _tracked(token)
    return _ask_tax_receipt(request, donation, reverse("donors:track", args=[token]), _donor_actor(request))


@require_POST
def tax_receipt_ask(request, uuid):
    donation = _visible(request, uuid)
    if not permissions.can_act_as_donor(request.user, donation):
        raise PermissionDenied
    return _ask_tax_receipt(request, donation, reverse("donors:detail", args=[uuid]), request.user)


@require_POST
def tax_receipt_decide(request, uuid):
    """The coordinator issues a requested tax receipt, or refuses it with a reason."""
    receipt = get_object_or_404(TaxReceiptRequest.objects.select_related("donation"), uuid=uuid)
    if not permissions.can_qualify(request.user):
        raise PermissionDenied
    form = forms.TaxReceiptDecisionForm(request.POST)
    back = reverse("donors:detail", args=[receipt.donation.uuid]) + "#documents-title"
    if not form.is_valid():
        messages.error(request, _("Choisissez d'émettre ou de refuser le reçu."))
        return redirect(back)
    try:
        if form.cleaned_data["decision"] == "issue":
            services.tax_receipt_issue(receipt=receipt, actor=request.user)
            messages.success(request, _("Reçu fiscal émis : il est envoyé au donateur par e-mail."))
        else:
            services.tax_receipt_refuse(
                receipt=receipt, actor=request.user, reason=form.cleaned_data["reason"]
            )
            messages.success(request, _("Demande de reçu fiscal refusée : le donateur a été prévenu."))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    except TransitionError as error:
        messages.error(request, error.message)
    return redirect(back)


@login_not_required
@require_POST
def track_message(request, token):
    donation = _tracked(token)
    if not abuse.hit(
        "message", request, limit=settings.DONORS_FORM_RATE_LIMIT, window=settings.DONORS_FORM_RATE_WINDOW
    ):
        return abuse.too_many(request)
    form = forms.MessageForm(request.POST)
    if form.is_valid():
        services.message_post(
            donation=donation,
            side=MessageSide.DONOR,
            body=form.cleaned_data["body"],
            author=_donor_actor(request),
        )
        messages.success(request, _("Message envoyé : le réseau a été prévenu par e-mail."))
    else:
        messages.error(request, _("Écrivez votre message (5 000 caractères au plus)."))
    return redirect(reverse("donors:track", args=[token]) + "#messages")


@login_not_required
@require_POST
def track_slot(request, token):
    donation = _tracked(token)
    form = forms.SlotAnswerForm(request.POST)
    confirm = request.POST.get("answer") == "confirm"
    if form.is_valid():
        try:
            services.collection_answer(
                donation=donation,
                confirm=confirm,
                note=form.cleaned_data["note"],
                actor=_donor_actor(request),
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        except TransitionError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request,
                _("Merci, le créneau est confirmé.")
                if confirm
                else _("Votre demande a été transmise : nous vous proposerons un autre créneau."),
            )
    return _back_to_track(token)


@login_not_required
@require_POST
def track_reconcile(request, token):
    donation = _tracked(token)
    form = forms.ReconciliationForm(request.POST)
    if form.is_valid():
        try:
            services.reception_confirm(
                donation=donation, note=form.cleaned_data["note"], actor=_donor_actor(request)
            )
        except TransitionError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Merci, le rapprochement est confirmé."))
    return _back_to_track(token)


@login_not_required
@require_POST
def track_cancel(request, token):
    donation = _tracked(token)
    form = forms.CancelForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Indiquez pourquoi vous annulez ce don."))
        return _back_to_track(token)
    try:
        services.donation_cancel(
            donation=donation, reason=form.cleaned_data["reason"], actor=_donor_actor(request), by_donor=True
        )
    except TransitionError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Votre don est annulé."))
    return _back_to_track(token)


@login_not_required
@require_http_methods(["GET", "POST"])
def track_account(request, token):
    """Organisation donors: create an account (or attach a logged-in one) to see all their donations."""
    donation = _tracked(token)
    if donation.donor_organisation_id is None:
        raise Http404
    if request.user.is_authenticated:
        if request.method == "POST":
            outcome = services.donation_claim(donation=donation, user=request.user)
            _claim_message(request, outcome, donation)
            return redirect("donors:space") if outcome != "requested" else _back_to_track(token)
        return render(request, "donors/account.html", {"donation": donation, "token": token, "form": None})
    form = forms.DonorAccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user, outcome = services.donor_account_create(
                donation=donation,
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password1"],
                first_name=form.cleaned_data.get("first_name", ""),
                last_name=form.cleaned_data.get("last_name", ""),
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            _claim_message(request, outcome, donation)
            return redirect("donors:space")
    email_taken = (
        not form.is_bound and get_user_model().objects.filter(email__iexact=donation.contact_email).exists()
    )
    return render(
        request,
        "donors/account.html",
        {"donation": donation, "token": token, "form": form, "email_taken": email_taken},
    )


def _claim_message(request, outcome, donation):
    name = donation.donor_organisation.name
    if outcome == "requested":
        messages.info(
            request,
            _(
                "%(name)s a déjà un espace : votre demande d'accès a été envoyée à ses administrateurs et à la coordination."
            )
            % {"name": name},
        )
    else:
        messages.success(request, _("Votre espace donateur pour %(name)s est prêt.") % {"name": name})


def tracked_document_path(document):
    """Documents filed under a donation download through its private tracking link: the donor needs
    no account (the kernel mails this link with the document)."""
    if not document.donation_id:
        return None
    return reverse("donors:track_document", args=[tracking_token(document.donation), document.uuid])


@login_not_required
@require_GET
def track_document(request, token, document_uuid):
    donation = _tracked(token)
    document = get_object_or_404(selectors.donation_documents(donation, superseded=True), uuid=document_uuid)
    return FileResponse(
        document.file.open("rb"),
        as_attachment=True,
        filename=f"{document.number}.pdf",
        content_type="application/pdf",
    )


# --- The donor's space, the coordinator's queue, the refurbisher's receptions ---------------------


def _paginate(request, queryset, per_page=30):
    page = Paginator(queryset, per_page).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return page, query.urlencode()


def space(request):
    """Mes dons: the donations of the user's donor organisations, their devices and documents."""
    user = request.user
    org_ids = permissions.donor_organisation_ids(user)
    if is_coordinator(user) and not org_ids:
        return redirect("donors:queue")
    donations = (
        Donation.objects.filter(donor_organisation_id__in=org_ids)
        .with_related()
        .annotate(items=Count("lines__devices", distinct=True))
        .order_by("-created_at", "-id")
    )
    page, query = _paginate(request, donations)
    organisations = list(Organisation.objects.filter(pk__in=org_ids))
    panels = []
    for organisation in organisations:
        panel = {"organisation": organisation, "outcome": selectors.reuse_outcome(organisation)}
        if organisation.kind == OrganisationKind.PUBLIC_BODY:
            panel["ratio"] = selectors.public_reuse_ratio(organisation)
        panels.append(panel)
    return render(
        request,
        "donors/space.html",
        {
            "page": page,
            "query": query,
            "panels": panels,
            "documents": selectors.space_documents(org_ids),
            "years": list(range(timezone.localdate().year, timezone.localdate().year - 6, -1)),
            "access_requests": DonorAccessRequest.objects.filter(
                organisation_id__in=permissions.admin_organisation_ids(user),
                status=AccessRequestStatus.PENDING,
            ).select_related("user", "organisation", "donation"),
        },
    )


def queue(request):
    if not is_coordinator(request.user):
        raise PermissionDenied
    data = request.GET.copy() if request.GET else {"status": DonationStatus.SUBMITTED}
    form = forms.QueueFilterForm(data)
    donations = Donation.objects.with_related().order_by("-created_at", "-id")
    if form.is_valid():
        donations = selectors.queue(donations, **form.cleaned_data)
        if form.cleaned_data["status"] == DonationStatus.SUBMITTED:
            donations = donations.order_by("created_at", "id")  # first come, first qualified
    page, query = _paginate(request, donations)
    counts = dict(Donation.objects.values_list("status").annotate(n=Count("id")).order_by())
    return render(
        request,
        "donors/queue.html",
        {
            "form": form,
            "page": page,
            "query": query,
            "counts": [(status, label, counts.get(status, 0)) for status, label in DonationStatus.choices],
            "access_requests": DonorAccessRequest.objects.filter(
                status=AccessRequestStatus.PENDING
            ).select_related("user", "organisation", "donation"),
        },
    )


def receptions(request):
    """The refurbisher's donations: to collect, to receive, received."""
    user = request.user
    ids = organisation_ids(user, kinds=[OrganisationKind.REFURBISHER])
    donations = (
        Donation.objects.all()
        if is_coordinator(user) and not ids
        else Donation.objects.filter(refurbisher_id__in=ids)
    )
    if not (ids or is_coordinator(user)):
        raise PermissionDenied
    donations = donations.select_related(
        "commune", "donor_organisation", "refurbisher", "collection", "reception"
    ).annotate(items=Count("lines__devices", distinct=True))
    groups = [
        (
            _("À collecter ou à recevoir en dépôt"),
            donations.filter(status__in=[DonationStatus.QUALIFIED, DonationStatus.SCHEDULED]).order_by(
                "collection__planned_date", "created_at"
            ),
        ),
        (
            _("Collectés, à réceptionner"),
            donations.filter(status=DonationStatus.COLLECTED).order_by("status_changed_at"),
        ),
        (
            _("Réceptionnés récemment"),
            donations.filter(status__in=[DonationStatus.RECEIVED, DonationStatus.CLOSED]).order_by(
                "-status_changed_at"
            )[:20],
        ),
    ]
    return render(request, "donors/receptions.html", {"groups": groups})


def _visible(request, uuid):
    return get_object_or_404(Donation.objects.visible_to(request.user).with_related(), uuid=uuid)


def detail(request, uuid):
    donation = _visible(request, uuid)
    user = request.user
    network = (
        permissions.can_write_as_network(user, donation)
        or is_coordinator(user)
        or (donation.refurbisher_id in organisation_ids(user))
    )
    donor_side = permissions.can_act_as_donor(user, donation)
    token = tracking_token(donation) if donor_side and not network else None
    context = _donation_context(request, donation, donor_view=not network, token=token)
    context.update(
        network=network,
        can_qualify=permissions.can_qualify(user) and donation.status == DonationStatus.SUBMITTED,
        can_schedule=permissions.can_schedule(user, donation)
        and donation.status in (DonationStatus.QUALIFIED, DonationStatus.SCHEDULED),
        can_collect=permissions.can_mark_collected(user, donation)
        and donation.status == DonationStatus.SCHEDULED,
        can_receive=permissions.can_receive(user, donation) and donation.status == DonationStatus.COLLECTED,
        can_write=permissions.can_write_as_network(user, donation) if network else bool(token),
        can_cancel_network=permissions.can_cancel(user, donation)
        and donation.status in (DonationStatus.SUBMITTED, DonationStatus.QUALIFIED, DonationStatus.SCHEDULED),
        photos=donation.photos.all() if network else [],
        can_decide_tax_receipt=permissions.can_qualify(user),
        back=(
            (reverse("donors:queue") + "?status=", _("Dons"))
            if is_coordinator(user)
            else (reverse("donors:receptions"), _("Réceptions"))
            if network
            else (reverse("donors:space"), _("Mes dons"))
        ),
        organisation_members=(
            donation.donor_organisation.memberships.select_related("user")
            if network and donation.donor_organisation_id
            else []
        ),
    )
    return render(request, "donors/detail.html", context)


def photo(request, uuid, photo_uuid):
    donation = _visible(request, uuid)
    picture = get_object_or_404(DonationPhoto, donation=donation, uuid=photo_uuid)
    return FileResponse(picture.file.open("rb"), content_type=picture.content_type)


def _network_action(request, donation, allowed):
    if not allowed:
        raise PermissionDenied


@require_http_methods(["GET", "POST"])
def qualify(request, uuid):
    donation = _visible(request, uuid)
    _network_action(request, donation, permissions.can_qualify(request.user))
    if donation.status != DonationStatus.SUBMITTED:
        messages.info(request, _("Ce don est déjà qualifié."))
        return redirect("donors:detail", uuid=uuid)
    lines = list(donation.lines.select_related("category"))
    post = request.POST if request.method == "POST" else None
    line_forms = [forms.QualifyLineForm(post, line=line) for line in lines]
    form = forms.QualifyForm(
        post,
        initial={
            "refurbisher": donation.drop_off_site.organisation_id if donation.drop_off_site_id else None
        },
    )
    if post is not None and form.is_valid() and all(f.is_valid() for f in line_forms):
        decisions = [
            {
                "line": f.line,
                "decision": f.cleaned_data["decision"],
                "reason": f.cleaned_data["reason"],
                "quantity": f.cleaned_data["quantity"],
            }
            for f in line_forms
        ]
        try:
            services.donation_qualify(
                donation=donation,
                actor=request.user,
                decisions=decisions,
                refurbisher=form.cleaned_data["refurbisher"],
                message=form.cleaned_data["message"],
            )
        except ValidationError as error:
            _apply_errors(form, error)
        except TransitionError as error:
            form.add_error(None, error.message)
        else:
            messages.success(
                request,
                _("Don %(reference)s qualifié : le donateur a été prévenu.")
                % {"reference": donation.reference},
            )
            return redirect("donors:detail", uuid=uuid)
    return render(
        request,
        "donors/qualify.html",
        {
            "donation": donation,
            "form": form,
            "line_forms": line_forms,
            "photos": donation.photos.all(),
            "thread": donation.messages.all(),
            "verdicts": Verdict,
        },
    )


@require_http_methods(["GET", "POST"])
def schedule(request, uuid):
    donation = _visible(request, uuid)
    _network_action(request, donation, permissions.can_schedule(request.user, donation))
    if donation.status not in (DonationStatus.QUALIFIED, DonationStatus.SCHEDULED):
        messages.info(request, _("La collecte de ce don ne peut plus être planifiée."))
        return redirect("donors:detail", uuid=uuid)
    collection = getattr(donation, "collection", None)
    initial = {
        "mode": donation.handover_mode,
        "site": donation.drop_off_site_id,
        "carrier": donation.refurbisher_id,
    }
    if collection:
        initial.update(
            mode=collection.mode,
            planned_date=collection.planned_date,
            slot_start=collection.slot_start,
            slot_end=collection.slot_end,
            carrier=collection.carrier_id,
            carrier_name=collection.carrier_name,
            site=collection.site_id or donation.drop_off_site_id,
        )
    form = forms.ScheduleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.donation_schedule(
                donation=donation,
                actor=request.user,
                mode=data["mode"],
                planned_date=data["planned_date"],
                slot_start=data["slot_start"],
                slot_end=data["slot_end"],
                carrier=data["carrier"],
                carrier_name=data["carrier_name"],
                site=data["site"],
                note=data["note"],
            )
        except ValidationError as error:
            _apply_errors(form, error)
        except TransitionError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Collecte planifiée : le donateur doit confirmer le créneau."))
            return redirect("donors:detail", uuid=uuid)
    return render(
        request, "donors/schedule.html", {"donation": donation, "form": form, "collection": collection}
    )


@require_http_methods(["GET", "POST"])
def collect(request, uuid):
    donation = _visible(request, uuid)
    _network_action(request, donation, permissions.can_mark_collected(request.user, donation))
    if donation.status != DonationStatus.SCHEDULED:
        messages.info(request, _("Ce don n'attend pas de collecte."))
        return redirect("donors:detail", uuid=uuid)
    expected = sum(line.expected_quantity for line in donation.lines.all())
    form = forms.CollectForm(request.POST or None, initial={"items_count": expected or None})
    if request.method == "POST" and form.is_valid():
        try:
            services.donation_collect(donation=donation, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            _apply_errors(form, error)
        except TransitionError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Collecte enregistrée : le donateur a été prévenu."))
            return redirect("donors:detail", uuid=uuid)
    return render(
        request,
        "donors/collect.html",
        {"donation": donation, "form": form, "collection": donation.collection, "expected": expected},
    )


@require_http_methods(["GET", "POST"])
def receive(request, uuid):
    donation = _visible(request, uuid)
    _network_action(request, donation, permissions.can_receive(request.user, donation))
    if donation.status != DonationStatus.COLLECTED:
        messages.info(request, _("Ce don n'est pas à réceptionner."))
        return redirect("donors:detail", uuid=uuid)
    post = request.POST if request.method == "POST" else None
    lines = [
        line
        for line in donation.lines.select_related("category")
        if line.expected_quantity or line.announced_items
    ]
    announced = {}
    for device in selectors.donation_devices(donation).filter(state__in=["expected", "collected"]):
        announced.setdefault(device.donation_line_id, []).append(device)
    line_forms = [forms.ReceptionLineForm(post, line=line) for line in lines]
    extra = forms.ExtraLineFormSet(post, prefix="extra")
    form = forms.ReceptionForm(
        post,
        refurbisher=donation.refurbisher,
        initial={
            "site": (
                donation.collection.site_id
                if donation.collection.site
                and donation.collection.site.organisation_id == donation.refurbisher_id
                else None
            ),
            "weight_kg": donation.collection.weight_kg,
        },
    )
    if post is not None and form.is_valid() and extra.is_valid() and all(f.is_valid() for f in line_forms):
        try:
            services.donation_receive(
                donation=donation,
                actor=request.user,
                site=form.cleaned_data["site"],
                weight_kg=form.cleaned_data["weight_kg"],
                note=form.cleaned_data["note"],
                lines=[
                    {
                        "line": f.line,
                        "received_quantity": f.cleaned_data["received_quantity"],
                        "items": f.cleaned_data["items"],
                        "note": f.cleaned_data["note"],
                    }
                    for f in line_forms
                ],
                extra_lines=[
                    {
                        "category": f.cleaned_data.get("category"),
                        "received_quantity": f.cleaned_data.get("received_quantity") or 0,
                        "items": f.cleaned_data.get("items") or [],
                        "note": f.cleaned_data.get("note", ""),
                    }
                    for f in extra.forms
                    if f.has_changed()
                ],
            )
        except ValidationError as error:
            _apply_errors(form, error)
        except TransitionError as error:
            form.add_error(None, error.message)
        else:
            messages.success(
                request,
                _(
                    "Réception enregistrée, appareils créés. La fiche de réception est émise et le donateur prévenu."
                ),
            )
            return redirect("donors:detail", uuid=uuid)
    return render(
        request,
        "donors/receive.html",
        {
            "donation": donation,
            "form": form,
            "rows": [(f, announced.get(f.line.pk, [])) for f in line_forms],
            "extra": extra,
        },
    )


@require_POST
def message(request, uuid):
    donation = _visible(request, uuid)
    _network_action(request, donation, permissions.can_write_as_network(request.user, donation))
    form = forms.MessageForm(request.POST)
    if form.is_valid():
        services.message_post(
            donation=donation, side=MessageSide.NETWORK, body=form.cleaned_data["body"], author=request.user
        )
        messages.success(request, _("Message envoyé au donateur."))
    else:
        messages.error(request, _("Écrivez votre message (5 000 caractères au plus)."))
    return redirect(reverse("donors:detail", args=[uuid]) + "#messages")


@require_POST
def cancel(request, uuid):
    donation = _visible(request, uuid)
    _network_action(request, donation, permissions.can_cancel(request.user, donation))
    form = forms.CancelForm(request.POST)
    if form.is_valid():
        try:
            services.donation_cancel(
                donation=donation, reason=form.cleaned_data["reason"], actor=request.user
            )
        except TransitionError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Don annulé : le donateur a été prévenu."))
    else:
        messages.error(request, _("Indiquez le motif de l'annulation."))
    return redirect("donors:detail", uuid=uuid)


@require_POST
def access_decide(request, pk):
    access_request = get_object_or_404(DonorAccessRequest, pk=pk)
    if not permissions.can_decide_access(request.user, access_request):
        raise Http404
    approve = request.POST.get("decision") == "approve"
    try:
        services.access_request_decide(access_request=access_request, actor=request.user, approve=approve)
    except TransitionError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Demande acceptée.") if approve else _("Demande refusée."))
    return redirect(request.POST.get("next") or "donors:space")


@require_http_methods(["GET", "POST"])
def rules(request):
    """The coordinator's settings screen for the acceptance rules."""
    if not is_coordinator(request.user):
        raise PermissionDenied
    editable = permissions.can_edit_rules(request.user)
    policy = AcceptancePolicy.current()
    existing = {rule.category_id: rule for rule in CategoryRule.objects.all()}
    categories = list(EquipmentCategory.objects.all())
    post = request.POST if request.method == "POST" and editable else None
    policy_form = forms.PolicyForm(post, instance=policy)
    rule_forms = []
    for category in categories:
        rule = existing.get(category.pk)
        initial = (
            {
                "collected": rule.collected,
                "collect_broken": rule.collect_broken,
                "max_age_years": rule.max_age_years,
                "reason": rule.reason,
            }
            if rule
            else {"collected": True}
        )
        rule_forms.append(forms.CategoryRuleForm(post, category=category, initial=initial))
    if request.method == "POST" and not editable:
        raise PermissionDenied
    if post is not None and policy_form.is_valid() and all(f.is_valid() for f in rule_forms):
        services.acceptance_rules_update(
            actor=request.user,
            policy={name: policy_form.cleaned_data[name] for name in forms.PolicyForm.Meta.fields},
            category_rules=[{"category": f.category, **f.cleaned_data} for f in rule_forms],
        )
        messages.success(
            request, _("Règles d'acceptation enregistrées : elles s'appliquent dès maintenant au formulaire.")
        )
        return redirect("donors:rules")
    return render(
        request,
        "donors/rules.html",
        {"policy_form": policy_form, "rule_forms": rule_forms, "editable": editable, "policy": policy},
    )


# --- Panels on kernel pages -----------------------------------------------------------------------


def home_panel(request):
    user = request.user
    if is_coordinator(user):
        count = Donation.objects.to_qualify().count()
        return {"template": "donors/_home_panel.html", "role": "coordinator", "count": count}
    if organisation_ids(user, kinds=[OrganisationKind.REFURBISHER]):
        ids = organisation_ids(user, kinds=[OrganisationKind.REFURBISHER])
        count = Donation.objects.filter(refurbisher_id__in=ids, status=DonationStatus.COLLECTED).count()
        upcoming = Donation.objects.filter(refurbisher_id__in=ids, status=DonationStatus.SCHEDULED).count()
        return {
            "template": "donors/_home_panel.html",
            "role": "refurbisher",
            "count": count,
            "upcoming": upcoming,
        }
    ids = permissions.donor_organisation_ids(user)
    if ids:
        open_count = Donation.objects.filter(donor_organisation_id__in=ids, status__in=selectors.OPEN).count()
        return {"template": "donors/_home_panel.html", "role": "donor", "count": open_count}
    return None


def device_section(request, device):
    """On a device's page: the donation it came from, for those who may open it."""
    if not device.donation_line_id:
        return None
    donation = Donation.objects.visible_to(request.user).filter(lines__pk=device.donation_line_id).first()
    if donation is None:
        return None
    return {"template": "donors/_device_section.html", "donation": donation, "line": device.donation_line}
