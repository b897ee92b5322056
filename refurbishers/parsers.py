"""Readers of machine-made reports, without any database access: they turn a file into plain data, or
raise `MalformedReport` (in French) when the file as a whole cannot be read. Row-level problems are
returned, not raised, so that an import can keep the good rows and explain the others."""

import csv
import io
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

from .enums import (
    CosmeticGrade,
    FunctionalGrade,
    MediumInterface,
    MediumKind,
    SanitisationLevel,
    SanitisationTechnique,
    TestResult,
    VerificationMethod,
)

GIB = 1024**3


class MalformedReport(ValueError):
    """The file cannot be read at all: nothing of it is saved."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


def _load_json(data, what):
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise MalformedReport(
            _("Le fichier n'est pas du texte UTF-8 : ce n'est pas un %(what)s.") % {"what": what}
        ) from None
    if not text.strip():
        raise MalformedReport(_("Le fichier est vide."))
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise MalformedReport(
            _(
                "Le fichier n'est pas un JSON valide (erreur ligne %(line)d, colonne %(column)d) : est-il complet ?"
            )
            % {"line": error.lineno, "column": error.colno}
        ) from None


def _dict(value):
    """A JSON object where one is expected; anything else reads as an empty one."""
    return value if isinstance(value, dict) else {}


def _dicts(value):
    """The objects of a JSON array where one is expected; anything else reads as an empty one."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _text(value):
    if value is None:
        return ""
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value).strip()


# --- lshw -json ----------------------------------------------------------------------------------

VENDOR_NAMES = {
    "hewlett-packard": "HP",
    "hp": "HP",
    "lenovo": "Lenovo",
    "dell inc.": "Dell",
    "dell": "Dell",
    "asustek computer inc.": "Asus",
    "acer": "Acer",
    "toshiba": "Toshiba",
    "fujitsu": "Fujitsu",
    "apple inc.": "Apple",
    "micro-star international co., ltd.": "MSI",
    "samsung electronics co., ltd.": "Samsung",
}
MEANINGLESS = {
    "",
    "0",
    "none",
    "default string",
    "to be filled by o.e.m.",
    "system serial number",
    "not specified",
}
SSD_MARKERS = re.compile(
    r"\bSSD\b|SOLID STATE|^MZ[0-9A-Z]|^SA400|^SUV|^CT\d+(MX|BX|P)|^INTEL SSD|^SDSSD|^SD[89]S|^THNS|^KXG|^CV[13]-|"
    r"^LITEON (CV|L8|CA)|^SK ?HYNIX SC|^MICRON_|^MTFD|^TS\d+GSSD|^ADATA SU|^SAMSUNG MZ|^WDS\d",
    re.IGNORECASE,
)


@dataclass
class LshwMedium:
    kind: str
    interface: str
    vendor: str
    model: str
    serial_number: str
    capacity_bytes: int | None
    logical_name: str

    @property
    def label(self):
        name = " ".join(part for part in (self.vendor, self.model) if part) or self.logical_name
        return f"{name} ({self.logical_name})" if self.logical_name else name

    def as_fields(self):
        return {
            "kind": self.kind,
            "interface": self.interface,
            "vendor": self.vendor,
            "model": self.model,
            "serial_number": self.serial_number,
            "capacity_bytes": self.capacity_bytes,
        }


@dataclass
class LshwMachine:
    vendor: str = ""
    product: str = ""
    version: str = ""
    serial: str = ""
    chassis: str = ""
    cpu_model: str = ""
    cpu_cores: int | None = None
    ram_bytes: int | None = None
    media: list = field(default_factory=list)
    rejected: list = field(default_factory=list)  # (label, reason): media of the machine we cannot record
    ignored: list = field(default_factory=list)  # (label, reason): not media of the machine

    @property
    def brand(self):
        return VENDOR_NAMES.get(self.vendor.lower(), self.vendor)

    @property
    def model_name(self):
        """The commercial model, without the brand the device already carries: lshw's product without
        the trailing SKU « (F5R46AV) »; Lenovo puts the model name in `version` and a machine type in
        `product`."""
        if self.brand == "Lenovo" and self.version and not self.version.lower().startswith("lenovo"):
            return self.version
        model = re.sub(r"\s*\([^)]*\)\s*$", "", self.product).strip()
        if self.brand and model.lower().startswith(self.brand.lower() + " "):
            model = model[len(self.brand) :].strip()
        return model

    @property
    def ram_gb(self):
        return Decimal(self.ram_bytes / GIB).quantize(Decimal("0.1")) if self.ram_bytes else None

    @property
    def storage_summary(self):
        return ", ".join(
            f"{dict(MediumKind.choices)[m.kind]} {round(m.capacity_bytes / 1e9)} Go"
            if m.capacity_bytes
            else m.kind
            for m in self.media
        )


