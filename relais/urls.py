from django.urls import path

from . import views

app_name = "relais"

urlpatterns = [
    path("", views.directory, name="directory"),
    path("annuaire.csv", views.directory_export, name="directory_export"),
    path("import/", views.directory_import, name="directory_import"),
    path("lieux/<uuid:uuid>/profil/", views.profile_edit, name="profile_edit"),
    path("stock/", views.stock, name="stock"),
    path("stock/<uuid:uuid>/prix/", views.stock_price, name="stock_price"),
    path("stock/<uuid:uuid>/apres-retour/", views.stock_after_return, name="stock_after_return"),
    path("ventes/", views.sale_list, name="sale_list"),
    path("ventes/nouvelle/", views.sale_create, name="sale_create"),
    path("ventes/<uuid:uuid>/", views.sale_detail, name="sale_detail"),
    path("ventes/<uuid:uuid>/recu/", views.receipt_issue, name="receipt_issue"),
    path("ventes/<uuid:uuid>/retour/", views.return_create, name="return_create"),
    path("retours/<uuid:uuid>/renvoi/", views.return_send, name="return_send"),
    path("prets/", views.loan_list, name="loan_list"),
    path("prets/nouveau/", views.loan_create, name="loan_create"),
    path("prets/<uuid:uuid>/retour/", views.loan_return, name="loan_return"),
]
