import pytest
from django.urls import reverse

from reemploi.enums import DeviceState, OrganisationKind
from reemploi.lifecycle import device_transition

from .factories import DeviceFactory, OrganisationFactory, member_of


@pytest.mark.django_db
def test_pages_need_a_login(client):
    response = client.get(reverse("device_list"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


@pytest.mark.django_db
def test_public_pages_are_public(client):
    assert client.get(reverse("login")).status_code == 200
    assert client.get(reverse("privacy")).status_code == 200
    assert client.get(reverse("password_reset")).status_code == 200


@pytest.mark.django_db
def test_device_list_shows_only_own_organisation_devices(
    client, refurbisher, refurbisher_org, django_assert_max_num_queries
):
    mine = DeviceFactory(holder=refurbisher_org, serial_number="MINE-001")
    theirs = DeviceFactory(serial_number="THEIRS-001")
    client.force_login(refurbisher)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("device_list"))
    assert response.status_code == 200
    assert mine.serial_number in response.content.decode()
    assert theirs.serial_number not in response.content.decode()


@pytest.mark.django_db
def test_device_list_query_count_does_not_grow_with_devices(
    client, refurbisher, refurbisher_org, django_assert_num_queries
):
    DeviceFactory.create_batch(3, holder=refurbisher_org)
    client.force_login(refurbisher)
    client.get(reverse("device_list"))  # warm the session
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(reverse("device_list"))
    DeviceFactory.create_batch(30, holder=refurbisher_org)
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("device_list"))
    assert len(many) == len(few)


@pytest.mark.django_db
def test_another_organisations_device_is_a_404(client, refurbisher):
    theirs = DeviceFactory()
    client.force_login(refurbisher)
    assert client.get(reverse("device_detail", args=[theirs.uuid])).status_code == 404
    assert (
        client.post(reverse("device_transition", args=[theirs.uuid]), {"to_state": "audited"}).status_code
        == 404
    )


@pytest.mark.django_db
def test_device_page_shows_timeline(client, refurbisher, refurbisher_org):
    device = DeviceFactory(holder=refurbisher_org, state=DeviceState.RECEIVED)
    device_transition(device=device, to_state=DeviceState.AUDITED, actor=refurbisher, note="Tests OK")
    client.force_login(refurbisher)
    page = client.get(reverse("device_detail", args=[device.uuid])).content.decode()
    assert "Historique" in page
    assert "Tests OK" in page
    assert "Diagnostiqué" in page


@pytest.mark.django_db
def test_transition_form_moves_device_and_reports_errors(client, refurbisher, refurbisher_org):
    device = DeviceFactory(holder=refurbisher_org, state=DeviceState.RECEIVED)
    client.force_login(refurbisher)
    response = client.post(
        reverse("device_transition", args=[device.uuid]), {"to_state": "audited"}, follow=True
    )
    device.refresh_from_db()
    assert device.state == DeviceState.AUDITED
    assert "État mis à jour" in response.content.decode()
    response = client.post(
        reverse("device_transition", args=[device.uuid]), {"to_state": "sold"}, follow=True
    )
    device.refresh_from_db()
    assert device.state == DeviceState.AUDITED
    assert "Choisissez un état" in response.content.decode()


@pytest.mark.django_db
def test_read_only_member_sees_but_cannot_change(client, refurbisher_org):
    reader = member_of(refurbisher_org, role="read_only")
    device = DeviceFactory(holder=refurbisher_org, state=DeviceState.RECEIVED)
    client.force_login(reader)
    page = client.get(reverse("device_detail", args=[device.uuid]))
    assert page.status_code == 200
    assert "Changer l'état" not in page.content.decode()
    client.post(reverse("device_transition", args=[device.uuid]), {"to_state": "audited"})
    device.refresh_from_db()
    assert device.state == DeviceState.RECEIVED


@pytest.mark.django_db
def test_departement_staff_see_no_device(client):
    staff = member_of(OrganisationFactory(departement_staff=True))
    device = DeviceFactory()
    client.force_login(staff)
    assert device.serial_number not in client.get(reverse("device_list")).content.decode()
    assert client.get(reverse("device_detail", args=[device.uuid])).status_code == 404


@pytest.mark.django_db
def test_donor_sees_the_devices_it_gave(client):
    donor = OrganisationFactory(kind=OrganisationKind.COMPANY)
    user = member_of(donor)
    given = DeviceFactory(donor_organisation=donor)
    client.force_login(user)
    assert client.get(reverse("device_detail", args=[given.uuid])).status_code == 200


