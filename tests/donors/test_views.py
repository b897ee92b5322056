import io
import re
from datetime import date, timedelta
from unittest import mock

import pytest
from django.core import signing
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory
from django.urls import reverse
from PIL import Image

from donors import services, views
from donors.enums import CollectionStatus, DonationStatus, DonorKind, HandoverMode, Verdict
from donors.models import Donation, DonationPhoto, DonorAccessRequest
from donors.tokens import tracking_path, tracking_token
from reemploi.enums import DeviceState, OrganisationKind, Role
from reemploi.models import Device, Document, Membership
from tests.reemploi.factories import OrganisationFactory, UserFactory, category, member_of

from . import factories
from .factories import line

pytestmark = pytest.mark.django_db


@pytest.fixture
def nevers():
    factories.commune(postal_code="58000", name="Challuy", insee="58048")
    return factories.commune()


def form_data(**overrides):
    data = {
        "donor_kind": DonorKind.COMPANY,
        "organisation_name": "Imprimerie Morvandelle",
        "siret": "443 061 841 00047",
        "contact_name": "Julie Bernard",
        "contact_email": "julie@example.org",
        "contact_phone": "",
        "postal_code": "58000",
        "commune": "58194",
        "address": "8 rue du Rempart",
        "access_notes": "",
        "handover_mode": HandoverMode.PICKUP,
        "availability": ["tue-am"],
        "availability_note": "",
        "retired_stock_count": "",
        "privacy_consent": "on",
        "website": "",
        "lines-TOTAL_FORMS": "2",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "1",
        "lines-MAX_NUM_FORMS": "30",
        "lines-0-category": category("laptop").pk,
        "lines-0-quantity": "6",
        "lines-0-age_years": "5",
        "lines-0-condition": "works",
        "lines-0-has_charger": "on",
        "lines-0-inventory": "DL1;IM-1\nDL2",
        "lines-1-category": category("screen").pk,
        "lines-1-quantity": "2",
        "lines-1-age_years": "4",
        "lines-1-condition": "broken",
        "action": "submit",
    }
    data.update(overrides)
    return data


def jpeg(size=(64, 48), exif=True):
    image = Image.new("RGB", size, (200, 30, 30))
    buffer = io.BytesIO()
    extra = {}
    if exif:
        data = Image.Exif()
        data[0x010F] = "PhoneMaker"  # Make
        extra["exif"] = data.tobytes()
    image.save(buffer, format="JPEG", **extra)
    return buffer.getvalue()


# --- The public form ------------------------------------------------------------------------------


