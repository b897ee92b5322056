import threading
from datetime import time, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone

from donors import services
from donors.enums import (
    AccessRequestStatus,
    CollectionStatus,
    Condition,
    DonationStatus,
    DonorKind,
    HandoverMode,
    MessageSide,
    Verdict,
)
from donors.models import Donation, DonationEvent, DonorAccessRequest, ReferenceCounter
from donors.services import DonationTransitionError
from reemploi.enums import DeviceState, OrganisationKind, Provenance, Role
from reemploi.models import Device, Document, Membership, Organisation
from tests.reemploi.factories import OrganisationFactory, UserFactory, member_of

from . import factories
from .factories import line

pytestmark = pytest.mark.django_db


def subjects(mailoutbox):
    return [mail.subject for mail in mailoutbox]


# --- Submission -----------------------------------------------------------------------------------


def test_submission_gets_a_reference_and_emails_the_donor_and_the_coordination(
    mailoutbox, coordinator, coordinator_org, django_capture_on_commit_callbacks
):
    coordinator_org.email = "coordination@example.org"
    coordinator_org.save()
    with django_capture_on_commit_callbacks(execute=True):
        donation = factories.submit(lines=[line("laptop", 3), line("cable", 10)])
    year = timezone.localdate().year
    assert donation.reference == f"DON-{year}-000001"
    assert donation.status == DonationStatus.SUBMITTED
    assert donation.privacy_consent_at is not None
    donor_mail, coordination_mail = mailoutbox
    assert donor_mail.to == ["camille@example.org"]
    assert donation.reference in donor_mail.subject
    assert "/dons/suivi/" in donor_mail.body
    assert "Non collecté" in donor_mail.body and "souris" in donor_mail.body
    assert coordination_mail.to == ["coordination@example.org"]
    assert "à qualifier" in coordination_mail.subject
    assert donation.events.get().to_status == DonationStatus.SUBMITTED


def test_references_are_sequential_per_year():
    first = factories.submit()
    second = factories.submit()
    assert int(second.reference[-6:]) == int(first.reference[-6:]) + 1
    assert services.next_reference(2031) == "DON-2031-000001"
    assert services.next_reference(2031) == "DON-2031-000002"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_references_stay_unique_under_concurrent_submissions():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locks")
    results, errors = [], []
    barrier = threading.Barrier(8)

    def worker():
        try:
            barrier.wait()
            results.append(services.next_reference(2040))
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sorted(results) == [f"DON-2040-{n:06d}" for n in range(1, 9)]
    assert ReferenceCounter.objects.get(year=2040).last == 8


def test_organisation_donor_is_matched_by_siret_or_created():
    existing = OrganisationFactory(kind=OrganisationKind.COMPANY, name="NSI", siret="73282932000074")
    donation = factories.submit()
    assert donation.donor_organisation == existing
    other = factories.submit(organisation_name="Nouvelle SARL", siret="44306184100047")
    assert other.donor_organisation.name == "Nouvelle SARL"
    assert other.donor_organisation.kind == OrganisationKind.COMPANY
    assert Organisation.objects.filter(siret="44306184100047").count() == 1
    again = factories.submit(organisation_name="Nouvelle SARL (siège)", siret="44306184100047")
    assert again.donor_organisation == other.donor_organisation


def test_invalid_siret_is_refused_with_a_french_message():
    with pytest.raises(ValidationError) as error:
        factories.submit(siret="73282932000075")
    assert "siret" in error.value.message_dict
    assert not Donation.objects.exists()


def test_association_may_give_without_siret():
    donation = factories.submit(kind=DonorKind.ASSOCIATION, organisation_name="Familles Rurales")
    assert donation.donor_organisation.kind == OrganisationKind.ASSOCIATION


def test_public_body_must_accept_the_reuse_commitment_and_give_its_stock():
    with pytest.raises(ValidationError) as error:
        factories.submit(kind=DonorKind.PUBLIC_BODY, reuse_commitment=False, retired_stock_count=None)
    assert {"reuse_commitment", "retired_stock_count"} <= set(error.value.message_dict)
    donation = factories.submit(kind=DonorKind.PUBLIC_BODY)
    assert donation.reuse_commitment_at is not None
    assert donation.retired_stock_count == 120
    assert donation.retired_stock_year == timezone.localdate().year


def test_privacy_consent_is_required():
    with pytest.raises(ValidationError) as error:
        factories.submit(privacy_consent=False)
    assert "privacy_consent" in error.value.message_dict


