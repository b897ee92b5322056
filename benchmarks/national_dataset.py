"""Generate a national dataset on PostgreSQL for the indicators' benchmark.

The 34 928 located communes of France (imported from the reference CSV with the platform's own
importer), about 5 000 places open to the public (relais shops and public places with equipment)
and 1 000 DEEE collection points, 1 000 000 devices with their whole history (300 000 sold, gifts,
loans, returns, DEEE, parts, and devices still on their way), spread over the last 1 000 days.

It wipes devices, their history, sites, organisations (and what hangs on them) and indicator
snapshots first: run it on a database of its own, never on real data.

    DATABASE_URL=postgres://.../bench DJANGO_DEBUG=1 python benchmarks/national_dataset.py --reset

Prints `name=value` lines. Sales as records of the relais app are not generated here: the history
carries the 300 000 `sold` events the indicators count. The devices given by organisations come from
donations (one per donor and quarter, one line per category, received and closed; two
receptions in three weighed; public bodies declare their retired stock), which the delay to
distribution, the kilograms collected and the décret n° 2023-266 ratio read.
"""

import argparse
import io
import os
import sys
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reemploi.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from reemploi.communes import communes_import  # noqa: E402
from reemploi.enums import DeviceState as S  # noqa: E402
from reemploi.enums import OrganisationKind as K  # noqa: E402
from reemploi.enums import Provenance  # noqa: E402
from reemploi.models import Commune, Departement, Device, DeviceEvent, EquipmentCategory, Organisation, Site  # noqa: E402

DEVICES = 1_000_000
RELAIS_SHOPS = 3_500
PUBLIC_PLACES = 1_500
WORKSHOPS_PER_DEPARTEMENT = 3
OTHER_COLLECTION_POINTS = 700
COMPANIES, PUBLIC_BODIES, ASSOCIATIONS = 2_000, 1_000, 500
DAYS = 1_000

# How each device's life ends (or where it stands today), and how many.
OUTCOMES = {
    S.SOLD: 300_000,
    S.GIVEN: 30_000,
    S.LENT: 20_000,
    S.RETURNED: 5_000,
    S.DEEE: 200_000,
    S.PARTS: 50_000,
    S.LOST: 10_000,
    S.EXPECTED: 40_000,
    S.RECEIVED: 60_000,
    S.AUDITED: 60_000,
    S.SANITISED: 40_000,
    S.READY: 60_000,
    S.IN_TRANSIT: 25_000,
    S.IN_STOCK: 100_000,
}
WORKSHOP_PATH = [S.RECEIVED, S.AUDITED, S.SANITISED, S.READY]
TO_RELAIS = [*WORKSHOP_PATH, S.IN_TRANSIT, S.IN_STOCK]
PATHS = {
    S.SOLD: [*TO_RELAIS, S.SOLD],
    S.GIVEN: [*TO_RELAIS, S.GIVEN],
    S.LENT: [*TO_RELAIS, S.LENT],
    S.RETURNED: [*TO_RELAIS, S.SOLD, S.RETURNED, S.RECEIVED],
    S.DEEE: [S.RECEIVED, S.DEEE],
    S.PARTS: [S.RECEIVED, S.AUDITED, S.PARTS],
    S.LOST: [S.RECEIVED, S.LOST],
    S.EXPECTED: [],
    S.RECEIVED: [S.RECEIVED],
    S.AUDITED: [S.RECEIVED, S.AUDITED],
    S.SANITISED: [S.RECEIVED, S.AUDITED, S.SANITISED],
    S.READY: WORKSHOP_PATH,
    S.IN_TRANSIT: [*WORKSHOP_PATH, S.IN_TRANSIT],
    S.IN_STOCK: TO_RELAIS,
}
RELAIS_STATES = {S.IN_TRANSIT, S.IN_STOCK, S.SOLD, S.GIVEN, S.LENT, S.RETURNED}
CATEGORIES = {
    "laptop": 40,
    "desktop": 15,
    "tablet": 8,
    "smartphone": 10,
    "screen": 15,
    "printer": 3,
    "mouse": 5,
    "keyboard": 4,
}
PROVENANCES = {
    Provenance.PUBLIC: 25,
    Provenance.COMPANY: 45,
    Provenance.ASSOCIATION: 10,
    Provenance.CITIZEN: 20,
}
ALPHABET = np.array(list("0123456789ABCDEFGHJKMNPQRSTVWXYZ"))


def out(name, value):
    print(f"{name}={value}", flush=True)