def test_the_form_is_public_and_states_the_rules(client, nevers):
    response = client.get(reverse("donors:propose"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Ce que le réseau reprend" in page and "Câbles et chargeurs isolés" in page
    assert "Au-delà de 10 ans" in page
    assert 'name="website"' in page  # the honeypot
    assert reverse("donors:privacy") in page


def test_each_help_text_is_announced_with_its_field(client, nevers):
    page = client.get(reverse("donors:propose")).content.decode()
    described = re.findall(r'aria-describedby="([^"]+)"', page)
    assert "id_siret_helptext" in described
    for target in described:
        assert f'id="{target}"' in page, target


def test_a_new_donor_submits_and_lands_on_the_tracking_page(
    client, nevers, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("donors:propose"), form_data())
    donation = Donation.objects.get()
    assert response.status_code == 302 and response["Location"] == tracking_path(donation)
    assert donation.donor_organisation.name == "Imprimerie Morvandelle"
    assert donation.siret == "44306184100047"
    assert donation.commune.insee_code == "58194"
    assert donation.availability == ["tue-am"]
    laptops, screens = donation.lines.order_by("position")
    assert laptops.announced_items == [
        {"serial_number": "DL1", "asset_tag": "IM-1"},
        {"serial_number": "DL2", "asset_tag": ""},
    ]
    assert screens.verdict == Verdict.REFUSED
    assert [mail.to for mail in mailoutbox][0] == ["julie@example.org"]
    page = client.get(response["Location"]).content.decode()
    assert donation.reference in page and "Proposition de don envoyée" in page


def test_a_siret_already_known_under_another_name_is_said_on_arrival(client, nevers):
    known = OrganisationFactory(
        kind=OrganisationKind.COMPANY, name="Nivernaise de Services", siret="44306184100047"
    )
    response = client.post(
        reverse("donors:propose"), form_data(organisation_name="Imprimerie Morvandelle"), follow=True
    )
    assert Donation.objects.get().donor_organisation == known
    assert "enregistré au nom de « Nivernaise de Services »" in response.content.decode()
    response = client.post(
        reverse("donors:propose"), form_data(organisation_name="nivernaise de services"), follow=True
    )
    assert "enregistré au nom de" not in response.content.decode()


def test_nothing_collectable_is_refused_with_the_reasons_and_nothing_saved(client, nevers):
    data = form_data(**{"lines-TOTAL_FORMS": "1", "lines-0-condition": "broken"})
    response = client.post(reverse("donors:propose"), data)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Aucun des équipements proposés ne peut être collecté" in page
    assert "hors service ne sont pas collectés" in page  # the line's verdict is shown without JavaScript
    assert not Donation.objects.exists()


def test_field_errors_are_shown_in_french(client, nevers):
    data = form_data(siret="12345678901234", privacy_consent="", contact_email="pas-un-email")
    response = client.post(reverse("donors:propose"), data)
    page = response.content.decode()
    assert response.status_code == 400
    assert "Saisissez une adresse e-mail valide" in page
    # Every error at once: the SIRET and the consent are not left for a second attempt.
    assert "son SIREN (9 premiers chiffres) est incorrect" in page
    assert "Vous devez accepter la notice de confidentialité" in page
    assert not Donation.objects.exists()
    data = form_data(siret="73282932000075")
    page = client.post(reverse("donors:propose"), data).content.decode()
    assert "clé de contrôle incorrecte" in page


def test_every_error_shows_in_one_round_with_plain_french_limits(client, nevers):
    data = form_data(
        donor_kind=DonorKind.PUBLIC_BODY,
        organisation_name="",
        siret="",
        postal_code="99999",
        **{"lines-0-quantity": "999999", "lines-0-age_years": "200"},
    )
    page = client.post(reverse("donors:propose"), data).content.decode()
    assert "Nous ne connaissons pas ce code postal" in page
    assert "Choisissez la commune qui correspond" not in page  # not asked again for a wrong code
    assert "10 000 équipements au plus par ligne" in page
    assert "Indiquez un âge en années, entre 0 et 60" in page
    assert "Indiquez le nom de l&#x27;organisation" in page
    assert "Indiquez le SIRET de l&#x27;organisation" in page
    assert "engagement de réemploi (décret n° 2023-266)" in page
    assert "Indiquez le nombre d&#x27;équipements réformés" in page
    data = form_data(donor_kind="", **{"lines-0-category": ""})
    page = client.post(reverse("donors:propose"), data).content.decode()
    assert "Indiquez qui donne : entreprise" in page and "Choisissez le type d&#x27;équipement" in page


def test_an_individual_is_told_about_drop_off_only_alongside_other_errors(client, nevers):
    data = form_data(
        donor_kind=DonorKind.INDIVIDUAL,
        organisation_name="",
        siret="",
        contact_email="",
        **{"lines-TOTAL_FORMS": "1", "lines-0-quantity": "2"},
    )
    page = client.post(reverse("donors:propose"), data).content.decode()
    assert "Ce champ est obligatoire" in page  # the email
    assert page.count("Pour moins de 5 équipements") == 2  # the notice, and the error on the mode


def test_several_communes_for_a_postal_code_ask_to_choose(client, nevers):
    response = client.post(reverse("donors:propose"), form_data(commune=""))
    page = response.content.decode()
    assert "Plusieurs communes ont ce code postal" in page
    assert "Challuy" in page and "Nevers" in page


def test_without_javascript_the_donor_checks_verdicts_and_adds_lines(client, nevers):
    checked = client.post(reverse("donors:propose"), form_data(action="check"))
    page = checked.content.decode()
    assert checked.status_code == 200 and "Accepté pour le réemploi" in page and "Non collecté" in page
    added = client.post(reverse("donors:propose"), form_data(action="add_line"))
    assert 'name="lines-2-category"' in added.content.decode()
    assert not Donation.objects.exists()


def test_live_verdicts_for_each_line_as_the_donor_types(client):
    params = {
        "donor_kind": "individual",
        "lines-TOTAL_FORMS": "3",
        "lines-0-category": category("laptop").pk,
        "lines-0-quantity": "2",
        "lines-0-age_years": "12",
        "lines-1-category": category("cable").pk,
        "lines-1-quantity": "4",
        "lines-2-quantity": "1",
    }
    response = client.get(reverse("donors:evaluate"), params)
    page = response.content.decode()
    assert response.status_code == 200
    assert (
        'id="verdict-0"' in page
        and "recyclage (DEEE)" in page
        and "12" not in page.split("verdict-1")[0][-5:]
    )
    assert 'id="verdict-1"' in page and "souris" in page
    assert 'id="verdict-2"' in page  # incomplete: an empty verdict, swapped in all the same
    assert "5 à 6 %" in page and "Dépôt uniquement" in page
    assert page.count('hx-swap-oob="true"') == 4


def test_communes_and_new_lines_come_by_htmx(client, nevers):
    communes = client.get(reverse("donors:communes"), {"postal_code": "58000"}).content.decode()
    assert "Challuy" in communes and 'id="commune-field"' in communes
    added = client.get(reverse("donors:propose_line"), {"lines-TOTAL_FORMS": "2"}).content.decode()
    assert 'name="lines-2-category"' in added and 'value="3"' in added and "hx-swap-oob" in added


def test_an_individual_under_the_quantity_is_offered_drop_off_only(client, nevers):
    site = factories.workshop()
    data = form_data(
        donor_kind=DonorKind.INDIVIDUAL,
        organisation_name="",
        siret="",
        **{"lines-TOTAL_FORMS": "1", "lines-0-quantity": "2"},
    )
    response = client.post(reverse("donors:propose"), data)
    assert response.status_code == 400 and "Pour moins de 5 équipements" in response.content.decode()
    data.update(handover_mode=HandoverMode.DROP_OFF, drop_off_site=site.pk)
    response = client.post(reverse("donors:propose"), data)
    assert response.status_code == 302
    donation = Donation.objects.get()
    assert donation.donor_kind == DonorKind.INDIVIDUAL and donation.drop_off_site == site


def test_a_public_body_gives_its_commitment_and_stock(client, nevers):
    data = form_data(donor_kind=DonorKind.PUBLIC_BODY, siret="21580194500019")
    page = client.post(reverse("donors:propose"), data).content.decode()
    assert "décret n° 2023-266" in page and "stock au 1er janvier" in page
    data.update(reuse_commitment="on", retired_stock_count="140")
    assert client.post(reverse("donors:propose"), data).status_code == 302
    assert Donation.objects.get().retired_stock_count == 140


def test_photos_are_checked_and_re_encoded_without_their_metadata(client, nevers):
    data = form_data(photos=[SimpleUploadedFile("salle.jpg", jpeg(), content_type="image/jpeg")])
    assert client.post(reverse("donors:propose"), data).status_code == 302
    photo = DonationPhoto.objects.get()
    assert photo.content_type == "image/jpeg" and (photo.width, photo.height) == (64, 48)
    with photo.file.open("rb") as handle, Image.open(handle) as stored:
        assert not stored.getexif()


def test_a_file_that_is_not_an_image_is_refused(client, nevers):
    fake = SimpleUploadedFile("photo.jpg", b"%PDF-1.4 not an image", content_type="image/jpeg")
    response = client.post(reverse("donors:propose"), form_data(photos=[fake]))
    assert response.status_code == 400 and "JPEG, PNG ou WebP uniquement" in response.content.decode()
    script = SimpleUploadedFile("photo.svg", b"<svg onload=alert(1)>", content_type="image/svg+xml")
    response = client.post(reverse("donors:propose"), form_data(photos=[script]))
    assert response.status_code == 400
    assert not Donation.objects.exists()


def test_too_large_or_too_many_photos_are_refused(client, nevers, settings):
    settings.DONORS_PHOTO_MAX_SIZE = 1000
    big = SimpleUploadedFile("big.jpg", jpeg((400, 400)) + b"\0" * 2000, content_type="image/jpeg")
    response = client.post(reverse("donors:propose"), form_data(photos=[big]))
    assert response.status_code == 400 and "trop lourde" in response.content.decode()
    settings.DONORS_PHOTO_MAX_SIZE = 5_000_000
    settings.DONORS_PHOTO_MAX_COUNT = 2
    photos = [SimpleUploadedFile(f"p{i}.jpg", jpeg(), content_type="image/jpeg") for i in range(3)]
    response = client.post(reverse("donors:propose"), form_data(photos=photos))
    assert response.status_code == 400 and "2 photos au plus" in response.content.decode()
    assert not Donation.objects.exists()


# --- Abuse ----------------------------------------------------------------------------------------


def test_the_form_is_rate_limited_per_client_address(client, nevers, settings):
    settings.DONORS_FORM_RATE_LIMIT = 2
    for _ in range(2):
        assert client.post(reverse("donors:propose"), form_data()).status_code == 302
    blocked = client.post(reverse("donors:propose"), form_data())
    assert blocked.status_code == 429 and "Trop d'envois" in blocked.content.decode()
    assert Donation.objects.count() == 2
    other = client.post(reverse("donors:propose"), form_data(), REMOTE_ADDR="192.0.2.9")
    assert other.status_code == 302  # another address has its own allowance


def test_the_honeypot_records_nothing(client, nevers, mailoutbox):
    response = client.post(reverse("donors:propose"), form_data(website="http://spam.example"))
    assert response.status_code == 400
    assert not Donation.objects.exists() and not mailoutbox


class Unreadable(io.RawIOBase):
    def read(self, *args):
        raise AssertionError("the body must not be read")

    readinto = read


def test_an_oversized_body_is_refused_before_it_is_read(settings):
    settings.MAX_UPLOAD_SIZE = 1024 * 1024
    request = RequestFactory().generic(
        "POST",
        reverse("donors:propose"),
        content_type="multipart/form-data; boundary=xyz",
    )
    request.META["CONTENT_LENGTH"] = str(settings.MAX_UPLOAD_SIZE + 1)
    request.META["wsgi.input"] = Unreadable()
    request._stream = Unreadable()
    request.user = mock.Mock(is_authenticated=False)
    response = views.propose(request)
    assert response.status_code == 413
    assert "trop volumineux" in response.content.decode()


def test_an_oversized_upload_through_the_whole_stack_is_refused(client, settings, nevers):
    settings.MAX_UPLOAD_SIZE = 2000
    photo = SimpleUploadedFile("big.jpg", b"\xff" * 5000, content_type="image/jpeg")
    response = client.post(reverse("donors:propose"), form_data(photos=[photo]))
    assert response.status_code == 413
    assert not Donation.objects.exists()


def test_csrf_is_still_checked_on_the_form(nevers):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert strict.post(reverse("donors:propose"), form_data()).status_code == 403
    assert not Donation.objects.exists()


# --- The tracking link ----------------------------------------------------------------------------


def test_a_wrong_or_tampered_token_is_a_404(client):
    donation = factories.submit()
    token = tracking_token(donation)
    assert client.get(reverse("donors:track", args=[token])).status_code == 200
    assert client.get(reverse("donors:track", args=[token[:-2] + "xx"])).status_code == 404
    assert client.get(reverse("donors:track", args=["n-importe-quoi"])).status_code == 404
    unsalted = signing.dumps(str(donation.uuid))
    assert client.get(reverse("donors:track", args=[unsalted])).status_code == 404


def test_an_expired_token_is_a_404(client, settings):
    settings.DONORS_TRACKING_MAX_AGE_DAYS = 30
    donation = factories.submit()
    token = tracking_token(donation)
    import time

    later = time.time() + 31 * 86400
    with mock.patch("django.core.signing.time.time", return_value=later):
        assert client.get(reverse("donors:track", args=[token])).status_code == 404
    assert client.get(reverse("donors:track", args=[token])).status_code == 200


def test_a_token_opens_only_its_own_donation_and_documents(client, coordinator, refurbisher_org):
    mine = factories.received(coordinator, refurbisher_org)
    theirs = factories.received(coordinator, refurbisher_org, contact_email="autre@example.org")
    their_sheet = Document.objects.create(
        kind="reception_sheet", title="x", subject=theirs.reception, status="pending"
    )
    token = tracking_token(mine)
    page = client.get(reverse("donors:track", args=[token])).content.decode()
    assert mine.reference in page and theirs.reference not in page
    assert client.get(reverse("donors:track_document", args=[token, their_sheet.uuid])).status_code == 404


def test_the_donor_answers_the_slot_writes_and_confirms_from_the_link(
    client, coordinator, refurbisher_org, mailoutbox, django_capture_on_commit_callbacks
):
    donation = factories.scheduled(coordinator, refurbisher_org)
    token = tracking_token(donation)
    page = client.get(reverse("donors:track", args=[token])).content.decode()
    assert "Je confirme ce créneau" in page
    client.post(reverse("donors:track_slot", args=[token]), {"answer": "confirm"})
    donation.collection.refresh_from_db()
    assert donation.collection.status == CollectionStatus.CONFIRMED
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("donors:track_message", args=[token]), {"body": "Le code est 1234B."})
    assert donation.messages.get().body == "Le code est 1234B."
    assert len(mailoutbox) == 1


def test_the_tracking_page_recalls_the_chosen_handover_until_it_is_planned(
    client, coordinator, refurbisher_org
):
    site = factories.workshop(refurbisher_org, address="15 rue des Ateliers")
    donation = factories.submit(
        kind=DonorKind.INDIVIDUAL, handover_mode=HandoverMode.DROP_OFF, drop_off_site=site, address=""
    )
    page = client.get(tracking_path(donation)).content.decode()
    assert "Remise du matériel" in page and "15 rue des Ateliers" in page
    assert "Lundi matin" in page and "proposera une date de dépôt" in page
    scheduled = factories.scheduled(coordinator, refurbisher_org)
    page = client.get(tracking_path(scheduled)).content.decode()
    assert "Remise du matériel" not in page  # the planned collection says it now


def test_the_donor_sees_the_differences_before_confirming(client, coordinator, refurbisher_org):
    items = [{"serial_number": "PF1AAA", "asset_tag": ""}, {"serial_number": "PF1BBB", "asset_tag": ""}]
    donation = factories.collected(
        coordinator, refurbisher_org, lines=[line("laptop", 2, announced_items=items)]
    )
    services.donation_receive(
        donation=donation,
        actor=coordinator,
        site=factories.workshop(refurbisher_org),
        lines=[
            {
                "line": donation.lines.get(),
                "received_quantity": 1,
                "items": [{"serial_number": "PF1AAA"}],
                "note": "Un carton manquait.",
            }
        ],
    )
    page = client.get(tracking_path(donation)).content.decode()
    assert "des écarts ont été constatés" in page and "Je confirme le rapprochement" in page
    reception_part = page.split('id="reception-title"')[1]
    assert "Annoncés, non reçus" in reception_part and "PF1BBB" in reception_part
    assert '<span class="diff-minus">-1</span>' in reception_part and "Un carton manquait." in reception_part


def test_the_donor_downloads_the_sheet_and_confirms_the_reconciliation(client, coordinator, refurbisher_org):
    donation = factories.received(coordinator, refurbisher_org)
    sheet = Document.objects.create(
        kind="reception_sheet",
        title="Fiche",
        subject=donation.reception,
        status="issued",
        number="REC-2026-999999",
        sha256="0" * 64,
        file=SimpleUploadedFile("REC.pdf", b"%PDF-1.4 sheet"),
    )
    token = tracking_token(donation)
    page = client.get(reverse("donors:track", args=[token])).content.decode()
    assert "Je confirme le rapprochement" in page and "REC-2026-999999" in page
    download = client.get(reverse("donors:track_document", args=[token, sheet.uuid]))
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"%PDF-1.4 sheet"
    client.post(reverse("donors:track_reconcile", args=[token]), {"note": "Le 3e est resté chez nous."})
    donation.refresh_from_db()
    assert donation.status == DonationStatus.CLOSED
    page = client.get(reverse("donors:track", args=[token])).content.decode()
    assert "Votre commentaire" in page and "Le 3e est resté chez nous." in page
    client.force_login(coordinator)
    page = client.get(reverse("donors:detail", args=[donation.uuid])).content.decode()
    assert "Commentaire du donateur" in page and "Le 3e est resté chez nous." in page


def test_an_organisation_donor_creates_an_account_from_the_link(client):
    donation = factories.submit()
    token = tracking_token(donation)
    response = client.post(
        reverse("donors:track_account", args=[token]),
        {
            "username": "julie",
            "first_name": "Julie",
            "last_name": "Bernard",
            "password1": "un-mot-de-passe-solide-2026",
            "password2": "un-mot-de-passe-solide-2026",
        },
    )
    assert response.status_code == 302 and response["Location"] == reverse("donors:space")
    membership = Membership.objects.get(user__username="julie")
    assert membership.organisation == donation.donor_organisation and membership.role == Role.ADMIN
    assert membership.user.email == "camille@example.org"
    space = client.get(reverse("donors:space")).content.decode()
    assert donation.reference in space


def test_a_second_person_must_be_accepted_by_the_organisations_admin(client):
    donation = factories.submit()
    admin = factories.donor_member(donation, role=Role.ADMIN)
    newcomer = UserFactory()
    client.force_login(newcomer)
    client.post(reverse("donors:track_account", args=[tracking_token(donation)]))
    request = DonorAccessRequest.objects.get()
    assert not Membership.objects.filter(user=newcomer).exists()
    assert client.get(reverse("donors:space")).status_code == 200
    assert donation.reference not in client.get(reverse("donors:space")).content.decode()
    client.force_login(admin)
    assert newcomer.email in client.get(reverse("donors:space")).content.decode()
    client.post(reverse("donors:access_decide", args=[request.pk]), {"decision": "approve"})
    assert Membership.objects.filter(user=newcomer, organisation=donation.donor_organisation).exists()


def test_individuals_have_no_account_page(client):
    donation = factories.submit(kind=DonorKind.INDIVIDUAL, lines=[line("laptop", 6)])
    assert client.get(reverse("donors:track_account", args=[tracking_token(donation)])).status_code == 404


def test_the_resend_form_never_says_whether_an_address_is_known(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    donation = factories.submit()
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        known = client.post(reverse("donors:resend_link"), {"email": "CAMILLE@example.org"}, follow=True)
    unknown = client.post(reverse("donors:resend_link"), {"email": "personne@example.org"}, follow=True)
    assert known.content.decode().count("Si des dons") == unknown.content.decode().count("Si des dons") == 1
    assert len(mailoutbox) == 1 and donation.reference in mailoutbox[0].body
    assert "/dons/suivi/" in mailoutbox[0].body


# --- The donor's space ----------------------------------------------------------------------------


def test_a_donor_never_sees_another_donors_donation(client):
    mine = factories.submit()
    theirs = factories.submit(
        organisation_name="Autre SA", siret="73282932000074", contact_email="x@example.org"
    )
    other = factories.submit(organisation_name="Tiers SARL", siret="44306184100047")
    assert mine.donor_organisation == theirs.donor_organisation  # same SIRET, same organisation
    member = factories.donor_member(other)
    client.force_login(member)
    page = client.get(reverse("donors:space")).content.decode()
    assert other.reference in page and mine.reference not in page
    assert client.get(reverse("donors:detail", args=[mine.uuid])).status_code == 404
    assert client.get(reverse("donors:detail", args=[other.uuid])).status_code == 200


def test_the_space_shows_devices_and_documents_as_they_arrive(client, coordinator, refurbisher_org):
    donation = factories.received(coordinator, refurbisher_org)
    member = factories.donor_member(donation)
    client.force_login(member)
    page = client.get(reverse("donors:detail", args=[donation.uuid])).content.decode()
    device = Device.objects.filter(donation_line__donation=donation).first()
    assert device.public_id in page and "Appareils tracés (3)" in page
    assert client.get(reverse("device_detail", args=[device.uuid])).status_code == 200


def test_public_body_sees_its_yearly_reuse_ratio(client, coordinator, refurbisher_org):
    """A = items received this year and reused since (as the indicator and the attestation count
    them), B = the retired stock declared with the donation."""
    from reemploi.enums import DeviceState
    from reemploi.models import Device

    donation = factories.received(coordinator, refurbisher_org, kind=DonorKind.PUBLIC_BODY)
    client.force_login(factories.donor_member(donation))
    page = client.get(reverse("donors:space")).content.decode()
    assert (
        "Décret n° 2023-266" in page and "0 équipement orienté vers le réemploi et réemployé pour 120" in page
    )
    sold, given = Device.objects.filter(donation_line__donation=donation)[:2]
    Device.objects.filter(pk=sold.pk).update(state=DeviceState.SOLD)
    Device.objects.filter(pk=given.pk).update(state=DeviceState.GIVEN)
    page = client.get(reverse("donors:space")).content.decode()
    assert "2 équipements orientés vers le réemploi et réemployés pour 120" in page
    assert "1,7 %" in page or "1.7 %" in page
    assert "Attestation de réemploi (décret n° 2023-266)" in page


# --- The network's screens ------------------------------------------------------------------------


def test_the_coordinator_queue_filters(client, coordinator):
    company = factories.submit()
    citizen = factories.submit(
        kind=DonorKind.INDIVIDUAL, lines=[line("laptop", 6)], contact_name="Sylvie Renard"
    )
    client.force_login(coordinator)
    page = client.get(reverse("donors:queue")).content.decode()
    assert company.reference in page and citizen.reference in page
    page = client.get(reverse("donors:queue"), {"donor_kind": "individual", "status": ""}).content.decode()
    assert citizen.reference in page and company.reference not in page
    page = client.get(reverse("donors:queue"), {"q": "Renard", "status": ""}).content.decode()
    assert citizen.reference in page and company.reference not in page


def test_the_queue_is_for_the_coordinator_only(client, refurbisher):
    client.force_login(refurbisher)
    assert client.get(reverse("donors:queue")).status_code == 403


def test_queue_query_count_does_not_grow_with_donations(client, coordinator, django_assert_max_num_queries):
    factories.submit()
    client.force_login(coordinator)
    client.get(reverse("donors:queue"))
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(reverse("donors:queue"))
    for _ in range(8):
        factories.submit()
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("donors:queue"))
    assert len(many) == len(few)


def test_coordinator_qualifies_from_the_screen(
    client, coordinator, refurbisher_org, mailoutbox, django_capture_on_commit_callbacks
):
    donation = factories.submit(lines=[line("laptop", 5), line("cable", 3)])
    laptops, cables = donation.lines.order_by("position")
    client.force_login(coordinator)
    page = client.get(reverse("donors:qualify", args=[donation.uuid])).content.decode()
    assert "souris" in page  # the rules' reason for cables, proposed
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("donors:qualify", args=[donation.uuid]),
            {
                f"line-{laptops.pk}-decision": "accepted",
                f"line-{laptops.pk}-quantity": "4",
                f"line-{laptops.pk}-reason": "",
                f"line-{cables.pk}-decision": "refused",
                f"line-{cables.pk}-quantity": "0",
                f"line-{cables.pk}-reason": cables.verdict_reason,
                "refurbisher": refurbisher_org.pk,
                "message": "",
            },
        )
    assert response.status_code == 302
    donation.refresh_from_db()
    assert donation.status == DonationStatus.QUALIFIED
    assert donation.lines.get(pk=laptops.pk).accepted_quantity == 4
    assert any("validé" in mail.subject for mail in mailoutbox)


