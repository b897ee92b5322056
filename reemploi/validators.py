from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _normalise(value: str) -> str:
    return "".join(value.split())


def validate_siren(value: str) -> None:
    value = _normalise(value)
    if len(value) != 9 or not value.isdigit():
        raise ValidationError(_("Un SIREN compte exactement 9 chiffres."), code="siren_length")
    if not luhn_valid(value):
        raise ValidationError(_("Ce SIREN n'est pas valide (clé de contrôle incorrecte)."), code="siren_key")


def validate_siret(value: str) -> None:
    value = _normalise(value)
    if len(value) != 14 or not value.isdigit():
        raise ValidationError(_("Un SIRET compte exactement 14 chiffres."), code="siret_length")
    # La Poste's establishments (SIREN 356000000) use a sum of digits divisible by 5 instead.
    if value.startswith("356000000"):
        if sum(int(c) for c in value) % 5:
            raise ValidationError(
                _("Ce SIRET n'est pas valide (clé de contrôle incorrecte)."), code="siret_key"
            )
        return
    if not luhn_valid(value[:9]):
        raise ValidationError(
            _("Ce SIRET n'est pas valide : son SIREN (9 premiers chiffres) est incorrect."), code="siren_key"
        )
    if not luhn_valid(value):
        raise ValidationError(_("Ce SIRET n'est pas valide (clé de contrôle incorrecte)."), code="siret_key")


def validate_siret_or_siren(value: str) -> None:
    if len(_normalise(value)) == 9:
        validate_siren(value)
    else:
        validate_siret(value)
