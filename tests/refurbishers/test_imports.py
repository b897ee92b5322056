"""Imports: real `lshw -json` files of HP ProBooks, nwipe's JSON reports (both layouts), the CSV
template. Good rows are saved, bad rows refused with their reason, malformed files save nothing."""

import hashlib
import json
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from reemploi.enums import DeviceState as S
from reemploi.models import Device
from refurbishers import imports, parsers
from refurbishers.enums import ImportStatus, SanitisationLevel, SanitisationOutcome, SanitisationTechnique
from refurbishers.models import Audit, Evidence, ImportJob, NoStorageDeclaration, Sanitisation, StorageMedium
from tests.reemploi.factories import DeviceFactory, OrganisationFactory

from .factories import MediumFactory

pytestmark = pytest.mark.django_db


def _shared_lshw_dir():
    for parent in Path(settings.BASE_DIR).resolve().parents:
        candidate = parent / "shared" / "data" / "lshw"
        if candidate.is_dir():
            return candidate
    return None


LSHW_DIR = _shared_lshw_dir()
needs_lshw = pytest.mark.skipif(LSHW_DIR is None, reason="real lshw reports not available")


def lshw(name):
    return (LSHW_DIR / name).read_bytes()


@pytest.fixture(autouse=True)
def _on_commit(django_capture_on_commit_callbacks):
    """CSV imports are enqueued once their upload commits: run those callbacks (Celery is eager)."""
    global capture_on_commit
    capture_on_commit = django_capture_on_commit_callbacks


capture_on_commit = None


def run(kind, org, user, *files, device=None, **options):
    uploads = [imports.Upload(name, data) for name, data in files]
    with capture_on_commit(execute=True):
        return imports.import_run(
            kind=kind, organisation=org, actor=user, uploads=uploads, device=device, options=options
        )


def nothing_saved():
    return not (
        ImportJob.objects.exists()
        or Evidence.objects.exists()
        or Audit.objects.exists()
        or StorageMedium.objects.exists()
        or Sanitisation.objects.exists()
    )


# --- lshw ----------------------------------------------------------------------------------------


@needs_lshw
def test_real_lshw_report_gives_the_machine_and_its_internal_disk_only():
    machine = parsers.parse_lshw(lshw("hp_probook_450.json"))
    assert (machine.brand, machine.model_name, machine.serial) == ("HP", "ProBook 450 G2", "CND4286ZJ2")
    assert machine.cpu_model == "Intel(R) Core(TM) i5-4210U CPU @ 1.70GHz" and machine.cpu_cores == 2
    assert machine.ram_bytes == 8 * 1024**3 and str(machine.ram_gb) == "8.0"
    assert [
        (m.kind, m.interface, m.vendor, m.model, m.serial_number, m.capacity_bytes) for m in machine.media
    ] == [("hdd", "sata", "Seagate", "ST500LT012-1DG14", "S3P9A80F", 500107862016)]
    ignored = dict(machine.ignored)
    assert "USB" in ignored["KIOXIA TransMemory"]  # the live boot stick
    assert "optique" in ignored["hp DVDRAM GU90N"]
    assert not machine.rejected


@needs_lshw
@pytest.mark.parametrize(
    ("name", "serial", "disk"),
    [
        ("hp_probook_450_2.json", "CND4286ZJ2", "S3P8A90B"),
        ("hp_probook_g2.json", "CND4286ZJ3", "S3P9A81F"),
        ("hp_probook_g8.json", "CND4286Z55", "S3P9A81F"),
    ],
)
def test_every_real_lshw_report_is_read(name, serial, disk):
    machine = parsers.parse_lshw(lshw(name))
    assert machine.serial == serial
    assert [m.serial_number for m in machine.media] == [disk]


