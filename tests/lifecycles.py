"""For each lifecycle declared with `reemploi.workflow.Lifecycle`: how a test makes a record in a given
status, and how it reads the history rows the lifecycle writes. `tests/reemploi/test_workflow.py`
walks the whole (from, to) matrix of each; a lifecycle without an entry here fails that test."""

from reemploi.models import DeviceEvent
from reemploi.workflow import history
from tests.reemploi.factories import DeviceFactory

MAKERS = {
    "device": (
        lambda state: DeviceFactory(state=state),
        lambda device: list(DeviceEvent.objects.filter(device=device).values_list("from_state", "to_state")),
    ),
}


def default_history(record):
    return list(history(record).values_list("from_status", "to_status"))
