import pytest


@pytest.fixture(autouse=True)
def _acceptance_rules(request):
    """The data migration seeds the acceptance rules; transactional tests flush them: put them back."""
    uses_db = request.node.get_closest_marker("django_db") is not None or {
        "db",
        "transactional_db",
        "live_server",
    } & set(request.fixturenames)
    if not uses_db:
        return
    from django.apps import apps

    from donors.models import CategoryRule
    from donors.reference import load_acceptance_defaults
    from reemploi.models import EquipmentCategory

    if not CategoryRule.objects.exists():
        if not EquipmentCategory.objects.exists():
            request.getfixturevalue("_reference_data")
        load_acceptance_defaults(apps)
