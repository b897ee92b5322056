"""Error pages are French; a database outage is a 503 to retry, not a 500."""

import pytest
from django.contrib.auth.decorators import login_not_required
from django.db import OperationalError
from django.test import Client
from django.urls import path

from reemploi import urls as project_urls


@login_not_required
def _database_down(request):
    raise OperationalError("connection to server at 127.0.0.1, port 5432 failed: Connection refused")


@login_not_required
def _bug(request):
    raise ValueError("unexpected")


urlpatterns = [
    path("boom/db/", _database_down),
    path("api/boom/db/", _database_down),
    path("boom/bug/", _bug),
]
handler500 = project_urls.handler500


@pytest.fixture
def raising_client(settings):
    settings.ROOT_URLCONF = __name__
    settings.DEBUG = False
    return Client(raise_request_exception=False)


@pytest.mark.django_db
def test_a_database_outage_is_a_503_to_retry(raising_client):
    response = raising_client.get("/boom/db/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "Service momentanément indisponible" in response.content.decode()
    api = raising_client.get("/api/boom/db/")
    assert api.status_code == 503 and "indisponible" in api.json()["detail"]


@pytest.mark.django_db
def test_another_error_is_a_french_500(raising_client):
    response = raising_client.get("/boom/bug/")
    assert response.status_code == 500
    assert "Erreur du serveur" in response.content.decode()
    assert "Retry-After" not in response


@pytest.mark.django_db
def test_not_found_and_forbidden_pages_are_french(client, settings, refurbisher):
    settings.DEBUG = False
    client.force_login(refurbisher)
    assert (
        "Page introuvable" in client.get("/appareils/00000000-0000-0000-0000-000000000000/").content.decode()
    )
    assert "Accès refusé" in client.get("/dons/a-qualifier/").content.decode()
