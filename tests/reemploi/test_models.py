from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from reemploi.enums import OrganisationKind
from reemploi.models import EquipmentCategory, Organisation, PriceCap
from reemploi.validators import validate_siren, validate_siret


@pytest.mark.parametrize("siret", ["73282932000074", "732 829 320 00074", "35600000000010"])
def test_valid_sirets(siret):
    validate_siret(siret)


@pytest.mark.parametrize(
    ("siret", "message"),
    [
        ("7328293200007", "14 chiffres"),
        ("7328293200007A", "14 chiffres"),
        ("73282932000075", "clé de contrôle"),
        ("73282932100074", "SIREN"),
    ],
)
def test_invalid_sirets_say_why(siret, message):
    with pytest.raises(ValidationError, match=message):
        validate_siret(siret)


def test_siren():
    validate_siren("732829320")
    with pytest.raises(ValidationError, match="clé de contrôle"):
        validate_siren("732829321")


@pytest.mark.django_db
def test_organisation_validates_siret_on_full_clean():
    organisation = Organisation(name="X", kind=OrganisationKind.COMPANY, siret="12345678901234")
    with pytest.raises(ValidationError) as error:
        organisation.full_clean()
    assert "siret" in error.value.message_dict
    organisation.siret = "73282932000074"
    organisation.full_clean()
    assert organisation.siren == "732829320"


@pytest.mark.django_db
def test_the_seven_decree_categories_and_their_caps():
    caps = {
        c.code: (c.cap_on(date(2025, 1, 1)).amount, c.deee_category)
        for c in EquipmentCategory.objects.filter(is_decree_category=True)
    }
    assert caps == {
        "laptop": (Decimal("180"), "2"),
        "desktop": (Decimal("150"), "6"),
        "tablet": (Decimal("100"), "2"),
        "smartphone": (Decimal("100"), "6"),
        "screen": (Decimal("30"), "2"),
        "printer": (Decimal("30"), "6"),
        "multifunction": (Decimal("170"), "6"),
    }
    cap = EquipmentCategory.objects.get(code="laptop").caps.get()
    assert "2022-1413" in cap.legal_reference
    assert EquipmentCategory.objects.get(code="mouse").cap_on(date(2025, 1, 1)) is None


@pytest.mark.django_db
def test_cap_in_force_is_the_latest_by_date_of_effect():
    laptop = EquipmentCategory.objects.get(code="laptop")
    later = timezone.localdate() + timedelta(days=400)
    PriceCap.objects.create(
        category=laptop, amount=Decimal("200"), legal_reference="Décret futur", effective_from=later
    )
    assert laptop.cap_on(later - timedelta(days=1)).amount == Decimal("180")
    assert laptop.cap_on(later).amount == Decimal("200")
    assert laptop.cap_on(date(2022, 11, 9)) is None  # before the decree


@pytest.mark.django_db
def test_departement_organisation_needs_its_departement():
    from django.db import IntegrityError

    with pytest.raises(IntegrityError):
        Organisation.objects.create(name="Département", kind=OrganisationKind.DEPARTEMENT)