def test_rules_are_applied_again_on_submit_and_stored_with_their_reason():
    donation = factories.submit(
        lines=[
            line("laptop", 2, condition=Condition.BROKEN),
            line("screen", 4, age_years=12),
            line("mouse", 5),
        ]
    )
    broken, old, mice = donation.lines.order_by("position")
    assert (broken.verdict, old.verdict, mice.verdict) == (Verdict.REFUSED, Verdict.DEEE, Verdict.ACCEPTED)
    assert "hors service" in broken.verdict_reason and "DEEE" in old.verdict_reason


def test_a_donation_with_nothing_collectable_is_not_recorded():
    with pytest.raises(ValidationError) as error:
        factories.submit(lines=[line("cable", 20), line("laptop", 1, condition=Condition.BROKEN)])
    assert "lines" in error.value.message_dict
    assert not Donation.objects.exists()


def test_individual_under_the_quantity_cannot_ask_for_a_pickup():
    site = factories.workshop()
    with pytest.raises(ValidationError) as error:
        factories.submit(kind=DonorKind.INDIVIDUAL, lines=[line("laptop", 2)])
    assert "handover_mode" in error.value.message_dict
    donation = factories.submit(
        kind=DonorKind.INDIVIDUAL,
        lines=[line("laptop", 2)],
        handover_mode=HandoverMode.DROP_OFF,
        drop_off_site=site,
    )
    assert donation.donor_organisation is None and donation.drop_off_site == site
    assert donation.provenance == Provenance.CITIZEN


def test_drop_off_needs_a_refurbishers_collection_point():
    relais_site = factories.SiteFactory(
        organisation=OrganisationFactory(relais=True), is_collection_point=True
    )
    with pytest.raises(ValidationError) as error:
        factories.submit(handover_mode=HandoverMode.DROP_OFF, drop_off_site=relais_site)
    assert "drop_off_site" in error.value.message_dict


def test_commune_must_match_the_postal_code():
    elsewhere = factories.commune(postal_code="58200", name="Cosne", insee="58086")
    with pytest.raises(ValidationError) as error:
        factories.submit(commune=elsewhere)
    assert "commune" in error.value.message_dict


def test_inventory_cannot_announce_more_items_than_the_quantity():
    items = [{"serial_number": f"S{i}", "asset_tag": ""} for i in range(3)]
    with pytest.raises(ValidationError):
        factories.submit(lines=[line("laptop", 2, announced_items=items)])


# --- Qualification --------------------------------------------------------------------------------


def test_coordinator_qualifies_line_by_line_and_both_donor_and_workshop_are_told(
    mailoutbox, coordinator, refurbisher_org, django_capture_on_commit_callbacks
):
    refurbisher_org.email = "atelier@example.org"
    refurbisher_org.save()
    donation = factories.submit(lines=[line("laptop", 10), line("screen", 2, age_years=12)])
    laptops, screens = donation.lines.order_by("position")
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.donation_qualify(
            donation=donation,
            actor=coordinator,
            refurbisher=refurbisher_org,
            message="Merci, nous passerons avec un camion.",
            decisions=[
                {"line": laptops, "decision": Verdict.ACCEPTED, "reason": "", "quantity": 8},
                {
                    "line": screens,
                    "decision": Verdict.REFUSED,
                    "reason": "Écrans cathodiques",
                    "quantity": None,
                },
            ],
        )
    donation.refresh_from_db()
    laptops.refresh_from_db()
    screens.refresh_from_db()
    assert donation.status == DonationStatus.QUALIFIED and donation.refurbisher == refurbisher_org
    assert (laptops.decision, laptops.accepted_quantity) == (Verdict.ACCEPTED, 8)
    assert (screens.decision, screens.accepted_quantity, screens.decision_reason) == (
        Verdict.REFUSED,
        0,
        "Écrans cathodiques",
    )
    assert donation.messages.get().side == MessageSide.NETWORK
    to_donor, to_workshop = mailoutbox
    assert to_donor.to == ["camille@example.org"] and "validé" in to_donor.subject
    assert "Écrans cathodiques" in to_donor.body and "nous passerons" in to_donor.body
    assert to_workshop.to == ["atelier@example.org"] and "8 × Ordinateur portable" in to_workshop.body


def test_a_donation_whose_lines_are_all_refused_is_refused(
    mailoutbox, coordinator, django_capture_on_commit_callbacks
):
    donation = factories.submit()
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.donation_qualify(
            donation=donation,
            actor=coordinator,
            decisions=[
                {
                    "line": item,
                    "decision": Verdict.REFUSED,
                    "reason": "Modèles trop anciens",
                    "quantity": None,
                }
                for item in donation.lines.all()
            ],
        )
    donation.refresh_from_db()
    assert donation.status == DonationStatus.REFUSED and donation.refurbisher is None
    assert "pas été retenue" in mailoutbox[0].subject and "Modèles trop anciens" in mailoutbox[0].body


