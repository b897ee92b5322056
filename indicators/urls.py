from django.urls import path

from . import views

app_name = "indicators"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("export/<slug:table>.<str:fmt>", views.export, name="export"),
    path("recalculer/", views.recompute, name="recompute"),
    path("etat/", views.status, name="status"),
    path("documents-donateurs/", views.donor_documents, name="donor_documents"),
    path("attestation-reemploi/", views.reuse_attestation_request, name="reuse_attestation_request"),
    path("bilan-impact/", views.impact_report_request, name="impact_report_request"),
    path("bilan-impact/don/<uuid:uuid>/", views.donation_impact_report, name="donation_impact_report"),
    path("bilan-impact/suivi/<str:token>/", views.tracked_impact_report, name="tracked_impact_report"),
]
