import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from .enums import DeviceState
from .lifecycle import device_transition
from .models import Device, DeviceEvent, Document, EquipmentCategory, Organisation
from .permissions import is_coordinator, organisation_ids


class DeviceEventSerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()
    organisation = serializers.CharField(source="organisation.name", default=None)
    holder = serializers.CharField(source="holder.name")

    class Meta:
        model = DeviceEvent
        fields = ["at", "from_state", "to_state", "actor", "organisation", "holder", "note"]

    def get_actor(self, event) -> str | None:
        return event.actor.get_full_name() or event.actor.username if event.actor else None


class DeviceSerializer(serializers.ModelSerializer):
    category = serializers.SlugRelatedField(slug_field="code", read_only=True)
    holder = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    holder_name = serializers.CharField(source="holder.name", read_only=True)
    state_label = serializers.CharField(source="get_state_display", read_only=True)

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
            "provenance",
            "holder",
            "holder_name",
            "state",
            "state_label",
            "weight_kg",
            "created_at",
            "state_changed_at",
        ]
        read_only_fields = fields


class TransitionSerializer(serializers.Serializer):
    to_state = serializers.ChoiceField(choices=DeviceState.choices)
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class DeviceFilter(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=DeviceState.choices)
    category = django_filters.CharFilter(field_name="category__code")
    holder = django_filters.UUIDFilter(field_name="holder__uuid")
    serial_number = django_filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = Device
        fields = ["state", "category", "holder", "serial_number", "provenance"]


class DeviceViewSet(viewsets.ReadOnlyModelViewSet):
    """Devices held or given by the user's organisations (all of them for the coordinator)."""

    serializer_class = DeviceSerializer
    lookup_field = "uuid"
    filterset_class = DeviceFilter
    ordering_fields = ["state_changed_at", "created_at"]

    def get_queryset(self):
        return Device.objects.visible_to(self.request.user).with_related()

    @extend_schema(responses=DeviceEventSerializer(many=True))
    @action(detail=True, pagination_class=None, filter_backends=[])
    def history(self, request, uuid=None):
        device = self.get_object()
        events = device.events.select_related("actor", "organisation", "holder")
        return Response(DeviceEventSerializer(events, many=True).data)

    @extend_schema(request=TransitionSerializer, responses=DeviceSerializer)
    @action(detail=True, methods=["post"])
    def transition(self, request, uuid=None):
        """Move the device to another state of its lifecycle (403 if not allowed, 409 if impossible)."""
        device = self.get_object()
        if not (
            is_coordinator(request.user, write=True)
            or device.holder_id in organisation_ids(request.user, write=True)
        ):
            # Rights first: a forbidden transition is a 403 whatever the body says.
            raise PermissionDenied("Vous ne pouvez pas changer l'état de cet appareil.")
        payload = TransitionSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        device = device_transition(device=device, actor=request.user, **payload.validated_data)
        return Response(DeviceSerializer(device).data)


class CategorySerializer(serializers.ModelSerializer):
    current_cap = serializers.SerializerMethodField()

    class Meta:
        model = EquipmentCategory
        fields = [
            "code",
            "name",
            "deee_category",
            "is_decree_category",
            "is_pc",
            "typical_weight_kg",
            "current_cap",
        ]

    def get_current_cap(self, category) -> str | None:
        from django.utils import timezone

        cap = category.cap_on(timezone.localdate())
        return str(cap.amount) if cap else None


class CategoryViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = EquipmentCategory.objects.prefetch_related("caps")
    serializer_class = CategorySerializer
    lookup_field = "code"
    pagination_class = None


class OrganisationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organisation
        fields = ["uuid", "name", "kind", "siret"]


class OrganisationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = OrganisationSerializer
    lookup_field = "uuid"

    def get_queryset(self):
        return Organisation.objects.visible_to(self.request.user)


class DocumentSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Document
        fields = [
            "uuid",
            "kind",
            "number",
            "title",
            "status",
            "sha256",
            "issued_at",
            "download_url",
            "verification_code",
        ]

    def get_download_url(self, document) -> str | None:
        from django.urls import reverse

        return (
            reverse("document_download", args=[document.uuid])
            if document.number and document.sha256
            else None
        )


class DocumentViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = DocumentSerializer
    lookup_field = "uuid"
    filterset_fields = ["kind", "status"]

    def get_queryset(self):
        user = self.request.user
        queryset = Document.objects.all()
        if not is_coordinator(user):
            queryset = queryset.filter(owner_id__in=organisation_ids(user))
        return queryset


router = SimpleRouter()
router.register("devices", DeviceViewSet, basename="device")
router.register("categories", CategoryViewSet, basename="category")
router.register("organisations", OrganisationViewSet, basename="organisation")
router.register("documents", DocumentViewSet, basename="document")
urlpatterns = router.urls
