from django.urls import path

from . import views

app_name = "indicators"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("export/<slug:table>.<str:fmt>", views.export, name="export"),
    path("recalculer/", views.recompute, name="recompute"),
    path("etat/", views.status, name="status"),
]