@needs_lshw
def test_lshw_import_records_audit_media_and_evidence(refurbisher, refurbisher_org):
    device = DeviceFactory(holder=refurbisher_org, serial_number="CND4286ZJ2", brand="", model="")
    job = run("lshw", refurbisher_org, refurbisher, ("hp_probook_450.json", lshw("hp_probook_450.json")))
    assert (job.status, job.saved, job.rejected) == (ImportStatus.DONE, 2, 0)
    audit = device.audits.get()
    assert (audit.source, audit.cpu_cores, str(audit.ram_gb), audit.system_serial) == (
        "lshw",
        2,
        "8.0",
        "CND4286ZJ2",
    )
    assert not audit.is_complete  # an inventory, not a full diagnostic
    medium = device.storage_media.get()
    assert (medium.serial_number, medium.kind, medium.capacity_gb) == ("S3P9A80F", "hdd", 500)
    evidence = job.evidence.get()
    assert evidence.sha256 == hashlib.sha256(lshw("hp_probook_450.json")).hexdigest()
    assert audit.evidence == evidence == medium.evidence
    with evidence.file.open("rb") as handle:
        assert handle.read() == lshw("hp_probook_450.json")
    device.refresh_from_db()
    assert (device.brand, device.model, device.state) == ("HP", "ProBook 450 G2", S.RECEIVED)


@needs_lshw
def test_lshw_reimport_adds_the_new_disk_and_points_at_the_missing_one(refurbisher, refurbisher_org):
    device = DeviceFactory(holder=refurbisher_org, serial_number="CND4286ZJ2")
    run("lshw", refurbisher_org, refurbisher, ("a.json", lshw("hp_probook_450.json")))
    job = run("lshw", refurbisher_org, refurbisher, ("b.json", lshw("hp_probook_450_2.json")))
    assert sorted(device.storage_media.values_list("serial_number", flat=True)) == ["S3P8A90B", "S3P9A80F"]
    assert any("absent de ce rapport" in notice["message"] for notice in job.notices)
    again = run("lshw", refurbisher_org, refurbisher, ("b.json", lshw("hp_probook_450_2.json")))
    assert device.storage_media.count() == 2
    assert any("déjà enregistré" in notice["message"] for notice in again.notices)


@needs_lshw
def test_lshw_disk_already_installed_elsewhere_is_refused_but_the_machine_is_saved(
    refurbisher, refurbisher_org
):
    g2 = DeviceFactory(holder=refurbisher_org, serial_number="CND4286ZJ3")
    g8 = DeviceFactory(holder=refurbisher_org, serial_number="CND4286Z55")
    run("lshw", refurbisher_org, refurbisher, ("g2.json", lshw("hp_probook_g2.json")))
    job = run("lshw", refurbisher_org, refurbisher, ("g8.json", lshw("hp_probook_g8.json")))
    assert job.rejected == 1 and g2.public_id in job.errors[0]["reason"]
    assert g8.audits.exists() and not g8.storage_media.exists()


@needs_lshw
def test_lshw_rows_for_unknown_or_mismatched_machines_are_refused(refurbisher, refurbisher_org):
    job = run("lshw", refurbisher_org, refurbisher, ("x.json", lshw("hp_probook_450.json")))
    assert job.saved == 0 and "CND4286ZJ2" in job.errors[0]["reason"]
    other = DeviceFactory(holder=refurbisher_org, serial_number="PF-OTHER")
    job = run("lshw", refurbisher_org, refurbisher, ("x.json", lshw("hp_probook_450.json")), device=other)
    assert job.saved == 0 and "PF-OTHER" in job.errors[0]["reason"]
    assert not Audit.objects.exists() and not StorageMedium.objects.exists()


@needs_lshw
def test_another_workshops_device_is_not_found(refurbisher, refurbisher_org):
    DeviceFactory(serial_number="CND4286ZJ2")  # held by another workshop
    job = run("lshw", refurbisher_org, refurbisher, ("x.json", lshw("hp_probook_450.json")))
    assert job.saved == 0 and job.rejected == 1


