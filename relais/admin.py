from django.contrib import admin

from .models import CapPolicy, GuaranteeReturn, Loan, RelaisProfile, Sale, SaleLine


@admin.register(CapPolicy)
class CapPolicyAdmin(admin.ModelAdmin):
    """Which provenances the decree's caps bind: a change is a new row with a later date of effect."""

    list_display = ["provenance", "is_capped", "effective_from", "note", "recorded_at", "recorded_by"]
    exclude = ["recorded_by"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        obj.recorded_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(RelaisProfile)
class RelaisProfileAdmin(admin.ModelAdmin):
    list_display = [
        "site",
        "opening_hours",
        "is_itinerant",
        "sells_equipment",
        "lends_equipment",
        "updated_on",
    ]


class SaleLineInline(admin.TabularInline):
    model = SaleLine
    extra = 0
    fields = ["device", "price", "cap_amount", "bundle", "is_active"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Sale)
class SaleAdmin(admin.ModelAdmin):
    """Sales are recorded through the relais screens (eligibility, quota, caps): read-only here."""

    list_display = ["sold_on", "relais", "kind", "total", "payment_method"]
    list_filter = ["relais", "kind", "payment_method"]
    inlines = [SaleLineInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Loan)
class LoanAdmin(admin.ModelAdmin):
    list_display = ["device", "relais", "lent_on", "due_on", "returned_at"]
    list_filter = ["relais"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(GuaranteeReturn)
class GuaranteeReturnAdmin(admin.ModelAdmin):
    list_display = ["sale_line", "relais", "returned_at", "remedy", "refurbisher", "sent_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