def parse_lshw(data: bytes) -> LshwMachine:
    """Read `lshw -json` output: the machine (vendor, product, serial), its CPU, memory and the storage
    media that belong to it.

    Not media of the machine, and listed as ignored: anything on a USB bus (the boot stick, an external
    disk), optical drives, card readers and other removable drives with no medium inserted. NVMe drives
    are one medium per controller (its namespaces add up to its capacity)."""
    document = _load_json(data, _("rapport lshw"))
    if isinstance(document, list):
        systems = [node for node in document if isinstance(node, dict)]
        document = systems[0] if len(systems) == 1 else None
    if not isinstance(document, dict) or document.get("class") != "system" or "children" not in document:
        raise MalformedReport(
            _(
                "Ce fichier n'est pas un rapport « lshw -json » : son nœud racine doit être une machine (class « system »)."
            )
        )
    if not isinstance(document["children"], list):
        raise MalformedReport(_("Rapport lshw illisible : « children » doit être une liste."))
    machine = LshwMachine(
        vendor=_text(document.get("vendor")),
        product=_text(document.get("product")),
        version=_text(document.get("version")),
        serial=_text(document.get("serial")),
        chassis=_text(_dict(document.get("configuration")).get("chassis")),
    )
    if machine.serial.lower() in MEANINGLESS:
        machine.serial = ""
    memory_total, bank_total, cores = 0, 0, 0
    nvme_controllers = {}
    for node, ancestors in _walk(document):
        cls, node_id = node.get("class"), _text(node.get("id"))
        if cls == "processor" and re.fullmatch(r"cpu(:\d+)?", node_id) and not node.get("disabled"):
            machine.cpu_model = machine.cpu_model or _text(node.get("product"))
            cores += _int(_dict(node.get("configuration")).get("cores")) or 0
        elif (
            cls == "memory"
            and node_id.startswith("memory")
            and "system memory" in _text(node.get("description")).lower()
        ):
            size = _int(node.get("size"))
            if size:
                memory_total += size
            else:
                bank_total += sum(_int(bank.get("size")) or 0 for bank in _dicts(node.get("children")))
        elif cls == "disk":
            _lshw_disk(machine, node, ancestors, nvme_controllers)
        elif cls == "storage" and "nvme" in _text(node.get("description")).lower():
            nvme_controllers.setdefault(id(node), {"node": node, "namespaces": [], "ancestors": ancestors})
    for controller in nvme_controllers.values():
        _lshw_nvme(machine, controller)
    machine.cpu_cores = cores or None
    machine.ram_bytes = memory_total or bank_total or None
    return machine


def _walk(node, ancestors=()):
    children = node.get("children")
    if children is None:
        return
    if not isinstance(children, list):
        raise MalformedReport(_("Rapport lshw illisible : « children » doit être une liste."))
    for child in children:
        if not isinstance(child, dict):
            raise MalformedReport(_("Rapport lshw illisible : un nœud n'est pas un objet JSON."))
        yield child, ancestors
        yield from _walk(child, (*ancestors, child))


def _int(value):
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an infinite float
        return None