CRAFTED = {
    "class": "system",
    "id": "pc",
    "vendor": "LENOVO",
    "product": "20L5CTO1WW",
    "version": "ThinkPad T480",
    "serial": "PF1CRAFT",
    "children": [
        {
            "class": "bus",
            "id": "core",
            "children": [
                {
                    "class": "processor",
                    "id": "cpu",
                    "product": "Intel Core i5-8350U",
                    "configuration": {"cores": "4"},
                },
                {
                    "class": "memory",
                    "id": "memory",
                    "description": "System Memory",
                    "children": [{"class": "memory", "id": "bank:0", "size": 8589934592}],
                },
                {
                    "class": "storage",
                    "id": "nvme",
                    "description": "NVMe device",
                    "vendor": "Samsung",
                    "product": "MZVLB256HAHQ",
                    "serial": "S4DXNX0M123456",
                    "children": [
                        {
                            "class": "disk",
                            "id": "namespace:0",
                            "businfo": "nvme@0:1",
                            "logicalname": "/dev/nvme0n1",
                            "size": 200000000000,
                        },
                        {
                            "class": "disk",
                            "id": "namespace:1",
                            "businfo": "nvme@0:2",
                            "logicalname": "/dev/nvme0n2",
                            "size": 56060514304,
                        },
                    ],
                },
                {
                    "class": "storage",
                    "id": "sata",
                    "children": [
                        {
                            "class": "disk",
                            "id": "disk",
                            "description": "ATA Disk",
                            "product": "Samsung SSD 860",
                            "businfo": "scsi@0:0.0.0",
                            "logicalname": "/dev/sda",
                            "size": 250059350016,
                        },
                        {
                            "class": "disk",
                            "id": "disk:1",
                            "description": "ATA Disk",
                            "product": "No serial disk",
                            "businfo": "scsi@1:0.0.0",
                            "logicalname": "/dev/sdb",
                            "size": 1000,
                            "serial": "To be filled by O.E.M.",
                        },
                        {
                            "class": "disk",
                            "id": "disk:2",
                            "description": "SCSI Disk",
                            "product": "Card Reader",
                            "businfo": "scsi@2:0.0.0",
                            "logicalname": "/dev/sdc",
                        },
                    ],
                },
                {
                    "class": "disk",
                    "id": "mmc",
                    "description": "SD Card",
                    "businfo": "mmc@0:1",
                    "logicalname": "/dev/mmcblk1",
                    "size": 32000000000,
                    "serial": "0xabc",
                },
                {
                    "class": "disk",
                    "id": "emmc",
                    "description": "MMC",
                    "businfo": "mmc@1:1",
                    "logicalname": "/dev/mmcblk0",
                    "size": 64000000000,
                    "serial": "0xdef",
                    "product": "DA4064",
                },
            ],
        }
    ],
}


def test_crafted_lshw_nvme_namespaces_sd_cards_and_missing_serials():
    CRAFTED["children"][0]["children"][3]["children"][0]["serial"] = "SSD-SATA-1"
    machine = parsers.parse_lshw(json.dumps([CRAFTED]).encode())  # newer lshw wraps the tree in a list
    assert (machine.brand, machine.model_name, machine.cpu_cores, machine.ram_bytes) == (
        "Lenovo",
        "ThinkPad T480",
        4,
        8589934592,
    )
    media = {m.serial_number: m for m in machine.media}
    assert media["S4DXNX0M123456"].kind == "nvme" and media["S4DXNX0M123456"].capacity_bytes == 256060514304
    assert media["SSD-SATA-1"].kind == "ssd"
    assert media["0xdef"].kind == "emmc"
    assert "0xabc" not in media  # an SD card in the reader is not the machine's
    assert [label for label, _reason in machine.rejected] == ["No serial disk (/dev/sdb)"]
    assert any("lecteur sans support" in reason for _label, reason in machine.ignored)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00", "UTF-8"),
        (b"", "vide"),
        (b'{"class": "system", "children": [', "JSON valide"),
        (b'{"id": "x", "class": "bus", "children": []}', "lshw -json"),
        (b'[{"class": "system", "children": []}, {"class": "system", "children": []}]', "lshw -json"),
        (b'{"class": "system", "children": {"a": 1}}', "liste"),
        (b'{"class": "system", "children": ["x"]}', "objet"),
    ],
)
def test_malformed_lshw_file_saves_nothing(refurbisher, refurbisher_org, content, message):
    with pytest.raises(parsers.MalformedReport, match=message):
        run("lshw", refurbisher_org, refurbisher, ("bad.json", content))
    assert nothing_saved()


@needs_lshw
def test_one_malformed_file_in_an_upload_saves_none_of_them(refurbisher, refurbisher_org):
    DeviceFactory(holder=refurbisher_org, serial_number="CND4286ZJ2")
    with pytest.raises(parsers.MalformedReport, match="bad.json"):
        run(
            "lshw",
            refurbisher_org,
            refurbisher,
            ("good.json", lshw("hp_probook_450.json")),
            ("bad.json", b"{"),
        )
    assert nothing_saved()


# --- nwipe ---------------------------------------------------------------------------------------


