import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from reemploi.enums import DeviceState

from .factories import DeviceFactory, member_of


@pytest.fixture
def api():
    return APIClient()


@pytest.mark.django_db
def test_api_needs_authentication(api):
    assert api.get("/api/devices/").status_code in (401, 403)


@pytest.mark.django_db
def test_token_authentication_and_scoping(api, refurbisher, refurbisher_org):
    mine = DeviceFactory(holder=refurbisher_org)
    theirs = DeviceFactory()
    token = Token.objects.create(user=refurbisher)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    response = api.get("/api/devices/")
    assert response.status_code == 200
    uuids = {row["uuid"] for row in response.json()["results"]}
    assert uuids == {str(mine.uuid)}
    assert api.get(f"/api/devices/{theirs.uuid}/").status_code == 404
    assert api.get(f"/api/devices/{theirs.uuid}/history/").status_code == 404


@pytest.mark.django_db
def test_filters_by_state_category_and_holder(api, coordinator, refurbisher_org):
    DeviceFactory(holder=refurbisher_org, state=DeviceState.READY)
    DeviceFactory(holder=refurbisher_org, state=DeviceState.RECEIVED)
    DeviceFactory(state=DeviceState.READY)
    api.force_authenticate(coordinator)
    assert api.get("/api/devices/", {"state": "ready"}).json()["count"] == 2
    assert (
        api.get("/api/devices/", {"state": "ready", "holder": str(refurbisher_org.uuid)}).json()["count"] == 1
    )
    assert api.get("/api/devices/", {"category": "laptop"}).json()["count"] == 3
    assert api.get("/api/devices/", {"category": "tablet"}).json()["count"] == 0


@pytest.mark.django_db
def test_history_and_transition_through_the_api(api, refurbisher, refurbisher_org):
    device = DeviceFactory(holder=refurbisher_org, state=DeviceState.RECEIVED)
    api.force_authenticate(refurbisher)
    response = api.post(f"/api/devices/{device.uuid}/transition/", {"to_state": "audited", "note": "ok"})
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "audited"
    history = api.get(f"/api/devices/{device.uuid}/history/").json()
    assert [(e["from_state"], e["to_state"]) for e in history] == [("received", "audited")]


@pytest.mark.django_db
def test_impossible_transition_is_a_readable_409(api, refurbisher, refurbisher_org):
    device = DeviceFactory(holder=refurbisher_org, state=DeviceState.RECEIVED)
    api.force_authenticate(refurbisher)
    response = api.post(f"/api/devices/{device.uuid}/transition/", {"to_state": "ready"})
    assert response.status_code == 409
    assert "Transition impossible" in response.json()["detail"]
    response = api.post(f"/api/devices/{device.uuid}/transition/", {"to_state": "nonsense"})
    assert response.status_code == 400


@pytest.mark.django_db
def test_read_only_member_gets_403(api, refurbisher_org):
    reader = member_of(refurbisher_org, role="read_only")
    device = DeviceFactory(holder=refurbisher_org, state=DeviceState.RECEIVED)
    api.force_authenticate(reader)
    assert api.get(f"/api/devices/{device.uuid}/").status_code == 200
    response = api.post(f"/api/devices/{device.uuid}/transition/", {"to_state": "audited"})
    assert response.status_code == 403
    device.refresh_from_db()
    assert device.state == DeviceState.RECEIVED


@pytest.mark.django_db
def test_schema_and_docs_are_served(client, refurbisher):
    client.force_login(refurbisher)
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/docs/").status_code == 200


@pytest.mark.django_db
def test_categories_expose_current_caps(api, refurbisher):
    api.force_authenticate(refurbisher)
    caps = {c["code"]: c["current_cap"] for c in api.get("/api/categories/").json()}
    assert caps["laptop"] == "180.00" and caps["screen"] == "30.00" and caps["mouse"] is None


@pytest.mark.django_db
def test_a_nul_character_in_a_slug_is_a_400_not_a_500(api, coordinator):
    from rest_framework import serializers

    from reemploi.models import EquipmentCategory

    field = serializers.SlugRelatedField(slug_field="code", queryset=EquipmentCategory.objects.all())
    with pytest.raises(serializers.ValidationError):
        field.to_internal_value("lap\x00top")


def test_schema_generates_without_warnings(tmp_path):
    """Every choice set has one name; `check --deploy` (which builds the schema) stays clean."""
    from django.core.management import call_command

    call_command("spectacular", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))
    assert (tmp_path / "schema.yml").stat().st_size > 0


@pytest.mark.parametrize("value", ["0243-02-20T15:42:42Z", "1969-06-30T12:00:00Z", "2101-01-01T00:00:00Z"])
def test_api_dates_outside_the_platforms_years_are_a_400(value):
    """Before 1911 Paris time has a local-mean-time offset that is not valid RFC 3339 on the way out."""
    from rest_framework import serializers

    for field in (serializers.DateTimeField(), serializers.DateField()):
        with pytest.raises(serializers.ValidationError) as error:
            field.to_internal_value(value if isinstance(field, serializers.DateTimeField) else value[:10])
        assert "plage" in str(error.value)
    assert serializers.DateTimeField().to_internal_value("2026-02-20T15:42:42Z").year == 2026