def _lshw_disk(machine, node, ancestors, nvme_controllers):
    if any(ancestor.get("class") == "disk" for ancestor in ancestors):
        return  # a « medium » node inside a removable drive, not a medium of its own
    businfo = _text(node.get("businfo"))
    logical = _text(node.get("logicalname"))
    names = node.get("logicalname") if isinstance(node.get("logicalname"), list) else [logical]
    label = (
        " ".join(p for p in (_text(node.get("vendor")), _text(node.get("product"))) if p)
        or logical
        or _text(node.get("id"))
    )
    capabilities = _dict(node.get("capabilities"))
    description = _text(node.get("description")).lower()
    if businfo.startswith("usb@") or any(_text(a.get("businfo")).startswith("usb@") for a in ancestors):
        machine.ignored.append(
            (
                label,
                _("support USB amovible (clé de démarrage, disque externe) : pas un support de la machine"),
            )
        )
        return
    if (
        _text(node.get("id")).startswith("cdrom")
        or any(str(name).startswith(("/dev/sr", "/dev/cdrom", "/dev/dvd")) for name in names)
        or {"cd-r", "dvd", "audio"} & set(capabilities)
    ):
        machine.ignored.append((label, _("lecteur optique")))
        return
    size = _int(node.get("size")) or max(
        (_int(child.get("size")) or 0 for child in _dicts(node.get("children"))),
        default=0,
    )
    nvme_parent = next(
        (
            a
            for a in reversed(ancestors)
            if a.get("class") == "storage" and "nvme" in _text(a.get("description")).lower()
        ),
        None,
    )
    if nvme_parent is not None or businfo.startswith("nvme@") or logical.startswith("/dev/nvme"):
        if nvme_parent is None:
            nvme_parent = node
        controller = nvme_controllers.setdefault(
            id(nvme_parent), {"node": nvme_parent, "namespaces": [], "ancestors": ancestors}
        )
        controller["namespaces"].append(node)
        return
    if not size:
        machine.ignored.append((label, _("lecteur sans support inséré (lecteur de cartes, baie vide)")))
        return
    if businfo.startswith("mmc@") or logical.startswith("/dev/mmcblk"):
        if "sd" in description.split() or description.startswith("sd "):
            machine.ignored.append((label, _("carte SD amovible : pas un support de la machine")))
            return
        kind, interface = MediumKind.EMMC, MediumInterface.MMC
    else:
        model = _text(node.get("product"))
        kind = (
            MediumKind.SSD
            if SSD_MARKERS.search(f"{model} {_text(node.get('vendor'))} {description}")
            else MediumKind.HDD
        )
        if "ata" in description.split() or businfo.startswith("ide@"):
            interface = MediumInterface.IDE if businfo.startswith("ide@") else MediumInterface.SATA
        elif businfo.startswith("scsi@"):
            interface = MediumInterface.SAS
        else:
            interface = MediumInterface.OTHER
    _lshw_add(machine, node, label, kind, interface, size, logical)


def _lshw_nvme(machine, controller):
    node = controller["node"]
    namespaces = controller["namespaces"]
    capacity = sum(_int(ns.get("size")) or 0 for ns in namespaces) or _int(node.get("size")) or None
    serial = _text(node.get("serial")) or next(
        (_text(ns.get("serial")) for ns in namespaces if _text(ns.get("serial"))), ""
    )
    logical = _text(namespaces[0].get("logicalname")) if namespaces else _text(node.get("logicalname"))
    label = " ".join(p for p in (_text(node.get("vendor")), _text(node.get("product"))) if p) or logical
    merged = {**node, "serial": serial}
    _lshw_add(machine, merged, label, MediumKind.NVME, MediumInterface.NVME, capacity, logical)


def _lshw_add(machine, node, label, kind, interface, size, logical):
    serial = _text(node.get("serial"))
    if serial.lower() in MEANINGLESS:
        machine.rejected.append(
            (
                f"{label} ({logical})" if logical and logical != label else label,
                _(
                    "numéro de série absent du rapport : saisissez ce support à la main depuis la fiche de l'appareil"
                ),
            )
        )
        return
    machine.media.append(
        LshwMedium(
            kind=kind,
            interface=interface,
            vendor=_text(node.get("vendor"))[:100],
            model=_text(node.get("product"))[:150],
            serial_number=serial[:100],
            capacity_bytes=size or None,
            logical_name=logical,
        )
    )


# --- nwipe JSON erasure report -------------------------------------------------------------------