def test_qualification_needs_a_decision_per_line_a_reason_to_refuse_and_a_refurbisher(
    coordinator, refurbisher_org
):
    donation = factories.submit(lines=[line("laptop", 2), line("tablet", 1)])
    laptops, tablets = donation.lines.order_by("position")
    with pytest.raises(ValidationError, match="Décidez de chaque ligne"):
        services.donation_qualify(
            donation=donation,
            actor=coordinator,
            refurbisher=refurbisher_org,
            decisions=[{"line": laptops, "decision": Verdict.ACCEPTED}],
        )
    with pytest.raises(ValidationError, match="motif du refus"):
        services.donation_qualify(
            donation=donation,
            actor=coordinator,
            refurbisher=refurbisher_org,
            decisions=[
                {"line": laptops, "decision": Verdict.ACCEPTED},
                {"line": tablets, "decision": Verdict.REFUSED, "reason": ""},
            ],
        )
    with pytest.raises(ValidationError, match="atelier"):
        services.donation_qualify(
            donation=donation,
            actor=coordinator,
            decisions=[
                {"line": laptops, "decision": Verdict.ACCEPTED},
                {"line": tablets, "decision": Verdict.DEEE},
            ],
        )
    donation.refresh_from_db()
    assert donation.status == DonationStatus.SUBMITTED
    assert not donation.lines.exclude(decision="").exists()


def test_only_the_coordinator_qualifies(refurbisher, refurbisher_org):
    donation = factories.submit()
    with pytest.raises(PermissionDenied):
        services.donation_qualify(
            donation=donation,
            actor=refurbisher,
            refurbisher=refurbisher_org,
            decisions=[{"line": item, "decision": Verdict.ACCEPTED} for item in donation.lines.all()],
        )


def test_qualifying_twice_is_a_transition_error(coordinator, refurbisher_org):
    donation = factories.qualified(coordinator, refurbisher_org)
    with pytest.raises(DonationTransitionError):
        services.donation_qualify(
            donation=donation,
            actor=coordinator,
            refurbisher=refurbisher_org,
            decisions=[{"line": item, "decision": Verdict.ACCEPTED} for item in donation.lines.all()],
        )


def test_announced_inventory_becomes_expected_devices_at_qualification(coordinator, refurbisher_org):
    items = [{"serial_number": "PF1AAA", "asset_tag": "INV-1"}, {"serial_number": "PF1BBB", "asset_tag": ""}]
    donation = factories.qualified(
        coordinator, refurbisher_org, lines=[line("laptop", 3, announced_items=items)]
    )
    devices = Device.objects.filter(donation_line__donation=donation).order_by("serial_number")
    assert [d.serial_number for d in devices] == ["PF1AAA", "PF1BBB"]
    assert {d.state for d in devices} == {DeviceState.EXPECTED}
    assert {d.holder for d in devices} == {refurbisher_org}
    assert {d.provenance for d in devices} == {Provenance.COMPANY}
    assert {d.donor_organisation for d in devices} == {donation.donor_organisation}


# --- Collection -----------------------------------------------------------------------------------


def test_scheduling_a_pickup_asks_the_donor_to_confirm(
    mailoutbox, coordinator, refurbisher_org, django_capture_on_commit_callbacks
):
    donation = factories.qualified(coordinator, refurbisher_org)
    mailoutbox.clear()
    day = timezone.localdate() + timedelta(days=4)
    with django_capture_on_commit_callbacks(execute=True):
        collection = services.donation_schedule(
            donation=donation,
            actor=coordinator,
            planned_date=day,
            slot_start=time(14),
            slot_end=time(16, 30),
            carrier_name="Transports Solidaires 58",
        )
    donation.refresh_from_db()
    assert donation.status == DonationStatus.SCHEDULED
    assert collection.status == CollectionStatus.PROPOSED
    assert (
        "confirmer" in mailoutbox[0].subject
        and "14:00" in mailoutbox[0].body
        and "16:30" in mailoutbox[0].body
    )
    assert "Transports Solidaires 58" in mailoutbox[0].body


