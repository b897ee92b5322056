"""Donations API: create a donation (a company's intranet), list and read them (scoped to the user),
and one POST action per step: qualify, schedule, collect, receive. Errors come back readable:
400 with the fields at fault, 403 when not allowed, 404 outside the user's scope, 409 when the
donation's status does not allow the step."""

from decimal import Decimal

import django_filters
from django.db.models import Prefetch
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.throttling import ScopedRateThrottle

from reemploi.enums import OrganisationKind
from reemploi.models import Commune, EquipmentCategory, Organisation, Site
from reemploi.permissions import is_coordinator, organisations

from . import permissions, services
from .enums import AVAILABILITY_CHOICES, Channel, Condition, DonationStatus, DonorKind, HandoverMode, Verdict
from .models import Donation, DonationLine
from .rules import LineInput, Rules

# --- Reading --------------------------------------------------------------------------------------


class ItemSerializer(serializers.Serializer):
    serial_number = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    asset_tag = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class DonationLineSerializer(serializers.ModelSerializer):
    category = serializers.SlugRelatedField(slug_field="code", read_only=True)
    decision = serializers.ChoiceField(
        choices=Verdict.choices,
        allow_blank=True,
        read_only=True,
        help_text="Vide tant que le don n'est pas qualifié.",
    )
    announced_items = ItemSerializer(many=True, read_only=True)

    class Meta:
        model = DonationLine
        fields = [
            "position",
            "category",
            "quantity",
            "age_years",
            "condition",
            "has_charger",
            "holds_data",
            "description",
            "announced_items",
            "verdict",
            "verdict_reason",
            "decision",
            "decision_reason",
            "accepted_quantity",
            "added_at_reception",
        ]
        read_only_fields = fields


class DonationSerializer(serializers.ModelSerializer):
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    donor_organisation = serializers.SlugRelatedField(slug_field="uuid", read_only=True, allow_null=True)
    donor_name = serializers.CharField(read_only=True)
    commune = serializers.SlugRelatedField(slug_field="insee_code", read_only=True)
    commune_name = serializers.CharField(source="commune.name", read_only=True)
    drop_off_site = serializers.SlugRelatedField(slug_field="uuid", read_only=True, allow_null=True)
    refurbisher = serializers.SlugRelatedField(slug_field="uuid", read_only=True, allow_null=True)
    lines = DonationLineSerializer(many=True, read_only=True)
    collection = serializers.SerializerMethodField()
    reception = serializers.SerializerMethodField()

    class Meta:
        model = Donation
        fields = [
            "uuid",
            "reference",
            "status",
            "status_label",
            "status_changed_at",
            "channel",
            "donor_kind",
            "donor_organisation",
            "donor_name",
            "contact_name",
            "contact_email",
            "contact_phone",
            "address",
            "postal_code",
            "commune",
            "commune_name",
            "handover_mode",
            "drop_off_site",
            "availability",
            "availability_note",
            "reuse_commitment_at",
            "retired_stock_year",
            "retired_stock_count",
            "refurbisher",
            "created_at",
            "lines",
            "collection",
            "reception",
        ]
        read_only_fields = fields

    def get_collection(self, donation) -> dict | None:
        collection = getattr(donation, "collection", None)
        if collection is None:
            return None
        return {
            "mode": collection.mode,
            "planned_date": collection.planned_date,
            "slot_start": collection.slot_start,
            "slot_end": collection.slot_end,
            "carrier": collection.carrier_label,
            "site": collection.site.uuid if collection.site_id else None,
            "status": collection.status,
            "collected_at": collection.collected_at,
            "items_count": collection.items_count,
            "weight_kg": str(collection.weight_kg) if collection.weight_kg is not None else None,
        }

    def get_reception(self, donation) -> dict | None:
        reception = getattr(donation, "reception", None)
        if reception is None:
            return None
        return {
            "uuid": reception.uuid,
            "site": reception.site.uuid,
            "received_at": reception.received_at,
            "weight_kg": str(reception.weight_kg) if reception.weight_kg is not None else None,
            "donor_confirmed_at": reception.donor_confirmed_at,
            "lines": [
                {
                    "position": line.line.position,
                    "announced_quantity": line.announced_quantity,
                    "received_quantity": line.received_quantity,
                    "missing_items": line.missing_items,
                    "unexpected_items": line.unexpected_items,
                    "note": line.note,
                }
                for line in reception.lines.all()
            ],
        }


class DonationFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=DonationStatus.choices)
    donor_kind = django_filters.ChoiceFilter(choices=DonorKind.choices)
    refurbisher = django_filters.UUIDFilter(field_name="refurbisher__uuid")
    donor_organisation = django_filters.UUIDFilter(field_name="donor_organisation__uuid")

    class Meta:
        model = Donation
        fields = ["status", "donor_kind", "handover_mode", "refurbisher", "donor_organisation"]


def _require(allowed):
    """Rights are checked before the body is read: a forbidden step is a 403 whatever was sent."""
    if not allowed:
        raise exceptions.PermissionDenied(_("Votre rôle ne permet pas cette étape."))


# --- Writing --------------------------------------------------------------------------------------


class CategoryField(serializers.SlugRelatedField):
    def __init__(self, **kwargs):
        super().__init__(slug_field="code", queryset=EquipmentCategory.objects.all(), **kwargs)


class LineInputSerializer(serializers.Serializer):
    category = CategoryField()
    quantity = serializers.IntegerField(min_value=1, max_value=10_000)
    age_years = serializers.IntegerField(
        min_value=0, max_value=60, required=False, allow_null=True, default=None
    )
    condition = serializers.ChoiceField(choices=Condition.choices, default=Condition.WORKS)
    has_charger = serializers.BooleanField(default=False)
    holds_data = serializers.BooleanField(default=False)
    description = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    announced_items = ItemSerializer(many=True, required=False, default=list)


class DonationCreateSerializer(serializers.Serializer):
    donor_organisation = serializers.SlugRelatedField(
        slug_field="uuid",
        queryset=Organisation.objects.filter(kind__in=DonorKind.organisation_kinds()),
        required=False,
        allow_null=True,
        help_text="L'organisation donatrice ; facultatif si vous n'êtes membre que d'une seule.",
    )
    donor_kind = serializers.ChoiceField(
        choices=DonorKind.choices,
        required=False,
        help_text="Coordination seulement, sans organisation existante.",
    )
    organisation_name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    siret = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    contact_name = serializers.CharField(max_length=150)
    contact_email = serializers.EmailField()
    contact_phone = serializers.CharField(max_length=30, required=False, allow_blank=True, default="")
    postal_code = serializers.RegexField(r"^\d{5}$", max_length=5)
    commune = serializers.CharField(
        max_length=5,
        required=False,
        allow_blank=True,
        default="",
        help_text="Code INSEE, si le code postal en a plusieurs.",
    )
    address = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    access_notes = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    handover_mode = serializers.ChoiceField(choices=HandoverMode.choices)
    drop_off_site = serializers.SlugRelatedField(
        slug_field="uuid", queryset=Site.objects.all(), required=False, allow_null=True, default=None
    )
    availability = serializers.ListField(
        child=serializers.ChoiceField(choices=AVAILABILITY_CHOICES), required=False, default=list
    )
    availability_note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    reuse_commitment = serializers.BooleanField(default=False)
    retired_stock_count = serializers.IntegerField(min_value=0, required=False, allow_null=True, default=None)
    privacy_consent = serializers.BooleanField()
    lines = LineInputSerializer(many=True)

    def validate(self, data):
        communes = list(Commune.objects.with_postal_code(data["postal_code"]))
        chosen = [c for c in communes if c.insee_code == data.get("commune")] or (
            communes if len(communes) == 1 else []
        )
        if not chosen:
            raise serializers.ValidationError(
                {"commune": _("Indiquez le code INSEE de la commune parmi celles de ce code postal.")}
            )
        data["commune"] = chosen[0]
        return data


class EvaluateSerializer(serializers.Serializer):
    donor_kind = serializers.ChoiceField(choices=DonorKind.choices)
    lines = LineInputSerializer(many=True)


class QualifyLineSerializer(serializers.Serializer):
    position = serializers.IntegerField(min_value=1)
    decision = serializers.ChoiceField(choices=Verdict.choices)
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    quantity = serializers.IntegerField(min_value=0, required=False, allow_null=True, default=None)


class QualifySerializer(serializers.Serializer):
    refurbisher = serializers.SlugRelatedField(
        slug_field="uuid",
        queryset=Organisation.objects.filter(kind=OrganisationKind.REFURBISHER),
        required=False,
        allow_null=True,
        default=None,
    )
    message = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
    lines = QualifyLineSerializer(many=True)


class ScheduleSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(choices=HandoverMode.choices, required=False)
    planned_date = serializers.DateField()
    slot_start = serializers.TimeField(required=False, allow_null=True, default=None)
    slot_end = serializers.TimeField(required=False, allow_null=True, default=None)
    carrier = serializers.SlugRelatedField(
        slug_field="uuid", queryset=Organisation.objects.all(), required=False, allow_null=True, default=None
    )
    carrier_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    site = serializers.SlugRelatedField(
        slug_field="uuid", queryset=Site.objects.all(), required=False, allow_null=True, default=None
    )
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class CollectSerializer(serializers.Serializer):
    items_count = serializers.IntegerField(min_value=1)
    weight_kg = serializers.DecimalField(max_digits=8, decimal_places=2, min_value=0)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class ReceiveLineSerializer(serializers.Serializer):
    position = serializers.IntegerField(min_value=1)
    received_quantity = serializers.IntegerField(min_value=0)
    items = ItemSerializer(many=True, required=False, default=list)
    note = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


class ReceiveExtraSerializer(serializers.Serializer):
    category = CategoryField()
    received_quantity = serializers.IntegerField(min_value=1)
    items = ItemSerializer(many=True, required=False, default=list)
    note = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class ReceiveSerializer(serializers.Serializer):
    site = serializers.SlugRelatedField(slug_field="uuid", queryset=Site.objects.all())
    weight_kg = serializers.DecimalField(
        max_digits=8, decimal_places=2, min_value=0, required=False, allow_null=True, default=None
    )
    note = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
    lines = ReceiveLineSerializer(many=True)
    extra_lines = ReceiveExtraSerializer(many=True, required=False, default=list)


class TaxReceiptAskSerializer(serializers.Serializer):
    declared_value = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        help_text=_("Valeur du don déclarée par l'entreprise, en euros (supérieure à zéro)."),
    )


class TaxReceiptSerializer(serializers.Serializer):
    uuid = serializers.UUIDField()
    declared_value = serializers.DecimalField(max_digits=12, decimal_places=2)
    status = serializers.CharField()
    requested_at = serializers.DateTimeField()


def _by_position(donation, entries):
    lines = {line.position: line for line in donation.lines.all()}
    resolved = []
    for entry in entries:
        line = lines.get(entry.pop("position"))
        if line is None:
            raise serializers.ValidationError({"lines": _("Ligne inconnue pour ce don.")})
        resolved.append({"line": line, **entry})
    return resolved


class DonationViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Donations the user may see: all of them for the coordinator, those assigned to a refurbisher's
    workshop, those of the user's donor organisations."""

    lookup_field = "uuid"
    filterset_class = DonationFilter
    ordering_fields = ["created_at", "status_changed_at"]
    throttle_scope = "donation_form"

    def get_throttles(self):
        return [ScopedRateThrottle()] if self.action == "create" else super().get_throttles()

    def get_queryset(self):
        return (
            Donation.objects.visible_to(self.request.user)
            .with_related()
            .select_related("collection__site", "collection__carrier", "reception__site")
            .prefetch_related(
                Prefetch("lines", queryset=DonationLine.objects.select_related("category")),
                "reception__lines__line",
            )
        )

    def get_serializer_class(self):
        return DonationCreateSerializer if self.action == "create" else DonationSerializer

    def _respond(self, donation, code=status.HTTP_200_OK):
        return Response(DonationSerializer(self.get_queryset().get(pk=donation.pk)).data, status=code)

    @extend_schema(request=DonationCreateSerializer, responses={201: DonationSerializer})
    def create(self, request, *args, **kwargs):
        """Propose a donation for one of your donor organisations; the acceptance rules apply."""
        user = request.user
        if not (
            is_coordinator(user, write=True)
            or organisations(user, kinds=DonorKind.organisation_kinds(), write=True)
        ):
            raise exceptions.PermissionDenied(
                _(
                    "Seuls les membres d'une organisation donatrice (rôle administrateur ou équipe) proposent un don."
                )
            )
        payload = DonationCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        organisation = data.pop("donor_organisation", None)
        donor_kind = data.pop("donor_kind", None)
        if not is_coordinator(user, write=True):
            own = organisations(user, kinds=DonorKind.organisation_kinds(), write=True)
            if organisation is None and len(own) == 1:
                organisation = own[0]
            if organisation is None or organisation not in own:
                raise exceptions.PermissionDenied(
                    _(
                        "Indiquez une organisation donatrice dont vous êtes membre (rôle administrateur ou équipe)."
                    )
                )
        if organisation is None and donor_kind is None:
            raise serializers.ValidationError(
                {"donor_kind": _("Indiquez le type de donateur ou l'organisation.")}
            )
        lines = [dict(line) for line in data.pop("lines")]
        for line in lines:
            line["announced_items"] = [dict(item) for item in line["announced_items"]]
        donation = services.donation_submit(
            donor_kind=organisation.kind if organisation else donor_kind,
            donor_organisation=organisation,
            lines=lines,
            channel=Channel.API,
            actor=user,
            **data,
        )
        return self._respond(donation, status.HTTP_201_CREATED)

    @extend_schema(request=EvaluateSerializer, responses={200: dict})
    @action(detail=False, methods=["post"])
    def evaluate(self, request):
        """What the acceptance rules say about lines, without recording anything."""
        payload = EvaluateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        assessment = Rules.load().assess(
            payload.validated_data["donor_kind"],
            [
                LineInput(
                    category=line["category"],
                    quantity=line["quantity"],
                    age_years=line["age_years"],
                    condition=line["condition"],
                    has_charger=line["has_charger"],
                    holds_data=line["holds_data"],
                )
                for line in payload.validated_data["lines"]
            ],
        )
        return Response(
            {
                "lines": [
                    {
                        "verdict": result.verdict,
                        "label": result.label,
                        "reason": result.reason,
                        "notices": result.notices,
                    }
                    for result in assessment.lines
                ],
                "notices": assessment.notices,
                "drop_off_only": assessment.drop_off_only,
                "drop_off_reason": assessment.drop_off_reason,
            }
        )

    @extend_schema(request=QualifySerializer, responses=DonationSerializer)
    @action(detail=True, methods=["post"])
    def qualify(self, request, uuid=None):
        """Accept or refuse each line (by position) and assign a refurbisher (coordinator)."""
        donation = self.get_object()
        _require(permissions.can_qualify(request.user))
        payload = QualifySerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        services.donation_qualify(
            donation=donation,
            actor=request.user,
            decisions=_by_position(donation, [dict(line) for line in data["lines"]]),
            refurbisher=data["refurbisher"],
            message=data["message"],
        )
        return self._respond(donation)

    @extend_schema(request=ScheduleSerializer, responses=DonationSerializer)
    @action(detail=True, methods=["post"])
    def schedule(self, request, uuid=None):
        """Plan the pickup (date, slot, carrier) or the drop-off (site, date)."""
        donation = self.get_object()
        _require(permissions.can_schedule(request.user, donation))
        payload = ScheduleSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        services.donation_schedule(donation=donation, actor=request.user, **payload.validated_data)
        return self._respond(donation)

    @extend_schema(request=CollectSerializer, responses=DonationSerializer)
    @action(detail=True, methods=["post"])
    def collect(self, request, uuid=None):
        """Mark the donation collected (or dropped off) with the number of items and the weight."""
        donation = self.get_object()
        _require(permissions.can_mark_collected(request.user, donation))
        payload = CollectSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        services.donation_collect(donation=donation, actor=request.user, **payload.validated_data)
        return self._respond(donation)

    @extend_schema(request=ReceiveSerializer, responses=DonationSerializer)
    @action(detail=True, methods=["post"])
    def receive(self, request, uuid=None):
        """Record the reception, line by line with serial numbers; creates the traced devices."""
        donation = self.get_object()
        _require(permissions.can_receive(request.user, donation))
        payload = ReceiveSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        lines = [dict(line, items=[dict(i) for i in line["items"]]) for line in data["lines"]]
        extra = [dict(line, items=[dict(i) for i in line["items"]]) for line in data["extra_lines"]]
        services.donation_receive(
            donation=donation,
            actor=request.user,
            site=data["site"],
            weight_kg=data["weight_kg"],
            note=data["note"],
            lines=_by_position(donation, lines),
            extra_lines=extra,
        )
        return self._respond(donation)

    @extend_schema(request=TaxReceiptAskSerializer, responses={201: TaxReceiptSerializer})
    @action(detail=True, methods=["post"], url_path="tax-receipt")
    def tax_receipt(self, request, uuid=None):
        """A company member asks for the donation's tax receipt (CGI art. 238 bis) with the value the
        company declares; the coordination validates it. Individuals and public bodies: 403."""
        donation = self.get_object()
        if not permissions.can_act_as_donor(request.user, donation):
            raise exceptions.PermissionDenied(
                _("Seuls les membres de l'entreprise donatrice demandent son reçu.")
            )
        payload = TaxReceiptAskSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            receipt = services.tax_receipt_ask(
                donation=donation, declared_value=payload.validated_data["declared_value"], actor=request.user
            )
        except services.TaxReceiptRefused as refused:
            raise exceptions.PermissionDenied(str(refused)) from None
        return Response(TaxReceiptSerializer(receipt).data, status=status.HTTP_201_CREATED)


router = SimpleRouter()
router.register("donations", DonationViewSet, basename="donation")
urlpatterns = router.urls