NWIPE_OVERWRITE_METHODS = {
    "fill with zeros",
    "fill with ones",
    "prng stream",
    "dod short",
    "dod 5220.22-m",
    "gutmann wipe",
    "rcmp tssit ops-ii",
    "hmg is5 enhanced",
    "bruce schneier 7-pass",
    "bmb21-2019",
}
NWIPE_FIRMWARE_METHODS = {
    "secure erase (ata/nvme)": "secure_erase",
    "secure erase + prng + verify": "secure_erase",
    "sanitize crypto erase (ata/scsi/nvme)": "crypto",
    "sanitize block erase (ata/scsi/nvme)": "block",
    "sanitize overwrite (ata/scsi/nvme)": "overwrite",
}
NWIPE_METHOD_CHOICES = [
    ("PRNG Stream", "PRNG Stream"),
    ("Fill With Zeros", "Fill With Zeros"),
    ("Fill With Ones", "Fill With Ones"),
    ("DoD Short", "DoD Short"),
    ("DoD 5220.22-M", "DoD 5220.22-M"),
    ("RCMP TSSIT OPS-II", "RCMP TSSIT OPS-II"),
    ("Gutmann Wipe", "Gutmann Wipe"),
    ("HMG IS5 Enhanced", "HMG IS5 Enhanced"),
    ("Bruce Schneier 7-Pass", "Bruce Schneier 7-Pass"),
    ("BMB21-2019", "BMB21-2019"),
    ("Secure Erase (ATA/NVMe)", "Secure Erase (ATA/NVMe)"),
    ("Sanitize Block Erase (ATA/SCSI/NVMe)", "Sanitize Block Erase (ATA/SCSI/NVMe)"),
    ("Sanitize Crypto Erase (ATA/SCSI/NVMe)", "Sanitize Crypto Erase (ATA/SCSI/NVMe)"),
]
NWIPE_VERIFY_CHOICES = [("last", "Last Pass"), ("all", "All Passes"), ("off", "Off")]
NWIPE_BUS = {
    "ata": (MediumInterface.SATA, None),
    "sata": (MediumInterface.SATA, None),
    "nvme": (MediumInterface.NVME, MediumKind.NVME),
    "sas": (MediumInterface.SAS, None),
    "scsi": (MediumInterface.SAS, None),
    "mmc": (MediumInterface.MMC, MediumKind.EMMC),
    "usb": (MediumInterface.USB, None),
    "ide": (MediumInterface.IDE, None),
}


@dataclass
class NwipeRow:
    """One wiped drive, as nwipe reported it. `problem` is why the row cannot be recorded at all."""

    index: int
    source_name: str
    model: str = ""
    serial_number: str = ""
    device_name: str = ""
    bus: str = ""
    size_bytes: int | None = None
    system_serial: str = ""
    method: str = ""
    verify: str = ""
    prng: str = ""
    status: str = ""
    rounds_requested: int | None = None
    rounds_completed: int | None = None
    errors: dict = field(default_factory=dict)
    hidden_bytes: int = 0
    passes: int | None = None
    blanking: bool | None = None
    bytes_erased: int | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    version: str = ""
    operator: str = ""
    problem: str = ""

    @property
    def label(self):
        name = self.serial_number or self.device_name or f"n° {self.index}"
        return f"{self.source_name} – {name}" if self.source_name else name

    def interpretation(self):
        """(level, technique, verification method, verification result, outcome, failure reasons)."""
        method = self.method.lower().strip()
        firmware = NWIPE_FIRMWARE_METHODS.get(method)
        nvme = self.bus.lower() == "nvme"
        if firmware is None:
            level, technique = SanitisationLevel.CLEAR, SanitisationTechnique.OVERWRITE
        else:
            level = SanitisationLevel.PURGE
            technique = {
                "secure_erase": SanitisationTechnique.NVME_FORMAT
                if nvme
                else SanitisationTechnique.ATA_SECURE_ERASE,
                "crypto": SanitisationTechnique.NVME_SANITIZE_CRYPTO
                if nvme
                else SanitisationTechnique.ATA_SANITIZE_CRYPTO,
                "block": SanitisationTechnique.NVME_SANITIZE_BLOCK
                if nvme
                else SanitisationTechnique.ATA_SANITIZE_BLOCK,
                "overwrite": SanitisationTechnique.SANITIZE_OVERWRITE,
            }[firmware]
        verify = self.verify.lower()
        verification_method = VerificationMethod.FULL if "all" in verify else VerificationMethod.LAST_PASS
        reasons = []
        if self.status != "success":
            reasons.append(_("nwipe a rendu l'état « %(status)s »") % {"status": self.status or "?"})
        nonzero = {name: count for name, count in self.errors.items() if count}
        if nonzero:
            reasons.append(
                _("erreurs signalées : %(errors)s")
                % {"errors": ", ".join(f"{k} {v}" for k, v in sorted(nonzero.items()))}
            )
        if (
            self.rounds_requested
            and self.rounds_completed is not None
            and self.rounds_completed < self.rounds_requested
        ):
            reasons.append(
                _("%(done)d passage(s) sur %(asked)d")
                % {"done": self.rounds_completed, "asked": self.rounds_requested}
            )
        if self.hidden_bytes > 0:
            reasons.append(
                _("zone cachée (HPA/DCO) de %(bytes)d octets non effacée") % {"bytes": self.hidden_bytes}
            )
        verification_failed = bool(self.errors.get("verify"))
        verification_result = "failed" if verification_failed or self.status != "success" else "passed"
        outcome = "failed" if reasons else "erased"
        return level, technique, verification_method, verification_result, outcome, reasons