def nwipe_v1(
    serial="DISK-NW-1", status="success", method="PRNG Stream", verify="Last Pass", system="", **wipe
):
    start = 1767258000
    return {
        "report_schema": "org.nwipe.report.v1",
        "report_type": "disk_erase_report",
        "report_metadata": {"generated_at": start + 3600, "software": "nwipe", "version": "0.38"},
        "organization_details": {"business_name": "Atelier A", "op_tech_name": "Samia Technicienne"},
        "system": {"system_serial_number": system},
        "device": {
            "name": "/dev/sda",
            "model": "ST500LT012-1DG14",
            "serial_number": serial,
            "size_bytes": 500107862016,
            "real_size_bytes": wipe.pop("real_size_bytes", 500107862016),
            "type": wipe.pop("bus", "ATA"),
        },
        "wipe": {
            "successful": status == "success",
            "status": status,
            "method": method,
            "prng": "XORoshiro-256",
            "verify": verify,
            "rounds_requested": 1,
            "rounds_completed": 1,
            "start_time": start,
            "end_time": start + 3600,
            "errors": {"pass": 0, "verify": 0, "round": 0, "fsyncdata": 0},
            **wipe,
        },
    }


def as_file(report, name="nwipe_report.json"):
    return (name, json.dumps(report).encode())


def test_nwipe_report_proves_the_erasure_and_moves_the_device_on(refurbisher, refurbisher_org):
    device = DeviceFactory(holder=refurbisher_org, state=S.AUDITED)
    MediumFactory(device=device, serial_number="DISK-NW-1")
    job = run("nwipe", refurbisher_org, refurbisher, as_file(nwipe_v1()))
    assert (job.saved, job.rejected) == (1, 0)
    sanitisation = Sanitisation.objects.get()
    assert (sanitisation.level, sanitisation.technique, sanitisation.outcome) == (
        SanitisationLevel.CLEAR,
        SanitisationTechnique.OVERWRITE,
        SanitisationOutcome.ERASED,
    )
    assert (sanitisation.tool, sanitisation.tool_version, sanitisation.verification_method) == (
        "nwipe",
        "0.38",
        "last_pass",
    )
    assert sanitisation.operator_name == "Samia Technicienne"
    assert sanitisation.ended_at.timestamp() - sanitisation.started_at.timestamp() == 3600
    assert "PRNG Stream" in sanitisation.method_detail
    assert sanitisation.evidence.sha256 == hashlib.sha256(json.dumps(nwipe_v1()).encode()).hexdigest()
    device.refresh_from_db()
    assert device.state == S.SANITISED
    assert device.events.last().cause == sanitisation


def test_nwipe_run_figures_are_kept_for_the_certificate(refurbisher, refurbisher_org):
    device = DeviceFactory(holder=refurbisher_org, state=S.AUDITED)
    MediumFactory(device=device, serial_number="DISK-NW-1")
    run(
        "nwipe",
        refurbisher_org,
        refurbisher,
        as_file(nwipe_v1(passes=1, blank="Yes", bytes_erased=500107862016)),
    )
    sanitisation = Sanitisation.objects.get()
    assert (sanitisation.passes, sanitisation.rounds, sanitisation.blanking) == (1, 1, True)
    assert (sanitisation.error_count, sanitisation.bytes_erased) == (0, 500107862016)


def test_nwipe_first_layout_uses_the_importers_method(refurbisher, refurbisher_org):
    device = DeviceFactory(holder=refurbisher_org, state=S.RECEIVED)
    MediumFactory(device=device, serial_number="OLD-LAYOUT")
    report = {
        "report_metadata": {"generated_at": "2026-01-02_10-00-00", "software": "nwipe", "version": "0.37"},
        "organization": {"business_name": "Atelier A"},
        "device": {
            "name": "/dev/sda",
            "model": "WDC WD5000",
            "serial_no": "OLD-LAYOUT",
            "size_bytes": 500000000000,
        },
        "wipe_result": {
            "status": "success",
            "rounds_requested": 3,
            "pass_errors": 0,
            "verify_errors": 0,
            "start_time": 1767340800,
            "end_time": 1767351600,
            "duration_seconds": 10800,
        },
    }
    job = run(
        "nwipe", refurbisher_org, refurbisher, as_file(report), nwipe_method="DoD Short", nwipe_verify="all"
    )
    assert job.saved == 1
    sanitisation = Sanitisation.objects.get()
    assert sanitisation.verification_method == "full" and "DoD Short" in sanitisation.method_detail
    device.refresh_from_db()
    assert device.state == S.RECEIVED  # not audited yet: the erasure is recorded, the state waits


