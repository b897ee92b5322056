"""Every role against every URL of the project, for an object of its own organisation and one of
another organisation.

The URLs come from the URL configuration (tests/permission_matrix.py walks it): a URL name without a
line in RULES fails `test_every_url_has_a_rule`. To add an endpoint, add ONE line to RULES:

    "app:url_name": R(kind, get_own, get_other, post=..., post_other=...),

- kind: the world object that fills the URL's arguments (tests/permission_world.py, `World.objects`),
  "" for a URL without arguments. An object may carry a query string ("query") and a POST body
  ("post").
- get_own / get_other: the outcome of a GET for each role, in the order of the columns below, on the
  object of the user's own organisation (chain "a") and of another organisation (chain "b");
  get_other is None when the object is the same for everyone.
- post / post_other: the outcome of a POST, written when it differs from the GET's refusals, which
  are the default (POST-only endpoints, forms a read-only member may see but not send). Only
  refusals are checked on a POST ("ok" and "405" say what the others get), each with the database's
  row counts unchanged.

Outcomes: a status code, "L" a redirect to the login page, "R" another redirect (in a POST rule: a
refusal that sends the user back with a message), "ok" anything but a refusal (401, 403, 404, a login
redirect) or a 5xx, "-" not checked.

Rules of the platform the table encodes: another organisation's object is a 404; a forbidden action
is a 403 (pages and API), rights being checked before the request body is read; the anonymous visitor
is sent to the login page (pages) or gets a 403 (API, session authentication); public pages (the
donation form, the tracking link, the verification page, the privacy notices) answer everyone.
Départemental staff never see a personal value (checked on every 200 they get), and no response to a
member of one organisation contains an identifier of another organisation's object. The admin has its
own staff gate: `test_admin_is_for_staff_only`."""

import pytest
from django.core.cache import cache
from django.db import transaction
from django.test import Client, override_settings

from tests.permission_matrix import (
    REFUSALS,
    body_of,
    endpoints,
    matches,
    outcome,
    request_as,
    row_counts,
)
from tests.permission_world import ROLES, build_world


def R(kind, get_own, get_other=None, post=None, post_other=None):
    return {"kind": kind, "get": (get_own, get_other), "post": (post, post_other)}


