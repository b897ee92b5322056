from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from . import documents
from .celery import RetryThenFail
from .enums import DocumentStatus
from .queue import enqueue


@shared_task(bind=True, base=RetryThenFail, max_retries=5, default_retry_delay=10)
def generate_document(self, document_id):
    """Generate one document. Safe to run twice: numbering and issuing happen once."""
    self.attempt(
        lambda: documents.document_generate(document_id),
        label=f"Document {document_id}",
        on_failure=lambda exc: documents.document_mark_failed(document_id, exc),
    )


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
