"""Choices of the workshop: storage media and their sanitisation (NIST SP 800-88, IEEE 2883), physical
destruction (ISO/IEC 21964, formerly DIN 66399), audit tests and grades, parts, DEEE lots, shipments."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class MediumKind(models.TextChoices):
    HDD = "hdd", _("Disque dur (HDD)")
    SSD = "ssd", _("SSD SATA")
    NVME = "nvme", _("SSD NVMe")
    EMMC = "emmc", _("eMMC")
    FLASH = "flash", _("Mémoire flash (intégrée, carte, clé)")


class MediumInterface(models.TextChoices):
    SATA = "sata", _("SATA")
    NVME = "nvme", _("NVMe (PCIe)")
    SAS = "sas", _("SAS / SCSI")
    IDE = "ide", _("IDE (PATA)")
    USB = "usb", _("USB")
    MMC = "mmc", _("eMMC / MMC")
    OTHER = "other", _("Autre")


class RecordSource(models.TextChoices):
    FORM = "form", _("Saisie")
    LSHW = "lshw", _("Import lshw")
    NWIPE = "nwipe", _("Import nwipe")
    CSV = "csv", _("Import CSV")
    API = "api", _("API")
    REPAIR = "repair", _("Réparation")


class SanitisationLevel(models.TextChoices):
    """NIST SP 800-88's levels. Destroy is recorded as a Destruction (with its ISO/IEC 21964 level)."""

    CLEAR = "clear", _("Clear (effacement logique)")
    PURGE = "purge", _("Purge (micrologiciel, cryptographie, démagnétisation)")


class SanitisationTechnique(models.TextChoices):
    OVERWRITE = "overwrite", _("Écrasement (une ou plusieurs passes)")
    ATA_SECURE_ERASE = "ata_secure_erase", _("ATA Secure Erase")
    ATA_SANITIZE_BLOCK = "ata_sanitize_block", _("Sanitize – Block Erase (ATA/SCSI)")
    ATA_SANITIZE_CRYPTO = "ata_sanitize_crypto", _("Sanitize – Crypto Scramble (ATA/SCSI)")
    SANITIZE_OVERWRITE = "sanitize_overwrite", _("Sanitize – Overwrite (micrologiciel)")
    NVME_SANITIZE_BLOCK = "nvme_sanitize_block", _("NVMe Sanitize – Block Erase")
    NVME_SANITIZE_CRYPTO = "nvme_sanitize_crypto", _("NVMe Sanitize – Crypto Erase")
    NVME_FORMAT = "nvme_format", _("NVMe Format – Secure Erase")
    CRYPTO_ERASE = "crypto_erase", _("Effacement cryptographique (appareil chiffré)")
    FACTORY_RESET = "factory_reset", _("Réinitialisation d'usine")
    DEGAUSS = "degauss", _("Démagnétisation")


# Which NIST level each technique reaches (NIST SP 800-88 Rev. 1 appendix A, Rev. 2 / IEEE 2883-2022).
TECHNIQUE_LEVELS = {
    SanitisationTechnique.OVERWRITE: {SanitisationLevel.CLEAR},
    SanitisationTechnique.FACTORY_RESET: {SanitisationLevel.CLEAR},
    SanitisationTechnique.ATA_SECURE_ERASE: {SanitisationLevel.PURGE},
    SanitisationTechnique.ATA_SANITIZE_BLOCK: {SanitisationLevel.PURGE},
    SanitisationTechnique.ATA_SANITIZE_CRYPTO: {SanitisationLevel.PURGE},
    SanitisationTechnique.SANITIZE_OVERWRITE: {SanitisationLevel.PURGE},
    SanitisationTechnique.NVME_SANITIZE_BLOCK: {SanitisationLevel.PURGE},
    SanitisationTechnique.NVME_SANITIZE_CRYPTO: {SanitisationLevel.PURGE},
    SanitisationTechnique.NVME_FORMAT: {SanitisationLevel.PURGE},
    SanitisationTechnique.CRYPTO_ERASE: {SanitisationLevel.PURGE},
    SanitisationTechnique.DEGAUSS: {SanitisationLevel.PURGE},
}
# Techniques that only make sense on some media (degaussing a flash chip erases nothing).
TECHNIQUE_MEDIA = {
    SanitisationTechnique.DEGAUSS: {MediumKind.HDD},
    SanitisationTechnique.NVME_SANITIZE_BLOCK: {MediumKind.NVME},
    SanitisationTechnique.NVME_SANITIZE_CRYPTO: {MediumKind.NVME},
    SanitisationTechnique.NVME_FORMAT: {MediumKind.NVME},
    SanitisationTechnique.ATA_SECURE_ERASE: {MediumKind.HDD, MediumKind.SSD},
    SanitisationTechnique.ATA_SANITIZE_BLOCK: {MediumKind.HDD, MediumKind.SSD},
    SanitisationTechnique.ATA_SANITIZE_CRYPTO: {MediumKind.HDD, MediumKind.SSD},
}