def test_nwipe_adds_an_unknown_disk_to_the_machine_named_in_the_report(refurbisher, refurbisher_org):
    device = DeviceFactory(holder=refurbisher_org, state=S.AUDITED, serial_number="PC-42")
    job = run("nwipe", refurbisher_org, refurbisher, as_file(nwipe_v1(serial="NEW-DISK", system="PC-42")))
    assert job.saved == 1
    assert device.storage_media.get().serial_number == "NEW-DISK"


def test_nwipe_purge_methods_on_nvme(refurbisher, refurbisher_org):
    device = DeviceFactory(holder=refurbisher_org, state=S.AUDITED)
    MediumFactory(device=device, serial_number="NVME-1", kind="nvme", interface="nvme")
    run(
        "nwipe",
        refurbisher_org,
        refurbisher,
        as_file(nwipe_v1(serial="NVME-1", method="Sanitize Crypto Erase (ATA/SCSI/NVMe)", bus="NVME")),
    )
    sanitisation = Sanitisation.objects.get()
    assert (sanitisation.level, sanitisation.technique) == ("purge", "nvme_sanitize_crypto")


def test_nwipe_failures_are_recorded_as_failures(refurbisher, refurbisher_org):
    device = DeviceFactory(holder=refurbisher_org, state=S.AUDITED)
    MediumFactory(device=device, serial_number="FAIL-1")
    MediumFactory(device=device, serial_number="HPA-1")
    reports = [
        nwipe_v1(
            serial="FAIL-1", status="failure", errors={"pass": 3, "verify": 2, "round": 0, "fsyncdata": 0}
        ),
        nwipe_v1(serial="HPA-1", real_size_bytes=500107862016 + 4096),
    ]
    job = run("nwipe", refurbisher_org, refurbisher, ("two.json", json.dumps(reports).encode()))
    assert (job.saved, job.rejected) == (2, 0)
    failures = Sanitisation.objects.filter(outcome=SanitisationOutcome.FAILED)
    assert failures.count() == 2
    assert "HPA/DCO" in failures.get(medium__serial_number="HPA-1").notes
    device.refresh_from_db()
    assert device.state == S.AUDITED


def test_nwipe_bad_rows_are_refused_with_their_reason_and_good_ones_kept(refurbisher, refurbisher_org):
    device = DeviceFactory(holder=refurbisher_org, state=S.AUDITED)
    for serial in ("GOOD-1", "OFF-1", "VERIFY-1", "USB-X"):
        MediumFactory(device=device, serial_number=serial)
    reports = [
        nwipe_v1(serial="GOOD-1"),
        nwipe_v1(serial="OFF-1", verify="Off"),
        nwipe_v1(serial="VERIFY-1", method="Verify Zeros (0x00)"),
        nwipe_v1(serial=""),
        nwipe_v1(serial="UNKNOWN-1"),
        nwipe_v1(serial="BAD-TIME", start_time=1767258000, end_time=1767250000),
        nwipe_v1(serial="STRANGE", status="aborted"),
        nwipe_v1(serial="USB-STICK", bus="USB", system=device.serial_number),
    ]
    job = run("nwipe", refurbisher_org, refurbisher, ("batch.json", json.dumps(reports).encode()))
    assert job.saved == 1 and job.rejected == 7
    reasons = " | ".join(error["reason"] for error in job.errors)
    for expected in (
        "sans vérification",
        "vérifie un disque sans l'effacer",
        "numéro de série du disque absent",
        "aucun support de ce numéro",
        "précède son début",
        "inconnu",
        "USB",
    ):
        assert expected in reasons
    assert list(Sanitisation.objects.values_list("medium__serial_number", flat=True)) == ["GOOD-1"]


def test_nwipe_report_imported_twice_is_recorded_once(refurbisher, refurbisher_org):
    device = DeviceFactory(holder=refurbisher_org, state=S.RECEIVED)
    MediumFactory(device=device, serial_number="DISK-NW-1")
    run("nwipe", refurbisher_org, refurbisher, as_file(nwipe_v1()))
    job = run("nwipe", refurbisher_org, refurbisher, as_file(nwipe_v1()))
    assert Sanitisation.objects.count() == 1 and job.saved == 0 and job.processed == 1
    assert "deux fois" in job.notices[0]["message"]