def parse_nwipe(data: bytes, *, source_name="", default_method="", default_verify="last") -> list[NwipeRow]:
    """Read nwipe's JSON erasure report(s). nwipe writes one file per wiped drive when started with
    `--json` (ShredOS: next to the PDF certificate). Two layouts exist and both are accepted:

    - `org.nwipe.report.v1` (`"report_schema": "org.nwipe.report.v1"`): `report_metadata` {software
      "nwipe", version, generated_at}, `organization_details` {business_name, op_tech_name…}, `system`
      {system_serial_number…}, `device` {name, model, serial_number, size_bytes, real_size_bytes, type},
      `wipe` {status "success"|"failure", method, prng, verify, rounds_requested, rounds_completed,
      start_time, end_time (Unix seconds), errors {pass, verify, round, fsyncdata}};
    - the first layout (nwipe's JSON option as first proposed): `report_metadata`, `organization`,
      `device` {name, model, serial_no, size_bytes}, `wipe_result` {status, rounds_requested,
      pass_errors, verify_errors, start_time, end_time}. It says neither the method nor the verification
      mode: the importer's `default_method` / `default_verify` stand for them.

    A file may hold one report (an object) or several (an array of reports). Anything else, or a report
    whose `report_metadata.software` is not « nwipe », is malformed."""
    document = _load_json(data, _("rapport nwipe"))
    reports = document if isinstance(document, list) else [document]
    if not reports:
        raise MalformedReport(_("Le fichier ne contient aucun rapport."))
    rows = []
    for index, report in enumerate(reports, start=1):
        if not isinstance(report, dict):
            raise MalformedReport(_("Le rapport n° %(index)d n'est pas un objet JSON.") % {"index": index})
        metadata = report.get("report_metadata")
        if not isinstance(metadata, dict) or _text(metadata.get("software")).lower() != "nwipe":
            raise MalformedReport(
                _(
                    "Le rapport n° %(index)d n'est pas un rapport nwipe (report_metadata.software ≠ « nwipe »)."
                )
                % {"index": index}
            )
        device = report.get("device")
        wipe = report.get("wipe") if "wipe" in report else report.get("wipe_result")
        if not isinstance(device, dict) or not isinstance(wipe, dict):
            raise MalformedReport(
                _("Le rapport n° %(index)d n'a pas les sections « device » et « wipe » (ou « wipe_result »).")
                % {"index": index}
            )
        rows.append(
            _nwipe_row(index, report, metadata, device, wipe, source_name, default_method, default_verify)
        )
    return rows