# fmt: off
# Columns: coordinator, donor (member of a donor organisation), refurbisher (staff), refurbisher_ro
# (read-only member), relais (staff), departement (staff), prescriber, anonymous.
RULES = {
    "home":                                R("",                   "200 200 200 200 200 200 200 L"),
    "device_list":                         R("",                   "200 200 200 200 200 200 200 L"),
    "device_detail":                       R("workshop_device",    "200 200 200 200 404 404 404 L", "200 404 404 404 404 404 404 L"),
    "device_transition":                   R("workshop_device",    "405 405 405 405 405 405 405 L", "405 405 405 405 405 405 405 L", post="ok R ok R 404 404 404 L", post_other="ok 404 404 404 404 404 404 L"),
    "device_by_public_id":                 R("workshop_device",    "R R R R 404 404 404 L", "R 404 404 404 404 404 404 L"),
    "document_download":                   R("document",           "200 200 404 404 404 404 404 L", "200 404 404 404 404 404 404 L"),
    "document_verify":                     R("document",           "200 200 200 200 200 200 200 200", "200 200 200 200 200 200 200 200"),
    "privacy":                             R("",                   "200 200 200 200 200 200 200 200"),
    "healthz":                             R("",                   "200 200 200 200 200 200 200 200"),
    "login":                               R("",                   "200 200 200 200 200 200 200 200"),
    "logout":                              R("",                   "405 405 405 405 405 405 405 L", post="L L L L L L L L"),
    "password_change":                     R("",                   "200 200 200 200 200 200 200 L"),
    "password_change_done":                R("",                   "200 200 200 200 200 200 200 L"),
    "password_reset":                      R("",                   "200 200 200 200 200 200 200 200"),
    "password_reset_done":                 R("",                   "200 200 200 200 200 200 200 200"),
    "password_reset_confirm":              R("password_reset",     "200 200 200 200 200 200 200 200"),
    "password_reset_complete":             R("",                   "200 200 200 200 200 200 200 200"),
    "otp_verify":                          R("",                   "L L L L L L L L"),
    "otp_setup":                           R("",                   "200 200 200 200 200 200 200 L"),
    "device-list":                         R("",                   "200 200 200 200 200 200 200 403"),
    "device-detail":                       R("workshop_device",    "200 200 200 200 404 404 404 403", "200 404 404 404 404 404 404 403", post="405 405 405 405 405 405 405 403", post_other="405 405 405 405 405 405 405 403"),
    "device-history":                      R("workshop_device",    "200 200 200 200 404 404 404 403", "200 404 404 404 404 404 404 403", post="405 405 405 405 405 405 405 403", post_other="405 405 405 405 405 405 405 403"),
    "device-transition":                   R("workshop_device",    "405 405 405 405 405 405 405 403", "405 405 405 405 405 405 405 403", post="ok 403 ok 403 404 404 404 403", post_other="ok 404 404 404 404 404 404 403"),
    "category-list":                       R("",                   "200 200 200 200 200 200 200 403"),
    "category-detail":                     R("category",           "200 200 200 200 200 200 200 403"),
    "organisation-list":                   R("",                   "200 200 200 200 200 200 200 403"),
    "organisation-detail":                 R("organisation",       "200 404 200 200 404 404 404 403", "200 404 404 404 404 404 404 403", post="405 405 405 405 405 405 405 403", post_other="405 405 405 405 405 405 405 403"),
    "document-list":                       R("",                   "200 200 200 200 200 200 200 403"),
    "document-detail":                     R("document",           "200 200 404 404 404 404 404 403", "200 404 404 404 404 404 404 403", post="405 405 405 405 405 405 405 403", post_other="405 405 405 405 405 405 405 403"),
    "schema":                              R("",                   "200 200 200 200 200 200 200 200"),
    "api_docs":                            R("",                   "200 200 200 200 200 200 200 200"),
    "donors:propose":                      R("",                   "200 200 200 200 200 200 200 200"),
    "donors:propose_line":                 R("",                   "200 200 200 200 200 200 200 200"),
    "donors:evaluate":                     R("",                   "200 200 200 200 200 200 200 200"),
    "donors:communes":                     R("",                   "200 200 200 200 200 200 200 200"),
    "donors:privacy":                      R("",                   "200 200 200 200 200 200 200 200"),
    "donors:resend_link":                  R("",                   "200 200 200 200 200 200 200 200"),
    "donors:track":                        R("donation_received",  "200 200 200 200 200 200 200 200", "200 200 200 200 200 200 200 200"),
    "donors:track_message":                R("donation_received",  "405 405 405 405 405 405 405 405", "405 405 405 405 405 405 405 405"),
    "donors:track_slot":                   R("donation_scheduled", "405 405 405 405 405 405 405 405", "405 405 405 405 405 405 405 405"),
    "donors:track_reconcile":              R("donation_received",  "405 405 405 405 405 405 405 405", "405 405 405 405 405 405 405 405"),
    "donors:track_cancel":                 R("donation_submitted", "405 405 405 405 405 405 405 405", "405 405 405 405 405 405 405 405"),
    "donors:track_account":                R("donation_received",  "200 200 200 200 200 200 200 200", "200 200 200 200 200 200 200 200"),
    "donors:track_document":               R("donation_document",  "200 200 200 200 200 200 200 200", "200 200 200 200 200 200 200 200"),
    "donors:space":                        R("",                   "R 200 200 200 200 200 200 L"),
    "donors:queue":                        R("",                   "200 403 403 403 403 403 403 L"),
    "donors:receptions":                   R("",                   "200 403 200 200 403 403 403 L"),
    "donors:rules":                        R("",                   "200 403 403 403 403 403 403 L"),
    "donors:access_decide":                R("access_request",     "405 405 405 405 405 405 405 L", "405 405 405 405 405 405 405 L", post="ok ok 404 404 404 404 404 L", post_other="ok 404 404 404 404 404 404 L"),
    "donors:detail":                       R("donation_received",  "200 200 200 200 404 404 404 L", "200 404 404 404 404 404 404 L"),
    "donors:qualify":                      R("donation_submitted", "200 403 404 404 404 404 404 L", "200 404 404 404 404 404 404 L"),
    "donors:schedule":                     R("donation_qualified", "200 403 200 403 404 404 404 L", "200 404 404 404 404 404 404 L"),
    "donors:collect":                      R("donation_scheduled", "200 403 200 403 404 404 404 L", "200 404 404 404 404 404 404 L"),
    "donors:receive":                      R("donation_collected", "200 403 200 403 404 404 404 L", "200 404 404 404 404 404 404 L"),
    "donors:message":                      R("donation_received",  "405 405 405 405 405 405 405 L", "405 405 405 405 405 405 405 L", post="ok 403 ok 403 404 404 404 L", post_other="ok 404 404 404 404 404 404 L"),
    "donors:cancel":                       R("donation_submitted", "405 405 405 405 405 405 405 L", "405 405 405 405 405 405 405 L", post="ok 403 404 404 404 404 404 L", post_other="ok 404 404 404 404 404 404 L"),
    "donors:track_tax_receipt":            R("donation_received",  "405 405 405 405 405 405 405 405", "405 405 405 405 405 405 405 405", post="ok ok ok ok ok ok ok ok", post_other="ok ok ok ok ok ok ok ok"),
    "donors:tax_receipt_ask":              R("donation_received",  "405 405 405 405 405 405 405 L", "405 405 405 405 405 405 405 L", post="ok ok 403 403 404 404 404 L", post_other="ok 404 404 404 404 404 404 L"),
    "donors:tax_receipt_decide":           R("tax_receipt",        "405 405 405 405 405 405 405 L", "405 405 405 405 405 405 405 L", post="ok 403 403 403 403 403 403 L", post_other="ok 403 403 403 403 403 403 L"),
    "donors:photo":                        R("donation_photo",     "200 200 404 404 404 404 404 L", "200 404 404 404 404 404 404 L"),
    "donation-list":                       R("",                   "200 200 200 200 200 200 200 403", post="ok ok 403 403 403 403 403 403"),
    "donation-evaluate":                   R("",                   "405 405 405 405 405 405 405 403"),
    "donation-detail":                     R("donation_received",  "200 200 200 200 404 404 404 403", "200 404 404 404 404 404 404 403", post="405 405 405 405 405 405 405 403", post_other="405 405 405 405 405 405 405 403"),
    "donation-tax-receipt":                R("donation_received",  "405 405 405 405 405 405 405 403", "405 405 405 405 405 405 405 403", post="ok ok 403 403 404 404 404 403", post_other="ok 404 404 404 404 404 404 403"),
    "donation-collect":                    R("donation_scheduled", "405 405 405 405 405 405 405 403", "405 405 405 405 405 405 405 403", post="ok 403 ok 403 404 404 404 403", post_other="ok 404 404 404 404 404 404 403"),
    "donation-qualify":                    R("donation_submitted", "405 405 405 405 405 405 405 403", "405 405 405 405 405 405 405 403", post="ok 403 404 404 404 404 404 403", post_other="ok 404 404 404 404 404 404 403"),
    "donation-receive":                    R("donation_collected", "405 405 405 405 405 405 405 403", "405 405 405 405 405 405 405 403", post="ok 403 ok 403 404 404 404 403", post_other="ok 404 404 404 404 404 404 403"),
    "donation-schedule":                   R("donation_qualified", "405 405 405 405 405 405 405 403", "405 405 405 405 405 405 405 403", post="ok 403 ok 403 404 404 404 403", post_other="ok 404 404 404 404 404 404 403"),
    "refurbishers:work_queue":             R("",                   "200 403 200 200 403 403 403 L"),
    "refurbishers:labels":                 R("",                   "R 403 R R 403 403 403 L"),
    "refurbishers:audit_create":           R("workshop_device",    "200 404 200 403 404 404 404 L", "200 404 404 404 404 404 404 L"),
    "refurbishers:medium_create":          R("workshop_device",    "200 404 200 403 404 404 404 L", "200 404 404 404 404 404 404 L"),
    "refurbishers:no_storage":             R("workshop_device",    "200 404 200 403 404 404 404 L", "200 404 404 404 404 404 404 L"),
    "refurbishers:donation_certificates":  R("donation_received",  "200 404 200 200 404 404 404 L", "200 404 404 404 404 404 404 L"),
    "refurbishers:donation_certificates_issue": R("donation_received", "405 405 405 405 405 405 405 L", "405 405 405 405 405 405 405 L", post="ok 404 ok 403 404 404 404 L", post_other="ok 404 404 404 404 404 404 L"),
    "refurbishers:donation_document":      R("donation_document",  "200 404 200 200 404 404 404 L", "200 404 404 404 404 404 404 L"),
    "refurbishers:repair_create":          R("workshop_device",    "200 404 200 403 404 404 404 L", "200 404 404 404 404 404 404 L"),
    "refurbishers:make_ready":             R("workshop_device",    "200 404 200 403 404 404 404 L", "200 404 404 404 404 404 404 L"),
    "refurbishers:harvest":                R("workshop_device",    "200 404 200 403 404 404 404 L", "200 404 404 404 404 404 404 L"),
    "refurbishers:sanitisation_create":    R("medium",             "200 404 200 403 404 404 404 L", "200 404 404 404 404 404 404 L"),
    "refurbishers:destruction_create":     R("medium",             "200 404 200 403 404 404 404 L", "200 404 404 404 404 404 404 L"),
    "refurbishers:medium_detach":          R("medium",             "200 404 200 403 404 404 404 L", "200 404 404 404 404 404 404 L"),
    "refurbishers:imports":                R("",                   "200 403 200 200 403 403 403 L", post="ok 403 ok 403 403 403 403 L"),
    "refurbishers:csv_template":           R("",                   "200 403 200 200 403 403 403 L"),
    "refurbishers:import_detail":          R("import_job",         "200 403 200 200 403 403 403 L", "200 403 404 404 403 403 403 L"),
    "refurbishers:import_progress":        R("import_job",         "200 403 200 200 403 403 403 L", "200 403 404 404 403 403 403 L"),
    "refurbishers:evidence_download":      R("evidence",           "200 404 200 200 404 404 404 L", "200 404 404 404 404 404 404 L"),
    "refurbishers:parts":                  R("",                   "200 403 200 200 403 403 403 L", post="ok 403 ok 403 403 403 403 L"),
    "refurbishers:part_discard":           R("part",               "405 405 405 405 405 405 405 L", "405 405 405 405 405 405 405 L", post="ok 403 ok 403 403 403 403 L", post_other="ok 403 404 404 403 403 403 L"),
    "refurbishers:waste_lots":             R("",                   "200 403 200 200 403 403 403 L"),
    "refurbishers:waste_lot_create":       R("",                   "200 403 200 403 403 403 403 L"),
    "refurbishers:waste_lot_add":          R("",                   "405 405 405 405 405 405 405 L", post="ok 403 ok 403 403 403 403 L"),
    "refurbishers:waste_register":         R("",                   "200 403 200 200 403 403 403 L"),
    "refurbishers:waste_lot_detail":       R("waste_lot",          "200 403 200 200 403 403 403 L", "200 403 404 404 403 403 403 L", post="ok 403 ok 403 403 403 403 L", post_other="ok 403 404 404 403 403 403 L"),
    "refurbishers:shipments":              R("",                   "200 403 200 200 403 403 403 L"),
    "refurbishers:shipment_create":        R("",                   "200 403 200 403 403 403 403 L"),
    "refurbishers:shipment_detail":        R("shipment",           "200 403 200 200 403 403 403 L", "200 403 404 404 403 403 403 L", post="ok 403 ok 403 403 403 403 L", post_other="ok 403 404 404 403 403 403 L"),
    "refurbishers:shipment_delivery_note": R("delivery",           "200 404 200 200 200 404 404 L", "200 404 404 404 404 404 404 L"),
    "refurbishers:deliveries":             R("",                   "200 403 403 403 200 403 403 L"),
    "refurbishers:delivery_receive":       R("delivery",           "200 403 403 403 200 403 403 L", "200 403 403 403 404 403 403 L"),
    "refurbishers:api_token":              R("",                   "200 403 200 200 403 403 403 L"),
    "refurbishers-import-list":            R("",                   "200 200 200 200 200 200 200 403", post="ok 403 ok 403 403 403 403 403"),
    "refurbishers-import-detail":          R("import_job",         "200 404 200 200 404 404 404 403", "200 404 404 404 404 404 404 403", post="405 405 405 405 405 405 405 403", post_other="405 405 405 405 405 405 405 403"),
    "refurbishers-audit-list":             R("",                   "200 200 200 200 200 200 200 403", post="ok 403 ok 403 403 403 403 403"),
    "refurbishers-audit-detail":           R("audit",              "200 404 200 200 404 404 404 403", "200 404 404 404 404 404 404 403", post="405 405 405 405 405 405 405 403", post_other="405 405 405 405 405 405 405 403"),
    "refurbishers-medium-list":            R("",                   "200 200 200 200 200 200 200 403", post="ok 403 ok 403 403 403 403 403"),
    "refurbishers-medium-detail":          R("medium",             "200 404 200 200 404 404 404 403", "200 404 404 404 404 404 404 403", post="405 405 405 405 405 405 405 403", post_other="405 405 405 405 405 405 405 403"),
    "refurbishers-medium-destruction":     R("medium",             "405 405 405 405 405 405 405 403", "405 405 405 405 405 405 405 403", post="ok 404 ok 403 404 404 404 403", post_other="ok 404 404 404 404 404 404 403"),
    "refurbishers-medium-detach":          R("medium",             "405 405 405 405 405 405 405 403", "405 405 405 405 405 405 405 403", post="ok 404 ok 403 404 404 404 403", post_other="ok 404 404 404 404 404 404 403"),
    "refurbishers-medium-sanitisations":   R("medium",             "405 405 405 405 405 405 405 403", "405 405 405 405 405 405 405 403", post="ok 404 ok 403 404 404 404 403", post_other="ok 404 404 404 404 404 404 403"),
    "refurbishers-sanitisation-list":      R("",                   "200 200 200 200 200 200 200 403"),
    "refurbishers-sanitisation-detail":    R("sanitisation",       "200 404 200 200 404 404 404 403", "200 404 404 404 404 404 404 403", post="405 405 405 405 405 405 405 403", post_other="405 405 405 405 405 405 405 403"),
    "refurbishers-device-list":            R("",                   "200 200 200 200 200 200 200 403"),
    "refurbishers-device-detail":          R("workshop_device",    "200 404 200 200 404 404 404 403", "200 404 404 404 404 404 404 403", post="405 405 405 405 405 405 405 403", post_other="405 405 405 405 405 405 405 403"),
    "refurbishers-device-harvest":         R("workshop_device",    "405 405 405 405 405 405 405 403", "405 405 405 405 405 405 405 403", post="ok 404 ok 403 404 404 404 403", post_other="ok 404 404 404 404 404 404 403"),
    "refurbishers-device-no-storage":      R("workshop_device",    "405 405 405 405 405 405 405 403", "405 405 405 405 405 405 405 403", post="ok 404 ok 403 404 404 404 403", post_other="ok 404 404 404 404 404 404 403"),
    "refurbishers-device-ready":           R("workshop_device",    "405 405 405 405 405 405 405 403", "405 405 405 405 405 405 405 403", post="ok 404 ok 403 404 404 404 403", post_other="ok 404 404 404 404 404 404 403"),
    "refurbishers-device-repairs":         R("workshop_device",    "405 405 405 405 405 405 405 403", "405 405 405 405 405 405 405 403", post="ok 404 ok 403 404 404 404 403", post_other="ok 404 404 404 404 404 404 403"),
    "refurbishers-part-list":              R("",                   "200 200 200 200 200 200 200 403", post="ok 403 ok 403 403 403 403 403"),
    "refurbishers-waste-lot-list":         R("",                   "200 200 200 200 200 200 200 403", post="ok 403 ok 403 403 403 403 403"),
    "refurbishers-waste-lot-register":     R("",                   "200 200 200 200 200 200 200 403"),
    "refurbishers-waste-lot-detail":       R("waste_lot",          "200 404 200 200 404 404 404 403", "200 404 404 404 404 404 404 403", post="405 405 405 405 405 405 405 403", post_other="405 405 405 405 405 405 405 403"),
    "refurbishers-waste-lot-add-devices":  R("waste_lot",          "405 405 405 405 405 405 405 403", "405 405 405 405 405 405 405 403", post="ok 404 ok 403 404 404 404 403", post_other="ok 404 404 404 404 404 404 403"),
    "refurbishers-waste-lot-hand-over":    R("waste_lot",          "405 405 405 405 405 405 405 403", "405 405 405 405 405 405 405 403", post="ok 404 ok 403 404 404 404 403", post_other="ok 404 404 404 404 404 404 403"),
    "refurbishers-shipment-list":          R("",                   "200 200 200 200 200 200 200 403", post="ok 403 ok 403 403 403 403 403"),
    "refurbishers-shipment-detail":        R("shipment",           "200 404 200 200 200 404 404 403", "200 404 404 404 404 404 404 403", post="405 405 405 405 405 405 405 403", post_other="405 405 405 405 405 405 405 403"),
    "refurbishers-shipment-add-devices":   R("shipment",           "405 405 405 405 405 405 405 403", "405 405 405 405 405 405 405 403", post="ok 404 ok 403 403 404 404 403", post_other="ok 404 404 404 404 404 404 403"),
    "refurbishers-shipment-found":         R("delivery",           "405 405 405 405 405 405 405 403", "405 405 405 405 405 405 405 403", post="ok 404 403 403 ok 404 404 403", post_other="ok 404 404 404 404 404 404 403"),
    "refurbishers-shipment-receive":       R("delivery",           "405 405 405 405 405 405 405 403", "405 405 405 405 405 405 405 403", post="ok 404 403 403 ok 404 404 403", post_other="ok 404 404 404 404 404 404 403"),
    "refurbishers-shipment-send":          R("shipment",           "405 405 405 405 405 405 405 403", "405 405 405 405 405 405 405 403", post="ok 404 ok 403 403 404 404 403", post_other="ok 404 404 404 404 404 404 403"),
    "beneficiaries:list":                  R("",                   "200 403 403 403 200 403 403 L"),
    "beneficiaries:create":                R("",                   "403 403 403 403 200 403 403 L"),
    "beneficiaries:detail":                R("beneficiary",        "200 403 403 403 200 403 403 L", "200 403 403 403 404 403 403 L"),
    "beneficiaries:check_create":          R("beneficiary",        "405 405 405 405 405 405 405 L", "405 405 405 405 405 405 405 L", post="ok 403 403 403 ok 403 403 L", post_other="ok 403 403 403 404 403 403 L"),
    "beneficiaries:export":                R("beneficiary",        "200 403 403 403 200 403 403 L", "200 403 403 403 404 403 403 L"),
    "beneficiaries:voucher_redeem":        R("",                   "405 405 405 405 405 405 405 L", post="403 403 403 403 ok 403 403 L"),
    "beneficiaries:vouchers":              R("",                   "200 403 403 403 403 403 200 L", post="403 403 403 403 403 403 ok L"),
    "beneficiaries:criteria":              R("",                   "200 403 403 403 403 403 403 L"),
    "beneficiaries:criterion_end":         R("criterion",          "405 405 405 405 405 405 405 L", "405 405 405 405 405 405 405 L", post="ok 403 403 403 403 403 403 L", post_other="ok 403 403 403 403 403 403 L"),
    "beneficiaries:quota_exceptions":      R("",                   "200 403 403 403 403 403 403 L"),
    "beneficiary-list":                    R("",                   "200 403 403 403 200 403 403 403", post="403 403 403 403 ok 403 403 403"),
    "beneficiary-detail":                  R("beneficiary",        "200 403 403 403 200 403 403 403", "200 403 403 403 404 403 403 403", post="405 403 403 403 405 403 403 403", post_other="405 403 403 403 405 403 403 403"),
    "beneficiary-checks":                  R("beneficiary",        "405 403 403 403 405 403 403 403", "405 403 403 403 405 403 403 403", post="ok 403 403 403 ok 403 403 403", post_other="ok 403 403 403 404 403 403 403"),
    "beneficiary-export":                  R("beneficiary",        "200 403 403 403 200 403 403 403", "200 403 403 403 404 403 403 403", post="405 403 403 403 405 403 403 403", post_other="405 403 403 403 405 403 403 403"),
    "eligibility-criterion-list":          R("",                   "200 403 403 403 200 403 403 403", post="ok 403 403 403 403 403 403 403"),
    "eligibility-criterion-end":           R("criterion",          "405 403 403 403 405 403 403 403", "405 403 403 403 405 403 403 403", post="ok 403 403 403 403 403 403 403", post_other="ok 403 403 403 403 403 403 403"),
    "eligibility-criterion-detail":        R("criterion",          "200 403 403 403 200 403 403 403", "200 403 403 403 200 403 403 403"),
    "voucher-list":                        R("",                   "200 200 200 200 200 200 200 403", post="403 403 403 403 403 403 ok 403"),
    "voucher-redeem":                      R("",                   "405 405 405 405 405 405 405 403", post="403 403 403 403 ok 403 403 403"),
    "voucher-detail":                      R("voucher",            "200 404 404 404 404 404 200 403", "200 404 404 404 404 404 404 403", post="405 405 405 405 405 405 405 403", post_other="405 405 405 405 405 405 405 403"),
    "quota-exception-list":                R("",                   "200 403 403 403 403 403 403 403"),
    "quota-exception-detail":              R("quota_exception",    "200 403 403 403 403 403 403 403", "200 403 403 403 403 403 403 403", post="405 405 405 405 405 405 405 403", post_other="405 405 405 405 405 405 405 403"),
    "relais:directory":                    R("",                   "200 403 403 403 200 403 403 L"),
    "relais:directory_export":             R("",                   "200 403 403 403 200 403 403 L"),
    "relais:directory_import":             R("",                   "200 403 403 403 403 403 403 L"),
    "relais:profile_edit":                 R("relais_site",        "200 404 404 404 200 404 404 L", "200 404 404 404 404 404 404 L"),
    "relais:stock":                        R("",                   "200 403 403 403 200 403 403 L"),
    "relais:stock_price":                  R("stock_device",       "405 405 405 405 405 405 405 L", "405 405 405 405 405 405 405 L", post="ok 404 404 404 ok 404 404 L", post_other="ok 404 404 404 404 404 404 L"),
    "relais:stock_after_return":           R("stock_device",       "200 404 404 404 200 404 404 L", "200 404 404 404 404 404 404 L"),
    "relais:sale_list":                    R("",                   "200 403 403 403 200 403 403 L"),
    "relais:sale_create":                  R("",                   "403 403 403 403 200 403 403 L"),
    "relais:sale_detail":                  R("sale",               "200 403 403 403 200 403 403 L", "200 403 403 403 404 403 403 L"),
    "relais:receipt_issue":                R("sale",               "405 405 405 405 405 405 405 L", "405 405 405 405 405 405 405 L", post="ok 404 404 404 ok 404 404 L", post_other="ok 404 404 404 404 404 404 L"),
    "relais:return_create":                R("sale",               "405 405 405 405 405 405 405 L", "405 405 405 405 405 405 405 L", post="ok 404 404 404 ok 404 404 L", post_other="ok 404 404 404 404 404 404 L"),
    "relais:return_send":                  R("guarantee_return",   "405 405 405 405 405 405 405 L", "405 405 405 405 405 405 405 L", post="ok 404 404 404 ok 404 404 L", post_other="ok 404 404 404 404 404 404 L"),
    "relais:loan_list":                    R("",                   "200 403 403 403 200 403 403 L"),
    "relais:loan_create":                  R("",                   "403 403 403 403 200 403 403 L"),
    "relais:loan_return":                  R("loan",               "200 404 404 404 200 404 404 L", "200 404 404 404 404 404 404 L"),
    "relais-site-list":                    R("",                   "200 200 200 200 200 200 200 403"),
    "relais-site-mednum":                  R("",                   "200 200 200 200 200 200 200 403"),
    "relais-site-mednum-import":           R("",                   "405 405 405 405 405 405 405 403", post="ok 403 403 403 403 403 403 403"),
    "relais-site-profile":                 R("relais_site",        "405 405 405 405 405 405 405 403", "405 405 405 405 405 405 405 403", post="ok 403 403 403 ok 403 403 403", post_other="ok 403 403 403 403 403 403 403"),
    "relais-site-detail":                  R("relais_site",        "200 200 200 200 200 200 200 403", "200 200 200 200 200 200 200 403"),
    "stock-list":                          R("",                   "200 200 200 200 200 200 200 403"),
    "stock-detail":                        R("stock_device",       "200 404 404 404 200 404 404 403", "200 404 404 404 404 404 404 403", post="405 405 405 405 405 405 405 403", post_other="405 405 405 405 405 405 405 403"),
    "stock-price":                         R("stock_device",       "405 405 405 405 405 405 405 403", "405 405 405 405 405 405 405 403", post="ok 404 404 404 ok 404 404 403", post_other="ok 404 404 404 404 404 404 403"),
    "stock-reset":                         R("stock_device",       "405 405 405 405 405 405 405 403", "405 405 405 405 405 405 405 403", post="ok 404 404 404 ok 404 404 403", post_other="ok 404 404 404 404 404 404 403"),
    "stock-send-to-workshop":              R("stock_device",       "405 405 405 405 405 405 405 403", "405 405 405 405 405 405 405 403", post="ok 404 404 404 ok 404 404 403", post_other="ok 404 404 404 404 404 404 403"),
    "sale-list":                           R("",                   "200 200 200 200 200 200 200 403", post="403 403 403 403 ok 403 403 403"),
    "sale-detail":                         R("sale",               "200 404 404 404 200 404 404 403", "200 404 404 404 404 404 404 403", post="405 405 405 405 405 405 405 403", post_other="405 405 405 405 405 405 405 403"),
    "loan-list":                           R("",                   "200 200 200 200 200 200 200 403", post="403 403 403 403 ok 403 403 403"),
    "loan-detail":                         R("loan",               "200 404 404 404 200 404 404 403", "200 404 404 404 404 404 404 403", post="405 405 405 405 405 405 405 403", post_other="405 405 405 405 405 405 405 403"),
    "loan-return-":                        R("loan",               "405 405 405 405 405 405 405 403", "405 405 405 405 405 405 405 403", post="ok 404 404 404 ok 404 404 403", post_other="ok 404 404 404 404 404 404 403"),
    "guarantee-return-list":               R("",                   "200 200 200 200 200 200 200 403", post="403 403 403 403 ok 403 403 403"),
    "guarantee-return-detail":             R("guarantee_return",   "200 404 404 404 200 404 404 403", "200 404 404 404 404 404 404 403", post="405 405 405 405 405 405 405 403", post_other="405 405 405 405 405 405 405 403"),
    "guarantee-return-send":               R("guarantee_return",   "405 405 405 405 405 405 405 403", "405 405 405 405 405 405 405 403", post="ok 404 404 404 ok 404 404 403", post_other="ok 404 404 404 404 404 404 403"),
    "indicators:dashboard":                R("departement",        "200 403 403 403 403 200 403 L", "200 403 403 403 403 404 403 L", post="405 405 405 405 405 405 405 L", post_other="405 405 405 405 405 405 405 L"),
    "indicators:export":                   R("indicator_table",    "200 403 403 403 403 200 403 L", "200 403 403 403 403 404 403 L", post="405 405 405 405 405 405 405 L", post_other="405 405 405 405 405 405 405 L"),
    "indicators:donor_documents":          R("",                   "200 403 403 403 403 403 403 L", post="405 405 405 405 405 405 405 L"),
    "indicators:reuse_attestation_request": R("",                  "405 405 405 405 405 405 405 L", post="ok ok 403 403 403 403 403 L"),
    "indicators:impact_report_request":    R("",                   "405 405 405 405 405 405 405 L", post="ok ok 403 403 403 403 403 L"),
    "indicators:donation_impact_report":   R("donation_received",  "405 405 405 405 405 405 405 L", "405 405 405 405 405 405 405 L", post="ok ok 403 403 404 404 404 L", post_other="ok 404 404 404 404 404 404 L"),
    "indicators:tracked_impact_report":    R("donation_received",  "405 405 405 405 405 405 405 405", "405 405 405 405 405 405 405 405", post="ok ok ok ok ok ok ok ok", post_other="ok ok ok ok ok ok ok ok"),
    "indicators:recompute":                R("departement",        "405 405 405 405 405 405 405 L", "405 405 405 405 405 405 405 L", post="ok 403 403 403 403 ok 403 L", post_other="ok 403 403 403 403 404 403 L"),
    "indicators:status":                   R("departement",        "200 403 403 403 403 200 403 L", "200 403 403 403 403 404 403 L", post="405 405 405 405 405 405 405 L", post_other="405 405 405 405 405 405 405 L"),
    "indicators-api-dashboard":            R("departement",        "200 403 403 403 403 200 403 403", "200 403 403 403 403 404 403 403", post="405 403 403 403 403 405 403 403", post_other="405 403 403 403 403 405 403 403"),
    "indicators-api-table":                R("indicator_table",    "200 403 403 403 403 200 403 403", "200 403 403 403 403 404 403 403", post="405 403 403 403 403 405 403 403", post_other="405 403 403 403 403 405 403 403"),
    "indicators-api-map":                  R("departement",        "200 403 403 403 403 200 403 403", "200 403 403 403 403 404 403 403", post="405 403 403 403 403 405 403 403", post_other="405 403 403 403 403 405 403 403"),
    "indicators-api-catalogue":            R("departement",        "200 403 403 403 403 200 403 403", "200 403 403 403 403 200 403 403"),
    "indicator-snapshot-list":             R("departement",        "200 403 403 403 403 200 403 403", "200 403 403 403 403 200 403 403"),
    "indicator-run-list":                  R("departement",        "200 403 403 403 403 200 403 403", "200 403 403 403 403 200 403 403"),
    "indicator-run-detail":                R("snapshot_run",       "200 403 403 403 403 200 403 403", "200 403 403 403 403 404 403 403", post="405 403 403 403 403 405 403 403", post_other="405 403 403 403 403 405 403 403"),
}
# fmt: on