def default_csv():
    shared = os.environ.get("REEMPLOI_SHARED_DATA") or Path(settings.BASE_DIR).parent / "shared" / "data"
    return Path(shared) / "communes-france-2024.csv"


def reset():
    tables = [
        DeviceEvent._meta.db_table,
        Device._meta.db_table,
        Site._meta.db_table,
        Organisation._meta.db_table,
        "indicators_indicatorsnapshot",
        "indicators_snapshotrun",
    ]
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")


DONATIONS_SQL = [
    "ANALYZE reemploi_device, reemploi_deviceevent",  # just copied: give the planner its statistics
    # The first reception of each device given by an organisation, and the donations they make up.
    """CREATE TEMP TABLE bench_intake ON COMMIT DROP AS
       SELECT d.id AS device_id, d.donor_organisation_id AS donor, e.holder_id AS workshop,
              date_trunc('quarter', d.created_at) AS quarter, d.category_id, d.created_at, e.at AS received_at
       FROM reemploi_device d JOIN reemploi_deviceevent e ON e.device_id = d.id
            AND e.to_state = 'received' AND e.from_state IN ('', 'expected', 'collected')
       WHERE d.donor_organisation_id IS NOT NULL""",
    """CREATE TEMP TABLE bench_donation ON COMMIT DROP AS
       SELECT row_number() OVER (ORDER BY donor, quarter) AS n, donor, min(workshop) AS workshop, quarter,
              min(created_at) AS proposed, max(received_at) AS received, count(*) AS devices
       FROM bench_intake GROUP BY donor, quarter""",
    """INSERT INTO donors_donation (uuid, reference, status, status_changed_at, channel, donor_kind,
           donor_organisation_id, organisation_name, siret, contact_name, contact_email, contact_phone,
           address, postal_code, commune_id, access_notes, handover_mode, availability, availability_note,
           reuse_commitment_at, retired_stock_year, retired_stock_count, privacy_consent_at,
           refurbisher_id, created_at)
       SELECT gen_random_uuid(), 'BENCH-' || b.n, 'closed', b.received, 'api', o.kind, b.donor, o.name,
              '', 'Contact', 'contact@bench.invalid', '', 'Adresse', '00000', s.commune_id, '', 'pickup',
              '[]', '',
              CASE WHEN o.kind = 'public_body' THEN b.proposed END,
              CASE WHEN o.kind = 'public_body' THEN extract(year FROM b.proposed AT TIME ZONE 'Europe/Paris')::int END,
              CASE WHEN o.kind = 'public_body' THEN b.devices * 3 + b.n %% 50 END,
              b.proposed, b.workshop, b.proposed
       FROM bench_donation b JOIN reemploi_organisation o ON o.id = b.donor
            JOIN reemploi_site s ON s.organisation_id = b.workshop""",
    """INSERT INTO donors_donationline (donation_id, position, category_id, quantity, age_years, condition,
           has_charger, holds_data, description, announced_items, verdict, verdict_reason, decision,
           decision_reason, accepted_quantity, added_at_reception)
       SELECT dn.id, row_number() OVER (PARTITION BY l.n ORDER BY l.category_id), l.category_id, l.q, 5,
              'works', false, false, '', '[]', 'accepted', '', 'accepted', '', l.q, false
       FROM (SELECT b.n, i.category_id, count(*) AS q FROM bench_intake i
             JOIN bench_donation b USING (donor, quarter) GROUP BY b.n, i.category_id) l
            JOIN donors_donation dn ON dn.reference = 'BENCH-' || l.n""",
    """INSERT INTO donors_reception (uuid, donation_id, refurbisher_id, site_id, received_at, received_by_id,
           weight_kg, note, donor_confirmation_note)
       SELECT gen_random_uuid(), dn.id, b.workshop, s.id, b.received, %(user)s,
              CASE WHEN b.n %% 3 = 0 THEN NULL ELSE round((w.kg * (0.9 + random() * 0.2))::numeric, 2) END, '', ''
       FROM bench_donation b JOIN donors_donation dn ON dn.reference = 'BENCH-' || b.n
            JOIN reemploi_site s ON s.organisation_id = b.workshop
            JOIN (SELECT b2.n, sum(c.typical_weight_kg) AS kg FROM bench_intake i
                  JOIN bench_donation b2 USING (donor, quarter)
                  JOIN reemploi_equipmentcategory c ON c.id = i.category_id GROUP BY b2.n) w ON w.n = b.n""",
    """UPDATE reemploi_device d SET donation_line_id = l.id
       FROM bench_intake i JOIN bench_donation b USING (donor, quarter)
            JOIN donors_donation dn ON dn.reference = 'BENCH-' || b.n
            JOIN donors_donationline l ON l.donation_id = dn.id
       WHERE d.id = i.device_id AND l.category_id = i.category_id""",
]


