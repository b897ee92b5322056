"""One world for the permission matrix: two chains of organisations, "a" (Nièvre) and "b" (Cher),
each with a donor, a refurbisher, a relais, a prescriber and a département, and objects of every
kind the URLs point at. The people whose access is tested all belong to chain "a": for them, an
object of chain "a" is their own organisation's and one of chain "b" another's. The coordinator
belongs to neither chain and sees both.

Personal values planted in the world (names, contacts, addresses, emails) are listed in
`World.personal_values`: departmental staff must never see any of them."""

import importlib
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.core.files.base import ContentFile
from django.utils import timezone

from beneficiaries.models import QuotaException
from donors.models import DonationPhoto, DonorAccessRequest, TaxReceiptRequest
from donors.tokens import tracking_token
from indicators.models import SnapshotRun
from reemploi.documents import document_generate
from reemploi.enums import DeviceState, OrganisationKind, Provenance, Role
from reemploi.models import CommunePostalCode, Departement, Device, Document
from refurbishers import services as workshop_services
from refurbishers.enums import ImportKind, PartKind, PartOrigin, RecordSource, TreatmentCode, WasteCode
from refurbishers.models import Audit, ImportJob, Part
from relais import services as relais_services
from tests.beneficiaries.factories import BeneficiaryFactory, CheckFactory, CriterionFactory, VoucherFactory
from tests.donors import factories as donations
from tests.indicators.factories import SnapshotFactory
from tests.reemploi.factories import CommuneFactory, OrganisationFactory, SiteFactory, UserFactory, category
from tests.refurbishers.factories import MediumFactory, SanitisationFactory, ready_device
from tests.relais.factories import sell, stock_device

# The roles whose access the matrix checks, in the order of the table's columns.
ROLES = (
    "coordinator",
    "donor",
    "refurbisher",
    "refurbisher_ro",
    "relais",
    "departement",
    "prescriber",
    "anonymous",
)

# Kinds of objects every signed-in user may see, whoever owns them: the relais directory, the
# eligibility criteria (rules of a territory), the organisations' directory.
SHARED_KINDS = {"relais_site", "criterion", "organisation"}

CHAINS = {
    # chain: (département, INSEE code, commune, postal code)
    "a": ("58", "58194", "Nevers", "58000"),
    "b": ("18", "18033", "Bourges", "18000"),
}

# A 1×1 PNG, enough for a stored donation photo.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d4944415478da63f8cfc0f01f0005000201a5c1e1b50000000049454e44ae426082"
)


@dataclass
class World:
    users: dict = field(default_factory=dict)  # role -> User (None for anonymous)
    objects: dict = field(default_factory=dict)  # kind -> {"a": {kwarg: value}, "b": {...}}
    personal_values: list = field(default_factory=list)
    orgs: dict = field(default_factory=dict)  # "refurbisher_a" -> Organisation

    def add(self, kind, chain, **kwargs):
        self.objects.setdefault(kind, {})[chain] = kwargs

    def private_identifiers(self, chain):
        """Identifiers of chain `chain`'s objects that only its organisations (and the coordinator)
        may see: no page or API response of another organisation may contain one."""
        return sorted(
            {
                str(values[key])
                for kind, by_chain in self.objects.items()
                if kind not in SHARED_KINDS
                for key, values in [(key, by_chain[chain]) for key in ("uuid", "public_id", "photo_uuid")]
                if key in values
            }
        )


def _personal(world, value):
    world.personal_values.append(value)
    return value


def _user(world, organisation, username, role=Role.STAFF):
    user = UserFactory(
        username=username,
        first_name="Prenom",
        last_name=username.replace("-", ""),
        email=_personal(world, f"{username}@courriel-perso.test"),
    )
    user.memberships.create(organisation=organisation, role=role)
    return user


