from django.urls import path

from . import views

app_name = "donors"

urlpatterns = [
    # Public: the form, its live helpers, the privacy notice and the private tracking link.
    path("proposer/", views.propose, name="propose"),
    path("proposer/ligne/", views.propose_line, name="propose_line"),
    path("proposer/verdicts/", views.evaluate, name="evaluate"),
    path("proposer/communes/", views.communes, name="communes"),
    path("donnees-personnelles/", views.privacy_notice, name="privacy"),
    path("suivi/", views.resend_link, name="resend_link"),
    path("suivi/<str:token>/", views.track, name="track"),
    path("suivi/<str:token>/message/", views.track_message, name="track_message"),
    path("suivi/<str:token>/creneau/", views.track_slot, name="track_slot"),
    path("suivi/<str:token>/rapprochement/", views.track_reconcile, name="track_reconcile"),
    path("suivi/<str:token>/annuler/", views.track_cancel, name="track_cancel"),
    path("suivi/<str:token>/compte/", views.track_account, name="track_account"),
    path("suivi/<str:token>/documents/<uuid:document_uuid>/", views.track_document, name="track_document"),
    path("suivi/<str:token>/recu-fiscal/", views.track_tax_receipt, name="track_tax_receipt"),
    # Signed in: donors, coordinator, refurbishers.
    path("", views.space, name="space"),
    path("a-qualifier/", views.queue, name="queue"),
    path("receptions/", views.receptions, name="receptions"),
    path("regles/", views.rules, name="rules"),
    path("acces/<int:pk>/", views.access_decide, name="access_decide"),
    path("<uuid:uuid>/", views.detail, name="detail"),
    path("<uuid:uuid>/qualifier/", views.qualify, name="qualify"),
    path("<uuid:uuid>/planifier/", views.schedule, name="schedule"),
    path("<uuid:uuid>/collecte/", views.collect, name="collect"),
    path("<uuid:uuid>/reception/", views.receive, name="receive"),
    path("<uuid:uuid>/message/", views.message, name="message"),
    path("<uuid:uuid>/annuler/", views.cancel, name="cancel"),
    path("<uuid:uuid>/photos/<uuid:photo_uuid>/", views.photo, name="photo"),
    path("<uuid:uuid>/recu-fiscal/", views.tax_receipt_ask, name="tax_receipt_ask"),
    path("recus-fiscaux/<uuid:uuid>/decision/", views.tax_receipt_decide, name="tax_receipt_decide"),
]