def donations():
    """The donations the organisations' devices came from (see DONATIONS_SQL). Returns how many."""
    user, _created = get_user_model().objects.get_or_create(username="bench-atelier")
    with connection.cursor() as cursor:
        for statement in DONATIONS_SQL:
            cursor.execute(statement, {"user": user.pk})
        cursor.execute("SELECT count(*) FROM donors_donation")
        return cursor.fetchone()[0]


def weighted_choice(rng, weights, size):
    p = np.asarray(weights, dtype=float)
    return rng.choice(len(p), size=size, p=p / p.sum())


def organisations(rng, communes):
    """Départements' teams, workshops, relais, public places, collection points and donors, with
    their sites at communes picked in proportion to population^0.7 (towns get more places)."""
    departements = {d.code: d for d in Departement.objects.all()}
    now = datetime.now(UTC)
    orgs, sites = [], []
    weight = communes["population"].astype(float) ** 0.7 + 1

    def org(name, kind, code):
        orgs.append(Organisation(name=name, kind=kind, departement=departements.get(code), created_at=now))
        return len(orgs) - 1

    def site(owner, index, **flags):
        jitter = rng.uniform(-0.008, 0.008, 2)
        sites.append(
            (
                owner,
                Site(
                    name=f"Lieu {communes['name'][index]}",
                    commune_id=int(communes["id"][index]),
                    latitude=float(communes["lat"][index] + jitter[0]),
                    longitude=float(communes["lon"][index] + jitter[1]),
                    **flags,
                ),
            )
        )

    by_departement = {}
    for code in np.unique(communes["dept"]):
        by_departement[str(code)] = np.flatnonzero(communes["dept"] == code)
    workshops, relais = {}, {}
    for code, indices in by_departement.items():
        org(f"Département {code}", K.DEPARTEMENT, code)
        for n in range(WORKSHOPS_PER_DEPARTEMENT):
            index = indices[weighted_choice(rng, weight[indices], 1)[0]]
            owner = org(f"Atelier {code}-{n + 1}", K.REFURBISHER, code)
            site(owner, index, is_workshop=True, is_collection_point=True)
            workshops.setdefault(code, []).append(owner)
    for n, index in enumerate(weighted_choice(rng, weight, RELAIS_SHOPS)):
        code = str(communes["dept"][index])
        owner = org(f"Relais {n + 1}", K.RELAIS, code)
        site(owner, index, is_relais_shop=True, is_public_place=True, public_devices=int(rng.integers(0, 6)))
        relais.setdefault(code, []).append(owner)
    for n, index in enumerate(weighted_choice(rng, weight, PUBLIC_PLACES)):
        owner = org(f"Médiathèque {n + 1}", K.PUBLIC_BODY, str(communes["dept"][index]))
        site(owner, index, is_public_place=True, public_devices=int(rng.integers(1, 8)))
    for n, index in enumerate(weighted_choice(rng, weight, OTHER_COLLECTION_POINTS)):
        owner = org(f"Déchèterie {n + 1}", K.PUBLIC_BODY, str(communes["dept"][index]))
        site(owner, index, is_collection_point=True)
    donors = {}
    for kind, count, label in (
        (K.COMPANY, COMPANIES, "Entreprise"),
        (K.PUBLIC_BODY, PUBLIC_BODIES, "Collectivité"),
        (K.ASSOCIATION, ASSOCIATIONS, "Association"),
    ):
        for n in range(count):
            code = str(communes["dept"][weighted_choice(rng, weight, 1)[0]])
            donors.setdefault(kind, []).append(org(f"{label} {n + 1}", kind, code))
    with transaction.atomic():
        created = Organisation.objects.bulk_create(orgs, batch_size=2000)
        for owner, s in sites:
            s.organisation_id = created[owner].pk
        Site.objects.bulk_create([s for _owner, s in sites], batch_size=2000)
    ids = np.array([o.pk for o in created])
    return {
        "workshops": {code: ids[v] for code, v in workshops.items()},
        "relais": {code: ids[v] for code, v in relais.items()},
        "donors": {kind: ids[v] for kind, v in donors.items()},
        "sites": len(sites),
        "population": {code: int(communes["population"][v].sum()) for code, v in by_departement.items()},
        "organisations": len(created),
    }