class SanitisationStandard(models.TextChoices):
    NIST_800_88_R2 = "nist-800-88-r2", _("NIST SP 800-88 Rév. 2 (2025)")
    IEEE_2883_2022 = "ieee-2883-2022", _("IEEE 2883-2022")
    NIST_800_88_R1 = "nist-800-88-r1", _("NIST SP 800-88 Rév. 1 (2014)")


class VerificationMethod(models.TextChoices):
    FULL = "full", _("Relecture complète du support")
    LAST_PASS = "last_pass", _("Relecture du dernier passage")
    SAMPLING = "sampling", _("Échantillonnage")
    FIRMWARE_STATUS = "firmware_status", _("Contrôle de l'état rendu par le micrologiciel")
    NONE = "none", _("Aucune")


class VerificationResult(models.TextChoices):
    PASSED = "passed", _("Vérification réussie")
    FAILED = "failed", _("Vérification en échec")
    NOT_DONE = "not_done", _("Non vérifié")


class SanitisationOutcome(models.TextChoices):
    ERASED = "erased", _("Effacé")
    FAILED = "failed", _("Échec")


class MediaDestination(models.TextChoices):
    REUSE = "reuse", _("Réemploi")
    RECYCLING = "recycling", _("Recyclage")


class DestructionMethod(models.TextChoices):
    SHREDDING = "shredding", _("Broyage")
    DISINTEGRATION = "disintegration", _("Désintégration (granulométrie fine)")
    CRUSHING = "crushing", _("Écrasement / poinçonnage")
    DRILLING = "drilling", _("Perçage")
    DEGAUSS_AND_SHRED = "degauss_shred", _("Démagnétisation puis broyage")


# ISO/IEC 21964 (DIN 66399) material classes: H magnetic hard disks, E electronic media (SSD, flash,
# eMMC, chip cards), O optical media, T other magnetic media. Security levels 1 to 7.
ISO_21964_CLASSES = {
    "H": _("disques durs magnétiques"),
    "E": _("supports électroniques (SSD, flash, eMMC)"),
    "O": _("supports optiques"),
    "T": _("autres supports magnétiques"),
}
ISO_21964_LEVEL_CHOICES = [
    (f"{letter}-{level}", f"{letter}-{level} ({label}, niveau {level})")
    for letter, label in ISO_21964_CLASSES.items()
    for level in range(1, 8)
]
MEDIUM_MATERIAL_CLASS = {
    MediumKind.HDD: "H",
    MediumKind.SSD: "E",
    MediumKind.NVME: "E",
    MediumKind.EMMC: "E",
    MediumKind.FLASH: "E",
}


class TestResult(models.TextChoices):
    __test__ = False  # not a pytest test class

    OK = "ok", _("Fonctionne")
    FAIL = "fail", _("Défaillant")
    NOT_TESTED = "na", _("Non testé / sans objet")


class CosmeticGrade(models.TextChoices):
    A = "A", _("A – comme neuf")
    B = "B", _("B – très bon état")
    C = "C", _("C – bon état")
    D = "D", _("D – état correct, traces visibles")


class FunctionalGrade(models.TextChoices):
    FULL = "full", _("Entièrement fonctionnel")
    MINOR = "minor", _("Fonctionnel, défauts mineurs")
    REPAIR = "repair", _("À réparer")
    BROKEN = "broken", _("Hors d'usage")


READY_FUNCTIONAL_GRADES = {FunctionalGrade.FULL, FunctionalGrade.MINOR}


class ImportKind(models.TextChoices):
    LSHW = "lshw", _("Inventaire matériel lshw (JSON)")
    NWIPE = "nwipe", _("Rapport d'effacement nwipe (JSON)")
    CSV = "csv", _("Diagnostics en lot (CSV)")


class ImportStatus(models.TextChoices):
    PENDING = "pending", _("En attente")
    RUNNING = "running", _("En cours")
    DONE = "done", _("Terminé")
    FAILED = "failed", _("Échec")