@pytest.mark.django_db
def test_search_by_serial_and_scanned_label(client, refurbisher, refurbisher_org):
    device = DeviceFactory(holder=refurbisher_org, serial_number="5CD1234XYZ")
    DeviceFactory(holder=refurbisher_org, serial_number="OTHER")
    client.force_login(refurbisher)
    page = client.get(reverse("device_list"), {"q": "5cd1234xyz"}).content.decode()
    assert "5CD1234XYZ" in page and "OTHER" not in page
    scanned = f"http://example.org/d/{device.public_id}/"
    page = client.get(reverse("device_list"), {"q": scanned}).content.decode()
    assert "5CD1234XYZ" in page
    response = client.get(reverse("device_by_public_id", args=[device.public_id.lower()]))
    assert response.status_code == 302 and str(device.uuid) in response["Location"]


@pytest.mark.django_db
def test_login_is_throttled_after_repeated_failures(client, settings, refurbisher):
    settings.LOGIN_MAX_ATTEMPTS = 3
    for _ in range(3):
        response = client.post(reverse("login"), {"username": refurbisher.username, "password": "mauvais"})
        assert "Trop de tentatives" not in response.content.decode()
    response = client.post(
        reverse("login"), {"username": refurbisher.username, "password": "motdepasse-de-test-2026"}
    )
    assert "Trop de tentatives" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_successful_login_resets_the_counter(client, settings, refurbisher):
    settings.LOGIN_MAX_ATTEMPTS = 3
    client.post(reverse("login"), {"username": refurbisher.username, "password": "mauvais"})
    response = client.post(
        reverse("login"), {"username": refurbisher.username, "password": "motdepasse-de-test-2026"}
    )
    assert response.status_code == 302


def _reset_throttle(device):
    """django-otp slows down retries after a wrong code; the test does not wait."""
    device.refresh_from_db()
    device.throttle_reset(commit=True)


@pytest.mark.django_db
def test_two_factor_authentication_is_optional_and_then_required(client, refurbisher):
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client.force_login(refurbisher)
    page = client.get(reverse("otp_setup"))
    assert "Désactivée" in page.content.decode()
    device = TOTPDevice.objects.get(user=refurbisher, confirmed=False)
    assert client.post(reverse("otp_setup"), {"token": "000000"}).status_code == 200
    device.refresh_from_db()
    assert not device.confirmed
    _reset_throttle(device)
    client.post(reverse("otp_setup"), {"token": f"{totp(device.bin_key):06d}"})
    device.refresh_from_db()
    assert device.confirmed
    client.logout()

    response = client.post(
        reverse("login"), {"username": refurbisher.username, "password": "motdepasse-de-test-2026"}
    )
    assert response.status_code == 302 and response["Location"] == reverse("otp_verify")
    assert "_auth_user_id" not in client.session  # not logged in before the code
    response = client.post(reverse("otp_verify"), {"token": "123456"})
    assert "pas valide" in response.content.decode()
    _reset_throttle(device)
    device.last_t = -1
    device.save()
    response = client.post(reverse("otp_verify"), {"token": f"{totp(device.bin_key):06d}"})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(refurbisher.pk)


@pytest.mark.django_db
def test_admin_login_goes_through_the_platform_login(client):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_pages_carry_a_content_security_policy(client):
    response = client.get(reverse("login"))
    policy = response["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in policy and "frame-ancestors 'none'" in policy
    assert "https:" not in policy.split("script-src")[1].split(";")[0]


@pytest.mark.django_db
def test_coordinator_menu_groups_each_apps_screens(client, coordinator):
    client.force_login(coordinator)
    response = client.get(reverse("home"))
    groups = response.context["nav_groups"]
    titles = [title for title, _entries in groups if title]
    assert titles == ["Dons", "Reconditionnement", "Bénéficiaires", "Relais numériques", "Indicateurs"]
    entries = dict(groups)
    assert ("refurbishers:work_queue", "File de travail") in entries["Reconditionnement"]
    # Every entry of the flat menu is still reachable, once.
    grouped = [entry for _title, group in groups for entry in group]
    assert grouped == response.context["nav"]
    page = response.content.decode()
    assert "<summary>Reconditionnement</summary>" in page
    assert "js/menu.js" in page


@pytest.mark.django_db
def test_a_short_menu_stays_one_row_of_links(client, refurbisher):
    client.force_login(refurbisher)
    response = client.get(reverse("home"))
    assert response.context["nav_groups"] is None
    page = response.content.decode()
    assert "<summary>" not in page.split("</nav>")[0]
    assert "File de travail" in page
