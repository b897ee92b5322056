import logging
from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from . import documents
from .enums import DocumentStatus
from .queue import enqueue

logger = logging.getLogger(__name__)


@shared_task(bind=True, acks_late=True, max_retries=5, default_retry_delay=10)
def generate_document(self, document_id):
    """Generate one document. Safe to run twice: numbering and issuing happen once."""
    try:
        documents.document_generate(document_id)
    except Exception as exc:
        if self.request.is_eager or self.request.retries >= self.max_retries:
            # Eagerly (no broker) the request that asked for it must not fail: the document is
            # shown as failed and can be requested again.
            logger.exception("Document %s could not be generated", document_id)
            documents.document_mark_failed(document_id, exc)
            return
        raise self.retry(exc=exc) from exc


@shared_task
def resubmit_pending(older_than_minutes=5):
    """Enqueue again the documents left pending (broker down when they were requested, worker lost)."""
    from .models import Document

    cutoff = timezone.now() - timedelta(minutes=older_than_minutes)
    pending = Document.objects.filter(status=DocumentStatus.PENDING, requested_at__lt=cutoff)
    count = 0
    for document_id in pending.values_list("pk", flat=True):
        count += enqueue(generate_document, document_id)
    return count
