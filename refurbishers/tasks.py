import logging

from celery import shared_task

from . import imports

logger = logging.getLogger(__name__)


@shared_task(bind=True, acks_late=True, max_retries=3, default_retry_delay=30)
def run_csv_import(self, job_id):
    """Import a CSV of diagnostics. Safe to run twice: it resumes after the last committed chunk."""
    try:
        imports.csv_import_process(job_id)
    except Exception as exc:
        if self.request.is_eager or self.request.retries >= self.max_retries:
            # Eagerly (no broker) the upload request must not fail: the job shows what went wrong.
            logger.exception("CSV import %s failed", job_id)
            imports.csv_import_fail(job_id, exc)
            return
        raise self.retry(exc=exc) from exc


@shared_task
def resubmit_pending_imports(older_than_minutes=10):
    """Enqueue again the CSV imports left pending (broker down at upload time, worker lost): a job
    resumes after its last committed chunk, so a duplicate run is harmless."""
    from datetime import timedelta

    from django.utils import timezone

    from reemploi.queue import enqueue

    from .enums import ImportKind, ImportStatus
    from .models import ImportJob

    cutoff = timezone.now() - timedelta(minutes=older_than_minutes)
    stale = ImportJob.objects.filter(
        kind=ImportKind.CSV, status__in=[ImportStatus.PENDING, ImportStatus.RUNNING], created_at__lt=cutoff
    )
    return sum(enqueue(run_csv_import, job_id) for job_id in stale.values_list("pk", flat=True))