def _chain(world, chain, coordinator):
    code, insee, town, postal_code = CHAINS[chain]
    departement = Departement.objects.get(code=code)
    commune = CommuneFactory(insee_code=insee, name=town, departement=departement)
    CommunePostalCode.objects.get_or_create(commune=commune, code=postal_code)
    up = chain.upper()

    donor = OrganisationFactory(kind=OrganisationKind.COMPANY, name=f"Entreprise donatrice {up}")
    refurbisher = OrganisationFactory(refurbisher=True, name=f"Atelier {up}", departement=departement)
    relais = OrganisationFactory(relais=True, name=f"Relais {up}", departement=departement)
    prescriber = OrganisationFactory(prescriber=True, name=f"Prescripteur {up}", departement=departement)
    departement_org = OrganisationFactory(
        departement_staff=True, name=f"Département {code}", departement=departement
    )
    for name, organisation in [
        ("donor", donor),
        ("refurbisher", refurbisher),
        ("relais", relais),
        ("prescriber", prescriber),
        ("departement", departement_org),
    ]:
        world.orgs[f"{name}_{chain}"] = organisation
    workshop = SiteFactory(
        organisation=refurbisher,
        name=f"Atelier {up}",
        commune=commune,
        address=f"1 rue de l'Atelier {up}",
        postal_code=postal_code,
        is_workshop=True,
        is_collection_point=True,
    )
    relais_site = SiteFactory(
        organisation=relais,
        name=f"Boutique {up}",
        commune=commune,
        address=f"2 place du Relais {up}",
        postal_code=postal_code,
        is_relais_shop=True,
        is_public_place=True,
    )

    users = {
        "donor": _user(world, donor, f"donateur-{chain}", Role.ADMIN),
        "refurbisher": _user(world, refurbisher, f"atelier-{chain}"),
        "refurbisher_ro": _user(world, refurbisher, f"atelier-lecture-{chain}", Role.READ_ONLY),
        "relais": _user(world, relais, f"relais-{chain}"),
        "departement": _user(world, departement_org, f"departement-{chain}"),
        "prescriber": _user(world, prescriber, f"prescripteur-{chain}"),
    }

    # Donations at each step, with personal contact details.
    contact = {
        "contact_name": _personal(world, f"Anatole Pimprenelle{up}"),
        "contact_email": _personal(world, f"anatole.pimprenelle{chain}@donateur-perso.test"),
        "contact_phone": _personal(world, f"06 71 82 93 0{'1' if chain == 'a' else '2'}"),
        "address": _personal(world, f"17 impasse des Glycines{up}"),
        "postal_code": postal_code,
        "commune": commune,
        "donor_organisation": donor,
    }
    submitted = donations.submit(**contact)
    qualified = donations.qualified(coordinator, refurbisher, **contact)
    scheduled = donations.scheduled(coordinator, refurbisher, **contact)
    collected = donations.collected(coordinator, refurbisher, **contact)
    received = donations.received(coordinator, refurbisher, site=workshop, **contact)
    for kind, donation in [
        ("donation_submitted", submitted),
        ("donation_qualified", qualified),
        ("donation_scheduled", scheduled),
        ("donation_collected", collected),
        ("donation_received", received),
    ]:
        world.add(kind, chain, uuid=donation.uuid, token=tracking_token(donation))
    photo = DonationPhoto(donation=submitted, content_type="image/png", size=len(PNG), width=1, height=1)
    photo.file.save("photo.png", ContentFile(PNG), save=False)
    photo.save()
    world.add("donation_photo", chain, uuid=submitted.uuid, photo_uuid=photo.uuid)
    # Someone who asked, from the tracking link, to join the donor organisation.
    newcomer = UserFactory(
        username=f"nouveau-{chain}", email=_personal(world, f"nouveau-{chain}@courriel-perso.test")
    )
    access = DonorAccessRequest.objects.create(organisation=donor, user=newcomer, donation=received)
    world.add("access_request", chain, pk=access.pk)
    sheet = Document.objects.get(donation=received)
    document_generate(sheet.pk)
    sheet.refresh_from_db()
    world.add("document", chain, uuid=sheet.uuid, code=sheet.verification_code)
    world.add(
        "donation_document",
        chain,
        token=tracking_token(received),
        uuid=received.uuid,
        document_uuid=sheet.uuid,
    )
    # The company asked for a tax receipt for its received donation.
    receipt = TaxReceiptRequest.objects.create(
        donation=received, declared_value=Decimal("850.00"), requested_by=users["donor"]
    )
    world.add("tax_receipt", chain, uuid=receipt.uuid)

    # The workshop: a received device with a disk, records, an import, evidence, parts, DEEE lot.
    staff = users["refurbisher"]
    device = Device.objects.filter(donation_line__donation=received, state=DeviceState.RECEIVED).first()
    world.add("workshop_device", chain, uuid=device.uuid, public_id=device.public_id)
    medium = MediumFactory(device=device, serial_number=f"DISK-{up}-1")
    SanitisationFactory(medium=medium, organisation=refurbisher)
    world.add("medium", chain, uuid=medium.uuid)
    world.add("sanitisation", chain, uuid=medium.sanitisations.get().uuid)
    audit = Audit.objects.create(
        device=device, organisation=refurbisher, source=RecordSource.FORM, performed_by=staff
    )
    world.add("audit", chain, uuid=audit.uuid)
    evidence = workshop_services.evidence_store(
        organisation=refurbisher, kind=ImportKind.NWIPE, name="rapport.json", data=b"{}", actor=staff
    )
    world.add("evidence", chain, uuid=evidence.uuid)
    job = ImportJob.objects.create(organisation=refurbisher, kind=ImportKind.CSV, created_by=staff)
    world.add("import_job", chain, uuid=job.uuid)
    part = Part.objects.create(
        organisation=refurbisher, kind=PartKind.RAM, description="Barrette 8 Go", origin=PartOrigin.BOUGHT
    )
    world.add("part", chain, uuid=part.uuid)
    lot = workshop_services.waste_lot_create(
        organisation=refurbisher,
        actor=staff,
        waste_code=WasteCode.EQUIPMENT,
        destination_name="Centre de traitement",
        destination_siret="73282932000074",
        treatment_code=TreatmentCode.R4,
    )
    world.add("waste_lot", chain, uuid=lot.uuid)

    # Shipments: a draft one at the workshop, a dispatched one the relais receives.
    draft, _refused = workshop_services.shipment_create(
        refurbisher=refurbisher, relais=relais, actor=staff, devices=[ready_device(refurbisher)]
    )
    world.add("shipment", chain, uuid=draft.uuid)
    dispatched, _refused = workshop_services.shipment_create(
        refurbisher=refurbisher, relais=relais, actor=staff, devices=[ready_device(refurbisher)]
    )
    workshop_services.shipment_dispatch(shipment=dispatched, actor=staff)
    document_generate(Document.objects.get(kind="delivery_note", subject_id=dispatched.pk).pk)
    world.add("delivery", chain, uuid=dispatched.uuid)

    # The relais: stock, beneficiaries, a sale, a loan, a return under guarantee.
    relais_staff = users["relais"]
    world.add("relais_site", chain, uuid=relais_site.uuid)
    in_stock = stock_device(relais, price=Decimal("120"), provenance=Provenance.COMPANY)
    world.add("stock_device", chain, uuid=in_stock.uuid, public_id=in_stock.public_id)
    criterion = CriterionFactory(departement=departement, effective_from=date(2024, 1, 1))
    world.add("criterion", chain, uuid=criterion.uuid)
    people = []
    for index in range(3):
        person = BeneficiaryFactory(
            relais=relais,
            commune=commune,
            first_name=_personal(world, f"Zephyrine{up}{index}"),
            last_name=_personal(world, f"Quenouille{up}{index}"),
        )
        CheckFactory(beneficiary=person, criterion=criterion, checked_by=relais_staff)
        people.append(person)
    world.add("beneficiary", chain, uuid=people[0].uuid)
    sold = stock_device(relais, "laptop")
    sale = sell(relais_staff, people[0], (sold, "150"))
    world.add("sale", chain, uuid=sale.uuid, post={"device": str(sold.uuid)})
    returned_sale = sell(relais_staff, people[1], (stock_device(relais, "tablet"), "80"))
    guarantee_return = relais_services.return_register(
        actor=relais_staff, sale_line=returned_sale.lines.get(), defect="Écran noir", remedy="replacement"
    )
    world.add("guarantee_return", chain, uuid=guarantee_return.uuid)
    loan = relais_services.loan_create(
        actor=relais_staff,
        relais=relais,
        device=stock_device(relais, "tablet"),
        beneficiary=people[2],
        due_on=timezone.localdate() + timedelta(days=14),
    )
    world.add("loan", chain, uuid=loan.uuid)
    voucher = VoucherFactory(
        prescriber=prescriber,
        issued_by=users["prescriber"],
        commune=commune,
        first_name=_personal(world, f"Barnabe{up}"),
        last_name=_personal(world, f"Tournesol{up}"),
    )
    world.add("voucher", chain, uuid=voucher.uuid)
    exception = QuotaException.objects.create(
        household=people[0].household,
        category=category("laptop"),
        extra_devices=1,
        reason="Deux enfants scolarisés au collège",
        valid_until=timezone.localdate() + timedelta(days=90),
        granted_by=coordinator,
    )
    world.add("quota_exception", chain, uuid=exception.uuid)

    # Indicators of the chain's département.
    SnapshotFactory(
        territory_code=code,
        territory_label=departement.name,
        departement_code=code,
        value=3,
        period_start=date(timezone.localdate().year, 1, 1),
        computed_on=timezone.localdate(),
    )
    run = SnapshotRun.objects.create(departement=departement)
    world.add("snapshot_run", chain, uuid=run.uuid)
    world.add("departement", chain, query=f"departement={code}", post={"departement": code})
    world.add("indicator_table", chain, table="series", fmt="csv", query=f"departement={code}")
    world.add("organisation", chain, uuid=refurbisher.uuid)
    return users