def test_scheduling_a_drop_off_gives_the_site_and_the_workshop_marks_it_dropped(
    mailoutbox, coordinator, refurbisher, refurbisher_org, django_capture_on_commit_callbacks
):
    site = factories.workshop(refurbisher_org, name="Atelier de Nevers", address="15 rue des Ateliers")
    donation = factories.qualified(
        coordinator,
        refurbisher_org,
        kind=DonorKind.INDIVIDUAL,
        lines=[line("laptop", 2)],
        handover_mode=HandoverMode.DROP_OFF,
        drop_off_site=site,
        address="3 place Carnot",
        access_notes="2e étage",
    )
    assert (donation.address, donation.access_notes) == ("", "")
    mailoutbox.clear()
    day = timezone.localdate() + timedelta(days=2)
    with django_capture_on_commit_callbacks(execute=True):
        collection = services.donation_schedule(
            donation=donation, actor=refurbisher, planned_date=day, slot_start=time(9), slot_end=time(8)
        )
    assert donation.address == ""  # typed before choosing the drop-off: not kept
    with pytest.raises(ValidationError) as error:
        services.donation_schedule(
            donation=donation,
            actor=refurbisher,
            mode=HandoverMode.PICKUP,
            planned_date=day,
            slot_start=time(9),
            slot_end=time(10),
            carrier=refurbisher_org,
        )
    assert "pas donné d'adresse d'enlèvement" in error.value.message_dict["mode"][0]
    assert (collection.mode, collection.site, collection.slot_start, collection.carrier) == (
        HandoverMode.DROP_OFF,
        site,
        None,
        None,
    )  # a drop-off has no slot nor carrier: what was typed for a pickup is dropped
    to_donor = mailoutbox[0]
    assert to_donor.to == ["camille@example.org"] and "Dépôt de votre don" in to_donor.subject
    assert "Atelier de Nevers" in to_donor.body and "15 rue des Ateliers, 58000 Nevers" in to_donor.body
    assert donation.events.last().note == f"Dépôt le {day:%d/%m/%Y} à Atelier de Nevers."
    services.collection_answer(donation=donation, confirm=True)
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.donation_collect(
            donation=donation, actor=refurbisher, items_count=2, weight_kg=Decimal("4.4")
        )
    assert donation.events.last().title == "Matériel déposé à l'atelier"
    assert "a été déposé" in mailoutbox[0].subject and mailoutbox[0].to == ["camille@example.org"]


def test_schedule_refuses_a_past_date_and_a_reversed_slot(coordinator, refurbisher_org):
    donation = factories.qualified(coordinator, refurbisher_org)
    with pytest.raises(ValidationError) as error:
        services.donation_schedule(
            donation=donation,
            actor=coordinator,
            planned_date=timezone.localdate() - timedelta(days=1),
            slot_start=time(12),
            slot_end=time(9),
            carrier_name="X",
        )
    assert {"planned_date", "slot_end"} <= set(error.value.message_dict)


def test_the_assigned_refurbisher_plans_but_another_one_cannot(coordinator, refurbisher, refurbisher_org):
    donation = factories.qualified(coordinator, refurbisher_org)
    outsider = member_of(OrganisationFactory(refurbisher=True))
    kwargs = {
        "planned_date": timezone.localdate() + timedelta(days=2),
        "slot_start": time(9),
        "slot_end": time(10),
    }
    with pytest.raises(PermissionDenied):
        services.donation_schedule(donation=donation, actor=outsider, carrier_name="X", **kwargs)
    services.donation_schedule(donation=donation, actor=refurbisher, carrier=refurbisher_org, **kwargs)


def test_read_only_member_of_the_workshop_cannot_act(coordinator, refurbisher_org):
    donation = factories.scheduled(coordinator, refurbisher_org)
    reader = member_of(refurbisher_org, role=Role.READ_ONLY)
    with pytest.raises(PermissionDenied):
        services.donation_collect(donation=donation, actor=reader, items_count=3, weight_kg=Decimal("6.6"))


def test_donor_confirms_or_asks_for_another_slot_and_the_network_is_told(
    mailoutbox, coordinator, coordinator_org, refurbisher_org, django_capture_on_commit_callbacks
):
    coordinator_org.email = "coordination@example.org"
    coordinator_org.save()
    donation = factories.scheduled(coordinator, refurbisher_org)
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.collection_answer(donation=donation, confirm=False, note="Plutôt le jeudi matin")
    collection = donation.collection
    collection.refresh_from_db()
    assert collection.status == CollectionStatus.CHANGE_REQUESTED
    assert donation.messages.get().body == "Plutôt le jeudi matin"
    assert "autre créneau" in mailoutbox[0].subject and "jeudi matin" in mailoutbox[0].body
    with pytest.raises(ValidationError):
        services.collection_answer(donation=donation, confirm=False, note="")
    services.collection_answer(donation=donation, confirm=True)
    collection.refresh_from_db()
    assert collection.status == CollectionStatus.CONFIRMED and collection.donor_answered_at