def test_nwipe_cannot_touch_another_workshops_disk(refurbisher, refurbisher_org):
    MediumFactory(device=DeviceFactory(state=S.AUDITED), serial_number="THEIRS-1")
    job = run("nwipe", refurbisher_org, refurbisher, as_file(nwipe_v1(serial="THEIRS-1")))
    assert job.rejected == 1 and not Sanitisation.objects.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not json", "JSON valide"),
        (b"[]", "aucun rapport"),
        (
            json.dumps({"report_metadata": {"software": "dban"}, "device": {}, "wipe": {}}).encode(),
            "pas un rapport nwipe",
        ),
        (json.dumps({"report_metadata": {"software": "nwipe"}, "device": {}}).encode(), "sections"),
        (json.dumps([nwipe_v1(), "oops"]).encode(), "n° 2"),
    ],
)
def test_malformed_nwipe_file_saves_nothing(refurbisher, refurbisher_org, content, message):
    MediumFactory(device=DeviceFactory(holder=refurbisher_org, state=S.AUDITED), serial_number="DISK-NW-1")
    with pytest.raises(parsers.MalformedReport, match=message):
        run("nwipe", refurbisher_org, refurbisher, ("bad.json", content))
    assert (
        not ImportJob.objects.exists() and not Sanitisation.objects.exists() and not Evidence.objects.exists()
    )


# --- CSV -----------------------------------------------------------------------------------------

HEADER = ";".join(parsers.CSV_KEYS)


def csv_row(**values):
    return ";".join(values.get(key, "") for key in parsers.CSV_KEYS)


def csv_file(*rows, header=HEADER, encoding="utf-8"):
    return ("diagnostics.csv", ("\r\n".join([header, *rows]) + "\r\n").encode(encoding))


def complete(identifier, **extra):
    values = {
        "identifiant": identifier,
        "processeur": "Intel Core i5-8250U",
        "memoire_go": "8",
        "batterie_sante_pct": "87",
        "ecran_pouces": "15,6",
        "test_clavier": "ok",
        "test_wifi": "ko",
        "chargeur": "oui",
        "grade_esthetique": "B",
        "grade_fonctionnel": "fonctionnel",
    }
    return csv_row(**{**values, **extra})


def test_csv_template_download_has_the_columns(client, refurbisher):
    client.force_login(refurbisher)
    response = client.get(reverse("refurbishers:csv_template"))
    assert response.status_code == 200
    assert response.content.decode("utf-8-sig").strip().split(";") == parsers.CSV_KEYS


def test_csv_import_saves_diagnostics_media_and_moves_devices(refurbisher, refurbisher_org):
    by_serial = DeviceFactory(holder=refurbisher_org, serial_number="SER-1", brand="")
    by_tag = DeviceFactory(holder=refurbisher_org, asset_tag="INV-77")
    by_public_id = DeviceFactory(holder=refurbisher_org)
    inventory_only = DeviceFactory(holder=refurbisher_org, serial_number="SER-4")
    upload = csv_file(
        complete(
            "ser-1",
            stockage_type="SSD",
            stockage_capacite_go="256",
            stockage_numero_serie="SSD-1",
            marque="Dell",
        ),
        complete("INV-77", stockage_type="aucun"),
        complete(by_public_id.public_id.lower()),
        csv_row(identifiant="SER-4", processeur="Intel Core i3"),
    )
    job = run("csv", refurbisher_org, refurbisher, upload)
    job.refresh_from_db()
    assert (job.status, job.total, job.processed, job.saved, job.rejected) == (ImportStatus.DONE, 4, 4, 4, 0)
    for device in (by_serial, by_tag, by_public_id):
        device.refresh_from_db()
        assert device.state == S.AUDITED
        audit = device.audits.get()
        assert (audit.source, audit.cosmetic_grade, audit.battery_health_pct, str(audit.screen_size_in)) == (
            "csv",
            "B",
            87,
            "15.6",
        )
        assert (audit.keyboard_test, audit.wifi_test, audit.touchpad_test, audit.charger_included) == (
            "ok",
            "fail",
            "na",
            True,
        )
    assert by_serial.brand == "Dell"
    assert by_serial.storage_media.get().capacity_bytes == 256 * 10**9
    assert NoStorageDeclaration.objects.get().device == by_tag
    inventory_only.refresh_from_db()
    assert inventory_only.state == S.RECEIVED and inventory_only.audits.get().cpu_model == "Intel Core i3"
    assert job.evidence.get().sha256 == hashlib.sha256(upload[1]).hexdigest()