# Pages opened with the donor's private tracking link show the donor their own contact details: whoever
# holds the link is the donor. Nobody is given another donor's link.
PERSONAL_DATA_BY_TOKEN = {"donors:track"}


def _tokens(spec):
    tokens = spec.split()
    assert len(tokens) == len(ROLES), f"{spec!r}: {len(tokens)} outcomes for {len(ROLES)} roles"
    return dict(zip(ROLES, tokens, strict=True))


def _expected(rule, method, side):
    get_spec = rule["get"][0 if side == "own" or rule["get"][1] is None else 1]
    post_spec = rule["post"][0 if side == "own" else 1] or (
        rule["post"][0] if rule["get"][1] is None else None
    )
    if method == "get":
        return _tokens(get_spec)
    if post_spec:
        return _tokens(post_spec)
    return {role: token if token in REFUSALS else "-" for role, token in _tokens(get_spec).items()}


def _cases(method):
    cases = []
    for name, rule in RULES.items():
        for side in ("own", "other") if rule["get"][1] is not None else ("own",):
            for role, token in _expected(rule, method, side).items():
                if method == "get" or token in POST_REFUSALS:
                    cases.append(pytest.param(name, role, side, token, id=f"{name}|{role}|{side}"))
    return cases


# On a POST, "R" is a refusal too when written in a rule: the page sends the user back with a message.
POST_REFUSALS = REFUSALS | {"R"}
ENDPOINTS = {endpoint.name: endpoint for endpoint in endpoints()}


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    """One world for the module, rolled back at its end; each test runs in a savepoint inside it."""
    media = tmp_path_factory.mktemp("media")
    with django_db_blocker.unblock(), override_settings(MEDIA_ROOT=media), transaction.atomic():
        built = build_world()
        yield built
        transaction.set_rollback(True)


