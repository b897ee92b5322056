"""Reference data the platform ships: the law's categories and caps, and France's départements.
Loaded by data migrations; a cap that changes later is a new PriceCap row, never an edit."""

from datetime import date
from decimal import Decimal

DECREE_2022_1413 = "Décret n° 2022-1413 du 7 novembre 2022"
DECREE_2022_1413_IN_FORCE = date(2022, 11, 10)  # lendemain de sa publication au JO du 9 novembre 2022
DECREE_2022_1413_URL = ""  # texte publié au Journal officiel du 9 novembre 2022

# code, name, DEEE category (R543-172), decree cap (None: collected, not capped), is_pc, typical kg
CATEGORIES = [
    ("laptop", "Ordinateur portable", "2", Decimal("180"), True, Decimal("2.20")),
    ("desktop", "PC fixe avec écran, clavier et souris", "6", Decimal("150"), True, Decimal("8.00")),
    ("tablet", "Tablette", "2", Decimal("100"), False, Decimal("0.60")),
    ("smartphone", "Smartphone", "6", Decimal("100"), False, Decimal("0.20")),
    ("screen", "Écran", "2", Decimal("30"), False, Decimal("4.50")),
    ("printer", "Imprimante individuelle", "6", Decimal("30"), False, Decimal("6.00")),
    (
        "multifunction",
        "Appareil multifonctions (impression, scan, copie)",
        "6",
        Decimal("170"),
        False,
        Decimal("15.00"),
    ),
    ("mouse", "Souris", "6", None, False, Decimal("0.10")),
    ("keyboard", "Clavier", "6", None, False, Decimal("0.60")),
    ("docking-station", "Station d'accueil", "6", None, False, Decimal("0.50")),
    ("cable", "Câbles et chargeurs isolés", "6", None, False, Decimal("0.20")),
    ("other-peripheral", "Autre périphérique", "6", None, False, Decimal("0.50")),
]

DEPARTEMENTS = [
    ("01", "Ain", "84"),
    ("02", "Aisne", "32"),
    ("03", "Allier", "84"),
    ("04", "Alpes-de-Haute-Provence", "93"),
    ("05", "Hautes-Alpes", "93"),
    ("06", "Alpes-Maritimes", "93"),
    ("07", "Ardèche", "84"),
    ("08", "Ardennes", "44"),
    ("09", "Ariège", "76"),
    ("10", "Aube", "44"),
    ("11", "Aude", "76"),
    ("12", "Aveyron", "76"),
    ("13", "Bouches-du-Rhône", "93"),
    ("14", "Calvados", "28"),
    ("15", "Cantal", "84"),
    ("16", "Charente", "75"),
    ("17", "Charente-Maritime", "75"),
    ("18", "Cher", "24"),
    ("19", "Corrèze", "75"),
    ("2A", "Corse-du-Sud", "94"),
    ("2B", "Haute-Corse", "94"),
    ("21", "Côte-d'Or", "27"),
    ("22", "Côtes-d'Armor", "53"),
    ("23", "Creuse", "75"),
    ("24", "Dordogne", "75"),
    ("25", "Doubs", "27"),
    ("26", "Drôme", "84"),
    ("27", "Eure", "28"),
    ("28", "Eure-et-Loir", "24"),
    ("29", "Finistère", "53"),
    ("30", "Gard", "76"),
    ("31", "Haute-Garonne", "76"),
    ("32", "Gers", "76"),
    ("33", "Gironde", "75"),
    ("34", "Hérault", "76"),
    ("35", "Ille-et-Vilaine", "53"),
    ("36", "Indre", "24"),
    ("37", "Indre-et-Loire", "24"),
    ("38", "Isère", "84"),
    ("39", "Jura", "27"),
    ("40", "Landes", "75"),
    ("41", "Loir-et-Cher", "24"),
    ("42", "Loire", "84"),
    ("43", "Haute-Loire", "84"),
    ("44", "Loire-Atlantique", "52"),
    ("45", "Loiret", "24"),
    ("46", "Lot", "76"),
    ("47", "Lot-et-Garonne", "75"),
    ("48", "Lozère", "76"),
    ("49", "Maine-et-Loire", "52"),
    ("50", "Manche", "28"),
    ("51", "Marne", "44"),
    ("52", "Haute-Marne", "44"),
    ("53", "Mayenne", "52"),
    ("54", "Meurthe-et-Moselle", "44"),
    ("55", "Meuse", "44"),
    ("56", "Morbihan", "53"),
    ("57", "Moselle", "44"),
    ("58", "Nièvre", "27"),
    ("59", "Nord", "32"),
    ("60", "Oise", "32"),
    ("61", "Orne", "28"),
    ("62", "Pas-de-Calais", "32"),
    ("63", "Puy-de-Dôme", "84"),
    ("64", "Pyrénées-Atlantiques", "75"),
    ("65", "Hautes-Pyrénées", "76"),
    ("66", "Pyrénées-Orientales", "76"),
    ("67", "Bas-Rhin", "44"),
    ("68", "Haut-Rhin", "44"),
    ("69", "Rhône", "84"),
    ("70", "Haute-Saône", "27"),
    ("71", "Saône-et-Loire", "27"),
    ("72", "Sarthe", "52"),
    ("73", "Savoie", "84"),
    ("74", "Haute-Savoie", "84"),
    ("75", "Paris", "11"),
    ("76", "Seine-Maritime", "28"),
    ("77", "Seine-et-Marne", "11"),
    ("78", "Yvelines", "11"),
    ("79", "Deux-Sèvres", "75"),
    ("80", "Somme", "32"),
    ("81", "Tarn", "76"),
    ("82", "Tarn-et-Garonne", "76"),
    ("83", "Var", "93"),
    ("84", "Vaucluse", "93"),
    ("85", "Vendée", "52"),
    ("86", "Vienne", "75"),
    ("87", "Haute-Vienne", "75"),
    ("88", "Vosges", "44"),
    ("89", "Yonne", "27"),
    ("90", "Territoire de Belfort", "27"),
    ("91", "Essonne", "11"),
    ("92", "Hauts-de-Seine", "11"),
    ("93", "Seine-Saint-Denis", "11"),
    ("94", "Val-de-Marne", "11"),
    ("95", "Val-d'Oise", "11"),
    ("971", "Guadeloupe", "01"),
    ("972", "Martinique", "02"),
    ("973", "Guyane", "03"),
    ("974", "La Réunion", "04"),
    ("976", "Mayotte", "06"),
]


def load_reference_data(apps, schema_editor=None):
    """Idempotent: used by the data migration and safe to call again."""
    Departement = apps.get_model("reemploi", "Departement")
    EquipmentCategory = apps.get_model("reemploi", "EquipmentCategory")
    PriceCap = apps.get_model("reemploi", "PriceCap")
    for code, name, region in DEPARTEMENTS:
        Departement.objects.update_or_create(code=code, defaults={"name": name, "region_code": region})
    for order, (code, name, deee, cap, is_pc, weight) in enumerate(CATEGORIES):
        category, _created = EquipmentCategory.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "deee_category": deee,
                "is_decree_category": cap is not None,
                "is_pc": is_pc,
                "typical_weight_kg": weight,
                "sort_order": (order + 1) * 10,
            },
        )
        if cap is not None:
            PriceCap.objects.get_or_create(
                category=category,
                effective_from=DECREE_2022_1413_IN_FORCE,
                defaults={
                    "amount": cap,
                    "legal_reference": DECREE_2022_1413,
                    "source_url": DECREE_2022_1413_URL,
                },
            )
