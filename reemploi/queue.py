"""Enqueue Celery tasks without letting a broker outage break the request that asked for them.

With Redis down, the record that needs the work (a pending document, an import job) is already
saved with a visible pending status; `enqueue` logs the failure and returns False, and the periodic
job `reemploi.tasks.resubmit_pending` enqueues it again once the broker is back."""

import logging

from django.db import transaction

logger = logging.getLogger(__name__)

RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.5, "interval_max": 0.5}


def enqueue(task, *args, **kwargs) -> bool:
    try:
        task.apply_async(args=args, kwargs=kwargs, retry=True, retry_policy=RETRY_POLICY)
    except Exception:  # kombu.OperationalError, redis ConnectionError, OSError...
        logger.warning(
            "Broker unavailable: %s%r left pending, it will be resubmitted", task.name, args, exc_info=True
        )
        return False
    return True


def enqueue_on_commit(task, *args, **kwargs):
    transaction.on_commit(lambda: enqueue(task, *args, **kwargs))