def test_rescheduling_resets_the_donor_answer(coordinator, refurbisher_org):
    donation = factories.scheduled(coordinator, refurbisher_org)
    services.collection_answer(donation=donation, confirm=False, note="Pas dispo")
    services.donation_schedule(
        donation=donation,
        actor=coordinator,
        planned_date=timezone.localdate() + timedelta(days=9),
        slot_start=time(9),
        slot_end=time(11),
        carrier=refurbisher_org,
    )
    donation.collection.refresh_from_db()
    assert donation.collection.status == CollectionStatus.PROPOSED and donation.collection.donor_note == ""
    assert donation.events.filter(title="Collecte replanifiée").exists()


def test_carrier_marks_collected_with_items_and_weight_and_announced_devices_follow(
    mailoutbox, coordinator, refurbisher_org, django_capture_on_commit_callbacks
):
    carrier_org = OrganisationFactory(refurbisher=True, name="Transport")
    carrier = member_of(carrier_org)
    items = [{"serial_number": "PF1AAA", "asset_tag": ""}]
    donation = factories.qualified(
        coordinator, refurbisher_org, lines=[line("laptop", 2, announced_items=items)]
    )
    services.donation_schedule(
        donation=donation,
        actor=coordinator,
        planned_date=timezone.localdate() + timedelta(days=1),
        slot_start=time(9),
        slot_end=time(10),
        carrier=carrier_org,
    )
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.donation_collect(donation=donation, actor=carrier, items_count=2, weight_kg=Decimal("4.40"))
    donation.refresh_from_db()
    assert donation.status == DonationStatus.COLLECTED
    assert donation.collection.items_count == 2 and donation.collection.weight_kg == Decimal("4.40")
    assert Device.objects.get(serial_number="PF1AAA").state == DeviceState.COLLECTED
    assert "collecté" in mailoutbox[0].subject and "4,40 kg" in mailoutbox[0].body


def test_collect_needs_counts(coordinator, refurbisher_org):
    donation = factories.scheduled(coordinator, refurbisher_org)
    with pytest.raises(ValidationError) as error:
        services.donation_collect(donation=donation, actor=coordinator, items_count=0, weight_kg=None)
    assert {"items_count", "weight_kg"} <= set(error.value.message_dict)


def test_collect_before_scheduling_is_a_transition_error(coordinator, refurbisher_org):
    donation = factories.qualified(coordinator, refurbisher_org)
    with pytest.raises(DonationTransitionError):
        services.donation_collect(donation=donation, actor=coordinator, items_count=1, weight_kg=1)


# --- Reception ------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_reception_creates_traced_devices_records_differences_and_issues_the_sheet(
    mailoutbox, coordinator, refurbisher, refurbisher_org
):
    items = [
        {"serial_number": "PF1AAA", "asset_tag": "INV-1"},
        {"serial_number": "PF1BBB", "asset_tag": "INV-2"},
        {"serial_number": "PF1CCC", "asset_tag": "INV-3"},
    ]
    donation = factories.collected(
        coordinator, refurbisher_org, lines=[line("laptop", 3, announced_items=items), line("mouse", 4)]
    )
    laptops, mice = donation.lines.order_by("position")
    site = factories.workshop(refurbisher_org)
    mailoutbox.clear()
    reception = services.donation_receive(
        donation=donation,
        actor=refurbisher,
        site=site,
        weight_kg=Decimal("7.10"),
        lines=[
            {
                "line": laptops,
                "received_quantity": 3,
                "items": [
                    {"serial_number": "pf1aaa", "asset_tag": ""},  # scanned in lower case
                    {
                        "serial_number": "INV-2",
                        "asset_tag": "",
                    },  # only the asset tag was readable, scanned alone
                    {"serial_number": "PF9ZZZ", "asset_tag": ""},  # not announced
                ],
                "note": "",
            },
            {"line": mice, "received_quantity": 3, "items": [], "note": "Une souris manquante"},
        ],
        extra_lines=[
            {"category": factories.category("tablet"), "received_quantity": 1, "items": [], "note": ""}
        ],
    )
    donation.refresh_from_db()
    assert donation.status == DonationStatus.RECEIVED
    devices = Device.objects.filter(donation_line__donation=donation)
    assert devices.filter(state=DeviceState.RECEIVED).count() == 3 + 3 + 1
    announced_a = Device.objects.get(serial_number="PF1AAA")
    assert (
        announced_a.state == DeviceState.RECEIVED and announced_a.events.count() == 3
    )  # expected, collected, received
    assert Device.objects.get(asset_tag="INV-2").state == DeviceState.RECEIVED
    assert Device.objects.get(serial_number="PF1CCC").state == DeviceState.COLLECTED  # never arrived
    new = Device.objects.get(serial_number="PF9ZZZ")
    assert new.provenance == Provenance.COMPANY and new.donor_organisation == donation.donor_organisation
    assert new.donation_line == laptops and new.holder == refurbisher_org
    assert new.events.get().cause == reception

    laptop_line, mouse_line, tablet_line = reception.lines.order_by("line__position")
    assert [i["serial_number"] for i in laptop_line.missing_items] == ["PF1CCC"]
    assert [i["serial_number"] for i in laptop_line.unexpected_items] == ["PF9ZZZ"]
    assert (mouse_line.announced_quantity, mouse_line.received_quantity, mouse_line.difference) == (4, 3, -1)
    assert tablet_line.line.added_at_reception and tablet_line.difference == 1

    sheet = Document.objects.about(reception).get()
    assert sheet.number.startswith("REC-") and sheet.owner == donation.donor_organisation
    subjects_ = subjects(mailoutbox)
    assert any("réceptionné" in subject for subject in subjects_)
    assert any(sheet.number in subject for subject in subjects_)  # the kernel's "document ready" mail
    received_mail = next(mail for mail in mailoutbox if "réceptionné" in mail.subject)
    assert "PF1CCC" in received_mail.body and "PF9ZZZ" in received_mail.body


