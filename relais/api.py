"""API for the relais: directory (and its national CSV), stock, sales, loans, returns. Writes go
through the services: a price above the cap, an ineligible buyer or a quota reached is a 400 with a
French message; another relais' record is a 404."""

from decimal import Decimal

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from beneficiaries.models import Beneficiary
from beneficiaries.permissions import relais_of
from reemploi.enums import DeviceState, OrganisationKind
from reemploi.lifecycle import custody_problems
from reemploi.models import Device, Organisation, Site
from reemploi.permissions import can_write_for, is_coordinator, organisation_ids
from refurbishers import resets

from . import mednum, rules, services
from .enums import MEDNUM_PROGRAMMES, MEDNUM_SERVICES, AfterReturn, PaymentMethod, ReturnRemedy, SaleKind
from .forms import PHONE_PATTERN
from .models import GuaranteeReturn, Loan, RelaisProfile, Sale, SaleLine


def _relais_or_403(user):
    relais_list = relais_of(user, write=True)
    if not relais_list:
        raise PermissionDenied("Réservé aux équipes des relais.")
    return relais_list[0]


# --- Directory -----------------------------------------------------------------------------------


class RelaisSiteSerializer(serializers.ModelSerializer):
    organisation = serializers.CharField(source="organisation.name")
    commune = serializers.CharField(source="commune.name")
    insee_code = serializers.CharField(source="commune.insee_code")
    opening_hours = serializers.CharField(source="relais_profile.opening_hours", default="")
    is_itinerant = serializers.BooleanField(source="relais_profile.is_itinerant", default=False)
    sells_equipment = serializers.BooleanField(source="relais_profile.sells_equipment", default=False)
    lends_equipment = serializers.BooleanField(source="relais_profile.lends_equipment", default=False)
    programmes = serializers.ListField(source="relais_profile.programmes", default=list)

    class Meta:
        model = Site
        fields = [
            "uuid",
            "name",
            "organisation",
            "address",
            "postal_code",
            "commune",
            "insee_code",
            "latitude",
            "longitude",
            "coordinates_approximate",
            "public_devices",
            "opening_hours",
            "is_itinerant",
            "sells_equipment",
            "lends_equipment",
            "programmes",
        ]


class RelaisProfileInput(serializers.Serializer):
    """The directory fields a relais (or the coordinator) may change; absent fields keep their value."""

    opening_hours = serializers.CharField(max_length=255, required=False, allow_blank=True)
    is_itinerant = serializers.BooleanField(required=False)
    sells_equipment = serializers.BooleanField(required=False)
    lends_equipment = serializers.BooleanField(required=False)
    public_devices = serializers.IntegerField(min_value=0, required=False)
    services = serializers.ListField(child=serializers.ChoiceField(choices=MEDNUM_SERVICES), required=False)
    programmes = serializers.ListField(
        child=serializers.ChoiceField(choices=MEDNUM_PROGRAMMES), required=False
    )
    phone = serializers.RegexField(PHONE_PATTERN, required=False, allow_blank=True)
    email = serializers.EmailField(required=False, allow_blank=True)
    website = serializers.URLField(required=False, allow_blank=True)
    summary = serializers.CharField(max_length=280, required=False, allow_blank=True)
    pivot = serializers.RegexField(r"^[a-zA-Z0-9]{9,14}$", required=False, allow_blank=True)
    latitude = serializers.FloatField(min_value=-90, max_value=90, required=False, allow_null=True)
    longitude = serializers.FloatField(min_value=-180, max_value=180, required=False, allow_null=True)


class MednumImportInput(serializers.Serializer):
    file = serializers.FileField()