def test_csv_bad_rows_are_refused_with_their_reason(refurbisher, refurbisher_org):
    good = DeviceFactory(holder=refurbisher_org, serial_number="GOOD-1")
    has_disk = DeviceFactory(holder=refurbisher_org, serial_number="HAS-DISK")
    MediumFactory(device=has_disk, serial_number="TAKEN-DISK")
    for serial in ("BAD-GRADE", "ONE-GRADE", "DUP-1", "BAD-DISK", "NO-TYPE"):
        DeviceFactory(holder=refurbisher_org, serial_number=serial)
    DeviceFactory(serial_number="ELSEWHERE")  # another workshop's
    job = run(
        "csv",
        refurbisher_org,
        refurbisher,
        csv_file(
            complete("GOOD-1"),
            complete("NOPE-404"),
            complete("BAD-GRADE", batterie_sante_pct="140", grade_esthetique="Z"),
            csv_row(identifiant="ONE-GRADE", grade_esthetique="A"),
            complete("DUP-1"),
            complete("dup-1"),
            complete("BAD-DISK", stockage_type="hdd", stockage_numero_serie="TAKEN-DISK"),
            complete("HAS-DISK", stockage_type="aucun"),
            csv_row(identifiant="NO-TYPE", stockage_numero_serie="X1"),
            complete("ELSEWHERE"),
            csv_row(identifiant="", processeur="Intel Core i3"),
        ),
    )
    job.refresh_from_db()
    assert job.saved == 2 and job.rejected == 9  # GOOD-1 and the first DUP-1
    reasons = {error["row"]: error["reason"] for error in job.errors}
    assert "aucun appareil" in reasons["ligne 3"]
    assert "batterie_sante_pct" in reasons["ligne 4"] and "grade_esthetique" in reasons["ligne 4"]
    assert "deux grades" in reasons["ligne 5"]
    assert "ligne 6" in reasons["ligne 7"]
    assert "autre appareil" in reasons["ligne 8"]
    assert "disques sont enregistrés" in reasons["ligne 9"]
    assert "stockage_type est obligatoire" in reasons["ligne 10"]
    assert "aucun appareil" in reasons["ligne 11"]
    assert "identifiant vide" in reasons["ligne 12"]
    good.refresh_from_db()
    assert good.state == S.AUDITED
    assert Audit.objects.count() == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "vide"),
        (b"processeur;memoire_go\r\nx;8\r\n", "identifiant"),
        (b"identifiant;couleur\r\nA;rouge\r\n", "Colonnes inconnues"),
        (b"identifiant;identifiant\r\nA;B\r\n", "double"),
        (b"identifiant\r\n", "aucune ligne"),
        (b"identifiant;processeur\r\nA;B;C;D\r\n", "valeurs pour 2 colonnes"),
        (b"PK\x03\x04\x00\x00binary", "binaire|identifiant"),
        (b'identifiant;observations\r\nA;"unterminated\r\n', "illisible"),
    ],
)
def test_malformed_csv_saves_nothing(refurbisher, refurbisher_org, content, message):
    DeviceFactory(holder=refurbisher_org, serial_number="A")
    with pytest.raises(parsers.MalformedReport, match=message):
        run("csv", refurbisher_org, refurbisher, ("bad.csv", content))
    assert nothing_saved()


def test_csv_from_a_french_spreadsheet_in_cp1252_with_commas(refurbisher, refurbisher_org):
    device = DeviceFactory(holder=refurbisher_org, serial_number="ÉCRAN-1")
    header = "identifiant,ecran_defauts,grade_esthetique,grade_fonctionnel,stockage_type"
    job = run(
        "csv",
        refurbisher_org,
        refurbisher,
        ("excel.csv", f'{header}\r\nÉCRAN-1,"rayure légère, coin",C,mineur,aucun\r\n'.encode("cp1252")),
    )
    job.refresh_from_db()
    assert job.saved == 1
    assert device.audits.get().screen_defects == "rayure légère, coin"