def _nwipe_row(index, report, metadata, device, wipe, source_name, default_method, default_verify):
    row = NwipeRow(index=index, source_name=source_name)
    system = report.get("system") if isinstance(report.get("system"), dict) else {}
    organisation = report.get("organization_details") or report.get("organization") or {}
    row.version = _text(metadata.get("version"))
    row.operator = _text(organisation.get("op_tech_name")) if isinstance(organisation, dict) else ""
    row.model = _text(device.get("model"))[:150]
    row.serial_number = _text(device.get("serial_number") or device.get("serial_no"))[:100]
    row.device_name = _text(device.get("name"))
    row.bus = _text(device.get("type"))
    row.size_bytes = _int(device.get("size_bytes"))
    real = _int(device.get("real_size_bytes")) or 0
    if row.size_bytes and real > row.size_bytes:
        row.hidden_bytes = real - row.size_bytes
    row.system_serial = _text(system.get("system_serial_number"))
    if row.system_serial.lower() in MEANINGLESS:
        row.system_serial = ""
    row.method = _text(wipe.get("method")) or default_method
    row.verify = _text(wipe.get("verify")) or default_verify
    row.prng = _text(wipe.get("prng"))
    row.status = _text(wipe.get("status")).lower()
    row.rounds_requested = _int(wipe.get("rounds_requested"))
    row.rounds_completed = _int(wipe.get("rounds_completed"))
    errors = wipe.get("errors") if isinstance(wipe.get("errors"), dict) else {}
    row.errors = {
        "pass": _int(errors.get("pass", wipe.get("pass_errors"))) or 0,
        "verify": _int(errors.get("verify", wipe.get("verify_errors"))) or 0,
        "round": _int(errors.get("round")) or 0,
        "fsyncdata": _int(errors.get("fsyncdata")) or 0,
    }
    row.passes = _int(wipe.get("passes", wipe.get("pass_count")))
    blank = wipe.get("blanking", wipe.get("blank"))
    if isinstance(blank, str):
        blank = {"yes": True, "oui": True, "true": True, "no": False, "non": False, "false": False}.get(
            blank.strip().lower()
        )
    row.blanking = blank if isinstance(blank, bool) else None
    row.bytes_erased = _int(wipe.get("bytes_erased"))
    row.started_at = _timestamp(wipe.get("start_time"))
    row.ended_at = _timestamp(wipe.get("end_time"))
    method = row.method.lower().strip()
    if not row.serial_number or row.serial_number.lower() in MEANINGLESS | {"unknown"}:
        row.problem = _("numéro de série du disque absent du rapport")
    elif row.status not in {"success", "failure"}:
        row.problem = _("état « %(status)s » inconnu (attendu : success ou failure)") % {
            "status": row.status or "—"
        }
    elif row.started_at is None or row.ended_at is None:
        row.problem = _("horodatages de début et de fin absents ou illisibles")
    elif row.ended_at < row.started_at:
        row.problem = _("la fin de l'effacement précède son début")
    elif method.startswith("verify"):
        row.problem = _("la méthode « %(method)s » vérifie un disque sans l'effacer") % {"method": row.method}
    elif method not in NWIPE_OVERWRITE_METHODS and method not in NWIPE_FIRMWARE_METHODS:
        row.problem = _("méthode nwipe « %(method)s » inconnue") % {"method": row.method or "—"}
    elif row.status == "success" and ("off" in row.verify.lower() or "none" in row.verify.lower()):
        row.problem = _(
            "effacement sans vérification (nwipe lancé avec --verify=off) : relancez-le avec une vérification"
        )
    return row


def _timestamp(value):
    if value in (None, "", 0):
        return None
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


# --- CSV template --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CsvColumn:
    key: str
    help: str
    required: bool = False


CSV_COLUMNS = [
    CsvColumn(
        "identifiant", "Numéro de série, numéro d'inventaire ou identifiant public de l'appareil", True
    ),
    CsvColumn("marque", "Complète la fiche si elle est vide"),
    CsvColumn("modele", "Complète la fiche si elle est vide"),
    CsvColumn("processeur", "Par exemple « Intel Core i5-8250U »"),
    CsvColumn("memoire_go", "Mémoire vive en Go, par exemple 8"),
    CsvColumn("stockage_type", "HDD, SSD, NVMe, eMMC, flash, ou « aucun » pour déclarer qu'il n'y en a pas"),
    CsvColumn("stockage_capacite_go", "Capacité en Go"),
    CsvColumn("stockage_numero_serie", "Numéro de série du disque (il faudra l'effacer)"),
    CsvColumn("stockage_modele", "Modèle du disque"),
    CsvColumn("batterie_sante_pct", "Santé de la batterie, de 0 à 100"),
    CsvColumn("ecran_pouces", "Taille d'écran en pouces, par exemple 15,6"),
    CsvColumn("ecran_defauts", "Pixels morts, rayures…"),
    CsvColumn("test_clavier", "ok, ko ou nt (non testé)"),
    CsvColumn("test_pave_tactile", "ok, ko ou nt"),
    CsvColumn("test_ports", "ok, ko ou nt"),
    CsvColumn("test_webcam", "ok, ko ou nt"),
    CsvColumn("test_wifi", "ok, ko ou nt"),
    CsvColumn("systeme", "Système installé, par exemple « Linux Mint 22 »"),
    CsvColumn("chargeur", "oui ou non"),
    CsvColumn("accessoires", "Autres accessoires"),
    CsvColumn("grade_esthetique", "A, B, C ou D"),
    CsvColumn("grade_fonctionnel", "fonctionnel, mineur, a_reparer ou hs"),
    CsvColumn("observations", "Texte libre"),
]
CSV_KEYS = [column.key for column in CSV_COLUMNS]
MAX_CSV_ROWS = 50_000

