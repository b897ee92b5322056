"""The workshop's API, under /api/refurbishers/. Session or token authentication: an audit station
posts its lshw and nwipe reports with `Authorization: Token <key>` (see the « Jeton d'API » page).

Reading is scoped like the screens (another workshop's records are a 404); every write goes through
`refurbishers.services` and the lifecycle's guards (a refused transition is a 409, bad input a 400)."""

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from reemploi.enums import OrganisationKind
from reemploi.models import Device, Organisation
from reemploi.permissions import is_coordinator

from . import imports, parsers, permissions, services
from .enums import (
    ImportKind,
    ImportStatus,
    PartKind,
    SanitisationStandard,
)
from .guards import storage_problems
from .models import (
    Audit,
    Destruction,
    ImportJob,
    Part,
    Sanitisation,
    Shipment,
    ShipmentLine,
    StorageMedium,
    WasteLot,
)
from .selectors import next_step, waste_register, work_queue

# --- Serializers ---------------------------------------------------------------------------------


@extend_schema_field(OpenApiTypes.UUID)
class DeviceRef(serializers.SlugRelatedField):
    """A device of the user's workshops, by its public UUID."""

    def __init__(self, **kwargs):
        super().__init__(slug_field="uuid", **kwargs)

    def get_queryset(self):
        return permissions.workshop_devices(self.context["request"].user).select_related("category", "holder")


class AuditSerializer(serializers.ModelSerializer):
    device = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    evidence_sha256 = serializers.CharField(
        source="evidence.sha256", default=None, allow_null=True, read_only=True
    )

    class Meta:
        model = Audit
        exclude = ["id", "organisation", "performed_by", "evidence"]
        read_only_fields = ["uuid", "source", "performed_at"]


class AuditInputSerializer(serializers.ModelSerializer):
    device = DeviceRef()

    class Meta:
        model = Audit
        fields = ["device", *Audit.RECORDED_FIELDS]


class SanitisationSerializer(serializers.ModelSerializer):
    medium = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    evidence_sha256 = serializers.CharField(
        source="evidence.sha256", default=None, allow_null=True, read_only=True
    )

    class Meta:
        model = Sanitisation
        exclude = ["id", "organisation", "site", "recorded_by", "evidence"]
        read_only_fields = ["uuid", "source", "recorded_at"]


class SanitisationInputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Sanitisation
        fields = [
            "level",
            "technique",
            "standard",
            "tool",
            "tool_version",
            "method_detail",
            "verification_method",
            "verification_result",
            "started_at",
            "ended_at",
            "operator_name",
            "outcome",
            "destination",
            "notes",
        ]
        extra_kwargs = {
            "operator_name": {"required": False},
            "standard": {"default": SanitisationStandard.NIST_800_88_R2},
        }

    def validate(self, data):
        if data["ended_at"] < data["started_at"]:
            raise serializers.ValidationError({"ended_at": "La fin ne peut pas précéder le début."})
        return data


class DestructionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Destruction
        fields = [
            "uuid",
            "iso_level",
            "method",
            "performed_at",
            "operator_name",
            "provider_name",
            "provider_siret",
            "certificate_reference",
            "notes",
            "recorded_at",
        ]
        read_only_fields = ["uuid", "recorded_at"]
        extra_kwargs = {"operator_name": {"required": False}}


class MediumSerializer(serializers.ModelSerializer):
    device = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    cleared = serializers.SerializerMethodField()
    sanitisations = SanitisationSerializer(many=True, read_only=True)

    class Meta:
        model = StorageMedium
        fields = [
            "uuid",
            "device",
            "kind",
            "interface",
            "vendor",
            "model",
            "serial_number",
            "capacity_bytes",
            "source",
            "added_at",
            "detached_at",
            "detach_reason",
            "cleared",
            "sanitisations",
        ]
        read_only_fields = ["uuid", "source", "added_at", "detached_at", "detach_reason"]

    def get_cleared(self, medium) -> bool:
        return any(s.succeeded for s in medium.sanitisations.all()) or hasattr(medium, "destruction")


