"""Demo donations: from each kind of donor (company, public body, association, citizen) at each step
(submitted, qualified, scheduled, collected, received with its reception sheet), built through the
services with past dates; plus, for each donor and workshop, the earlier donation the kernel's demo
devices came from (those devices are attached to its lines). Deterministic, and run twice it adds
nothing."""

from collections import defaultdict
from datetime import time, timedelta
from decimal import Decimal

from django.utils import timezone

from reemploi import documents
from reemploi.enums import DeviceState, OrganisationKind
from reemploi.models import Commune, Device, DeviceEvent, EquipmentCategory

from . import notifications, services
from .enums import Condition, DonationStatus, DonorKind, HandoverMode, MessageSide, Verdict
from .models import Donation, DonationLine, Reception, ReceptionLine

CITIZEN = {"name": "Sylvie Renard", "email": "sylvie.renard@demo.reemploi.fr", "insee": "58086"}
CONTACTS = {
    OrganisationKind.COMPANY: (
        "Marc Donateur",
        "donateur@demo.reemploi.fr",
        "58194",
        "12 avenue du Général de Gaulle",
    ),
    OrganisationKind.PUBLIC_BODY: (
        "Marc Donateur",
        "donateur-public@demo.reemploi.fr",
        "58095",
        "2 place du Champ de Foire",
    ),
    OrganisationKind.ASSOCIATION: (
        "Marc Donateur",
        "donateur-asso@demo.reemploi.fr",
        "58059",
        "7 rue des Hôtelleries",
    ),
}
# What each kind of donor proposes at each step: (category, quantity, age in years, condition).
PROPOSALS = {
    OrganisationKind.COMPANY: [
        ("laptop", 14, 4, Condition.WORKS),
        ("screen", 8, 6, Condition.WORKS),
        ("cable", 30, 5, Condition.WORKS),
    ],
    OrganisationKind.PUBLIC_BODY: [
        ("desktop", 10, 7, Condition.WORKS),
        ("screen", 10, 7, Condition.WORKS),
        ("printer", 2, 12, Condition.PARTLY),
    ],
    OrganisationKind.ASSOCIATION: [
        ("laptop", 4, 6, Condition.WORKS),
        ("tablet", 3, 5, Condition.PARTLY),
        ("laptop", 1, 8, Condition.BROKEN),
    ],
    None: [("laptop", 2, 7, Condition.WORKS), ("smartphone", 1, 4, Condition.WORKS)],
}
STEPS = [
    # status reached, days ago it was proposed
    (DonationStatus.SUBMITTED, 2),
    (DonationStatus.QUALIFIED, 6),
    (DonationStatus.SCHEDULED, 9),
    (DonationStatus.COLLECTED, 14),
    (DonationStatus.RECEIVED, 21),
]


def build(network):
    if Donation.objects.filter(contact_email__endswith="@demo.reemploi.fr").exists():
        return
    with notifications.muted():
        builder = _Builder(network)
        builder.earlier_donations()
        for kind in [
            OrganisationKind.COMPANY,
            OrganisationKind.PUBLIC_BODY,
            OrganisationKind.ASSOCIATION,
            None,
        ]:
            for step, days in STEPS:
                builder.donation_at_step(kind, step, days)
        builder.refused_and_cancelled()
        builder.tax_receipt()


