"""Dated snapshots of the département's indicators, and the runs that compute them.

The dashboard, the exports and the API read snapshots only: nothing there recomputes a figure.
A snapshot is unique per (indicator, territory, period, day of computation): computing again on
the same day replaces that day's figures, computing on another day adds a new dated row, so the
history of what was published is kept."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .enums import PeriodType, RunStatus, TerritoryType


class IndicatorSnapshotQuerySet(models.QuerySet):
    def of_departement(self, code):
        """Snapshots of a département and of the relais and communes in it."""
        return self.filter(departement_code=code)

    def latest_computed_on(self, departement_code):
        return self.of_departement(departement_code).aggregate(latest=models.Max("computed_on"))["latest"]


class IndicatorSnapshot(models.Model):
    indicator = models.CharField(_("indicateur"), max_length=60)
    territory_type = models.CharField(_("type de territoire"), max_length=20, choices=TerritoryType.choices)
    territory_code = models.CharField(
        _("territoire"),
        max_length=40,
        help_text=_("Code du département, identifiant public du relais ou code INSEE de la commune."),
    )
    territory_label = models.CharField(_("nom du territoire"), max_length=200, blank=True)
    departement_code = models.CharField(
        _("département"),
        max_length=3,
        help_text=_("Le département où se trouve le territoire : c'est lui qui décide qui voit la valeur."),
    )
    period_type = models.CharField(_("période"), max_length=10, choices=PeriodType.choices)
    period_start = models.DateField(_("début de la période"))
    value = models.FloatField(
        _("valeur"),
        null=True,
        blank=True,
        help_text=_("Vide quand la valeur n'est pas définie (aucune donnée)."),
    )
    extra = models.JSONField(_("détail"), default=dict, blank=True)
    computed_on = models.DateField(_("calculé le"))
    computed_at = models.DateTimeField(_("calculé à"), default=timezone.now)

    objects = IndicatorSnapshotQuerySet.as_manager()

    class Meta:
        ordering = ["indicator", "territory_type", "territory_code", "period_type", "period_start"]
        verbose_name = _("valeur d'indicateur")
        verbose_name_plural = _("valeurs d'indicateurs")
        indexes = [
            models.Index(
                fields=["departement_code", "territory_type", "period_type", "computed_on"],
                name="snapshot_dept_period_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "indicator",
                    "territory_type",
                    "territory_code",
                    "period_type",
                    "period_start",
                    "computed_on",
                ],
                name="unique_snapshot_per_computation_day",
            ),
            models.CheckConstraint(
                condition=Q(territory_type__in=TerritoryType.values), name="snapshot_territory_type_valid"
            ),
            models.CheckConstraint(
                condition=Q(period_type__in=PeriodType.values), name="snapshot_period_valid"
            ),
        ]

    def __str__(self):
        return f"{self.indicator} · {self.territory_type} {self.territory_code} · {self.period_type} {self.period_start}"


class SnapshotRunQuerySet(models.QuerySet):
    def covering(self, departement):
        """Runs that compute `departement`: its own, and those that compute every département."""
        return self.filter(Q(departement=departement) | Q(departement__isnull=True))

    def unfinished(self):
        return self.filter(status__in=[RunStatus.PENDING, RunStatus.RUNNING])


class SnapshotRun(models.Model):
    """One computation of the snapshots, of one département or of all of them."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    departement = models.ForeignKey(
        "reemploi.Departement",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Vide : tous les départements."),
    )
    status = models.CharField(
        _("statut"), max_length=10, choices=RunStatus.choices, default=RunStatus.PENDING
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    requested_at = models.DateTimeField(_("demandé le"), default=timezone.now)
    started_at = models.DateTimeField(_("commencé le"), null=True, blank=True)
    finished_at = models.DateTimeField(_("terminé le"), null=True, blank=True)
    computed_on = models.DateField(_("jour de calcul"), null=True, blank=True)
    departements_computed = models.PositiveIntegerField(_("départements calculés"), default=0)
    snapshots_written = models.PositiveIntegerField(_("valeurs enregistrées"), default=0)
    timings = models.JSONField(
        _("durées (s)"), default=dict, blank=True, help_text=_("Lecture, calcul et écriture, en secondes.")
    )
    error = models.TextField(_("erreur"), blank=True)

    objects = SnapshotRunQuerySet.as_manager()

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("calcul des indicateurs")
        verbose_name_plural = _("calculs des indicateurs")
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=RunStatus.values), name="snapshot_run_status_valid"
            ),
        ]

    def __str__(self):
        scope = self.departement.code if self.departement_id else _("tous")
        return f"{scope} · {self.get_status_display()} · {self.requested_at:%d/%m/%Y %H:%M}"

    @property
    def duration_seconds(self):
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None
