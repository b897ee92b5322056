import logging
import os

from celery import Celery

logger = logging.getLogger(__name__)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reemploi.settings")

app = Celery("reemploi")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


class RetryThenFail(app.Task):
    """A task that retries a bounded number of times, then records the failure on the record it works
    for instead of raising. Run eagerly (no broker), it never retries: the request that asked must not
    fail, the record shows what went wrong and can be asked again.

        @shared_task(bind=True, base=RetryThenFail, max_retries=3, default_retry_delay=30)
        def run_import(self, job_id):
            self.attempt(lambda: imports.process(job_id), on_failure=lambda exc: imports.fail(job_id, exc),
                         label=f"Import {job_id}")
    """

    abstract = True
    acks_late = True

    def attempt(self, work, *, label, on_failure=None):
        try:
            return work()
        except Exception as exc:
            if self.request.is_eager or self.request.retries >= self.max_retries:
                logger.exception("%s failed", label)
                if on_failure is not None:
                    on_failure(exc)
                return None
            raise self.retry(exc=exc) from exc