def public_ids(start, count):
    """Unique 8-character public ids (base 32 of a counter, offset to look random)."""
    numbers = (np.arange(start, start + count, dtype=np.int64) * 2_654_435_761) % (32**8)
    digits = [(numbers // 32**i) % 32 for i in range(7, -1, -1)]
    return ["".join(chars) for chars in zip(*(ALPHABET[d] for d in digits), strict=True)]


def pick(rng, groups, keys, index):
    """For each row, a random member of groups[keys[index[row]]], vectorised."""
    lengths = np.array([len(groups[key]) for key in keys])
    flat = np.concatenate([groups[key] for key in keys])
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    return flat[offsets[index] + (rng.random(len(index)) * lengths[index]).astype(np.int64)]


def timestamps(seconds):
    return np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s")


def devices_and_events(rng, network):
    """Yield the COPY text of devices and of events, group of devices by group of devices."""
    categories = dict(EquipmentCategory.objects.values_list("code", "pk"))
    codes = list(CATEGORIES)
    category_ids = np.array([categories[c] for c in codes])
    provenance_names = list(PROVENANCES)
    departements = sorted(set(network["workshops"]) & set(network["relais"]))
    weights = [network["population"][code] for code in departements]  # devices follow population
    now = int(time.time())
    device_id = 0
    for outcome, count in OUTCOMES.items():
        path = PATHS[outcome]
        starts_expected = rng.random(count) < 0.3 if path else np.ones(count, dtype=bool)
        ids = np.arange(device_id + 1, device_id + count + 1)
        device_id += count
        category = category_ids[weighted_choice(rng, list(CATEGORIES.values()), count)]
        provenance = np.array(provenance_names)[weighted_choice(rng, list(PROVENANCES.values()), count)]
        donor = np.zeros(count, dtype=np.int64)
        for name, kind in (
            (Provenance.PUBLIC, K.PUBLIC_BODY),
            (Provenance.COMPANY, K.COMPANY),
            (Provenance.ASSOCIATION, K.ASSOCIATION),
        ):
            mask = provenance == name
            donor[mask] = rng.choice(network["donors"][kind], mask.sum())
        dept = weighted_choice(rng, weights, count)
        workshop = pick(rng, network["workshops"], departements, dept)
        relais = pick(rng, network["relais"], departements, dept)
        # Steps: the announced ones (expected, collected), then the path; gaps of 0.5 to 8 days.
        steps = [S.EXPECTED, S.COLLECTED, *path]
        gaps = rng.uniform(0.5 * 86400, 8 * 86400, (count, len(steps))).astype(np.int64)
        gaps[~starts_expected, :2] = 0
        at = np.cumsum(gaps, axis=1)
        start = now - rng.integers(0, DAYS * 86400, count)
        at = at - at[:, :1] + start[:, None]
        late = at[:, -1] - (now - 3600)
        at -= np.maximum(late, 0)[:, None]
        holders = np.where(
            np.isin(np.array(steps), list(RELAIS_STATES))[None, :], relais[:, None], workshop[:, None]
        )
        if outcome == S.RETURNED:
            holders[:, -1] = workshop  # received back at the workshop
        first = np.where(starts_expected, 0, 2)
        last_state = np.full(count, steps[-1]) if path else np.full(count, S.EXPECTED)
        last_holder = holders[:, -1]
        created = timestamps(at[np.arange(count), first])
        changed = timestamps(at[:, -1] if path else at[:, 0])
        uuids = [str(uuid.uuid4()) for _ in range(count)]
        pids = public_ids(int(ids[0]), count)
        device_lines = io.StringIO()
        for i in range(count):
            device_lines.write(
                f"{ids[i]}\t{uuids[i]}\t{pids[i]}\t{category[i]}\t\t\tBENCH-{ids[i]}\t\t{provenance[i]}\t"
                f"{donor[i] or chr(92) + 'N'}\t\\N\t{last_holder[i]}\t{last_state[i]}\t\\N\t\\N\t"
                f"{created[i]}+00\t{changed[i]}+00\n"
            )
        event_lines = io.StringIO()
        stamps = [timestamps(at[:, j]) for j in range(len(steps))]
        for j, state in enumerate(steps):
            rows = np.flatnonzero(starts_expected) if j < 2 else np.arange(count)
            if not path and j > 0:
                break
            for i in rows.tolist():
                previous = "" if j == first[i] else steps[j - 1]
                event_lines.write(f"{ids[i]}\t{previous}\t{state}\t{holders[i, j]}\t{stamps[j][i]}+00\t\n")
        yield outcome, count, device_lines.getvalue(), event_lines.getvalue()


@contextmanager
def without_indexes(cursor, tables):
    """Load fast: drop the secondary indexes, unique and foreign-key constraints of `tables`, and
    put them back afterwards (one sorted build per index, one join per foreign key, instead of
    5 million index insertions and lookups)."""
    names = [f"'{table}'::regclass" for table in tables]
    cursor.execute(
        f"""SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
            WHERE conrelid IN ({", ".join(names)}) AND contype IN ('u', 'f')"""
    )
    constraints = cursor.fetchall()
    cursor.execute(
        f"""SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i
            WHERE i.indrelid IN ({", ".join(names)}) AND NOT i.indisprimary
            AND i.indexrelid NOT IN (SELECT conindid FROM pg_constraint WHERE contype = 'u')"""
    )
    indexes = cursor.fetchall()
    for table, name, _definition in constraints:
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _definition in indexes:
        cursor.execute(f"DROP INDEX {name}")
    yield
    cursor.execute("SET maintenance_work_mem = '256MB'")
    for _name, definition in indexes:
        cursor.execute(definition)
    for table, name, definition in constraints:
        cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')


DEVICE_COLUMNS = (
    "id, uuid, public_id, category_id, brand, model, serial_number, asset_tag, provenance, donor_organisation_id, "
    "donation_line_id, holder_id, state, weight_kg, price, created_at, state_changed_at"
)
EVENT_COLUMNS = "device_id, from_state, to_state, holder_id, at, note"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--reset", action="store_true", help="wipe the devices, sites and organisations first"
    )
    parser.add_argument("--communes", type=Path, default=None, help="the communes CSV")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Ce générateur écrit avec COPY : il lui faut PostgreSQL (DATABASE_URL).")
    if not args.reset:
        sys.exit(
            "Ce générateur efface les appareils, lieux et organisations : relancez avec --reset sur une base dédiée."
        )
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    step = time.perf_counter()
    if Commune.objects.located().count() < 34_000:
        report = communes_import(path_or_file=args.communes or default_csv())
        out("communes_imported", report.imported)
    out("communes_located", Commune.objects.located().count())
    out("communes_seconds", f"{time.perf_counter() - step:.1f}")
    step = time.perf_counter()
    reset()
    rows = list(
        Commune.objects.located().values_list(
            "id", "name", "departement__code", "population", "latitude", "longitude"
        )
    )
    communes = {
        "id": np.array([r[0] for r in rows]),
        "name": [r[1] for r in rows],
        "dept": np.array([r[2] for r in rows]),
        "population": np.array([r[3] for r in rows]),
        "lat": np.array([r[4] for r in rows]),
        "lon": np.array([r[5] for r in rows]),
    }
    network = organisations(rng, communes)
    out("organisations", network["organisations"])
    out("sites", network["sites"])
    out("organisations_seconds", f"{time.perf_counter() - step:.1f}")
    step = time.perf_counter()
    devices = events = 0
    tables = [Device._meta.db_table, DeviceEvent._meta.db_table]
    with transaction.atomic(), connection.cursor() as cursor, without_indexes(cursor, tables):
        raw = cursor.cursor
        for _outcome, count, device_text, event_text in devices_and_events(rng, network):
            with raw.copy(f"COPY {Device._meta.db_table} ({DEVICE_COLUMNS}) FROM STDIN") as copy:
                copy.write(device_text)
            with raw.copy(f"COPY {DeviceEvent._meta.db_table} ({EVENT_COLUMNS}) FROM STDIN") as copy:
                copy.write(event_text)
            devices += count
            events += event_text.count("\n")
        out("copy_seconds", f"{time.perf_counter() - step:.1f}")
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{Device._meta.db_table}', 'id'), %s)", [devices]
        )
        # Before the devices' indexes come back: linking 750 000 devices to their donation lines
        # then costs one heap update each, not one per index too.
        donations_step = time.perf_counter()
        out("donations", donations())
        out("donations_seconds", f"{time.perf_counter() - donations_step:.1f}")
    out("devices", devices)
    out("events", events)
    out("sold_events", DeviceEvent.objects.filter(to_state=S.SOLD).count())
    out("devices_and_indexes_seconds", f"{time.perf_counter() - step:.1f}")
    step = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    out("analyze_seconds", f"{time.perf_counter() - step:.1f}")
    out("generator_seconds", f"{time.perf_counter() - started:.1f}")


if __name__ == "__main__":
    main()