@pytest.fixture(scope="module")
def _client():
    """One test client for the module: a new one loads the middleware again, WhiteNoise's scan of the
    static files included, which would cost more than the requests themselves."""
    return Client()


@pytest.fixture
def client(_client):
    """The module's client, signed out (its cookies forgotten)."""
    _client.cookies.clear()
    return _client


@pytest.fixture(autouse=True)
def _media_and_cache(settings):
    """Replaces the suite's fixture: media stay where the world put them; rate limits start afresh."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()


def _values(world, name, side):
    kind = RULES[name]["kind"]
    if not kind:
        return {}
    return world.objects[kind]["a" if side == "own" else "b"]


def test_every_url_has_a_rule():
    missing = sorted(set(ENDPOINTS) - set(RULES))
    assert not missing, (
        "URL patterns without a line in the permission matrix (tests/test_permission_matrix.py, RULES): "
        + ", ".join(missing)
    )
    stale = sorted(set(RULES) - set(ENDPOINTS))
    assert not stale, "Rules for URL names that no longer exist: " + ", ".join(stale)


def test_every_kind_is_in_the_world(world, db):
    for name, rule in RULES.items():
        if rule["kind"]:
            assert set(world.objects.get(rule["kind"], {})) == {"a", "b"}, f"{name}: kind {rule['kind']!r}"
            ENDPOINTS[name].url(world.objects[rule["kind"]]["a"])
        else:
            assert not ENDPOINTS[name].kwargs, f"{name} takes {ENDPOINTS[name].kwargs}: give it a kind"


@pytest.mark.parametrize(("name", "role", "side", "expected"), _cases("get"))
def test_get(world, db, client, name, role, side, expected):
    response = request_as(client, world.users[role], ENDPOINTS[name], _values(world, name, side), "get")
    actual = outcome(response)
    assert matches(expected, actual), f"GET {name} as {role} ({side} object): {actual}, expected {expected}"
    if response.status_code != 200:
        return
    body = body_of(response).decode("utf-8", "replace")
    if role == "departement" and name not in PERSONAL_DATA_BY_TOKEN:
        seen = [value for value in world.personal_values if value in body]
        assert not seen, f"GET {name}: departmental staff see personal data {seen}"
    if role != "coordinator" and side == "own":
        # Lists and pages of one's own organisation show nothing of another organisation's.
        seen = [value for value in world.private_identifiers("b") if value in body]
        assert not seen, f"GET {name} as {role}: another organisation's objects appear {seen}"


@pytest.mark.parametrize(("name", "role", "side", "expected"), _cases("post"))
def test_forbidden_post_changes_nothing(world, db, client, name, role, side, expected):
    before = row_counts()
    response = request_as(client, world.users[role], ENDPOINTS[name], _values(world, name, side), "post")
    actual = outcome(response)
    assert matches(expected, actual), f"POST {name} as {role} ({side} object): {actual}, expected {expected}"
    assert row_counts() == before, f"POST {name} as {role} was refused ({actual}) but changed rows"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path", ["/admin/", "/admin/reemploi/device/", "/admin/auth/user/"])
def test_admin_is_for_staff_only(world, db, client, role, path):
    if world.users[role] is not None:
        client.force_login(world.users[role])
    response = client.get(path, follow=True)
    assert response.redirect_chain, f"{path} as {role}: no redirect"
    assert response.redirect_chain[-1][0].startswith("/compte/connexion/"), response.redirect_chain
