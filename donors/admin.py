from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import (
    AcceptancePolicy,
    CategoryRule,
    Collection,
    Donation,
    DonationEvent,
    DonationLine,
    DonationMessage,
    DonationPhoto,
    DonorAccessRequest,
    Reception,
    ReceptionLine,
    TaxReceiptRequest,
)


@admin.register(AcceptancePolicy)
class AcceptancePolicyAdmin(admin.ModelAdmin):
    """One row: the network's general acceptance rules (also editable from the coordinator's screen)."""

    list_display = [
        "__str__",
        "default_max_age_years",
        "citizen_pickup_min_quantity",
        "updated_at",
        "updated_by",
    ]
    readonly_fields = ["updated_at", "updated_by"]

    def has_add_permission(self, request):
        return not AcceptancePolicy.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        obj.pk = 1
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(CategoryRule)
class CategoryRuleAdmin(admin.ModelAdmin):
    list_display = ["category", "collected", "collect_broken", "max_age_years", "reason"]
    list_editable = ["collected", "collect_broken", "max_age_years"]
    list_select_related = ["category"]


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class DonationLineInline(ReadOnlyInline):
    model = DonationLine
    fields = [
        "position",
        "category",
        "quantity",
        "age_years",
        "condition",
        "verdict",
        "decision",
        "accepted_quantity",
        "decision_reason",
    ]
    readonly_fields = fields


class DonationEventInline(ReadOnlyInline):
    model = DonationEvent
    fields = ["at", "title", "from_status", "to_status", "actor", "by_donor", "is_public", "note"]
    readonly_fields = fields


class DonationMessageInline(ReadOnlyInline):
    model = DonationMessage
    fields = ["created_at", "side", "author_name", "body"]
    readonly_fields = fields


@admin.register(Donation)
class DonationAdmin(admin.ModelAdmin):
    """Donations change status only through their services: the workflow fields are read-only here."""

    list_display = ["reference", "created_at", "donor_kind", "donor_name", "commune", "status", "refurbisher"]
    list_filter = ["status", "donor_kind", "handover_mode", "channel", "refurbisher"]
    search_fields = ["reference", "organisation_name", "contact_name", "contact_email", "siret"]
    list_select_related = ["donor_organisation", "commune", "refurbisher"]
    readonly_fields = [
        "uuid",
        "reference",
        "status",
        "status_changed_at",
        "channel",
        "donor_kind",
        "donor_organisation",
        "refurbisher",
        "privacy_consent_at",
        "reuse_commitment_at",
        "created_by",
        "created_at",
    ]
    raw_id_fields = ["commune", "drop_off_site"]
    inlines = [DonationLineInline, DonationMessageInline, DonationEventInline]

    @admin.display(description=_("donateur"))
    def donor_name(self, donation):
        return donation.donor_name

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(DonationPhoto)
class DonationPhotoAdmin(admin.ModelAdmin):
    list_display = ["donation", "content_type", "size", "width", "height", "created_at"]
    raw_id_fields = ["donation"]


@admin.register(Collection)
class CollectionAdmin(admin.ModelAdmin):
    list_display = [
        "donation",
        "mode",
        "planned_date",
        "slot_start",
        "slot_end",
        "status",
        "items_count",
        "weight_kg",
    ]
    list_filter = ["mode", "status"]
    readonly_fields = ["donation", "status", "collected_at", "collected_by", "donor_answered_at"]


class ReceptionLineInline(ReadOnlyInline):
    model = ReceptionLine
    fields = ["line", "announced_quantity", "received_quantity", "missing_items", "unexpected_items", "note"]
    readonly_fields = fields


@admin.register(Reception)
class ReceptionAdmin(admin.ModelAdmin):
    list_display = ["donation", "refurbisher", "site", "received_at", "weight_kg", "donor_confirmed_at"]
    readonly_fields = [
        "donation",
        "refurbisher",
        "received_at",
        "received_by",
        "donor_confirmed_at",
        "donor_confirmed_by",
    ]
    inlines = [ReceptionLineInline]

    def has_add_permission(self, request):
        return False


@admin.register(DonorAccessRequest)
class DonorAccessRequestAdmin(admin.ModelAdmin):
    list_display = ["user", "organisation", "donation", "status", "created_at", "decided_by"]
    list_filter = ["status"]
    raw_id_fields = ["user", "organisation", "donation"]


@admin.register(TaxReceiptRequest)
class TaxReceiptRequestAdmin(admin.ModelAdmin):
    """Read-only: requests are decided on the donation's page, through the services."""

    list_display = ["donation", "declared_value", "status", "requested_at", "decided_by", "document"]
    list_filter = ["status"]
    readonly_fields = [f.name for f in TaxReceiptRequest._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