def test_csv_import_runs_in_chunks_reports_progress_and_resumes(refurbisher, refurbisher_org, monkeypatch):
    monkeypatch.setattr(imports, "CSV_CHUNK", 2)
    devices = [DeviceFactory(holder=refurbisher_org, serial_number=f"CHUNK-{i}") for i in range(5)]
    job = run("csv", refurbisher_org, refurbisher, csv_file(*(complete(d.serial_number) for d in devices)))
    job.refresh_from_db()
    assert (job.total, job.processed, job.saved, job.status) == (5, 5, 5, ImportStatus.DONE)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING)  # as if a worker died at the end
    imports.csv_import_process(job.pk)
    assert Audit.objects.count() == 5  # nothing imported twice


def test_csv_chunk_keeps_its_good_rows_when_a_device_moved_meanwhile(
    refurbisher, refurbisher_org, monkeypatch
):
    """The chunk is checked, then saved in bulk; a device moved by someone else in between makes the
    bulk save fail: the rows are then saved one by one, and only that device's row is refused."""
    still = DeviceFactory(holder=refurbisher_org, serial_number="STILL-1", state=S.RECEIVED)
    moved = DeviceFactory(holder=refurbisher_org, serial_number="MOVED-1", state=S.RECEIVED)
    checked = imports._csv_devices

    def devices_then_a_concurrent_move(organisation, identifiers):
        found = checked(organisation, identifiers)
        Device.objects.filter(pk=moved.pk).update(state=S.PARTS)
        return found

    monkeypatch.setattr(imports, "_csv_devices", devices_then_a_concurrent_move)
    job = run("csv", refurbisher_org, refurbisher, csv_file(complete("STILL-1"), complete("MOVED-1")))
    job.refresh_from_db()
    assert (job.saved, job.rejected, job.status) == (1, 1, ImportStatus.DONE)
    assert "ligne 3" in {error["row"] for error in job.errors}
    still.refresh_from_db()
    moved.refresh_from_db()
    assert (still.state, moved.state) == (S.AUDITED, S.PARTS)
    assert not Audit.objects.filter(device=moved).exists()  # nothing half-saved for the refused row
    assert not StorageMedium.objects.filter(device=moved).exists()


def test_csv_import_that_crashes_says_so(refurbisher, refurbisher_org, monkeypatch):
    DeviceFactory(holder=refurbisher_org, serial_number="CRASH-1")

    def explode(*args, **kwargs):
        raise RuntimeError("disque plein")

    monkeypatch.setattr(imports, "_csv_chunk", explode)
    job = run("csv", refurbisher_org, refurbisher, csv_file(complete("CRASH-1")))
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED and "disque plein" in job.failure


def test_import_pages_show_progress_and_reasons(
    client, refurbisher, refurbisher_org, django_capture_on_commit_callbacks
):
    DeviceFactory(holder=refurbisher_org, serial_number="PAGE-1")
    client.force_login(refurbisher)
    data = csv_file(complete("PAGE-1"), complete("PAGE-404"))[1]
    from django.core.files.uploadedfile import SimpleUploadedFile

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("refurbishers:imports"),
            {"kind": "csv", "files": SimpleUploadedFile("lot.csv", data, content_type="text/csv")},
        )
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "refurbishers:import_detail", args=[job.uuid]
    )
    page = client.get(response["Location"]).content.decode()
    assert "PAGE-404" in page and "1 ligne enregistrée" in page and job.evidence.get().sha256 in page
    fragment = client.get(reverse("refurbishers:import_progress", args=[job.uuid]))
    assert fragment.status_code == 200 and "Terminé" in fragment.content.decode()
    running = ImportJob.objects.create(
        organisation=refurbisher_org, kind="csv", status="running", total=10, processed=4
    )
    page = client.get(reverse("refurbishers:import_detail", args=[running.uuid])).content.decode()
    assert 'http-equiv="refresh"' in page and "hx-trigger" in page and "4 lignes traitées sur 10" in page


def test_malformed_upload_on_the_page_says_why_and_saves_nothing(client, refurbisher, refurbisher_org):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(refurbisher)
    response = client.post(
        reverse("refurbishers:imports"),
        {"kind": "lshw", "files": SimpleUploadedFile("machine.json", b"{not json")},
    )
    assert response.status_code == 200
    assert "rien n&#x27;a été enregistré" in response.content.decode()
    assert nothing_saved()


def test_another_workshops_import_job_is_a_404(client, refurbisher):
    other = OrganisationFactory(refurbisher=True)
    job = ImportJob.objects.create(organisation=other, kind="csv", status="done")
    client.force_login(refurbisher)
    assert client.get(reverse("refurbishers:import_detail", args=[job.uuid])).status_code == 404
