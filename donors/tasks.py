from celery import shared_task

from . import services


@shared_task(acks_late=True)
def close_unanswered_receptions():
    """Nightly: close the receptions whose donor did not confirm the count in time."""
    return services.receptions_close_unanswered()


@shared_task(acks_late=True)
def anonymise_old_donations():
    """Nightly: erase the personal data of donations closed longer ago than the retention period."""
    return services.donations_anonymise()