TEST_VALUES = {
    "ok": TestResult.OK,
    "oui": TestResult.OK,
    "1": TestResult.OK,
    "fonctionne": TestResult.OK,
    "ko": TestResult.FAIL,
    "non": TestResult.FAIL,
    "0": TestResult.FAIL,
    "hs": TestResult.FAIL,
    "défaillant": TestResult.FAIL,
    "nt": TestResult.NOT_TESTED,
    "na": TestResult.NOT_TESTED,
    "": TestResult.NOT_TESTED,
    "non testé": TestResult.NOT_TESTED,
}
FUNCTIONAL_VALUES = {
    "fonctionnel": FunctionalGrade.FULL,
    "full": FunctionalGrade.FULL,
    "complet": FunctionalGrade.FULL,
    "mineur": FunctionalGrade.MINOR,
    "minor": FunctionalGrade.MINOR,
    "défauts mineurs": FunctionalGrade.MINOR,
    "a_reparer": FunctionalGrade.REPAIR,
    "à réparer": FunctionalGrade.REPAIR,
    "repair": FunctionalGrade.REPAIR,
    "hs": FunctionalGrade.BROKEN,
    "hors d'usage": FunctionalGrade.BROKEN,
    "broken": FunctionalGrade.BROKEN,
}
STORAGE_VALUES = {
    "hdd": MediumKind.HDD,
    "disque dur": MediumKind.HDD,
    "ssd": MediumKind.SSD,
    "nvme": MediumKind.NVME,
    "emmc": MediumKind.EMMC,
    "flash": MediumKind.FLASH,
}
NO_STORAGE_VALUES = {"aucun", "aucune", "sans", "none"}


def read_csv(data: bytes):
    """Decode and split the CSV template. Returns the data rows as dicts (keys = template columns), each
    with its line number. Raises MalformedReport when the file is not a readable CSV of the template."""
    if not data.strip():
        raise MalformedReport(_("Le fichier est vide."))
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    if "\x00" in text:
        raise MalformedReport(
            _("Ce fichier n'est pas un CSV (contenu binaire). Enregistrez-le au format CSV.")
        )
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") >= first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as error:
        raise MalformedReport(_("Ligne d'en-tête illisible : %(error)s") % {"error": error}) from None
    header = [column.strip().lower() for column in header]
    if "identifiant" not in header:
        raise MalformedReport(
            _("La colonne « identifiant » est absente : partez du modèle CSV téléchargeable sur cette page.")
        )
    unknown = [column for column in header if column and column not in CSV_KEYS]
    if unknown:
        raise MalformedReport(
            _("Colonnes inconnues : %(columns)s. Les colonnes du modèle sont : %(expected)s.")
            % {"columns": ", ".join(unknown), "expected": ", ".join(CSV_KEYS)}
        )
    duplicated = {column for column in header if column and header.count(column) > 1}
    if duplicated:
        raise MalformedReport(
            _("Colonnes en double : %(columns)s.") % {"columns": ", ".join(sorted(duplicated))}
        )
    rows = []
    try:
        for values in reader:
            if not any(value.strip() for value in values):
                continue
            if len(values) > len(header):
                raise MalformedReport(
                    _(
                        "Ligne %(line)d : %(count)d valeurs pour %(columns)d colonnes (séparateur « %(sep)s » dans un champ non protégé par des guillemets ?)."
                    )
                    % {
                        "line": reader.line_num,
                        "count": len(values),
                        "columns": len(header),
                        "sep": delimiter,
                    }
                )
            row = {key: (values[i].strip() if i < len(values) else "") for i, key in enumerate(header) if key}
            row["_line"] = reader.line_num
            rows.append(row)
            if len(rows) > MAX_CSV_ROWS:
                raise MalformedReport(
                    _("Le fichier dépasse %(max)d lignes : découpez-le.") % {"max": MAX_CSV_ROWS}
                )
    except csv.Error as error:
        raise MalformedReport(
            _("CSV illisible à la ligne %(line)d : %(error)s") % {"line": reader.line_num, "error": error}
        ) from None
    if not rows:
        raise MalformedReport(_("Le fichier ne contient aucune ligne de données sous l'en-tête."))
    return rows


def _decimal(value, *, minimum=None, maximum=None, label=""):
    if not value:
        return None
    try:
        number = Decimal(value.replace(",", ".").replace(" ", ""))
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():  # « NaN », « Infinity »
        raise ValueError(
            _("%(label)s : « %(value)s » n'est pas un nombre") % {"label": label, "value": value}
        ) from None
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        raise ValueError(
            _("%(label)s : %(value)s hors des limites (%(min)s à %(max)s)")
            % {"label": label, "value": value, "min": minimum, "max": maximum}
        )
    return number


