from django.contrib import admin

from .models import (
    Beneficiary,
    EligibilityCheck,
    EligibilityCriterion,
    Household,
    QuotaException,
    QuotaPolicy,
    Voucher,
)


@admin.register(EligibilityCriterion)
class EligibilityCriterionAdmin(admin.ModelAdmin):
    list_display = ["departement", "kind", "label", "threshold_amount", "effective_from", "effective_until"]
    list_filter = ["departement", "kind"]


@admin.register(QuotaPolicy)
class QuotaPolicyAdmin(admin.ModelAdmin):
    list_display = ["category", "max_devices", "period_months", "effective_from", "effective_until"]


@admin.register(QuotaException)
class QuotaExceptionAdmin(admin.ModelAdmin):
    list_display = ["household", "category", "extra_devices", "granted_by", "granted_at", "valid_until"]
    readonly_fields = ["granted_by", "granted_at"]


class CheckInline(admin.TabularInline):
    model = EligibilityCheck
    extra = 0
    fields = ["criterion", "document_type", "checked_by", "checked_at", "valid_until"]
    readonly_fields = fields


@admin.register(Beneficiary)
class BeneficiaryAdmin(admin.ModelAdmin):
    """For rectification requests (RGPD art. 16); the relais screens are the everyday tool."""

    list_display = ["__str__", "relais", "commune", "household", "last_contact_at", "anonymised_at"]
    list_filter = ["relais", "kind"]
    search_fields = ["last_name", "first_name", "organisation_name", "household__reference"]
    raw_id_fields = ["commune", "household"]
    readonly_fields = ["anonymised_at", "created_at", "created_by"]
    inlines = [CheckInline]


@admin.register(Household)
class HouseholdAdmin(admin.ModelAdmin):
    list_display = ["reference", "relais", "size", "created_at"]
    search_fields = ["reference"]


@admin.register(Voucher)
class VoucherAdmin(admin.ModelAdmin):
    list_display = ["display_code", "prescriber", "expires_on", "redeemed_at", "redeemed_by"]
    list_filter = ["prescriber"]
    search_fields = ["code", "last_name"]
    raw_id_fields = ["commune", "beneficiary"]