class RelaisSiteViewSet(viewsets.ReadOnlyModelViewSet):
    """Relais places with their hours and programmes; `mednum/` gives the national CSV (v1.0.1)."""

    serializer_class = RelaisSiteSerializer
    lookup_field = "uuid"

    def get_queryset(self):
        sites = Site.objects.filter(
            organisation__kind=OrganisationKind.RELAIS, is_active=True
        ).select_related("organisation", "commune", "relais_profile")
        return sites

    @extend_schema(responses={(200, "text/csv"): str})
    @action(detail=False)
    def mednum(self, request):
        text, _incomplete = mednum.export_csv(
            RelaisProfile.objects.filter(site__in=self.get_queryset()).select_related(
                "site__organisation", "site__commune"
            )
        )
        response = HttpResponse(text, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{mednum.export_filename()}"'
        return response

    @extend_schema(request={"multipart/form-data": MednumImportInput})
    @action(detail=False, methods=["post"], url_path="mednum-import")
    def mednum_import(self, request):
        """Import a CSV of the national schema (coordinator): valid rows are created or updated, each
        invalid row is reported (line, field, message). A 400 when no row could be imported."""
        if not is_coordinator(request.user, write=True):
            raise PermissionDenied("Seule la coordination importe des lieux.")
        payload = MednumImportInput(data=request.data)
        payload.is_valid(raise_exception=True)
        report = mednum.import_csv(payload.validated_data["file"], actor=request.user)
        body = {
            "created": report.created,
            "updated": report.updated,
            "errors": [
                {"line": line, "field": name, "message": message} for line, name, message in report.errors
            ],
        }
        failed = report.errors and not (report.created or report.updated)
        return Response(body, status=status.HTTP_400_BAD_REQUEST if failed else status.HTTP_200_OK)

    @extend_schema(request=RelaisProfileInput, responses=RelaisSiteSerializer)
    @action(detail=True, methods=["post"])
    def profile(self, request, uuid=None):
        """Change a place's directory profile (its relais or the coordinator). Without latitude and
        longitude the commune's centre is used, flagged as approximate."""
        site = self.get_object()
        if not can_write_for(request.user, site.organisation):
            raise PermissionDenied("Vous n'agissez pas pour ce relais.")
        payload = RelaisProfileInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        current = getattr(site, "relais_profile", None)
        fields = {
            name: data[name] if name in data else getattr(current, name)
            for name in RelaisProfile.EDITABLE_FIELDS
            if name in data or current is not None
        }
        if "latitude" in data or "longitude" in data:
            latitude, longitude = data.get("latitude"), data.get("longitude")
        elif site.coordinates_approximate:
            latitude = longitude = None
        else:
            latitude, longitude = site.latitude, site.longitude
        services.relais_profile_save(
            actor=request.user,
            site=site,
            public_devices=data.get("public_devices"),
            latitude=latitude,
            longitude=longitude,
            **fields,
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=site.pk)).data)


# --- Stock ---------------------------------------------------------------------------------------


class StockDeviceSerializer(serializers.ModelSerializer):
    category = serializers.SlugRelatedField(slug_field="code", read_only=True)
    holder = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    cap = serializers.SerializerMethodField()
    awaits_erasure = serializers.SerializerMethodField()

    class Meta:
        model = Device
        fields = [
            "uuid",
            "public_id",
            "category",
            "brand",
            "model",
            "serial_number",
            "provenance",
            "holder",
            "state",
            "price",
            "cap",
            "awaits_erasure",
        ]

    def get_awaits_erasure(self, device) -> bool:
        """Back from a person and not erased since: it goes to nobody else before its erasure."""
        return bool(custody_problems(device))

    def get_cap(self, device) -> str | None:
        cap = rules.cap_for(device, timezone.localdate())
        return None if cap is None else str(cap)


class PriceInput(serializers.Serializer):
    price = serializers.DecimalField(max_digits=8, decimal_places=2, min_value=Decimal("0"))


class FactoryResetInput(serializers.Serializer):
    """A verified factory reset of an encrypted smartphone or tablet (a NIST SP 800-88 Purge)."""

    started_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField()
    encryption_confirmed = serializers.BooleanField(help_text="Le stockage de l'appareil est chiffré.")
    verified = serializers.BooleanField(
        help_text="L'appareil redémarre sur l'assistant de configuration, sans compte ni donnée."
    )
    validator_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")

    def to_reset(self):
        return resets.FactoryReset(**self.validated_data)