def test_reception_refuses_duplicate_serials_and_more_serials_than_items(coordinator, refurbisher_org):
    donation = factories.collected(coordinator, refurbisher_org)
    item = donation.lines.get()
    site = factories.workshop(refurbisher_org)
    with pytest.raises(ValidationError, match="deux fois"):
        services.donation_receive(
            donation=donation,
            actor=coordinator,
            site=site,
            lines=[
                {
                    "line": item,
                    "received_quantity": 3,
                    "items": [{"serial_number": "A"}, {"serial_number": "a"}],
                }
            ],
        )
    with pytest.raises(ValidationError, match="numéros saisis"):
        services.donation_receive(
            donation=donation,
            actor=coordinator,
            site=site,
            lines=[
                {
                    "line": item,
                    "received_quantity": 1,
                    "items": [{"serial_number": "A"}, {"serial_number": "B"}],
                }
            ],
        )
    assert not Device.objects.exists()
    donation.refresh_from_db()
    assert donation.status == DonationStatus.COLLECTED


def test_reception_site_must_belong_to_the_assigned_workshop(coordinator, refurbisher_org):
    donation = factories.collected(coordinator, refurbisher_org)
    elsewhere = factories.workshop(OrganisationFactory(refurbisher=True))
    with pytest.raises(ValidationError, match="site"):
        services.donation_receive(
            donation=donation,
            actor=coordinator,
            site=elsewhere,
            lines=[{"line": donation.lines.get(), "received_quantity": 3, "items": []}],
        )


def test_another_workshop_cannot_receive(coordinator, refurbisher_org):
    donation = factories.collected(coordinator, refurbisher_org)
    outsider = member_of(OrganisationFactory(refurbisher=True))
    with pytest.raises(PermissionDenied):
        services.donation_receive(donation=donation, actor=outsider, site=None, lines=[])


def test_individual_donation_reception_creates_citizen_devices_without_mailing_the_sheet(
    coordinator, refurbisher_org, mailoutbox
):
    site = factories.workshop(refurbisher_org)
    donation = factories.received(
        coordinator,
        refurbisher_org,
        site=site,
        kind=DonorKind.INDIVIDUAL,
        lines=[line("laptop", 2)],
        handover_mode=HandoverMode.DROP_OFF,
        drop_off_site=site,
    )
    assert {d.provenance for d in Device.objects.filter(donation_line__donation=donation)} == {
        Provenance.CITIZEN
    }
    sheet = Document.objects.about(donation.reception).get()
    assert sheet.owner is None and sheet.recipient_email == ""


