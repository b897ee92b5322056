from django.contrib import admin
from django.db import models
from django.utils.translation import gettext_lazy as _

from .models import (
    Commune,
    CommunePostalCode,
    Departement,
    Device,
    DeviceEvent,
    Document,
    EquipmentCategory,
    Membership,
    Organisation,
    PriceCap,
    Site,
)

admin.site.site_header = _("Administration du réseau de réemploi")
admin.site.site_title = _("Réemploi solidaire")


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


class SiteInline(admin.StackedInline):
    model = Site
    extra = 0
    autocomplete_fields = ["commune"]


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "siret", "departement", "is_active"]
    list_filter = ["kind", "is_active", "departement"]
    search_fields = ["name", "siret"]
    inlines = [MembershipInline, SiteInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organisation", "role"]
    list_filter = ["role", "organisation__kind"]
    search_fields = ["user__username", "user__email", "organisation__name"]
    autocomplete_fields = ["user", "organisation"]


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "organisation",
        "commune",
        "is_workshop",
        "is_collection_point",
        "is_relais_shop",
        "is_public_place",
        "public_devices",
        "coordinates_approximate",
        "is_active",
    ]
    list_filter = ["is_workshop", "is_collection_point", "is_relais_shop", "is_public_place", "is_active"]
    search_fields = ["name", "commune__name", "organisation__name"]
    autocomplete_fields = ["organisation", "commune"]


class PriceCapInline(admin.TabularInline):
    model = PriceCap
    extra = 0
    can_delete = False
    exclude = ["recorded_by"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def has_change_permission(self, request, obj=None):
        return False  # a cap that changes is a new row with its date of effect (today or later)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(EquipmentCategory)
class EquipmentCategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "deee_category", "is_decree_category", "is_pc", "typical_weight_kg"]
    inlines = [PriceCapInline]


@admin.register(PriceCap)
class PriceCapAdmin(admin.ModelAdmin):
    """Caps are append-only: a change of the law is a new row, from today or later, with its source."""

    list_display = ["category", "amount", "effective_from", "legal_reference", "recorded_at", "recorded_by"]
    list_filter = ["category"]
    exclude = ["recorded_by"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        obj.recorded_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(Departement)
class DepartementAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "region_code"]
    search_fields = ["code", "name"]


class PostalCodeInline(admin.TabularInline):
    model = CommunePostalCode
    extra = 0


@admin.register(Commune)
class CommuneAdmin(admin.ModelAdmin):
    list_display = ["insee_code", "name", "departement", "population", "latitude", "longitude"]
    list_filter = ["departement"]
    search_fields = ["insee_code", "name", "postal_codes__code"]
    inlines = [PostalCodeInline]


class ReadOnlyAdminMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class DeviceEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = DeviceEvent
    fields = ["at", "from_state", "to_state", "actor", "organisation", "holder", "note"]
    readonly_fields = fields
    extra = 0


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    """Devices change state only through the lifecycle service: the state is read-only here."""

    list_display = ["public_id", "category", "brand", "model", "serial_number", "holder", "state"]
    list_filter = ["state", "category", "provenance"]
    search_fields = ["public_id", "serial_number", "asset_tag", "model"]
    readonly_fields = ["uuid", "public_id", "state", "holder", "state_changed_at", "created_at"]
    list_select_related = ["category", "holder"]
    inlines = [DeviceEventInline]
    raw_id_fields = ["donation_line", "donor_organisation"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(DeviceEvent)
class DeviceEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["at", "device", "from_state", "to_state", "actor", "organisation"]
    list_filter = ["to_state"]
    list_select_related = ["device", "actor", "organisation"]


@admin.register(Document)
class DocumentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["number", "kind", "title", "status", "issued_at", "owner"]
    list_filter = ["kind", "status"]
    search_fields = ["number", "title", "verification_code"]