class _Builder:
    def __init__(self, network):
        self.network = network
        self.now = network.now
        self.coordinator = network.users["coordination"]
        self.categories = {category.code: category for category in EquipmentCategory.objects.all()}
        self.serial = 0
        self.workshop_users = {org.pk: self._staff(org) for org in network.refurbishers}

    def _staff(self, organisation):
        membership = organisation.memberships.select_related("user").order_by("pk").first()
        return membership.user if membership else self.coordinator

    def _identity(self, kind):
        if kind is None:
            commune = Commune.objects.get(insee_code=CITIZEN["insee"])
            return {
                "donor_kind": DonorKind.INDIVIDUAL,
                "contact_name": CITIZEN["name"],
                "contact_email": CITIZEN["email"],
                "contact_phone": "06 12 34 56 78",
                "commune": commune,
                "postal_code": commune.postal_codes.values_list("code", flat=True).first(),
                "address": "4 rue des Tanneries",
            }
        organisation = self.network.donors[kind]
        name, email, insee, address = CONTACTS[kind]
        commune = Commune.objects.get(insee_code=insee)
        identity = {
            "donor_kind": kind,
            "donor_organisation": organisation,
            "contact_name": name,
            "contact_email": email,
            "contact_phone": "03 86 21 00 00",
            "commune": commune,
            "postal_code": commune.postal_codes.values_list("code", flat=True).first(),
            "address": address,
        }
        if kind == OrganisationKind.PUBLIC_BODY:
            identity.update(reuse_commitment=True, retired_stock_count=180)
        return identity

    def _submit(self, kind, lines, at, refurbisher=None, **extra):
        identity = self._identity(kind)
        quantity = sum(line["quantity"] for line in lines if line["condition"] != Condition.BROKEN)
        drop_off = kind is None and quantity < 5
        workshop = refurbisher or self.network.refurbishers[0]
        return services.donation_submit(
            **identity,
            handover_mode=HandoverMode.DROP_OFF if drop_off else HandoverMode.PICKUP,
            drop_off_site=self.network.sites[workshop.pk] if drop_off else None,
            availability=["tue-am", "thu-am", "thu-pm"],
            availability_note="Accès par le parking arrière" if kind else "",
            privacy_consent=True,
            lines=lines,
            at=at,
            **extra,
        )

    @staticmethod
    def _line(code, quantity, age, condition, **extra):
        return {
            "code": code,
            "quantity": quantity,
            "age_years": age,
            "condition": condition,
            "has_charger": code in ("laptop", "tablet", "smartphone"),
            "holds_data": code in ("laptop", "desktop", "tablet", "smartphone"),
            **extra,
        }

    def _lines(self, specs):
        return [
            {"category": self.categories[spec.pop("code")], "description": "", **spec}
            for spec in (dict(spec) for spec in specs)
        ]

    def _qualify(self, donation, refurbisher, at, message=""):
        services.donation_qualify(
            donation=donation,
            actor=self.coordinator,
            refurbisher=refurbisher,
            message=message,
            at=at,
            decisions=[
                {"line": line, "decision": line.verdict, "reason": line.verdict_reason, "quantity": None}
                for line in donation.lines.all()
            ],
        )

    def _schedule(self, donation, refurbisher, at, planned):
        if donation.handover_mode == HandoverMode.PICKUP:
            services.donation_schedule(
                donation=donation,
                actor=self.coordinator,
                planned_date=planned,
                slot_start=time(9),
                slot_end=time(12),
                carrier=refurbisher,
                at=at,
            )
        else:
            services.donation_schedule(donation=donation, actor=self.coordinator, planned_date=planned, at=at)

    def _collect(self, donation, refurbisher, at):
        lines = list(donation.lines.select_related("category"))
        count = sum(line.expected_quantity for line in lines)
        weight = sum((line.category.typical_weight_kg * line.expected_quantity for line in lines), Decimal(0))
        services.donation_collect(
            donation=donation,
            actor=self.workshop_users[refurbisher.pk],
            items_count=count,
            weight_kg=weight,
            at=at,
        )

    def _next_serial(self, code):
        self.serial += 1
        prefix = {
            "laptop": "PF2",
            "desktop": "CZC",
            "screen": "CN0",
            "tablet": "R52",
            "smartphone": "RF8",
        }.get(code, "SN")
        return f"{prefix}D{self.serial:05d}"

    # --- Each kind of donor at each step ----------------------------------------------------------

    def donation_at_step(self, kind, step, days):
        start = self.now - timedelta(days=days)
        specs = [self._line(*spec) for spec in PROPOSALS[kind]]
        workshop = self.network.refurbishers[(len(PROPOSALS) + days) % len(self.network.refurbishers)]
        pending = self._pending_devices(kind, step)
        if pending:
            workshop = pending[0].holder
        donation = self._submit(kind, self._lines(specs), start, refurbisher=workshop)
        if step == DonationStatus.SUBMITTED:
            services.message_post(
                donation=donation,
                side=MessageSide.DONOR,
                body="Les ordinateurs ont encore leur disque dur : faut-il les retirer avant l'enlèvement ?",
                at=start + timedelta(hours=2),
            )
            return donation
        self._qualify(
            donation,
            workshop,
            start + timedelta(days=1),
            message="Merci ! Laissez les disques en place : ils seront effacés et vous recevrez un certificat par disque.",
        )
        if step == DonationStatus.QUALIFIED:
            return donation
        self._schedule(
            donation, workshop, start + timedelta(days=2), timezone.localdate() + timedelta(days=3)
        )
        if pending:
            self._attach(donation, pending, announce=True)
        if step == DonationStatus.SCHEDULED:
            services.collection_answer(donation=donation, confirm=True, at=start + timedelta(days=3))
            return donation
        services.collection_answer(donation=donation, confirm=True, at=start + timedelta(days=3))
        donation.collection.refresh_from_db()
        self._collect(donation, workshop, self.now - timedelta(days=days - 5))
        if step == DonationStatus.COLLECTED:
            return donation
        lines = [line for line in donation.lines.select_related("category") if line.expected_quantity]
        site = self.network.sites[workshop.pk]
        entries = []
        for index, line in enumerate(lines):
            received = line.expected_quantity - (1 if index == 0 and kind == OrganisationKind.COMPANY else 0)
            items = []
            if line.category.is_pc or line.category.code in ("tablet", "smartphone"):
                items = [
                    {
                        "serial_number": self._next_serial(line.category.code),
                        "asset_tag": f"INV-{4000 + self.serial}" if kind else "",
                    }
                    for _ in range(received)
                ]
            entries.append({"line": line, "received_quantity": received, "items": items, "note": ""})
        services.donation_receive(
            donation=donation,
            actor=self.workshop_users[workshop.pk],
            site=site,
            weight_kg=donation.collection.weight_kg,
            note="Un ordinateur portable manquant par rapport à l'annonce."
            if kind == OrganisationKind.COMPANY
            else "",
            lines=entries,
            at=self.now - timedelta(days=days - 7),
        )
        return donation

    def _pending_devices(self, kind, step):
        """The kernel's announced (expected) or collected devices of this donor, for the matching step."""
        state = {
            DonationStatus.SCHEDULED: DeviceState.EXPECTED,
            DonationStatus.COLLECTED: DeviceState.COLLECTED,
        }.get(step)
        if state is None or kind is None:
            return []
        devices = list(
            Device.objects.filter(
                donor_organisation=self.network.donors[kind],
                state=state,
                serial_number__startswith="DEMO-",
                donation_line__isnull=True,
            )
            .select_related("holder", "category")
            .order_by("serial_number")
        )
        if not devices:
            return []
        holder = devices[0].holder
        return [device for device in devices if device.holder_id == holder.pk]

    def _attach(self, donation, devices, announce=False):
        """Demo data only: hang the kernel's demo devices on the donation's lines of their category,
        adding a line when the donation has none."""
        lines = {line.category_id: line for line in donation.lines.all() if line.decision != Verdict.REFUSED}
        by_category = defaultdict(list)
        for device in devices:
            by_category[device.category_id].append(device)
        position = donation.lines.count()
        for category_id, group in by_category.items():
            line = lines.get(category_id)
            if line is None:
                position += 1
                line = DonationLine.objects.create(
                    donation=donation,
                    position=position,
                    category=group[0].category,
                    quantity=len(group),
                    age_years=5,
                    verdict=Verdict.ACCEPTED,
                    decision=Verdict.ACCEPTED,
                    accepted_quantity=len(group),
                )
            elif line.quantity < len(group) or (line.accepted_quantity or 0) < len(group):
                DonationLine.objects.filter(pk=line.pk).update(
                    quantity=max(line.quantity, len(group)),
                    accepted_quantity=max(line.accepted_quantity or 0, len(group)),
                )
            Device.objects.filter(pk__in=[d.pk for d in group]).update(donation_line=line)
            if announce:
                DonationLine.objects.filter(pk=line.pk).update(
                    announced_items=[
                        {"serial_number": d.serial_number, "asset_tag": d.asset_tag} for d in group
                    ]
                )

    # --- The donations the kernel's demo devices came from ------------------------------------------

    def earlier_donations(self):
        """One closed donation per donor and workshop, holding the demo devices it received."""
        groups = defaultdict(list)
        devices = (
            Device.objects.filter(serial_number__startswith="DEMO-", donation_line__isnull=True)
            .exclude(state__in=[DeviceState.EXPECTED, DeviceState.COLLECTED, DeviceState.LOST])
            .select_related("category", "donor_organisation")
            .order_by("serial_number")
        )
        first_reception = {
            event.device_id: event
            for event in DeviceEvent.objects.filter(to_state=DeviceState.RECEIVED, device__in=devices)
            .select_related("holder")
            .order_by("-at")
        }
        for device in devices:
            event = first_reception.get(device.pk)
            if event is None or event.holder.kind != OrganisationKind.REFURBISHER:
                continue
            groups[(device.donor_organisation_id, event.holder_id)].append((device, event))
        refurbishers = {org.pk: org for org in self.network.refurbishers}
        kinds = {org.pk: kind for kind, org in self.network.donors.items()}
        for (donor_id, workshop_id), members in sorted(
            groups.items(), key=lambda item: (item[0][0] or 0, item[0][1])
        ):
            kind = kinds.get(donor_id)
            workshop = refurbishers[workshop_id]
            received_at = min(event.at for _device, event in members)
            counts = defaultdict(int)
            for device, _event in members:
                counts[device.category.code] += 1
            specs = [self._line(code, count, 5, Condition.WORKS) for code, count in sorted(counts.items())]
            start = received_at - timedelta(days=18)
            donation = self._submit(kind, self._lines(specs), start, refurbisher=workshop)
            self._qualify(donation, workshop, start + timedelta(days=2))
            self._schedule(donation, workshop, start + timedelta(days=3), (start + timedelta(days=10)).date())
            services.collection_answer(donation=donation, confirm=True, at=start + timedelta(days=4))
            donation.collection.refresh_from_db()
            self._collect(donation, workshop, received_at - timedelta(days=1))
            self._attach(donation, [device for device, _event in members])
            self._receive_attached(donation, workshop, received_at)
            services.reception_confirm(donation=donation, note="", at=received_at + timedelta(days=3))

    def _receive_attached(self, donation, workshop, at):
        """Demo data only: the devices already exist (the kernel's demo received them), so the
        reception records their counts and issues the sheet without creating devices again."""
        reception = Reception.objects.create(
            donation=donation,
            refurbisher=workshop,
            site=self.network.sites[workshop.pk],
            received_at=at,
            received_by=self.workshop_users[workshop.pk],
            weight_kg=donation.collection.weight_kg,
        )
        for line in donation.lines.all():
            count = line.devices.count()
            ReceptionLine.objects.create(
                reception=reception,
                line=line,
                announced_quantity=line.expected_quantity,
                received_quantity=count,
            )
        services._move(
            donation,
            DonationStatus.RECEIVED,
            title="Don réceptionné à l'atelier",
            actor=self.workshop_users[workshop.pk],
            at=at,
            note=f"{sum(line.devices.count() for line in donation.lines.all())} équipement(s) reçu(s).",
        )
        documents.document_request(
            kind="reception_sheet",
            subject=reception,
            title=f"Fiche de réception du don {donation.reference}",
            owner=donation.donor_organisation,
            requested_by=self.workshop_users[workshop.pk],
            donation=donation,
        )

    def tax_receipt(self):
        """The company asks for the tax receipt of its earliest received donation; the coordinator
        issues it."""
        company = self.network.donors[OrganisationKind.COMPANY]
        donation = (
            Donation.objects.filter(
                donor_organisation=company, status__in=[DonationStatus.RECEIVED, DonationStatus.CLOSED]
            )
            .order_by("created_at", "id")
            .first()
        )
        if donation is None:
            return
        receipt = services.tax_receipt_ask(
            donation=donation, declared_value=Decimal("1850.00"), actor=self.network.users.get("donateur")
        )
        services.tax_receipt_issue(receipt=receipt, actor=self.coordinator)

    def refused_and_cancelled(self):
        start = self.now - timedelta(days=11)
        refused = self._submit(
            None,
            self._lines(
                [self._line("laptop", 1, 9, Condition.WORKS), self._line("mouse", 1, 9, Condition.WORKS)]
            ),
            start,
        )
        services.donation_qualify(
            donation=refused,
            actor=self.coordinator,
            at=start + timedelta(days=1),
            message="Merci de votre proposition. Ce modèle ne peut plus recevoir de système à jour : "
            "déposez-le plutôt dans un point de collecte DEEE.",
            decisions=[
                {
                    "line": line,
                    "decision": Verdict.REFUSED,
                    "reason": "Modèle trop ancien pour un système à jour.",
                }
                for line in refused.lines.all()
            ],
        )
        cancelled = self._submit(
            OrganisationKind.ASSOCIATION, self._lines([self._line("desktop", 3, 6, Condition.WORKS)]), start
        )
        services.donation_cancel(
            donation=cancelled,
            reason="Le matériel a finalement été donné à une école.",
            by_donor=True,
            at=start + timedelta(days=2),
        )