def test_donor_confirms_the_reconciliation_and_missing_devices_are_recorded_lost(
    mailoutbox, coordinator, refurbisher_org, django_capture_on_commit_callbacks
):
    items = [{"serial_number": "PF1AAA", "asset_tag": ""}, {"serial_number": "PF1BBB", "asset_tag": ""}]
    donation = factories.collected(
        coordinator, refurbisher_org, lines=[line("laptop", 2, announced_items=items)]
    )
    services.donation_receive(
        donation=donation,
        actor=coordinator,
        site=factories.workshop(refurbisher_org),
        lines=[
            {"line": donation.lines.get(), "received_quantity": 1, "items": [{"serial_number": "PF1AAA"}]}
        ],
    )
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.reception_confirm(donation=donation, note="Le second est resté chez nous, pardon.")
    donation.refresh_from_db()
    assert donation.status == DonationStatus.CLOSED
    assert donation.reception.donor_confirmed_at is not None
    lost = Device.objects.get(serial_number="PF1BBB")
    assert lost.state == DeviceState.LOST and "rapprochement" in lost.events.last().note
    assert "rapprochement confirmé" in mailoutbox[0].subject


def test_donation_cancelled_by_the_donor_before_collection(
    mailoutbox, coordinator, refurbisher_org, django_capture_on_commit_callbacks
):
    items = [{"serial_number": "PF1AAA", "asset_tag": ""}]
    donation = factories.scheduled(
        coordinator, refurbisher_org, lines=[line("laptop", 1, announced_items=items)]
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.donation_cancel(donation=donation, reason="Matériel revendu", by_donor=True)
    donation.refresh_from_db()
    assert donation.status == DonationStatus.CANCELLED
    assert Device.objects.get(serial_number="PF1AAA").state == DeviceState.LOST
    with pytest.raises(DonationTransitionError):
        services.donation_cancel(donation=donation, reason="encore", by_donor=True)


# --- Messages, accounts ---------------------------------------------------------------------------


def test_messages_notify_the_other_side(
    mailoutbox, coordinator, coordinator_org, refurbisher_org, django_capture_on_commit_callbacks
):
    coordinator_org.email = "coordination@example.org"
    coordinator_org.save()
    donation = factories.submit()
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.message_post(donation=donation, side=MessageSide.DONOR, body="Les écrans ont 8 ans.")
        services.message_post(donation=donation, side=MessageSide.NETWORK, body="Merci !", author=coordinator)
    to_network, to_donor = mailoutbox
    assert to_network.to == ["coordination@example.org"] and "8 ans" in to_network.body
    assert (
        to_donor.to == ["camille@example.org"]
        and "Merci !" in to_donor.body
        and "/dons/suivi/" in to_donor.body
    )
    assert "Coordination" in donation.messages.last().author_name


def test_outsiders_cannot_write_as_the_network():
    donation = factories.submit()
    with pytest.raises(PermissionDenied):
        services.message_post(
            donation=donation,
            side=MessageSide.NETWORK,
            body="?",
            author=member_of(OrganisationFactory(relais=True)),
        )


def test_first_person_to_claim_an_organisation_becomes_its_admin_the_next_ones_ask(
    mailoutbox, django_capture_on_commit_callbacks
):
    donation = factories.submit()
    first = UserFactory()
    assert services.donation_claim(donation=donation, user=first) == "member"
    assert Membership.objects.get(user=first).role == Role.ADMIN
    assert services.donation_claim(donation=donation, user=first) == "already"
    second = UserFactory()
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.donation_claim(donation=donation, user=second) == "requested"
    assert [mail.to for mail in mailoutbox] == [[first.email]]
    assert second.email in mailoutbox[0].body and "Demande d'accès" in mailoutbox[0].subject
    assert not Membership.objects.filter(user=second).exists()
    request = DonorAccessRequest.objects.get(user=second)
    with pytest.raises(PermissionDenied):
        services.access_request_decide(access_request=request, actor=UserFactory(), approve=True)
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.access_request_decide(access_request=request, actor=first, approve=True)
    assert mailoutbox[0].to == [second.email] and "acceptée" in mailoutbox[0].body
    request.refresh_from_db()
    assert request.status == AccessRequestStatus.APPROVED
    assert Membership.objects.get(user=second).role == Role.STAFF


def test_individual_donations_cannot_be_claimed():
    donation = factories.submit(
        kind=DonorKind.INDIVIDUAL,
        lines=[line("laptop", 6)],
    )
    with pytest.raises(ValidationError):
        services.donation_claim(donation=donation, user=UserFactory())


def test_only_the_coordinator_edits_the_rules(coordinator, refurbisher):
    with pytest.raises(PermissionDenied):
        services.acceptance_rules_update(
            actor=refurbisher, policy={"default_max_age_years": 3}, category_rules=[]
        )
    policy = services.acceptance_rules_update(
        actor=coordinator, policy={"default_max_age_years": 8}, category_rules=[]
    )
    assert policy.default_max_age_years == 8 and policy.updated_by == coordinator


def test_donation_history_is_append_only():
    donation = factories.submit()
    event = donation.events.get()
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        DonationEvent.objects.filter(pk=event.pk).update(note="x")
    with pytest.raises(PermissionError):
        DonationEvent.objects.filter(pk=event.pk).delete()


@pytest.mark.postgres
def test_donation_history_is_protected_by_a_trigger_on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL trigger")
    from django.db import DatabaseError, transaction

    donation = factories.submit()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE donors_donationevent SET note = 'x' WHERE donation_id = %s", [donation.pk])


def test_full_transition_table_is_enforced():
    allowed = {(a, b) for a, targets in services.TRANSITIONS.items() for b in targets}
    donation = factories.submit()
    Donation.objects.filter(pk=donation.pk).update(refurbisher=OrganisationFactory(refurbisher=True))
    for from_status in DonationStatus.values:
        for to_status in DonationStatus.values:
            Donation.objects.filter(pk=donation.pk).update(status=from_status)
            if (from_status, to_status) in allowed:
                services._move(donation, to_status, title="test")
            else:
                with pytest.raises(DonationTransitionError):
                    services._move(donation, to_status, title="test")


# --- Retention ------------------------------------------------------------------------------------


def test_nightly_jobs_are_scheduled(settings):
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"donors.tasks.close_unanswered_receptions", "donors.tasks.anonymise_old_donations"} <= tasks
    from donors import tasks as donor_tasks

    assert donor_tasks.close_unanswered_receptions.name == "donors.tasks.close_unanswered_receptions"
    assert donor_tasks.anonymise_old_donations.name == "donors.tasks.anonymise_old_donations"


