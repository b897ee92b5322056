import pytest
from django.core.cache import cache

from reemploi.celery import app as celery_app
from tests import flush
from tests.reemploi.factories import OrganisationFactory, member_of

pytest_plugins = ["tests.browser"]
flush.install()


@pytest.fixture(autouse=True, scope="session")
def _eager_celery():
    """Unit tests run tasks in-process; tests that need a real worker on Redis say so."""
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True


@pytest.fixture(autouse=True)
def _media_and_cache(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    cache.clear()


@pytest.fixture(autouse=True)
def _reference_data(request):
    """Data migrations seed categories, caps and départements; transactional tests flush them, so put
    them back (idempotent, one query when they are there)."""
    uses_db = request.node.get_closest_marker("django_db") is not None or {
        "db",
        "transactional_db",
        "live_server",
    } & set(request.fixturenames)
    if not uses_db:
        return
    from django.apps import apps

    from reemploi.models import EquipmentCategory
    from reemploi.reference import load_reference_data

    if not EquipmentCategory.objects.exists():
        load_reference_data(apps)


@pytest.fixture
def coordinator_org(db):
    return OrganisationFactory(coordinator=True)


@pytest.fixture
def coordinator(coordinator_org):
    return member_of(coordinator_org, username="coordination")


@pytest.fixture
def refurbisher_org(db):
    return OrganisationFactory(refurbisher=True, name="Atelier A")


@pytest.fixture
def refurbisher(refurbisher_org):
    return member_of(refurbisher_org, username="atelier-a")


@pytest.fixture
def relais_org(db):
    return OrganisationFactory(relais=True, name="Relais A")


@pytest.fixture
def relais_user(relais_org):
    return member_of(relais_org, username="relais-a")
