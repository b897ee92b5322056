"""The indicators in the API: the same figures as the dashboard, scoped the same way (departmental
staff read their département, the coordinator every département), read from snapshots only."""

import django_filters
from django.db.models import Q
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.views import APIView

from reemploi.models import Departement

from . import catalogue, reports, services
from .enums import PeriodType, TerritoryType
from .models import IndicatorSnapshot, SnapshotRun
from .permissions import can_request_computation, can_view_indicators, departements_visible_to


class CanViewIndicators(permissions.BasePermission):
    message = "Les indicateurs sont réservés aux équipes du département et à la coordination du réseau."

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and can_view_indicators(request.user))


SELECTION_PARAMETERS = [
    OpenApiParameter(
        "departement", str, description="Code du département (par défaut : le premier visible)."
    ),
    OpenApiParameter(
        "territory", str, description="Identifiant public d'un relais ; vide : tout le département."
    ),
    OpenApiParameter("period_type", str, enum=["month", "quarter", "year", "total"]),
    OpenApiParameter(
        "period", OpenApiTypes.DATE, description="Premier jour de la période (par défaut : la dernière)."
    ),
]


def _selection(request):
    selection = reports.selection_resolve(request.user, request.query_params)
    if selection.form.errors:
        raise ValidationError(selection.form.errors)
    return selection


def _selection_dict(selection):
    return {
        "departement": selection.code,
        "departement_name": selection.departement.name,
        "territory_type": selection.territory_type,
        "territory_code": selection.territory_code,
        "territory_label": selection.territory_label,
        "period_type": selection.period_type,
        "period_start": selection.period_start,
        "period_label": selection.label,
        "computed_on": selection.computed_on,
    }


class SnapshotSerializer(serializers.ModelSerializer):
    label = serializers.SerializerMethodField()
    unit = serializers.SerializerMethodField()

    class Meta:
        model = IndicatorSnapshot
        fields = [
            "indicator",
            "label",
            "unit",
            "territory_type",
            "territory_code",
            "territory_label",
            "departement_code",
            "period_type",
            "period_start",
            "value",
            "extra",
            "computed_on",
            "computed_at",
        ]

    def get_label(self, snapshot) -> str:
        indicator = catalogue.BY_CODE.get(snapshot.indicator)
        return str(indicator.label) if indicator else snapshot.indicator

    def get_unit(self, snapshot) -> str:
        indicator = catalogue.BY_CODE.get(snapshot.indicator)
        return str(indicator.unit) if indicator else ""


class SnapshotFilter(django_filters.FilterSet):
    departement = django_filters.CharFilter(field_name="departement_code")
    indicator = django_filters.BaseInFilter(field_name="indicator")
    territory_type = django_filters.ChoiceFilter(choices=TerritoryType.choices)
    territory_code = django_filters.CharFilter()
    period_type = django_filters.ChoiceFilter(choices=PeriodType.choices)
    period_start = django_filters.DateFilter()
    period_start_after = django_filters.DateFilter(field_name="period_start", lookup_expr="gte")
    period_start_before = django_filters.DateFilter(field_name="period_start", lookup_expr="lte")
    computed_on = django_filters.DateFilter()

    class Meta:
        model = IndicatorSnapshot
        fields = []


@extend_schema(
    parameters=[
        OpenApiParameter(
            "history",
            bool,
            description="Sans `computed_on` ni `history=true`, seules les valeurs du dernier calcul de chaque "
            "département sont rendues ; `history=true` rend aussi les calculs précédents.",
        )
    ]
)
class SnapshotViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Every computed value, dated: indicator, territory (département, relais or commune), period."""

    serializer_class = SnapshotSerializer
    permission_classes = [CanViewIndicators]
    filterset_class = SnapshotFilter
    ordering_fields = ["period_start", "computed_on", "indicator"]
    ordering = ["indicator", "territory_type", "territory_code", "period_type", "period_start"]

    def get_queryset(self):
        codes = list(departements_visible_to(self.request.user).values_list("code", flat=True))
        snapshots = IndicatorSnapshot.objects.filter(departement_code__in=codes)
        params = self.request.query_params
        if "computed_on" in params or params.get("history") in ("1", "true", "True"):
            return snapshots
        latest = Q(pk__in=[])
        for code in codes:
            day = IndicatorSnapshot.objects.latest_computed_on(code)
            if day is not None:
                latest |= Q(departement_code=code, computed_on=day)
        return snapshots.filter(latest)


class RunSerializer(serializers.ModelSerializer):
    departement = serializers.SlugRelatedField(
        slug_field="code", queryset=Departement.objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = SnapshotRun
        fields = [
            "uuid",
            "departement",
            "status",
            "requested_at",
            "started_at",
            "finished_at",
            "computed_on",
            "departements_computed",
            "snapshots_written",
        ]
        read_only_fields = [f for f in fields if f != "departement"]


class RunViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Computations of the indicators. POST `{"departement": "58"}` asks for one (a computation
    already waiting for the same département is returned instead of queueing a second)."""

    serializer_class = RunSerializer
    permission_classes = [CanViewIndicators]
    lookup_field = "uuid"
    filterset_fields = ["status"]

    def get_queryset(self):
        visible = departements_visible_to(self.request.user)
        return SnapshotRun.objects.filter(
            Q(departement__in=visible) | Q(departement__isnull=True)
        ).select_related("departement")

    def create(self, request, *args, **kwargs):
        payload = self.get_serializer(data=request.data)
        payload.is_valid(raise_exception=True)
        departement = payload.validated_data.get("departement")
        if departement is None:
            raise ValidationError({"departement": ["Indiquez le code du département à recalculer."]})
        if not departements_visible_to(request.user).filter(pk=departement.pk).exists():
            raise ValidationError({"departement": ["Vous ne voyez pas les indicateurs de ce département."]})
        if not can_request_computation(request.user, departement):
            raise PermissionDenied("Votre rôle ne permet pas de demander un calcul.")
        run, created = services.snapshot_run_request(departement=departement, requested_by=request.user)
        run.refresh_from_db()
        return Response(RunSerializer(run).data, status=201 if created else 200)


