import pytest
from django.apps import apps
from django.core.management import call_command

from reemploi.enums import DeviceState, OrganisationKind
from reemploi.models import Commune, Device, DeviceEvent, Membership, Organisation, Site


def _counts():
    counted = [Organisation, Membership, Site, Device, DeviceEvent]
    for app in ("donors", "refurbishers", "beneficiaries", "relais", "indicators"):
        counted += list(apps.get_app_config(app).get_models())
    return {model._meta.label: model.objects.count() for model in counted}


@pytest.mark.django_db
def test_demo_builds_a_nievre_network_and_runs_twice_without_duplicates(capsys):
    call_command("demo")
    first = _counts()
    output = capsys.readouterr().out
    assert "coordination" in output and "reemploi-demo" in output
    assert Commune.objects.filter(departement__code="58").count() == 309
    assert Organisation.objects.filter(kind=OrganisationKind.REFURBISHER).count() == 3
    relais_sites = Site.objects.filter(organisation__kind=OrganisationKind.RELAIS)
    assert relais_sites.count() == 8
    assert all(site.commune.departement.code == "58" and site.latitude for site in relais_sites)
    states = set(Device.objects.values_list("state", flat=True))
    assert states == set(DeviceState.values)
    assert all(device.events.exists() for device in Device.objects.all())
    from refurbishers.models import Shipment

    shipments = Shipment.objects.select_related("refurbisher", "relais")
    assert shipments.exists()
    assert {(s.refurbisher.kind, s.relais.kind) for s in shipments} == {
        (OrganisationKind.REFURBISHER, OrganisationKind.RELAIS)
    }

    from relais.models import Sale

    sales = Sale.objects.all()
    assert sales.exists()
    assert all(sale.receipt is not None for sale in sales), "every demo sale has its receipt"

    call_command("demo")
    assert _counts() == first