class MediumInputSerializer(serializers.ModelSerializer):
    device = DeviceRef()

    class Meta:
        model = StorageMedium
        fields = ["device", "kind", "interface", "vendor", "model", "serial_number", "capacity_bytes"]
        extra_kwargs = {"interface": {"required": False}}


class ImportJobSerializer(serializers.ModelSerializer):
    device = serializers.SlugRelatedField(slug_field="uuid", read_only=True, allow_null=True)
    organisation = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    evidence = serializers.SerializerMethodField()

    class Meta:
        model = ImportJob
        fields = [
            "uuid",
            "kind",
            "organisation",
            "device",
            "status",
            "total",
            "processed",
            "saved",
            "rejected",
            "errors",
            "notices",
            "failure",
            "created_at",
            "finished_at",
            "evidence",
        ]

    def get_evidence(self, job) -> list[dict]:
        return [{"name": e.original_name, "sha256": e.sha256, "size": e.size} for e in job.evidence.all()]


class ImportInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ImportKind.choices)
    files = serializers.ListField(child=serializers.FileField(), allow_empty=False)
    device = DeviceRef(required=False, allow_null=True)
    organisation = serializers.SlugRelatedField(
        slug_field="uuid",
        queryset=Organisation.objects.filter(kind=OrganisationKind.REFURBISHER),
        required=False,
    )
    nwipe_method = serializers.ChoiceField(choices=parsers.NWIPE_METHOD_CHOICES, required=False)
    nwipe_verify = serializers.ChoiceField(choices=parsers.NWIPE_VERIFY_CHOICES, required=False)
    standard = serializers.ChoiceField(choices=SanitisationStandard.choices, required=False)
    operator_name = serializers.CharField(max_length=150, required=False, allow_blank=True)


class QueueDeviceSerializer(serializers.ModelSerializer):
    category = serializers.SlugRelatedField(slug_field="code", read_only=True)
    holder = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    media_count = serializers.IntegerField(read_only=True)
    cleared_count = serializers.IntegerField(read_only=True)
    next_step = serializers.SerializerMethodField()

    class Meta:
        model = Device
        fields = [
            "uuid",
            "public_id",
            "category",
            "brand",
            "model",
            "serial_number",
            "asset_tag",
            "holder",
            "state",
            "state_changed_at",
            "price",
            "media_count",
            "cleared_count",
            "next_step",
        ]

    def get_next_step(self, device) -> str:
        return next_step(device)


class DeviceRecordsSerializer(QueueDeviceSerializer):
    storage_problems = serializers.SerializerMethodField()
    audits = AuditSerializer(many=True, read_only=True)
    storage_media = MediumSerializer(many=True, read_only=True)

    class Meta(QueueDeviceSerializer.Meta):
        fields = [*QueueDeviceSerializer.Meta.fields, "storage_problems", "audits", "storage_media"]

    def get_storage_problems(self, device) -> list[str]:
        return storage_problems(device)


class NoStorageSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=255)


class ReadySerializer(serializers.Serializer):
    cosmetic_grade = serializers.CharField(max_length=1)
    functional_grade = serializers.CharField(max_length=10)
    price = serializers.DecimalField(max_digits=8, decimal_places=2, min_value=0)
    has_charger = serializers.BooleanField()
    has_storage = serializers.BooleanField()
    has_os = serializers.BooleanField()
    battery_ok = serializers.BooleanField()
    os_name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    battery_health_pct = serializers.IntegerField(min_value=0, max_value=100, required=False, allow_null=True)
    notes = serializers.CharField(required=False, allow_blank=True, default="")


class BoughtPartSerializer(serializers.Serializer):
    description = serializers.CharField(max_length=200)
    quantity = serializers.IntegerField(min_value=1, default=1)
    unit_cost = serializers.DecimalField(max_digits=8, decimal_places=2, min_value=0)


class RepairInputSerializer(serializers.Serializer):
    actions = serializers.CharField()
    duration_minutes = serializers.IntegerField(min_value=0)
    other_cost = serializers.DecimalField(max_digits=8, decimal_places=2, min_value=0, default=0)
    stock_parts = serializers.ListField(child=serializers.UUIDField(), required=False, default=list)
    bought_parts = BoughtPartSerializer(many=True, required=False, default=list)
    notes = serializers.CharField(required=False, allow_blank=True, default="")


class ComponentSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[c for c in PartKind.choices if c[0] != PartKind.STORAGE])
    description = serializers.CharField(max_length=200)
    serial_number = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class HarvestSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=500)
    components = ComponentSerializer(many=True, required=False, default=list)


class PartSerializer(serializers.ModelSerializer):
    source_device = serializers.SlugRelatedField(slug_field="public_id", read_only=True, allow_null=True)

    class Meta:
        model = Part
        fields = [
            "uuid",
            "kind",
            "medium_kind",
            "description",
            "serial_number",
            "origin",
            "status",
            "source_device",
            "created_at",
        ]
        read_only_fields = ["uuid", "status", "source_device", "created_at"]


class WasteLotSerializer(serializers.ModelSerializer):
    devices = serializers.SerializerMethodField()

    class Meta:
        model = WasteLot
        fields = [
            "uuid",
            "reference",
            "status",
            "waste_code",
            "eco_organisme",
            "destination_name",
            "destination_siret",
            "treatment_code",
            "bsdd_number",
            "measured_weight_kg",
            "handover_date",
            "notes",
            "devices",
        ]
        read_only_fields = ["uuid", "reference", "status", "measured_weight_kg", "handover_date", "devices"]

    def get_devices(self, lot) -> list[str]:
        return [line.device.public_id for line in lot.lines.all()]

    def validate_treatment_code(self, value):
        if value.upper() == "R0":
            raise serializers.ValidationError("R0 (réemploi) n'est pas un traitement DEEE.")
        return value


class DevicesSerializer(serializers.Serializer):
    devices = serializers.ListField(child=serializers.UUIDField(), allow_empty=False)


class HandOverSerializer(serializers.Serializer):
    handover_date = serializers.DateField()
    bsdd_number = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    measured_weight_kg = serializers.DecimalField(
        max_digits=9, decimal_places=2, min_value=0, required=False, allow_null=True
    )


class ShipmentLineSerializer(serializers.ModelSerializer):
    device = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    public_id = serializers.CharField(source="device.public_id", read_only=True)

    class Meta:
        model = ShipmentLine
        fields = ["device", "public_id", "status", "received_at"]


class ShipmentSerializer(serializers.ModelSerializer):
    refurbisher = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    relais = serializers.SlugRelatedField(
        slug_field="uuid", queryset=Organisation.objects.filter(kind=OrganisationKind.RELAIS, is_active=True)
    )
    lines = ShipmentLineSerializer(many=True, read_only=True)
    devices = serializers.ListField(
        child=serializers.UUIDField(), write_only=True, required=False, default=list
    )
    workshop = serializers.SlugRelatedField(
        slug_field="uuid",
        queryset=Organisation.objects.filter(kind=OrganisationKind.REFURBISHER),
        write_only=True,
        required=False,
    )

    class Meta:
        model = Shipment
        fields = [
            "uuid",
            "reference",
            "refurbisher",
            "relais",
            "status",
            "carrier",
            "notes",
            "dispatched_at",
            "received_at",
            "lines",
            "devices",
            "workshop",
        ]
        read_only_fields = ["uuid", "reference", "status", "dispatched_at", "received_at"]


class ReceiptSerializer(serializers.Serializer):
    received = serializers.ListField(child=serializers.UUIDField(), default=list)
    note = serializers.CharField(required=False, allow_blank=True, default="")


# --- Views ---------------------------------------------------------------------------------------


class CreatesForAWorkshop(BasePermission):
    """Creating a workshop record needs a write role in a workshop (or the coordinator's), checked
    before the body is read: a forbidden role gets a 403, not a list of fields to fix."""

    message = "Votre rôle ne permet que la consultation."

    def has_permission(self, request, view):
        return view.action != "create" or permissions.workshops(request.user, write=True).exists()


WORKSHOP_WRITES = [IsAuthenticated, CreatesForAWorkshop]


def _writable_workshop(user, organisation):
    permissions.require_write(user, organisation)
    return organisation


def _device_list(user, uuids, queryset):
    devices = list(queryset.filter(uuid__in=uuids).select_related("category", "holder"))
    if len(devices) != len(set(uuids)):
        raise serializers.ValidationError({"devices": "Un appareil est inconnu de vos ateliers."})
    return devices


class ImportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Imports of lshw, nwipe and CSV reports. POST multipart: `kind`, one or more `files`, optionally
    `device` (UUID) to attach the report to that device."""

    serializer_class = ImportJobSerializer
    permission_classes = WORKSHOP_WRITES
    lookup_field = "uuid"
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self):
        jobs = ImportJob.objects.select_related("device", "organisation").prefetch_related("evidence")
        if is_coordinator(self.request.user):
            return jobs
        return jobs.filter(organisation_id__in=permissions.workshop_ids(self.request.user))

    @extend_schema(request={"multipart/form-data": ImportInputSerializer}, responses=ImportJobSerializer)
    def create(self, request):
        payload = ImportInputSerializer(data=request.data, context={"request": request})
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        device = data.get("device")
        writable = list(permissions.workshops(request.user, write=True))
        if device is not None:
            organisation = device.holder
        elif data.get("organisation") is not None:
            organisation = data["organisation"]
        elif len(writable) == 1:
            organisation = writable[0]
        else:
            raise serializers.ValidationError({"organisation": "Précisez l'atelier (UUID)."})
        _writable_workshop(request.user, organisation)
        uploads = [imports.Upload(name=f.name, data=f.read()) for f in data["files"]]
        options = {
            key: data.get(key, "") for key in ("nwipe_method", "nwipe_verify", "standard", "operator_name")
        }
        try:
            job = imports.import_run(
                kind=data["kind"],
                organisation=organisation,
                actor=request.user,
                uploads=uploads,
                device=device,
                options=options,
            )
        except parsers.MalformedReport as error:
            return Response(
                {"detail": error.message, "code": "malformed_report"}, status=status.HTTP_400_BAD_REQUEST
            )
        job.refresh_from_db()
        code = status.HTTP_201_CREATED if job.status == ImportStatus.DONE else status.HTTP_202_ACCEPTED
        return Response(ImportJobSerializer(job).data, status=code)


class AuditViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = AuditSerializer
    permission_classes = WORKSHOP_WRITES
    lookup_field = "uuid"
    filterset_fields = ["source", "cosmetic_grade", "functional_grade"]

    def get_queryset(self):
        return Audit.objects.filter(
            device__in=permissions.workshop_devices(self.request.user)
        ).select_related("device", "evidence")

    @extend_schema(request=AuditInputSerializer, responses=AuditSerializer)
    def create(self, request):
        payload = AuditInputSerializer(data=request.data, context={"request": request})
        payload.is_valid(raise_exception=True)
        fields = dict(payload.validated_data)
        device = fields.pop("device")
        device = permissions.get_workshop_device(request.user, device.uuid)
        audit = services.audit_record(device=device, actor=request.user, source="api", **fields)
        return Response(AuditSerializer(audit).data, status=status.HTTP_201_CREATED)


class MediumViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Storage media of the workshop's devices, their sanitisation and destruction."""

    serializer_class = MediumSerializer
    permission_classes = WORKSHOP_WRITES
    lookup_field = "uuid"
    filterset_fields = ["kind", "serial_number"]

    def get_queryset(self):
        return (
            StorageMedium.objects.filter(device__in=permissions.workshop_devices(self.request.user))
            .select_related("device", "destruction")
            .prefetch_related("sanitisations")
        )

    def _writable(self):
        medium = self.get_object()
        permissions.get_workshop_device(self.request.user, medium.device.uuid)
        return medium

    @extend_schema(request=MediumInputSerializer, responses=MediumSerializer)
    def create(self, request):
        payload = MediumInputSerializer(data=request.data, context={"request": request})
        payload.is_valid(raise_exception=True)
        fields = dict(payload.validated_data)
        device = permissions.get_workshop_device(request.user, fields.pop("device").uuid)
        medium = services.medium_add(device=device, actor=request.user, source="api", **fields)
        return Response(MediumSerializer(medium).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=SanitisationInputSerializer, responses=SanitisationSerializer)
    @action(detail=True, methods=["post"])
    def sanitisations(self, request, uuid=None):
        """Record an erasure (or a failed attempt) of this medium."""
        medium = self._writable()
        payload = SanitisationInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        sanitisation = services.sanitisation_record(
            medium=medium, actor=request.user, source="api", **payload.validated_data
        )
        return Response(SanitisationSerializer(sanitisation).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=DestructionSerializer, responses=DestructionSerializer)
    @action(detail=True, methods=["post"])
    def destruction(self, request, uuid=None):
        medium = self._writable()
        payload = DestructionSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        destruction = services.destruction_record(medium=medium, actor=request.user, **payload.validated_data)
        return Response(DestructionSerializer(destruction).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=NoStorageSerializer, responses=MediumSerializer)
    @action(detail=True, methods=["post"])
    def detach(self, request, uuid=None):
        medium = self._writable()
        payload = NoStorageSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        services.medium_detach(medium=medium, actor=request.user, reason=payload.validated_data["reason"])
        return Response(MediumSerializer(medium).data)


class SanitisationViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = SanitisationSerializer
    lookup_field = "uuid"
    filterset_fields = ["outcome", "level", "technique"]

    def get_queryset(self):
        return Sanitisation.objects.filter(
            medium__device__in=permissions.workshop_devices(self.request.user)
        ).select_related("medium", "evidence")


class WorkshopDeviceViewSet(viewsets.ReadOnlyModelViewSet):
    """The work queue: devices of the user's workshops, with their workshop records and one POST
    action per decision (no storage, ready, repair, harvest, certificate)."""

    lookup_field = "uuid"
    filterset_fields = ["state", "serial_number"]

    def get_serializer_class(self):
        return DeviceRecordsSerializer if self.action == "retrieve" else QueueDeviceSerializer

    def get_queryset(self):
        queryset = work_queue(permissions.workshop_devices(self.request.user)).order_by(
            "-state_changed_at", "-id"
        )
        if self.action == "retrieve":
            queryset = queryset.prefetch_related(
                "audits", "storage_media__sanitisations", "storage_media__destruction"
            )
        return queryset

    def _writable(self):
        return permissions.get_workshop_device(self.request.user, self.kwargs["uuid"])

    @extend_schema(request=NoStorageSerializer, responses=DeviceRecordsSerializer)
    @action(detail=True, methods=["post"], url_path="no-storage")
    def no_storage(self, request, uuid=None):
        device = self._writable()
        payload = NoStorageSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        services.no_storage_declare(
            device=device, actor=request.user, reason=payload.validated_data["reason"]
        )
        return Response(DeviceRecordsSerializer(self.get_object()).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ReadySerializer, responses=QueueDeviceSerializer)
    @action(detail=True, methods=["post"])
    def ready(self, request, uuid=None):
        """Grade, price (≤ the decree's cap) and make the device ready (409 while its data is not gone)."""
        device = self._writable()
        payload = ReadySerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        _grading, warnings = services.device_make_ready(
            device=device, actor=request.user, **payload.validated_data
        )
        return Response({**QueueDeviceSerializer(self.get_object()).data, "warnings": warnings})

    @extend_schema(request=RepairInputSerializer, responses=None)
    @action(detail=True, methods=["post"])
    def repairs(self, request, uuid=None):
        device = self._writable()
        payload = RepairInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        stock = list(Part.objects.filter(uuid__in=data.pop("stock_parts"), organisation=device.holder))
        repair = services.repair_record(device=device, actor=request.user, stock_parts=stock, **data)
        return Response(
            {"uuid": str(repair.uuid), "total_cost": str(repair.total_cost)}, status=status.HTTP_201_CREATED
        )

    @extend_schema(request=HarvestSerializer, responses=PartSerializer(many=True))
    @action(detail=True, methods=["post"])
    def harvest(self, request, uuid=None):
        device = self._writable()
        payload = HarvestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        parts = services.device_harvest(device=device, actor=request.user, **payload.validated_data)
        return Response(PartSerializer(parts, many=True).data, status=status.HTTP_201_CREATED)


class PartViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    serializer_class = PartSerializer
    permission_classes = WORKSHOP_WRITES
    lookup_field = "uuid"
    filterset_fields = ["kind", "status"]

    def get_queryset(self):
        return Part.objects.filter(organisation__in=permissions.workshops(self.request.user)).select_related(
            "source_device"
        )

    def perform_create(self, serializer):
        writable = list(permissions.workshops(self.request.user, write=True))
        if not writable:
            raise PermissionDenied("Votre rôle ne permet que la consultation.")
        serializer.instance = services.part_add(
            organisation=writable[0], actor=self.request.user, **serializer.validated_data
        )


class WasteLotViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    serializer_class = WasteLotSerializer
    permission_classes = WORKSHOP_WRITES
    lookup_field = "uuid"
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    def get_queryset(self):
        return WasteLot.objects.filter(
            organisation__in=permissions.workshops(self.request.user)
        ).prefetch_related("lines__device")

    def perform_create(self, serializer):
        writable = list(permissions.workshops(self.request.user, write=True))
        if not writable:
            raise PermissionDenied("Votre rôle ne permet que la consultation.")
        serializer.instance = services.waste_lot_create(
            organisation=writable[0], actor=self.request.user, **serializer.validated_data
        )

    def _lot(self):
        lot = self.get_object()
        _writable_workshop(self.request.user, lot.organisation)
        return lot

    @extend_schema(request=DevicesSerializer, responses=WasteLotSerializer)
    @action(detail=True, methods=["post"], url_path="add-devices")
    def add_devices(self, request, uuid=None):
        lot = self._lot()
        payload = DevicesSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        devices = _device_list(
            request.user, payload.validated_data["devices"], permissions.workshop_devices(request.user)
        )
        _added, refused = services.waste_lot_add_devices(lot=lot, devices=devices, actor=request.user)
        if refused:
            return Response(
                {
                    "refused": {device.public_id: reason for device, reason in refused.items()},
                    **WasteLotSerializer(lot).data,
                },
                status=status.HTTP_400_BAD_REQUEST if not _added else status.HTTP_200_OK,
            )
        return Response(WasteLotSerializer(self.get_object()).data)

    @extend_schema(request=HandOverSerializer, responses=WasteLotSerializer)
    @action(detail=True, methods=["post"], url_path="hand-over")
    def hand_over(self, request, uuid=None):
        lot = self._lot()
        payload = HandOverSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        lot = services.waste_lot_hand_over(lot=lot, actor=request.user, **payload.validated_data)
        return Response(WasteLotSerializer(self.get_object()).data)

    @extend_schema(responses=None)
    @action(detail=False, pagination_class=None, filter_backends=[])
    def register(self, request):
        """The waste register (date, waste code, category, weight, destination, treatment, slip)."""
        rows = waste_register(self.get_queryset())
        return Response(
            [
                {
                    "date": row["date"],
                    "lot": row["reference"],
                    "waste_code": row["waste_code"],
                    "deee_category": row["category"],
                    "devices": row["devices"],
                    "weight_kg": str(row["weight_kg"]),
                    "destination": row["destination"],
                    "treatment_code": row["treatment_code"],
                    "slip_number": row["slip"],
                }
                for row in rows
            ]
        )


class ShipmentViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Shipments from a workshop to a relais (seen by both); the relais confirms receipt."""

    serializer_class = ShipmentSerializer
    permission_classes = WORKSHOP_WRITES
    lookup_field = "uuid"
    filterset_fields = ["status"]

    def get_queryset(self):
        return (
            Shipment.objects.visible_to(self.request.user)
            .select_related("refurbisher", "relais")
            .prefetch_related("lines__device")
        )

    def create(self, request):
        payload = ShipmentSerializer(data=request.data, context={"request": request})
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        writable = list(permissions.workshops(request.user, write=True))
        workshop = data.get("workshop") or (writable[0] if len(writable) == 1 else None)
        if workshop is None:
            raise serializers.ValidationError({"workshop": "Précisez l'atelier expéditeur (UUID)."})
        _writable_workshop(request.user, workshop)
        devices = _device_list(
            request.user, data.get("devices", []), permissions.workshop_devices(request.user)
        )
        shipment, refused = services.shipment_create(
            refurbisher=workshop,
            relais=data["relais"],
            actor=request.user,
            devices=devices,
            carrier=data.get("carrier", ""),
            notes=data.get("notes", ""),
        )
        body = ShipmentSerializer(self.get_queryset().get(pk=shipment.pk)).data
        if refused:
            body["refused"] = {device.public_id: reason for device, reason in refused.items()}
        return Response(body, status=status.HTTP_201_CREATED)

    def _workshop_side(self):
        shipment = self.get_object()
        _writable_workshop(self.request.user, shipment.refurbisher)
        return shipment

    @extend_schema(request=DevicesSerializer, responses=ShipmentSerializer)
    @action(detail=True, methods=["post"], url_path="add-devices")
    def add_devices(self, request, uuid=None):
        shipment = self._workshop_side()
        payload = DevicesSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        devices = _device_list(
            request.user, payload.validated_data["devices"], permissions.workshop_devices(request.user)
        )
        added, refused = services.shipment_add_devices(shipment=shipment, devices=devices, actor=request.user)
        body = ShipmentSerializer(self.get_object()).data
        if refused:
            body["refused"] = {device.public_id: reason for device, reason in refused.items()}
        return Response(
            body, status=status.HTTP_200_OK if added or not refused else status.HTTP_400_BAD_REQUEST
        )

    @extend_schema(request=None, responses=ShipmentSerializer)
    @action(detail=True, methods=["post"], url_path="dispatch")
    def send(self, request, uuid=None):
        """Send the shipment: devices go « en route » to the relais (409 if one may not leave)."""
        shipment = self._workshop_side()
        services.shipment_dispatch(shipment=shipment, actor=request.user)
        return Response(ShipmentSerializer(self.get_object()).data)

    @extend_schema(request=ReceiptSerializer, responses=ShipmentSerializer)
    @action(detail=True, methods=["post"])
    def receive(self, request, uuid=None):
        """For the relais: the devices listed in `received` arrived; the others are flagged missing."""
        shipment = self.get_object()
        if not (
            is_coordinator(request.user, write=True)
            or shipment.relais_id in permissions.relais_ids(request.user, write=True)
        ):
            raise PermissionDenied("Seul le relais destinataire confirme la réception.")
        payload = ReceiptSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        lines = shipment.lines.filter(device__uuid__in=payload.validated_data["received"]).select_related(
            "device"
        )
        devices = [line.device for line in lines]
        if len(devices) != len(set(payload.validated_data["received"])):
            raise serializers.ValidationError(
                {"received": "Un appareil ne fait pas partie de cette expédition."}
            )
        services.shipment_receive(
            shipment=shipment,
            actor=request.user,
            received_devices=devices,
            note=payload.validated_data["note"],
        )
        return Response(ShipmentSerializer(self.get_object()).data)

    @extend_schema(request=DevicesSerializer, responses=ShipmentSerializer)
    @action(detail=True, methods=["post"])
    def found(self, request, uuid=None):
        """For the relais: devices flagged missing that turned up after all."""
        shipment = self.get_object()
        if not (
            is_coordinator(request.user, write=True)
            or shipment.relais_id in permissions.relais_ids(request.user, write=True)
        ):
            raise PermissionDenied("Seul le relais destinataire confirme la réception.")
        payload = DevicesSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        for device_uuid in payload.validated_data["devices"]:
            line = get_object_or_404(ShipmentLine, shipment=shipment, device__uuid=device_uuid)
            services.shipment_line_found(line=line, actor=request.user)
        return Response(ShipmentSerializer(self.get_object()).data)


router = SimpleRouter()
router.register("refurbishers/imports", ImportViewSet, basename="refurbishers-import")
router.register("refurbishers/audits", AuditViewSet, basename="refurbishers-audit")
router.register("refurbishers/media", MediumViewSet, basename="refurbishers-medium")
router.register("refurbishers/sanitisations", SanitisationViewSet, basename="refurbishers-sanitisation")
router.register("refurbishers/devices", WorkshopDeviceViewSet, basename="refurbishers-device")
router.register("refurbishers/parts", PartViewSet, basename="refurbishers-part")
router.register("refurbishers/waste-lots", WasteLotViewSet, basename="refurbishers-waste-lot")
router.register("refurbishers/shipments", ShipmentViewSet, basename="refurbishers-shipment")
urlpatterns = router.urls
