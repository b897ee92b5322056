"""A verified factory reset at a relais, for the devices where it is a NIST Purge.

A device that comes back from a person (a loan returned) may hold that person's data. On a smartphone
or a tablet whose storage is encrypted by its system — every iPhone and iPad since iOS 8, Android
devices shipped with Android 10 or later —, the system's factory reset destroys the encryption key: a
cryptographic erase, which NIST SP 800-88 counts as Purge for mobile devices (Rev. 1, appendix A,
"Mobile Devices"; Rev. 2 and IEEE 2883-2022 keep cryptographic erase as a Purge technique when the
key covers all user data). The relais may then record it itself, as a sanitisation of each medium,
with the verification seen (the device restarts on its setup assistant, with no account and no
data). A computer's disks are never reset that way: they go back to a workshop to be erased.

This module only records; the kernel's custody rule reads the record like any other erasure."""

from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from reemploi.models import Site

from .enums import (
    MediaDestination,
    MediumKind,
    RecordSource,
    SanitisationLevel,
    SanitisationOutcome,
    SanitisationStandard,
    SanitisationTechnique,
    VerificationMethod,
    VerificationResult,
)
from .models import StorageMedium
from .services import actor_name, medium_add, sanitisation_record

# Categories whose system factory reset is a cryptographic erase (NIST SP 800-88 Rev. 1, appendix A,
# mobile devices), when the device's storage is encrypted.
RESET_PURGE_CATEGORIES = {"smartphone", "tablet"}
RESET_TOOL = "Réinitialisation d'usine du système (effacement cryptographique)"
RESET_DETAIL = "Réinitialisation d'usine, stockage chiffré : clé détruite (NIST SP 800-88 Rév. 1, annexe A)"
RESET_NOTE = (
    "Réinitialisation d'usine au relais (iOS/iPadOS « Effacer contenu et réglages », Android « Rétablir "
    "la configuration d'usine ») ; l'appareil redémarre sur l'assistant de configuration, sans compte ni "
    "donnée."
)


def reset_allowed(device):
    return device.category.code in RESET_PURGE_CATEGORIES


@dataclass
class FactoryReset:
    """What the person who reset the device states and saw."""

    started_at: datetime
    ended_at: datetime
    encryption_confirmed: bool
    verified: bool
    validator_name: str = ""
    notes: str = ""


def factory_reset_record(*, device, actor, organisation, reset):
    """Record a verified factory reset of `device` as a Purge of each of its media (a medium « mémoire
    interne » is recorded first when none was). Refused, with the reason in French, for a category whose
    reset is no erasure, without encryption, or without the verification."""
    if not reset_allowed(device):
        raise ValidationError(
            _(
                "Une réinitialisation d'usine n'efface pas les supports d'un appareil « %(category)s » : "
                "renvoyez-le à un atelier, qui effacera ou détruira chacun de ses supports."
            )
            % {"category": device.category.name}
        )
    errors = {}
    if not reset.encryption_confirmed:
        errors["encryption_confirmed"] = _(
            "Sans chiffrement du stockage, une réinitialisation d'usine n'est pas un effacement sûr : "
            "renvoyez l'appareil à un atelier."
        )
    if not reset.verified:
        errors["verified"] = _(
            "Vérifiez que l'appareil redémarre sur l'assistant de configuration, sans compte ni donnée, "
            "avant d'enregistrer la réinitialisation."
        )
    if reset.ended_at and reset.started_at and reset.ended_at < reset.started_at:
        errors["ended_at"] = _("La fin de la réinitialisation précède son début.")
    if reset.ended_at and reset.ended_at > timezone.now():
        errors["ended_at"] = _("La fin de la réinitialisation ne peut pas être dans le futur.")
    if errors:
        raise ValidationError(errors)
    name = actor_name(actor)
    with transaction.atomic():
        media = list(StorageMedium.objects.attached().filter(device=device).order_by("pk"))
        if not media:
            media = [
                medium_add(
                    device=device,
                    actor=actor,
                    kind=MediumKind.FLASH,
                    model=_("Mémoire interne"),
                    source=RecordSource.FORM,
                )
            ]
        return [
            sanitisation_record(
                medium=medium,
                actor=actor,
                organisation=organisation,
                issue_documents=False,
                level=SanitisationLevel.PURGE,
                technique=SanitisationTechnique.CRYPTO_ERASE,
                standard=SanitisationStandard.NIST_800_88_R1,
                tool=RESET_TOOL,
                method_detail=RESET_DETAIL,
                verification_method=VerificationMethod.FIRMWARE_STATUS,
                verification_result=VerificationResult.PASSED,
                outcome=SanitisationOutcome.ERASED,
                destination=MediaDestination.REUSE,
                started_at=reset.started_at,
                ended_at=reset.ended_at,
                operator_name=name,
                validator_name=(reset.validator_name or name).strip(),
                notes="\n".join(part for part in (RESET_NOTE, reset.notes.strip()) if part),
                site=Site.objects.filter(organisation=organisation, is_active=True).order_by("pk").first(),
            )
            for medium in media
        ]
