"""A realistic, deterministic demo network in the Nièvre.

The kernel builds the organisations, people, sites and devices at every stage of their life with
their histories. Each app then completes the records it owns from its own `demo.py` (a function
`build(network)`), called in the order of `APP_ORDER`: donations, audits, sales... Running it twice
neither fails nor duplicates anything."""

import importlib
import random
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from .enums import DeviceState as S
from .enums import OrganisationKind as K
from .enums import Provenance, Role
from .lifecycle import device_create, device_transition
from .models import Commune, Departement, Device, EquipmentCategory, Membership, Organisation, Site

DEMO_PASSWORD = "reemploi-demo"
APP_ORDER = ["donors", "refurbishers", "beneficiaries", "relais", "indicators"]
COMMUNES_FIXTURE = Path(__file__).parent / "data" / "communes-58.json"


@dataclass
class DemoNetwork:
    """What the kernel built, handed to each app's demo builder."""

    rng: random.Random
    now: object
    departement: Departement
    coordinator: Organisation
    refurbishers: list
    relais: list
    donors: dict  # kind -> Organisation
    prescriber: Organisation
    departement_org: Organisation
    users: dict  # login -> User
    sites: dict = field(default_factory=dict)  # organisation pk -> Site
    logins: list = field(default_factory=list)  # (role, login, organisation)
    created_devices: bool = False


# Real Nièvre towns (INSEE codes): workshops, relais and public places sit at their centres.
REFURBISHERS = [
    ("Atelier solidaire du Val de Loire", "58194", "15 rue des Ateliers", "atelier"),
    ("Recyclerie numérique du Morvan", "58062", "4 route de Nevers", "atelier-morvan"),
    ("Chantier d'insertion Cosne Reconditionne", "58086", "28 quai de Loire", "atelier-cosne"),
]
RELAIS = [
    ("Relais numérique de Nevers – Centre social du Banlay", "58194", "2 rue du Banlay", "relais"),
    ("Espace France Services de Cosne-Cours-sur-Loire", "58086", "10 place de la Pêcherie", "relais-cosne"),
    ("Tiers-lieu numérique de Decize", "58095", "3 quai de Loire", "relais-decize"),
    ("CCAS de Clamecy – Point numérique", "58079", "1 place du Grand Marché", "relais-clamecy"),
    ("La Charité Numérique", "58059", "12 rue du Pont", "relais-charite"),
    ("Maison France Services de Luzy", "58149", "5 place de la Mairie", "relais-luzy"),
    ("Centre social de Château-Chinon", "58062", "8 rue du Champlain", "relais-chinon"),
    ("Médiathèque de Saint-Pierre-le-Moûtier", "58264", "6 place du Marché", "relais-stpierre"),
]
DONORS = {
    K.COMPANY: ("Nivernaise de Services Informatiques SAS", "73282932000074", "SAS", "donateur"),
    K.PUBLIC_BODY: ("Communauté de communes Loire et Allier", "20004129100010", "EPCI", "donateur-public"),
    K.ASSOCIATION: ("Association Familles Rurales de la Nièvre", "", "Association loi 1901", "donateur-asso"),
}


def ensure_communes(stdout=None):
    if Commune.objects.filter(departement__code="58").count() >= 300:
        return
    from .communes import communes_import

    communes_import(path_or_file=COMMUNES_FIXTURE, stdout=stdout)


