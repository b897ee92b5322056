"""The acceptance rules the network starts with (LaCollecte.tech's): data the coordinator then edits.
Loaded by a data migration; safe to load again (existing rows are left as the coordinator set them)."""

PERIPHERALS_REASON = (
    "Les câbles, claviers et autres périphériques ne sont pas collectés (seules les souris le sont) : "
    "déposez-les dans un point de collecte DEEE (déchetterie, magasin)."
)
# category code -> (collected, reason when not collected)
CATEGORY_RULES = {
    "mouse": (True, ""),
    "keyboard": (False, PERIPHERALS_REASON),
    "docking-station": (False, PERIPHERALS_REASON),
    "cable": (False, PERIPHERALS_REASON),
    "other-peripheral": (False, PERIPHERALS_REASON),
}


def load_acceptance_defaults(apps, schema_editor=None):
    AcceptancePolicy = apps.get_model("donors", "AcceptancePolicy")
    CategoryRule = apps.get_model("donors", "CategoryRule")
    EquipmentCategory = apps.get_model("reemploi", "EquipmentCategory")
    AcceptancePolicy.objects.get_or_create(pk=1)
    for category in EquipmentCategory.objects.all():
        collected, reason = CATEGORY_RULES.get(category.code, (True, ""))
        CategoryRule.objects.get_or_create(
            category=category, defaults={"collected": collected, "reason": reason}
        )


# Décret n° 2023-266 du 12 avril 2023: the share of retired IT equipment (DEEE 2° and 6°) the State and
# local authorities must orient to reuse, from the year given (items over 10 years old excluded).
REUSE_DECREE = "Décret n° 2023-266 du 12 avril 2023"
REUSE_TARGETS = [(2023, 25), (2024, 35), (2025, 50)]


def reuse_target(year):
    """The decree's target (percent) for a year, or None before it applies."""
    targets = [percent for since, percent in REUSE_TARGETS if since <= year]
    return targets[-1] if targets else None