def csv_row_values(row):
    """Check one CSV row. Returns (audit fields, medium fields or None, no-storage flag, device fields),
    or raises ValueError with the reasons in French."""
    problems = []

    def take(parser):
        try:
            return parser()
        except ValueError as error:
            problems.append(str(error))
            return None

    fields = {
        "cpu_model": row.get("processeur", "")[:150],
        "screen_defects": row.get("ecran_defauts", "")[:255],
        "os_installed": row.get("systeme", "")[:100],
        "accessories": row.get("accessoires", "")[:255],
        "notes": row.get("observations", ""),
    }
    fields["ram_gb"] = take(
        lambda: _decimal(row.get("memoire_go", ""), minimum=0, maximum=4096, label="memoire_go")
    )
    battery = take(
        lambda: _decimal(
            row.get("batterie_sante_pct", ""), minimum=0, maximum=100, label="batterie_sante_pct"
        )
    )
    fields["battery_health_pct"] = int(battery) if battery is not None else None
    fields["screen_size_in"] = take(
        lambda: _decimal(row.get("ecran_pouces", ""), minimum=1, maximum=100, label="ecran_pouces")
    )
    for column, name in (
        ("test_clavier", "keyboard_test"),
        ("test_pave_tactile", "touchpad_test"),
        ("test_ports", "ports_test"),
        ("test_webcam", "webcam_test"),
        ("test_wifi", "wifi_test"),
    ):
        value = row.get(column, "").lower()
        if value in TEST_VALUES:
            fields[name] = TEST_VALUES[value]
        else:
            problems.append(
                _("%(column)s : « %(value)s » (attendu ok, ko ou nt)") % {"column": column, "value": value}
            )
    charger = row.get("chargeur", "").lower()
    if charger in ("oui", "o", "1", "yes"):
        fields["charger_included"] = True
    elif charger in ("non", "n", "0", "no"):
        fields["charger_included"] = False
    elif charger:
        problems.append(_("chargeur : « %(value)s » (attendu oui ou non)") % {"value": charger})
    grade = row.get("grade_esthetique", "").upper()
    if grade and grade not in CosmeticGrade.values:
        problems.append(_("grade_esthetique : « %(value)s » (attendu A, B, C ou D)") % {"value": grade})
    fields["cosmetic_grade"] = grade if grade in CosmeticGrade.values else ""
    functional = row.get("grade_fonctionnel", "").lower()
    if functional and functional not in FUNCTIONAL_VALUES:
        problems.append(
            _("grade_fonctionnel : « %(value)s » (attendu fonctionnel, mineur, a_reparer ou hs)")
            % {"value": functional}
        )
    fields["functional_grade"] = FUNCTIONAL_VALUES.get(functional, "")
    if bool(fields["cosmetic_grade"]) != bool(fields["functional_grade"]):
        problems.append(_("indiquez les deux grades (esthétique et fonctionnel), ou aucun"))
    storage = row.get("stockage_type", "").lower()
    medium, no_storage = None, False
    if storage in NO_STORAGE_VALUES:
        no_storage = True
        if row.get("stockage_numero_serie"):
            problems.append(_("stockage « aucun » mais un numéro de série de disque est donné"))
    elif storage:
        if storage not in STORAGE_VALUES:
            problems.append(_("stockage_type : « %(value)s » inconnu") % {"value": storage})
        capacity = take(
            lambda: _decimal(
                row.get("stockage_capacite_go", ""), minimum=0, maximum=10**6, label="stockage_capacite_go"
            )
        )
        serial = row.get("stockage_numero_serie", "")[:100]
        if not serial:
            problems.append(_("stockage_numero_serie est obligatoire quand un disque est indiqué"))
        medium = {
            "kind": STORAGE_VALUES.get(storage, MediumKind.HDD),
            "serial_number": serial,
            "model": row.get("stockage_modele", "")[:150],
            "capacity_bytes": int(capacity * 10**9) if capacity else None,
        }
    elif row.get("stockage_numero_serie"):
        problems.append(_("stockage_type est obligatoire quand un numéro de série de disque est donné"))
    if problems:
        raise ValueError(" ; ".join(problems))
    device_fields = {"brand": row.get("marque", "")[:100], "model": row.get("modele", "")[:150]}
    return fields, medium, no_storage, device_fields


def csv_template():
    """The header line of the template (semicolon-separated, UTF-8 with BOM so that spreadsheets open it)."""
    return "\ufeff" + ";".join(CSV_KEYS) + "\r\n"