def _user(login, first_name, last_name, organisation, role=Role.STAFF):
    User = get_user_model()
    user, created = User.objects.get_or_create(
        username=login,
        defaults={"first_name": first_name, "last_name": last_name, "email": f"{login}@demo.reemploi.fr"},
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save()
    Membership.objects.get_or_create(user=user, organisation=organisation, defaults={"role": role})
    return user


def _organisation(name, kind, **fields):
    organisation, _created = Organisation.objects.get_or_create(name=name, kind=kind, defaults=fields)
    return organisation


def _site(organisation, name, insee, address, **activities):
    commune = Commune.objects.get(insee_code=insee)
    postal = commune.postal_codes.values_list("code", flat=True).first() or ""
    site, _created = Site.objects.get_or_create(
        organisation=organisation,
        name=name,
        defaults={
            "commune": commune,
            "address": address,
            "postal_code": postal,
            "latitude": commune.latitude,
            "longitude": commune.longitude,
            **activities,
        },
    )
    return site


def build_network(rng):
    nievre = Departement.objects.get(code="58")
    coordinator = _organisation(
        "Réseau Nièvre Réemploi Solidaire",
        K.COORDINATOR,
        departement=nievre,
        email="coordination@demo.reemploi.fr",
        siret="82414798700013",
    )
    departement_org = _organisation("Département de la Nièvre", K.DEPARTEMENT, departement=nievre)
    prescriber = _organisation("CCAS de Nevers", K.PRESCRIBER, departement=nievre)
    network = DemoNetwork(
        rng=rng,
        now=timezone.now(),
        departement=nievre,
        coordinator=coordinator,
        refurbishers=[],
        relais=[],
        donors={},
        prescriber=prescriber,
        departement_org=departement_org,
        users={},
    )
    people = [
        ("coordination", "Claire", "Morel", coordinator, "Coordination"),
        ("departement", "Julien", "Perrin", departement_org, "Département (indicateurs)"),
        ("prescripteur", "Sophie", "Lambert", prescriber, "Prescripteur (travailleur social)"),
    ]
    for name, insee, address, login in REFURBISHERS:
        org = _organisation(name, K.REFURBISHER, departement=nievre)
        network.refurbishers.append(org)
        network.sites[org.pk] = _site(
            org, f"Atelier – {name}", insee, address, is_workshop=True, is_collection_point=True
        )
        people.append((login, "Karim", f"Atelier{len(network.refurbishers)}", org, "Reconditionneur"))
    for index, (name, insee, address, login) in enumerate(RELAIS):
        org = _organisation(name, K.RELAIS, departement=nievre)
        network.relais.append(org)
        network.sites[org.pk] = _site(
            org, name, insee, address, is_relais_shop=True, is_public_place=True, public_devices=2 + index % 4
        )
        people.append((login, "Nadia", f"Relais{index + 1}", org, "Relais numérique"))
    for kind, (name, siret, legal_form, login) in DONORS.items():
        org = _organisation(
            name,
            kind,
            siret=siret,
            legal_form=legal_form,
            departement=nievre,
            email=f"{login}@demo.reemploi.fr",
        )
        network.donors[kind] = org
        people.append((login, "Marc", "Donateur", org, f"Donateur ({org.get_kind_display().lower()})"))
    for login, first, last, org, role_label in people:
        network.users[login] = _user(login, first, last, org)
        network.logins.append((role_label, login, org.name))
    reader = _user("atelier-lecture", "Léa", "Lecture", network.refurbishers[0], role=Role.READ_ONLY)
    network.users["atelier-lecture"] = reader
    network.logins.append(
        ("Reconditionneur (lecture seule)", "atelier-lecture", network.refurbishers[0].name)
    )
    return network


# (state reached, how many) per category: the pipeline a device follows to reach each state.
PATHS = {
    S.EXPECTED: [],
    S.COLLECTED: [S.COLLECTED],
    S.RECEIVED: [S.RECEIVED],
    S.AUDITED: [S.RECEIVED, S.AUDITED],
    S.SANITISED: [S.RECEIVED, S.AUDITED, S.SANITISED],
    S.READY: [S.RECEIVED, S.AUDITED, S.SANITISED, S.READY],
    S.IN_TRANSIT: [S.RECEIVED, S.AUDITED, S.SANITISED, S.READY, S.IN_TRANSIT],
    S.IN_STOCK: [S.RECEIVED, S.AUDITED, S.SANITISED, S.READY, S.IN_TRANSIT, S.IN_STOCK],
    S.SOLD: [S.RECEIVED, S.AUDITED, S.SANITISED, S.READY, S.IN_TRANSIT, S.IN_STOCK, S.SOLD],
    S.LENT: [S.RECEIVED, S.AUDITED, S.SANITISED, S.READY, S.IN_TRANSIT, S.IN_STOCK, S.LENT],
    S.GIVEN: [S.RECEIVED, S.AUDITED, S.SANITISED, S.READY, S.IN_TRANSIT, S.IN_STOCK, S.GIVEN],
    S.RETURNED: [S.RECEIVED, S.AUDITED, S.SANITISED, S.READY, S.IN_TRANSIT, S.IN_STOCK, S.SOLD, S.RETURNED],
    S.PARTS: [S.RECEIVED, S.AUDITED, S.PARTS],
    S.DEEE: [S.RECEIVED, S.DEEE],
    S.LOST: [S.COLLECTED, S.LOST],
}
MODELS = {
    "laptop": [
        ("Lenovo", "ThinkPad T480"),
        ("Dell", "Latitude 5490"),
        ("HP", "ProBook 450 G5"),
        ("HP", "EliteBook 840 G3"),
    ],
    "desktop": [("Dell", "OptiPlex 7050"), ("HP", "ProDesk 600 G3"), ("Lenovo", "ThinkCentre M710s")],
    "tablet": [("Samsung", "Galaxy Tab A 10.1"), ("Apple", "iPad 6")],
    "smartphone": [("Samsung", "Galaxy A40"), ("Apple", "iPhone 8")],
    "screen": [("Dell", "P2219H"), ("iiyama", "ProLite E2282HS")],
}
STATE_PLAN = [  # state, count
    (S.EXPECTED, 4),
    (S.COLLECTED, 2),
    (S.RECEIVED, 6),
    (S.AUDITED, 5),
    (S.SANITISED, 4),
    (S.READY, 8),
    (S.IN_TRANSIT, 4),
    (S.IN_STOCK, 16),
    (S.SOLD, 14),
    (S.LENT, 3),
    (S.GIVEN, 2),
    (S.PARTS, 3),
    (S.DEEE, 5),
    (S.LOST, 1),
    (S.RETURNED, 1),
]
CATEGORY_WEIGHTS = [("laptop", 6), ("desktop", 2), ("tablet", 2), ("smartphone", 2), ("screen", 2)]


def build_devices(network):
    """Devices at every stage, each with a history that went through the real lifecycle service."""
    if Device.objects.filter(serial_number__startswith="DEMO-").exists():
        return
    rng = network.rng
    categories = {c.code: c for c in EquipmentCategory.objects.all()}
    coordinator_user = network.users["coordination"]
    donor_kinds = [K.COMPANY, K.PUBLIC_BODY, K.ASSOCIATION, None]
    number = 0
    for state, count in STATE_PLAN:
        for _ in range(count):
            number += 1
            code = rng.choices([c for c, _ in CATEGORY_WEIGHTS], weights=[w for _, w in CATEGORY_WEIGHTS])[0]
            brand, model = rng.choice(MODELS[code])
            workshop = rng.choice(network.refurbishers)
            relais = rng.choice(network.relais)
            donor_kind = rng.choice(donor_kinds)
            donor = network.donors.get(donor_kind)
            start = network.now - timedelta(days=rng.randint(40, 300))
            path = PATHS[state]
            first = S.EXPECTED if (state == S.EXPECTED or path[0] == S.COLLECTED) else S.RECEIVED
            at = start
            device = device_create(
                actor=coordinator_user,
                organisation=network.coordinator,
                state=first,
                holder=workshop,
                category=categories[code],
                brand=brand,
                model=model,
                serial_number=f"DEMO-{number:04d}",
                asset_tag=f"INV-{rng.randint(10000, 99999)}" if donor else "",
                provenance=Provenance.for_organisation_kind(donor.kind) if donor else Provenance.CITIZEN,
                donor_organisation=donor,
                note="Don annoncé" if first == S.EXPECTED else "Réception à l'atelier",
                at=at,
            )
            steps = path[1:] if path and path[0] == first else path
            for step in steps:
                at += timedelta(days=rng.randint(1, 6), hours=rng.randint(0, 6))
                actor = network.users[_login_for(network, workshop if step in WORKSHOP_STEPS else relais)]
                holder = relais if step == S.IN_TRANSIT else None
                device_transition(
                    device=device,
                    to_state=step,
                    actor=actor,
                    holder=holder,
                    at=at,
                    note=STEP_NOTES.get(step, ""),
                    check_permission=False,
                )
    network.created_devices = True


WORKSHOP_STEPS = {
    S.COLLECTED,
    S.RECEIVED,
    S.AUDITED,
    S.SANITISED,
    S.READY,
    S.IN_TRANSIT,
    S.PARTS,
    S.DEEE,
    S.LOST,
}
STEP_NOTES = {
    S.COLLECTED: "Enlevé chez le donateur",
    S.RETURNED: "Écran défectueux, retour sous garantie",
    S.AUDITED: "Diagnostic complet, tous les tests passés",
    S.SANITISED: "Effacement NIST Purge vérifié",
    S.PARTS: "Carte mère HS : démonté pour pièces",
    S.DEEE: "Trop ancien pour le réemploi",
    S.LOST: "Non retrouvé à la réception",
}


def _login_for(network, organisation):
    for membership in Membership.objects.filter(organisation=organisation, role=Role.STAFF).select_related(
        "user"
    ):
        return membership.user.username
    return "coordination"


def build(stdout=None):
    ensure_communes(stdout=stdout)
    rng = random.Random(2026)
    with transaction.atomic():
        network = build_network(rng)
        build_devices(network)
        for app in APP_ORDER:
            try:
                module = importlib.import_module(f"{app}.demo")
            except ModuleNotFoundError as error:
                if error.name != f"{app}.demo":
                    raise
                continue
            module.build(network)
    return network