class SendToWorkshopInput(serializers.Serializer):
    refurbisher = serializers.SlugRelatedField(
        slug_field="uuid",
        queryset=Organisation.objects.filter(kind=OrganisationKind.REFURBISHER, is_active=True),
    )
    reason = serializers.CharField(max_length=255)


class StockViewSet(viewsets.ReadOnlyModelViewSet):
    """Devices in stock (or lent) at the user's relais, with the cap binding each today."""

    serializer_class = StockDeviceSerializer
    lookup_field = "uuid"
    filterset_fields = ["state", "provenance"]

    def get_queryset(self):
        devices = Device.objects.filter(state__in=[DeviceState.IN_STOCK, DeviceState.LENT]).select_related(
            "category", "holder"
        )
        if is_coordinator(self.request.user):
            return devices.filter(holder__kind=OrganisationKind.RELAIS)
        return devices.filter(
            holder_id__in=organisation_ids(self.request.user, kinds=[OrganisationKind.RELAIS])
        )

    @extend_schema(request=PriceInput, responses=StockDeviceSerializer)
    @action(detail=True, methods=["post"])
    def price(self, request, uuid=None):
        device = self.get_object()
        payload = PriceInput(data=request.data)
        payload.is_valid(raise_exception=True)
        services.stock_set_price(actor=request.user, device=device, price=payload.validated_data["price"])
        return Response(self.get_serializer(device).data)

    @extend_schema(request=FactoryResetInput, responses=StockDeviceSerializer)
    @action(detail=True, methods=["post"])
    def reset(self, request, uuid=None):
        """Record a verified factory reset of an encrypted smartphone or tablet back from a person."""
        device = self.get_object()
        payload = FactoryResetInput(data=request.data)
        payload.is_valid(raise_exception=True)
        services.device_reset(actor=request.user, device=device, reset=payload.to_reset())
        return Response(self.get_serializer(device).data)

    @extend_schema(request=SendToWorkshopInput, responses=StockDeviceSerializer)
    @action(detail=True, methods=["post"], url_path="send-to-workshop")
    def send_to_workshop(self, request, uuid=None):
        """Send a stock device back to a workshop (to erase a person's data, or for a defect)."""
        device = self.get_object()
        payload = SendToWorkshopInput(data=request.data)
        payload.is_valid(raise_exception=True)
        device = services.device_send_to_workshop(actor=request.user, device=device, **payload.validated_data)
        return Response(self.get_serializer(device).data)


# --- Sales ---------------------------------------------------------------------------------------


class SaleLineSerializer(serializers.ModelSerializer):
    device = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    category = serializers.CharField(source="device.category.code", read_only=True)

    class Meta:
        model = SaleLine
        fields = ["device", "category", "price", "cap_amount", "bundle", "is_active"]


class SaleLineInput(serializers.Serializer):
    device = serializers.UUIDField()
    price = serializers.DecimalField(max_digits=8, decimal_places=2, min_value=Decimal("0"))
    bundle = serializers.IntegerField(required=False, allow_null=True, min_value=1)


class SaleSerializer(serializers.ModelSerializer):
    beneficiary = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    relais = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    lines = SaleLineSerializer(many=True, read_only=True)
    receipt = serializers.SerializerMethodField()

    class Meta:
        model = Sale
        fields = [
            "uuid",
            "relais",
            "kind",
            "beneficiary",
            "sold_on",
            "sold_at",
            "payment_method",
            "total",
            "lines",
            "receipt",
        ]

    def get_receipt(self, sale) -> str | None:
        receipt = sale.receipt
        return str(receipt.uuid) if receipt else None


class SaleInput(serializers.Serializer):
    beneficiary = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=SaleKind.choices, default=SaleKind.SALE)
    payment_method = serializers.ChoiceField(choices=PaymentMethod.choices)
    sold_on = serializers.DateField(required=False)
    lines = SaleLineInput(many=True)


class SaleViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = SaleSerializer
    lookup_field = "uuid"
    filterset_fields = ["kind", "payment_method"]

    def get_queryset(self):
        return Sale.objects.visible_to(self.request.user).prefetch_related("lines__device__category")

    @extend_schema(request=SaleInput, responses={201: SaleSerializer})
    def create(self, request, *args, **kwargs):
        """Sell (or give) devices to an eligible beneficiary. 400 with a French message when the buyer
        is not eligible, the household's quota is reached, or a price is above its legal cap."""
        relais = _relais_or_403(request.user)
        payload = SaleInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        beneficiary = Beneficiary.objects.filter(relais=relais, uuid=data["beneficiary"]).first()
        if beneficiary is None:
            raise serializers.ValidationError({"beneficiary": ["Bénéficiaire inconnu de votre relais."]})
        devices = {
            d.uuid: d
            for d in Device.objects.filter(
                holder=relais, uuid__in=[line["device"] for line in data["lines"]]
            ).select_related("category")
        }
        missing = [str(line["device"]) for line in data["lines"] if line["device"] not in devices]
        if missing:
            raise serializers.ValidationError(
                {"lines": [f"Appareil absent du stock du relais : {', '.join(missing)}."]}
            )
        lines = [
            rules.LineRequest(devices[line["device"]], line["price"], line.get("bundle"))
            for line in data["lines"]
        ]
        sale = services.sale_create(
            actor=request.user,
            relais=relais,
            beneficiary=beneficiary,
            lines=lines,
            payment_method=data["payment_method"],
            kind=data["kind"],
            sold_on=data.get("sold_on"),
        )
        return Response(SaleSerializer(sale).data, status=status.HTTP_201_CREATED)


# --- Loans ---------------------------------------------------------------------------------------


class LoanSerializer(serializers.ModelSerializer):
    device = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    beneficiary = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    is_overdue = serializers.BooleanField(read_only=True)

    class Meta:
        model = Loan
        fields = [
            "uuid",
            "device",
            "beneficiary",
            "lent_on",
            "due_on",
            "returned_at",
            "return_note",
            "is_overdue",
        ]


class LoanInput(serializers.Serializer):
    device = serializers.UUIDField()
    beneficiary = serializers.UUIDField()
    due_on = serializers.DateField(required=False)


class LoanReturnInput(serializers.Serializer):
    """After a loan, the device goes to nobody else before an erasure recorded after its return:
    `after` = `reset` (with `reset`), `workshop` (with `refurbisher`) or `later` (blocked in stock)."""

    note = serializers.CharField(required=False, allow_blank=True, max_length=255, default="")
    after = serializers.ChoiceField(choices=AfterReturn.choices, default=AfterReturn.LATER)
    reset = FactoryResetInput(required=False)
    refurbisher = serializers.SlugRelatedField(
        slug_field="uuid",
        queryset=Organisation.objects.filter(kind=OrganisationKind.REFURBISHER, is_active=True),
        required=False,
    )

    def validate(self, data):
        if data["after"] == AfterReturn.RESET and "reset" not in data:
            raise serializers.ValidationError({"reset": ["Décrivez la réinitialisation et sa vérification."]})
        if data["after"] == AfterReturn.WORKSHOP and "refurbisher" not in data:
            raise serializers.ValidationError(
                {"refurbisher": ["Choisissez l'atelier qui effacera l'appareil."]}
            )
        return data

    def service_kwargs(self):
        data = self.validated_data
        kwargs = {"note": data["note"], "after": data["after"]}
        if data["after"] == AfterReturn.RESET:
            kwargs["reset"] = resets.FactoryReset(**data["reset"])
        elif data["after"] == AfterReturn.WORKSHOP:
            kwargs["refurbisher"] = data["refurbisher"]
        return kwargs


class LoanViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = LoanSerializer
    lookup_field = "uuid"

    def get_queryset(self):
        loans = Loan.objects.visible_to(self.request.user).select_related("device", "beneficiary")
        if self.request.query_params.get("overdue") in ("1", "true"):
            loans = loans.overdue()
        elif self.request.query_params.get("open") in ("1", "true"):
            loans = loans.open()
        return loans

    @extend_schema(
        parameters=[OpenApiParameter("overdue", bool), OpenApiParameter("open", bool)],
        responses=LoanSerializer(many=True),
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=LoanInput, responses={201: LoanSerializer})
    def create(self, request, *args, **kwargs):
        relais = _relais_or_403(request.user)
        payload = LoanInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        device = Device.objects.filter(holder=relais, uuid=data["device"]).first()
        beneficiary = Beneficiary.objects.filter(relais=relais, uuid=data["beneficiary"]).first()
        if device is None or beneficiary is None:
            raise serializers.ValidationError(
                {"detail": ["Appareil ou bénéficiaire inconnu de votre relais."]}
            )
        loan = services.loan_create(
            actor=request.user,
            relais=relais,
            device=device,
            beneficiary=beneficiary,
            due_on=data.get("due_on"),
        )
        return Response(LoanSerializer(loan).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=LoanReturnInput, responses=LoanSerializer)
    @action(detail=True, methods=["post"], url_path="return")
    def return_(self, request, uuid=None):
        loan = self.get_object()
        payload = LoanReturnInput(data=request.data)
        payload.is_valid(raise_exception=True)
        loan = services.loan_return(actor=request.user, loan=loan, **payload.service_kwargs())
        return Response(LoanSerializer(loan).data)


# --- Returns under guarantee ---------------------------------------------------------------------


class ReturnSerializer(serializers.ModelSerializer):
    sale = serializers.SlugRelatedField(source="sale_line.sale", slug_field="uuid", read_only=True)
    device = serializers.SlugRelatedField(source="sale_line.device", slug_field="uuid", read_only=True)
    refurbisher = serializers.SlugRelatedField(slug_field="uuid", read_only=True, allow_null=True)
    defect_presumed = serializers.BooleanField(read_only=True)

    class Meta:
        model = GuaranteeReturn
        fields = [
            "uuid",
            "sale",
            "device",
            "defect",
            "remedy",
            "returned_at",
            "defect_presumed",
            "refurbisher",
            "sent_at",
        ]


class ReturnInput(serializers.Serializer):
    sale = serializers.UUIDField()
    device = serializers.UUIDField()
    defect = serializers.CharField(max_length=2000)
    remedy = serializers.ChoiceField(choices=ReturnRemedy.choices)


class ReturnSendInput(serializers.Serializer):
    refurbisher = serializers.SlugRelatedField(
        slug_field="uuid", queryset=Organisation.objects.filter(kind=OrganisationKind.REFURBISHER)
    )


class ReturnViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = ReturnSerializer
    lookup_field = "uuid"

    def get_queryset(self):
        return GuaranteeReturn.objects.visible_to(self.request.user).select_related(
            "sale_line__sale", "sale_line__device", "refurbisher"
        )

    @extend_schema(request=ReturnInput, responses={201: ReturnSerializer})
    def create(self, request, *args, **kwargs):
        _relais_or_403(request.user)
        payload = ReturnInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        line = SaleLine.objects.filter(
            sale__in=Sale.objects.visible_to(request.user),
            sale__uuid=data["sale"],
            device__uuid=data["device"],
            is_active=True,
        ).first()
        if line is None:
            raise serializers.ValidationError(
                {"device": ["Cet appareil ne figure pas (ou plus) dans cette vente."]}
            )
        guarantee_return = services.return_register(
            actor=request.user, sale_line=line, defect=data["defect"], remedy=data["remedy"]
        )
        return Response(ReturnSerializer(guarantee_return).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ReturnSendInput, responses=ReturnSerializer)
    @action(detail=True, methods=["post"])
    def send(self, request, uuid=None):
        guarantee_return = self.get_object()
        payload = ReturnSendInput(data=request.data)
        payload.is_valid(raise_exception=True)
        guarantee_return = services.return_send(
            actor=request.user,
            guarantee_return=guarantee_return,
            refurbisher=payload.validated_data["refurbisher"],
        )
        return Response(ReturnSerializer(guarantee_return).data)


router = SimpleRouter()
router.register("relais-sites", RelaisSiteViewSet, basename="relais-site")
router.register("stock", StockViewSet, basename="stock")
router.register("sales", SaleViewSet, basename="sale")
router.register("loans", LoanViewSet, basename="loan")
router.register("guarantee-returns", ReturnViewSet, basename="guarantee-return")
urlpatterns = router.urls
