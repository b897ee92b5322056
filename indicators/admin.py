from django.contrib import admin

from .models import IndicatorSnapshot, SnapshotRun


class ReadOnlyAdmin(admin.ModelAdmin):
    """Snapshots and runs are written by the computation only."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(IndicatorSnapshot)
class IndicatorSnapshotAdmin(ReadOnlyAdmin):
    list_display = [
        "indicator",
        "territory_type",
        "territory_label",
        "period_type",
        "period_start",
        "value",
        "computed_on",
    ]
    list_filter = ["departement_code", "territory_type", "period_type", "computed_on"]
    search_fields = ["indicator", "territory_code", "territory_label"]
    date_hierarchy = "computed_on"


@admin.register(SnapshotRun)
class SnapshotRunAdmin(ReadOnlyAdmin):
    list_display = [
        "requested_at",
        "departement",
        "status",
        "finished_at",
        "departements_computed",
        "snapshots_written",
    ]
    list_filter = ["status"]
    exclude = ["requested_by"]
