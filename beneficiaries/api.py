"""API for beneficiaries: people and households (relais), eligibility decisions, vouchers
(prescribers), criteria and quota exceptions (coordinator). Writes go through the services; a bad
input is a readable 400, another relais' beneficiary a 404, departmental staff get a 403."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from reemploi.models import Commune, Departement, EquipmentCategory
from reemploi.permissions import is_coordinator

from . import services
from .enums import BeneficiaryKind, CriterionKind, DocumentType
from .exports import personal_data
from .models import Beneficiary, EligibilityCheck, EligibilityCriterion, Household, QuotaException, Voucher
from .permissions import can_manage_rules, can_see_beneficiaries, prescribers_of, relais_of


class SeesBeneficiaries(permissions.BasePermission):
    message = "Vous n'avez pas accès aux bénéficiaires."

    def has_permission(self, request, view):
        return can_see_beneficiaries(request.user)


class EligibilityCheckSerializer(serializers.ModelSerializer):
    criterion = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    criterion_label = serializers.CharField(source="criterion.__str__", read_only=True)
    checked_by = serializers.CharField(source="checked_by.username", read_only=True)

    class Meta:
        model = EligibilityCheck
        fields = [
            "uuid",
            "criterion",
            "criterion_label",
            "document_type",
            "checked_by",
            "checked_at",
            "valid_until",
        ]


class EligibilityCheckInput(serializers.Serializer):
    criterion = serializers.SlugRelatedField(slug_field="uuid", queryset=EligibilityCriterion.objects.all())
    document_type = serializers.ChoiceField(choices=DocumentType.choices)
    declared_amount = serializers.DecimalField(
        max_digits=8, decimal_places=2, required=False, allow_null=True, min_value=0
    )
    valid_until = serializers.DateField(required=False, allow_null=True)


class BeneficiarySerializer(serializers.ModelSerializer):
    commune = serializers.SlugRelatedField(slug_field="insee_code", queryset=Commune.objects.all())
    household = serializers.SlugRelatedField(
        slug_field="reference", queryset=Household.objects.all(), required=False, allow_null=True
    )
    household_size = serializers.IntegerField(required=False, min_value=1, max_value=30, write_only=True)
    relais = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    display_name = serializers.CharField(read_only=True)
    checks = EligibilityCheckSerializer(many=True, read_only=True)

    class Meta:
        model = Beneficiary
        fields = [
            "uuid",
            "kind",
            "first_name",
            "last_name",
            "organisation_name",
            "display_name",
            "commune",
            "household",
            "household_size",
            "relais",
            "last_contact_at",
            "anonymised_at",
            "checks",
        ]
        read_only_fields = ["last_contact_at", "anonymised_at"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["household_size"] = instance.household.size if instance.household else None
        return data


class BeneficiaryViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = BeneficiarySerializer
    permission_classes = [permissions.IsAuthenticated, SeesBeneficiaries]
    lookup_field = "uuid"
    filterset_fields = ["kind"]

    def get_queryset(self):
        return (
            Beneficiary.objects.visible_to(self.request.user)
            .select_related("commune", "household", "relais")
            .prefetch_related("checks__criterion", "checks__checked_by")
        )

    def create(self, request, *args, **kwargs):
        relais_list = relais_of(request.user, write=True)
        if not relais_list:
            raise PermissionDenied("Seul un relais enregistre des bénéficiaires.")
        payload = self.get_serializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        beneficiary = services.beneficiary_create(
            actor=request.user,
            relais=relais_list[0],
            kind=data.get("kind", BeneficiaryKind.PERSON),
            first_name=data.get("first_name", ""),
            last_name=data.get("last_name", ""),
            organisation_name=data.get("organisation_name", ""),
            commune=data["commune"],
            household_size=data.get("household_size") or 1,
            household=data.get("household"),
        )
        return Response(self.get_serializer(beneficiary).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=EligibilityCheckInput, responses=EligibilityCheckSerializer)
    @action(detail=True, methods=["post"])
    def checks(self, request, uuid=None):
        """Record an eligibility decision (the document seen is never sent nor stored)."""
        beneficiary = self.get_object()
        payload = EligibilityCheckInput(data=request.data)
        payload.is_valid(raise_exception=True)
        check = services.eligibility_check_record(
            actor=request.user, beneficiary=beneficiary, **payload.validated_data
        )
        return Response(EligibilityCheckSerializer(check).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=dict)
    @action(detail=True)
    def export(self, request, uuid=None):
        """Everything held about the person (RGPD art. 15 and 20)."""
        beneficiary = self.get_object()
        if not (is_coordinator(request.user) or beneficiary.relais in relais_of(request.user, write=True)):
            raise PermissionDenied()
        return Response(personal_data(beneficiary))


class CriterionSerializer(serializers.ModelSerializer):
    departement = serializers.SlugRelatedField(slug_field="code", queryset=Departement.objects.all())
    kind = serializers.ChoiceField(choices=CriterionKind.choices)

    class Meta:
        model = EligibilityCriterion
        fields = [
            "uuid",
            "departement",
            "kind",
            "label",
            "threshold_amount",
            "effective_from",
            "effective_until",
        ]


class CriterionEndInput(serializers.Serializer):
    effective_until = serializers.DateField()


class CriterionViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = CriterionSerializer
    lookup_field = "uuid"
    queryset = EligibilityCriterion.objects.select_related("departement")
    filterset_fields = ["kind"]

    def get_permissions(self):
        return [permissions.IsAuthenticated(), SeesBeneficiaries()]

    def create(self, request, *args, **kwargs):
        if not can_manage_rules(request.user):
            raise PermissionDenied("Seule la coordination fixe les critères.")
        payload = self.get_serializer(data=request.data)
        payload.is_valid(raise_exception=True)
        criterion = services.criterion_create(actor=request.user, **payload.validated_data)
        return Response(self.get_serializer(criterion).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=CriterionEndInput, responses=CriterionSerializer)
    @action(detail=True, methods=["post"])
    def end(self, request, uuid=None):
        """Stop a criterion after a date (a new threshold is a new criterion from the next day)."""
        if not can_manage_rules(request.user):
            raise PermissionDenied("Seule la coordination fixe les critères.")
        criterion = self.get_object()
        payload = CriterionEndInput(data=request.data)
        payload.is_valid(raise_exception=True)
        criterion = services.criterion_end(
            actor=request.user, criterion=criterion, effective_until=payload.validated_data["effective_until"]
        )
        return Response(self.get_serializer(criterion).data)


class VoucherSerializer(serializers.ModelSerializer):
    commune = serializers.SlugRelatedField(slug_field="insee_code", queryset=Commune.objects.all())
    category = serializers.SlugRelatedField(
        slug_field="code", queryset=EquipmentCategory.objects.all(), required=False, allow_null=True
    )
    prescriber = serializers.CharField(source="prescriber.name", read_only=True)
    beneficiary = serializers.SlugRelatedField(slug_field="uuid", read_only=True, allow_null=True)
    display_code = serializers.CharField(read_only=True)

    class Meta:
        model = Voucher
        fields = [
            "uuid",
            "code",
            "display_code",
            "prescriber",
            "first_name",
            "last_name",
            "commune",
            "household_size",
            "category",
            "issued_at",
            "expires_on",
            "redeemed_at",
            "beneficiary",
        ]
        read_only_fields = ["code", "issued_at", "redeemed_at"]
        extra_kwargs = {"expires_on": {"required": False}}


class RedeemInput(serializers.Serializer):
    code = serializers.CharField(max_length=20)


class VoucherViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = VoucherSerializer
    lookup_field = "uuid"

    def get_queryset(self):
        return Voucher.objects.visible_to(self.request.user).select_related(
            "prescriber", "commune", "category", "beneficiary"
        )

    def create(self, request, *args, **kwargs):
        writable = prescribers_of(request.user, write=True)
        if not writable:
            raise PermissionDenied("Seule une structure prescriptrice émet des bons.")
        payload = self.get_serializer(data=request.data)
        payload.is_valid(raise_exception=True)
        voucher = services.voucher_issue(actor=request.user, prescriber=writable[0], **payload.validated_data)
        return Response(self.get_serializer(voucher).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=RedeemInput, responses=VoucherSerializer)
    @action(detail=False, methods=["post"])
    def redeem(self, request):
        """A relais takes a voucher in by its code; the person is registered from it."""
        relais_list = relais_of(request.user, write=True)
        if not relais_list:
            raise PermissionDenied("Seul un relais utilise un bon.")
        payload = RedeemInput(data=request.data)
        payload.is_valid(raise_exception=True)
        voucher = services.voucher_redeem(
            actor=request.user, relais=relais_list[0], code=payload.validated_data["code"]
        )
        return Response(self.get_serializer(voucher).data)


class QuotaExceptionSerializer(serializers.ModelSerializer):
    household = serializers.SlugRelatedField(slug_field="reference", queryset=Household.objects.all())
    category = serializers.SlugRelatedField(slug_field="code", queryset=EquipmentCategory.objects.all())
    granted_by = serializers.CharField(source="granted_by.username", read_only=True)

    class Meta:
        model = QuotaException
        fields = [
            "uuid",
            "household",
            "category",
            "extra_devices",
            "reason",
            "valid_until",
            "granted_by",
            "granted_at",
        ]
        read_only_fields = ["granted_at"]


class QuotaExceptionViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = QuotaExceptionSerializer
    lookup_field = "uuid"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return QuotaException.objects.none()
        if not is_coordinator(self.request.user):
            raise PermissionDenied("Réservé à la coordination.")
        return QuotaException.objects.select_related("household", "category", "granted_by")

    def create(self, request, *args, **kwargs):
        if not can_manage_rules(request.user):
            raise PermissionDenied("Réservé à la coordination.")
        payload = self.get_serializer(data=request.data)
        payload.is_valid(raise_exception=True)
        exception = services.quota_exception_grant(actor=request.user, **payload.validated_data)
        return Response(self.get_serializer(exception).data, status=status.HTTP_201_CREATED)


router = SimpleRouter()
router.register("beneficiaries", BeneficiaryViewSet, basename="beneficiary")
router.register("eligibility-criteria", CriterionViewSet, basename="eligibility-criterion")
router.register("vouchers", VoucherViewSet, basename="voucher")
router.register("quota-exceptions", QuotaExceptionViewSet, basename="quota-exception")
urlpatterns = router.urls
