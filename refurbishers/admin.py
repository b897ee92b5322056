"""Admin: evidence and proof records are read-only (they are never changed); the rest is browsable."""

from django.contrib import admin

from .models import (
    Audit,
    Destruction,
    Evidence,
    Grading,
    ImportJob,
    NoStorageDeclaration,
    Part,
    Repair,
    Sanitisation,
    Shipment,
    ShipmentLine,
    StorageMedium,
    WasteLot,
    WasteLotLine,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Evidence)
class EvidenceAdmin(ReadOnlyAdmin):
    list_display = ["original_name", "kind", "organisation", "sha256", "size", "uploaded_at"]
    list_filter = ["kind"]
    search_fields = ["original_name", "sha256"]


@admin.register(Sanitisation)
class SanitisationAdmin(ReadOnlyAdmin):
    list_display = ["medium", "level", "technique", "tool", "outcome", "ended_at", "operator_name"]
    list_filter = ["outcome", "level", "technique", "standard"]
    search_fields = ["medium__serial_number", "medium__device__public_id"]


@admin.register(Destruction)
class DestructionAdmin(ReadOnlyAdmin):
    list_display = ["medium", "iso_level", "method", "performed_at", "provider_name"]
    search_fields = ["medium__serial_number"]


@admin.register(NoStorageDeclaration)
class NoStorageDeclarationAdmin(ReadOnlyAdmin):
    list_display = ["device", "declared_by", "declared_at", "reason"]


@admin.register(ImportJob)
class ImportJobAdmin(ReadOnlyAdmin):
    list_display = ["kind", "organisation", "status", "total", "saved", "rejected", "created_at"]
    list_filter = ["kind", "status"]


@admin.register(Audit)
class AuditAdmin(ReadOnlyAdmin):
    list_display = ["device", "source", "cosmetic_grade", "functional_grade", "performed_at"]
    list_filter = ["source", "cosmetic_grade", "functional_grade"]
    search_fields = ["device__public_id", "device__serial_number"]


@admin.register(StorageMedium)
class StorageMediumAdmin(ReadOnlyAdmin):
    list_display = ["serial_number", "kind", "model", "device", "added_at", "detached_at"]
    list_filter = ["kind", "source"]
    search_fields = ["serial_number", "device__public_id"]


@admin.register(Grading)
class GradingAdmin(ReadOnlyAdmin):
    list_display = ["device", "cosmetic_grade", "functional_grade", "price", "cap_amount", "graded_at"]


@admin.register(Part)
class PartAdmin(admin.ModelAdmin):
    list_display = ["description", "kind", "organisation", "status", "origin", "created_at"]
    list_filter = ["kind", "status", "origin"]
    search_fields = ["description", "serial_number"]
    readonly_fields = ["source_device", "source_medium", "created_by"]


@admin.register(Repair)
class RepairAdmin(ReadOnlyAdmin):
    list_display = ["device", "performed_at", "duration_minutes", "other_cost"]


class WasteLotLineInline(admin.TabularInline):
    model = WasteLotLine
    extra = 0
    can_delete = False
    readonly_fields = ["device", "deee_category", "weight_kg", "added_at"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WasteLot)
class WasteLotAdmin(ReadOnlyAdmin):
    list_display = ["reference", "organisation", "status", "waste_code", "treatment_code", "handover_date"]
    list_filter = ["status", "waste_code", "treatment_code"]
    inlines = [WasteLotLineInline]


class ShipmentLineInline(admin.TabularInline):
    model = ShipmentLine
    extra = 0
    can_delete = False
    readonly_fields = ["device", "status", "received_at"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Shipment)
class ShipmentAdmin(ReadOnlyAdmin):
    list_display = ["reference", "refurbisher", "relais", "status", "dispatched_at", "received_at"]
    list_filter = ["status"]
    inlines = [ShipmentLineInline]
