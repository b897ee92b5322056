from django.urls import path

from . import views

app_name = "beneficiaries"

urlpatterns = [
    path("", views.beneficiary_list, name="list"),
    path("nouveau/", views.beneficiary_create, name="create"),
    path("<uuid:uuid>/", views.beneficiary_detail, name="detail"),
    path("<uuid:uuid>/eligibilite/", views.check_create, name="check_create"),
    path("<uuid:uuid>/donnees.json", views.beneficiary_export, name="export"),
    path("bons/utiliser/", views.voucher_redeem, name="voucher_redeem"),
    path("bons/", views.vouchers, name="vouchers"),
    path("criteres/", views.criteria, name="criteria"),
    path("criteres/<uuid:uuid>/fin/", views.criterion_end, name="criterion_end"),
    path("exceptions-de-quota/", views.quota_exceptions, name="quota_exceptions"),
]
