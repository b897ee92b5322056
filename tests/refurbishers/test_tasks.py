from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from refurbishers import imports
from refurbishers.models import Audit, ImportJob
from refurbishers.tasks import resubmit_pending_imports
from tests.reemploi.factories import DeviceFactory


def test_pending_imports_are_resubmitted_periodically():
    entry = settings.CELERY_BEAT_SCHEDULE["refurbishers-resubmit-imports"]
    assert entry["task"] == resubmit_pending_imports.name


@pytest.mark.django_db
def test_a_csv_import_stuck_while_the_broker_was_down_is_run_later(refurbisher, refurbisher_org, monkeypatch):
    DeviceFactory(holder=refurbisher_org, serial_number="STUCK-1")
    monkeypatch.setattr("refurbishers.imports.enqueue_on_commit", lambda *args, **kwargs: None)  # broker down
    job = imports.import_run(
        kind="csv",
        organisation=refurbisher_org,
        actor=refurbisher,
        uploads=[imports.Upload("a.csv", b"identifiant;processeur\r\nSTUCK-1;i5\r\n")],
    )
    ImportJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(hours=1))
    assert resubmit_pending_imports() == 1
    job.refresh_from_db()
    assert job.status == "done" and Audit.objects.count() == 1
    assert resubmit_pending_imports() == 0