def seed_reference_data():
    """What the data migrations seed (categories and caps, départements, acceptance rules, quota and
    cap policies): a transactional test that ran before may have flushed it."""
    from django.apps import apps

    from donors.models import CategoryRule
    from donors.reference import load_acceptance_defaults
    from reemploi.models import EquipmentCategory
    from reemploi.reference import load_reference_data

    if not EquipmentCategory.objects.exists():
        load_reference_data(apps)
    if not CategoryRule.objects.exists():
        load_acceptance_defaults(apps)
    for module, function in [
        ("beneficiaries.migrations.0002_default_quota_policy", "default_policy"),
        ("relais.migrations.0002_cap_policy_and_cap_triggers", "default_cap_policy"),
    ]:
        getattr(importlib.import_module(module), function)(apps, None)


def build_world():
    seed_reference_data()
    world = World()
    coordination = OrganisationFactory(coordinator=True)
    coordinator = _user(world, coordination, "coordination", Role.ADMIN)
    chain_users = {chain: _chain(world, chain, coordinator) for chain in CHAINS}
    world.users = {"coordinator": coordinator, **chain_users["a"], "anonymous": None}
    # Objects that are the same for everyone.
    for chain in CHAINS:
        world.add("category", chain, code="laptop")
        world.add("password_reset", chain, uidb64="MQ", token="jeton-invalide")
    return world
