"""Demo: compute the indicators of the demo network so the dashboard opens on figures."""

from django.utils import timezone

from . import services
from .models import IndicatorSnapshot, SnapshotRun


def build(network):
    """Compute the demo département's snapshots once a day: running the demo again the same day
    changes nothing."""
    code = network.departement.code
    if IndicatorSnapshot.objects.filter(departement_code=code, computed_on=timezone.localdate()).exists():
        return
    run = SnapshotRun.objects.create(departement=network.departement)
    services.snapshots_compute(run_id=run.pk)