def test_unanswered_receptions_are_closed_after_the_delay(coordinator, refurbisher_org, settings):
    settings.DONORS_RECONCILIATION_DAYS = 30
    items = [{"serial_number": "PF1AAA", "asset_tag": ""}]
    donation = factories.collected(
        coordinator, refurbisher_org, lines=[line("laptop", 1, announced_items=items)]
    )
    services.donation_receive(
        donation=donation,
        actor=coordinator,
        site=factories.workshop(refurbisher_org),
        lines=[
            {"line": donation.lines.get(), "received_quantity": 1, "items": [{"serial_number": "PF2NEW"}]}
        ],
    )
    assert services.receptions_close_unanswered() == 0
    later = timezone.now() + timedelta(days=31)
    assert services.receptions_close_unanswered(now=later) == 1
    donation.refresh_from_db()
    assert donation.status == DonationStatus.CLOSED and donation.reception.donor_confirmed_at is None
    assert Device.objects.get(serial_number="PF1AAA").state == DeviceState.LOST
    assert services.receptions_close_unanswered(now=later) == 0


def test_personal_data_are_erased_after_the_retention_period(coordinator, refurbisher_org, settings):
    settings.DONORS_RETENTION_YEARS = 3
    donation = factories.received(coordinator, refurbisher_org)
    services.message_post(donation=donation, side=MessageSide.DONOR, body="Je suis Camille, 06 12 34 56 78")
    services.reception_confirm(donation=donation, note="Merci Camille")
    assert services.donations_anonymise() == 0
    later = timezone.now() + timedelta(days=3 * 365 + 1)
    assert services.donations_anonymise(now=later) == 1
    donation.refresh_from_db()
    assert donation.contact_name == services.ANONYMOUS and "camille" not in donation.contact_email
    assert (
        donation.contact_phone == "" and donation.address == services.ERASED and donation.availability == []
    )
    assert not donation.messages.exists()
    assert donation.reception.donor_confirmation_note == ""
    assert donation.commune is not None and donation.lines.count() == 1  # kept for indicators
    assert Device.objects.filter(donation_line__donation=donation).count() == 3
    assert not DonationEvent.objects.filter(donation=donation, note__icontains="camille").exists()
    assert services.donations_anonymise(now=later) == 0


def test_a_siret_known_under_another_kind_asks_the_donor_to_choose_it():
    OrganisationFactory(kind=OrganisationKind.PUBLIC_BODY, name="Mairie de Nevers", siret="21580194500019")
    with pytest.raises(ValidationError) as error:
        factories.submit(kind=DonorKind.COMPANY, siret="21580194500019")
    assert "Mairie de Nevers" in error.value.message_dict["donor_kind"][0]
    assert not Donation.objects.exists()