def test_qualify_without_refurbisher_shows_the_error(client, coordinator):
    donation = factories.submit()
    item = donation.lines.get()
    client.force_login(coordinator)
    response = client.post(
        reverse("donors:qualify", args=[donation.uuid]),
        {f"line-{item.pk}-decision": "accepted", f"line-{item.pk}-quantity": "3", "refurbisher": ""},
    )
    assert response.status_code == 200 and "Choisissez l&#x27;atelier" in response.content.decode()


def test_refurbishers_cannot_qualify_and_outsiders_get_404(client, refurbisher):
    donation = factories.submit()
    client.force_login(refurbisher)
    assert client.get(reverse("donors:detail", args=[donation.uuid])).status_code == 404
    assert client.get(reverse("donors:qualify", args=[donation.uuid])).status_code == 404


def test_the_workshop_schedules_collects_and_receives_from_its_screens(
    client, coordinator, refurbisher, refurbisher_org, mailoutbox
):
    items = [{"serial_number": "PF1AAA", "asset_tag": "INV-1"}]
    donation = factories.qualified(
        coordinator, refurbisher_org, lines=[line("laptop", 2, announced_items=items)]
    )
    site = factories.workshop(refurbisher_org)
    client.force_login(refurbisher)
    receptions = client.get(reverse("donors:receptions")).content.decode()
    assert donation.reference in receptions
    response = client.post(
        reverse("donors:schedule", args=[donation.uuid]),
        {
            "mode": "pickup",
            "planned_date": (date.today() + timedelta(days=2)).isoformat(),
            "slot_start": "09:00",
            "slot_end": "11:00",
            "carrier": refurbisher_org.pk,
        },
    )
    assert response.status_code == 302
    response = client.post(
        reverse("donors:collect", args=[donation.uuid]), {"items_count": "2", "weight_kg": "4,4"}
    )
    assert response.status_code == 302
    item = donation.lines.get()
    page = client.get(reverse("donors:receive", args=[donation.uuid])).content.decode()
    assert "PF1AAA" in page  # the announced serials are listed for the count
    response = client.post(
        reverse("donors:receive", args=[donation.uuid]),
        {
            f"rline-{item.pk}-received_quantity": "2",
            f"rline-{item.pk}-items": "INV-1\nPF7NEW",
            f"rline-{item.pk}-note": "",
            "extra-TOTAL_FORMS": "2",
            "extra-INITIAL_FORMS": "0",
            "extra-MIN_NUM_FORMS": "0",
            "extra-MAX_NUM_FORMS": "20",
            "site": site.pk,
            "weight_kg": "4,5",
            "note": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    donation.refresh_from_db()
    assert donation.status == DonationStatus.RECEIVED
    assert Device.objects.get(serial_number="PF1AAA").state == DeviceState.RECEIVED
    assert Device.objects.get(serial_number="PF7NEW").donation_line == item
    detail = client.get(reverse("donors:detail", args=[donation.uuid])).content.decode()
    assert "PF7NEW" in detail and "Réceptionné" in detail


def test_reception_form_errors_are_shown(client, coordinator, refurbisher, refurbisher_org):
    donation = factories.collected(coordinator, refurbisher_org)
    item = donation.lines.get()
    site = factories.workshop(refurbisher_org)
    client.force_login(refurbisher)
    response = client.post(
        reverse("donors:receive", args=[donation.uuid]),
        {
            f"rline-{item.pk}-received_quantity": "1",
            f"rline-{item.pk}-items": "A\nB",
            "extra-TOTAL_FORMS": "0",
            "extra-INITIAL_FORMS": "0",
            "site": site.pk,
        },
    )
    assert response.status_code == 200 and "numéros saisis pour 1" in response.content.decode()
    assert not Device.objects.exists()


def test_read_only_workshop_member_sees_but_cannot_act(client, coordinator, refurbisher_org):
    donation = factories.scheduled(coordinator, refurbisher_org)
    reader = member_of(refurbisher_org, role=Role.READ_ONLY)
    client.force_login(reader)
    page = client.get(reverse("donors:detail", args=[donation.uuid])).content.decode()
    assert donation.reference in page and "Marquer comme collecté" not in page
    assert client.get(reverse("donors:collect", args=[donation.uuid])).status_code == 403
    response = client.post(
        reverse("donors:collect", args=[donation.uuid]), {"items_count": "3", "weight_kg": "6"}
    )
    assert response.status_code == 403


def test_the_network_writes_to_the_donor(client, coordinator, mailoutbox, django_capture_on_commit_callbacks):
    donation = factories.submit()
    client.force_login(coordinator)
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("donors:message", args=[donation.uuid]), {"body": "Quel âge ont les écrans ?"})
    assert mailoutbox[0].to == ["camille@example.org"] and "Quel âge" in mailoutbox[0].body


def test_the_coordinator_edits_the_rules_and_the_form_follows(client, coordinator):
    client.force_login(coordinator)
    page = client.get(reverse("donors:rules")).content.decode()
    assert "Câbles et chargeurs isolés" in page
    data = {
        "default_max_age_years": "6",
        "too_old_reason": "Plus de {age} ans : recyclage.",
        "broken_reason": "Hors service : non collecté.",
        "not_collected_reason": "Non collecté.",
        "citizen_notice": "Souvent trop ancien.",
        "citizen_pickup_min_quantity": "3",
        "citizen_drop_off_reason": "Dépôt seulement sous {quantite}.",
    }
    from reemploi.models import EquipmentCategory

    for item in EquipmentCategory.objects.all():
        data[f"cat-{item.code}-collected"] = "on" if item.code != "printer" else ""
        data[f"cat-{item.code}-reason"] = "Plus d'imprimantes, merci." if item.code == "printer" else ""
    assert client.post(reverse("donors:rules"), data).status_code == 302
    verdicts = client.get(
        reverse("donors:evaluate"),
        {
            "donor_kind": "company",
            "lines-TOTAL_FORMS": "3",
            "lines-0-category": category("laptop").pk,
            "lines-0-age_years": "7",
            "lines-1-category": category("printer").pk,
            "lines-2-category": category("cable").pk,
        },
    ).content.decode()
    assert "Plus de 6 ans : recyclage." in verdicts
    assert "Plus d&#x27;imprimantes, merci." in verdicts
    assert verdicts.count("Accepté pour le réemploi") == 1  # cables are collected now


def test_only_the_coordinator_sees_the_rules_screen(client, refurbisher):
    client.force_login(refurbisher)
    assert client.get(reverse("donors:rules")).status_code == 403


def test_home_panel_and_menu_entries(client, coordinator):
    factories.submit()
    client.force_login(coordinator)
    page = client.get(reverse("home")).content.decode()
    assert "1 don</strong> à qualifier" in page
    assert reverse("donors:queue") in page and "Dons à qualifier" in page


def test_donor_menu_shows_my_donations(client):
    donation = factories.submit()
    client.force_login(factories.donor_member(donation))
    page = client.get(reverse("home")).content.decode()
    assert "Mes dons" in page and "Dons à qualifier" not in page


def test_device_page_links_to_its_donation(client, coordinator, refurbisher, refurbisher_org):
    donation = factories.received(coordinator, refurbisher_org)
    device = Device.objects.filter(donation_line__donation=donation).first()
    client.force_login(refurbisher)
    page = client.get(reverse("device_detail", args=[device.uuid])).content.decode()
    assert "Don d'origine" in page and donation.reference in page


def test_photos_are_served_to_the_network_only(client, coordinator, nevers):
    client.post(
        reverse("donors:propose"),
        form_data(photos=[SimpleUploadedFile("a.png", _png(), content_type="image/png")]),
    )
    donation = Donation.objects.get()
    photo = donation.photos.get()
    url = reverse("donors:photo", args=[donation.uuid, photo.uuid])
    client.force_login(coordinator)
    assert client.get(url).status_code == 200
    client.force_login(member_of(OrganisationFactory(kind=OrganisationKind.COMPANY)))
    assert client.get(url).status_code == 404


def _png():
    buffer = io.BytesIO()
    Image.new("RGBA", (10, 10), (0, 0, 255, 128)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_privacy_notice_says_what_is_kept_and_for_how_long(client):
    page = client.get(reverse("donors:privacy")).content.decode()
    assert "3 ans après sa clôture" in page and "10 ans" in page and "730 jours" in page


def test_the_breadcrumb_leads_each_role_back_to_its_list(client, coordinator, refurbisher, refurbisher_org):
    donation = factories.qualified(coordinator, refurbisher_org)
    for user, target in (
        (coordinator, reverse("donors:queue")),
        (refurbisher, reverse("donors:receptions")),
        (factories.donor_member(donation), reverse("donors:space")),
    ):
        client.force_login(user)
        page = client.get(reverse("donors:detail", args=[donation.uuid])).content.decode()
        assert f'<p class="breadcrumb"><a href="{target}' in page


def test_donor_messages_are_rate_limited_too(client, settings):
    settings.DONORS_FORM_RATE_LIMIT = 2
    donation = factories.submit()
    url = reverse("donors:track_message", args=[tracking_token(donation)])
    codes = [client.post(url, {"body": f"Message {n}"}).status_code for n in range(3)]
    assert codes == [302, 302, 429] and donation.messages.count() == 2
