from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from reemploi.enums import DeviceState
from refurbishers.enums import (
    MediumInterface,
    MediumKind,
    SanitisationLevel,
    SanitisationOutcome,
    SanitisationTechnique,
    VerificationMethod,
    VerificationResult,
)
from refurbishers.models import Grading, Sanitisation, StorageMedium
from tests.reemploi.factories import DeviceFactory


class MediumFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StorageMedium

    device = factory.SubFactory(DeviceFactory)
    kind = MediumKind.HDD
    interface = MediumInterface.SATA
    vendor = "Seagate"
    model = "ST500LT012-1DG14"
    serial_number = factory.Sequence(lambda n: f"DISK{n:06d}")
    capacity_bytes = 500_107_862_016


class SanitisationFactory(factory.django.DjangoModelFactory):
    """A verified, successful Clear by overwriting."""

    class Meta:
        model = Sanitisation

    medium = factory.SubFactory(MediumFactory)
    organisation = factory.LazyAttribute(lambda s: s.medium.device.holder)
    level = SanitisationLevel.CLEAR
    technique = SanitisationTechnique.OVERWRITE
    tool = "nwipe"
    tool_version = "0.38"
    verification_method = VerificationMethod.LAST_PASS
    verification_result = VerificationResult.PASSED
    started_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=2))
    ended_at = factory.LazyFunction(timezone.now)
    operator_name = "Karim Atelier"
    outcome = SanitisationOutcome.ERASED


def erased_medium(device, **fields):
    medium = MediumFactory(device=device, **fields)
    SanitisationFactory(medium=medium)
    return medium


def sanitised_device(holder, state=DeviceState.SANITISED, **fields):
    """A device whose only disk was erased, in `state`."""
    device = DeviceFactory(holder=holder, state=state, **fields)
    erased_medium(device)
    return device


def ready_device(holder, price=Decimal("120"), **fields):
    """A ready device: disk erased, graded with a price under the cap."""
    device = sanitised_device(holder, state=DeviceState.READY, price=price, **fields)
    cap = device.category.cap_on(timezone.localdate())
    Grading.objects.create(
        device=device,
        organisation=holder,
        category=device.category,
        cosmetic_grade="B",
        functional_grade="full",
        has_charger=True,
        has_storage=True,
        has_os=True,
        battery_ok=True,
        price=price,
        cap=cap,
        cap_amount=cap.amount if cap else None,
    )
    return device