class DashboardView(APIView):
    """Every figure of the dashboard for a selection: key figures with their change since the
    previous period, the series of the charts, and the tables (as in the CSV and XLSX exports)."""

    permission_classes = [CanViewIndicators]

    @extend_schema(parameters=SELECTION_PARAMETERS, responses=OpenApiTypes.OBJECT)
    def get(self, request):
        selection = _selection(request)
        data = reports.dashboard(selection, request.user)
        status = data["status"]
        return Response(
            {
                "selection": _selection_dict(selection),
                "figures": [figure.as_dict() for figure in data["figures"]],
                "series": data["series"],
                "state_series": data["state_series"],
                "tables": {code: table.as_dict() for code, table in data["tables"].items()},
                "last_computed_at": status["last_done"].finished_at if status["last_done"] else None,
                "computation_pending": status["pending"] is not None,
            }
        )


class TableView(APIView):
    """One table of the dashboard, including the distances of every commune (`communes`)."""

    permission_classes = [CanViewIndicators]

    @extend_schema(parameters=SELECTION_PARAMETERS, responses=OpenApiTypes.OBJECT)
    def get(self, request, table):
        selection = _selection(request)
        if table not in reports.tables_for(selection):
            raise ValidationError(
                {"table": [f"Tableaux disponibles : {', '.join(reports.tables_for(selection))}."]}
            )
        return Response(
            {"selection": _selection_dict(selection), **reports.build_table(table, selection).as_dict()}
        )


class MapView(APIView):
    """The map's layers: communes (centre, population, distance to the nearest place and DEEE
    point) and the places, as computed at the end of the selected period."""

    permission_classes = [CanViewIndicators]

    @extend_schema(parameters=SELECTION_PARAMETERS, responses=OpenApiTypes.OBJECT)
    def get(self, request):
        selection = _selection(request)
        return Response({"selection": _selection_dict(selection), **reports.map_layers(selection)})


class CatalogueView(APIView):
    """What each indicator measures, its unit, territories, periods and source."""

    permission_classes = [CanViewIndicators]

    @extend_schema(
        responses=inline_serializer(
            "IndicatorDefinition",
            fields={
                "code": serializers.CharField(),
                "label": serializers.CharField(),
                "unit": serializers.CharField(),
                "section": serializers.CharField(),
                "description": serializers.CharField(),
                "territories": serializers.ListField(child=serializers.CharField()),
                "periods": serializers.ListField(child=serializers.CharField()),
                "source": serializers.CharField(),
                "source_note": serializers.CharField(),
            },
            many=True,
        )
    )
    def get(self, request):
        return Response(
            [
                {
                    "code": i.code,
                    "label": str(i.label),
                    "unit": str(i.unit),
                    "section": i.section,
                    "description": str(i.description),
                    "territories": list(i.territories),
                    "periods": list(i.periods),
                    "source": i.source,
                    "source_note": str(i.source_note),
                }
                for i in catalogue.INDICATORS
            ]
        )


router = SimpleRouter()
router.register("indicators/snapshots", SnapshotViewSet, basename="indicator-snapshot")
router.register("indicators/runs", RunViewSet, basename="indicator-run")
urlpatterns = [
    path("indicators/dashboard/", DashboardView.as_view(), name="indicators-api-dashboard"),
    path("indicators/tables/<slug:table>/", TableView.as_view(), name="indicators-api-table"),
    path("indicators/map/", MapView.as_view(), name="indicators-api-map"),
    path("indicators/catalogue/", CatalogueView.as_view(), name="indicators-api-catalogue"),
    *router.urls,
]
