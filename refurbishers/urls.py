from django.urls import path

from . import views

app_name = "refurbishers"

urlpatterns = [
    path("", views.work_queue, name="work_queue"),
    path("etiquettes/", views.labels, name="labels"),
    path("appareils/<uuid:uuid>/diagnostic/", views.audit_create, name="audit_create"),
    path("appareils/<uuid:uuid>/supports/ajouter/", views.medium_create, name="medium_create"),
    path("appareils/<uuid:uuid>/sans-support/", views.no_storage, name="no_storage"),
    path("appareils/<uuid:uuid>/reparation/", views.repair_create, name="repair_create"),
    path("appareils/<uuid:uuid>/pret/", views.make_ready, name="make_ready"),
    path("appareils/<uuid:uuid>/pieces/", views.harvest, name="harvest"),
    path("supports/<uuid:uuid>/effacement/", views.sanitisation_create, name="sanitisation_create"),
    path("supports/<uuid:uuid>/destruction/", views.destruction_create, name="destruction_create"),
    path("supports/<uuid:uuid>/retrait/", views.medium_detach, name="medium_detach"),
    path("dons/<uuid:uuid>/certificats/", views.donation_certificates, name="donation_certificates"),
    path(
        "dons/<uuid:uuid>/certificats/emettre/",
        views.donation_certificates_issue,
        name="donation_certificates_issue",
    ),
    path(
        "dons/<uuid:uuid>/documents/<uuid:document_uuid>/",
        views.donation_document,
        name="donation_document",
    ),
    path("imports/", views.imports_page, name="imports"),
    path("imports/modele-diagnostics.csv", views.csv_template, name="csv_template"),
    path("imports/<uuid:uuid>/", views.import_detail, name="import_detail"),
    path("imports/<uuid:uuid>/progression/", views.import_progress, name="import_progress"),
    path("preuves/<uuid:uuid>/", views.evidence_download, name="evidence_download"),
    path("pieces/", views.parts, name="parts"),
    path("pieces/<uuid:uuid>/rebut/", views.part_discard, name="part_discard"),
    path("lots-deee/", views.waste_lots, name="waste_lots"),
    path("lots-deee/nouveau/", views.waste_lot_create, name="waste_lot_create"),
    path("lots-deee/ajouter/", views.waste_lot_add, name="waste_lot_add"),
    path("lots-deee/registre.csv", views.waste_register, name="waste_register"),
    path("lots-deee/<uuid:uuid>/", views.waste_lot_detail, name="waste_lot_detail"),
    path("expeditions/", views.shipments, name="shipments"),
    path("expeditions/nouvelle/", views.shipment_create, name="shipment_create"),
    path("expeditions/<uuid:uuid>/", views.shipment_detail, name="shipment_detail"),
    path(
        "expeditions/<uuid:uuid>/bon-de-livraison/",
        views.shipment_delivery_note,
        name="shipment_delivery_note",
    ),
    path("livraisons/", views.deliveries, name="deliveries"),
    path("livraisons/<uuid:uuid>/", views.delivery_receive, name="delivery_receive"),
    path("jeton-api/", views.api_token, name="api_token"),
]