class PartKind(models.TextChoices):
    RAM = "ram", _("Barrette mémoire")
    STORAGE = "storage", _("Disque ou SSD")
    BATTERY = "battery", _("Batterie")
    CHARGER = "charger", _("Chargeur")
    SCREEN = "screen", _("Dalle d'écran")
    KEYBOARD = "keyboard", _("Clavier")
    MOTHERBOARD = "motherboard", _("Carte mère")
    WIFI = "wifi", _("Carte wifi")
    FAN = "fan", _("Ventilateur")
    CASE = "case", _("Coque, charnières, plasturgie")
    OTHER = "other", _("Autre")


class PartStatus(models.TextChoices):
    IN_STOCK = "in_stock", _("En stock")
    USED = "used", _("Utilisée en réparation")
    DISCARDED = "discarded", _("Mise au rebut")


class PartOrigin(models.TextChoices):
    HARVESTED = "harvested", _("Prélevée sur un appareil")
    DONATED = "donated", _("Donnée")
    BOUGHT = "bought", _("Achetée")


class WasteCode(models.TextChoices):
    """Codes of the European list of waste (décision 2000/532/CE) used for IT equipment."""

    EQUIPMENT_HAZARDOUS = (
        "16 02 13*",
        _("16 02 13* – équipements mis au rebut contenant des composants dangereux"),
    )
    EQUIPMENT = "16 02 14", _("16 02 14 – équipements mis au rebut (non dangereux)")
    COMPONENTS_HAZARDOUS = "16 02 15*", _("16 02 15* – composants dangereux retirés des équipements")
    COMPONENTS = "16 02 16", _("16 02 16 – composants retirés des équipements (non dangereux)")
    HOUSEHOLD_HAZARDOUS = (
        "20 01 35*",
        _("20 01 35* – équipements des ménages contenant des composants dangereux"),
    )
    HOUSEHOLD = "20 01 36", _("20 01 36 – équipements des ménages (non dangereux)")


def is_hazardous(waste_code):
    return waste_code.endswith("*")


class EcoOrganisme(models.TextChoices):
    NONE = "", _("Aucun (opérateur sous contrat)")
    ECOSYSTEM = "ecosystem", _("ecosystem")
    ECOLOGIC = "ecologic", _("Ecologic")


class TreatmentCode(models.TextChoices):
    """Recovery (R) and disposal (D) operations, directive 2008/98/CE annexes I and II. R0 (reuse) is
    deliberately absent: a device that is reused does not go into a DEEE lot."""

    R1 = "R1", _("R1 – utilisation comme combustible ou production d'énergie")
    R2 = "R2", _("R2 – récupération ou régénération des solvants")
    R3 = "R3", _("R3 – recyclage des substances organiques")
    R4 = "R4", _("R4 – recyclage des métaux et composés métalliques")
    R5 = "R5", _("R5 – recyclage d'autres matières inorganiques")
    R6 = "R6", _("R6 – régénération des acides ou des bases")
    R7 = "R7", _("R7 – récupération des produits servant à capter les polluants")
    R8 = "R8", _("R8 – récupération des produits provenant des catalyseurs")
    R9 = "R9", _("R9 – régénération ou autres réemplois des huiles")
    R10 = "R10", _("R10 – épandage sur le sol")
    R11 = "R11", _("R11 – utilisation de déchets issus des opérations R1 à R10")
    R12 = "R12", _("R12 – échange de déchets en vue d'une opération R1 à R11")
    R13 = "R13", _("R13 – stockage préalable à une opération R1 à R12")
    D1 = "D1", _("D1 – dépôt sur ou dans le sol")
    D5 = "D5", _("D5 – mise en décharge spécialement aménagée")
    D9 = "D9", _("D9 – traitement physico-chimique")
    D10 = "D10", _("D10 – incinération à terre")
    D13 = "D13", _("D13 – regroupement préalable à une opération D1 à D12")
    D14 = "D14", _("D14 – reconditionnement préalable à une opération D1 à D13")
    D15 = "D15", _("D15 – stockage préalable à une opération D1 à D14")


class WasteLotStatus(models.TextChoices):
    OPEN = "open", _("En préparation")
    HANDED_OVER = "handed_over", _("Remis au prestataire")


class ShipmentStatus(models.TextChoices):
    DRAFT = "draft", _("En préparation")
    DISPATCHED = "dispatched", _("Expédiée")
    RECEIVED = "received", _("Reçue")
    PARTIAL = "partial", _("Reçue, appareils manquants")


class ShipmentLineStatus(models.TextChoices):
    PENDING = "pending", _("En attente")
    RECEIVED = "received", _("Reçu")
    MISSING = "missing", _("Manquant")
