import logging

from celery import shared_task

from reemploi.celery import RetryThenFail

from . import services
from .models import SnapshotRun

logger = logging.getLogger(__name__)


@shared_task(bind=True, base=RetryThenFail, max_retries=2, default_retry_delay=300)
def compute_snapshots(self, run_id):
    """Compute one requested run (a département, or all of them). Safe to run twice; a run that
    failed for good shows as failed and can be requested again."""
    if not SnapshotRun.objects.filter(pk=run_id).exists():
        logger.warning("Indicator run %s no longer exists", run_id)
        return
    self.attempt(lambda: services.snapshots_compute(run_id=run_id), label=f"Indicator run {run_id}")


@shared_task(acks_late=True)
def compute_all_snapshots():
    """The nightly computation of every département (see CELERY_BEAT_SCHEDULE)."""
    run = SnapshotRun.objects.create(departement=None)
    services.snapshots_compute(run_id=run.pk)
    return run.pk


@shared_task(acks_late=True)
def issue_yearly_reuse_attestations():
    """January: the past year's reuse attestation to every public donor (see CELERY_BEAT_SCHEDULE)."""
    return services.yearly_reuse_attestations()


@shared_task(acks_late=True)
def issue_final_impact_reports():
    """Nightly: the impact report of every donation whose devices all reached a final state."""
    return services.final_impact_reports()
