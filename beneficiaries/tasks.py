import logging

from celery import shared_task

from . import services

logger = logging.getLogger(__name__)


@shared_task(acks_late=True)
def anonymise_inactive():
    """Nightly (beat): anonymise beneficiaries with no contact for BENEFICIARY_RETENTION_MONTHS."""
    count = services.anonymise_inactive()
    logger.info("%s bénéficiaire(s) anonymisé(s)", count)
    return count
