"""The indicators: what each one measures, in what unit, on which territories and periods, and
where its data comes from today.

`source` says how faithful a figure is:
- "exact": computed from the records that define it (device history, sales, sites, communes);
- "proxy": the exact source lives in an app not yet connected; a faithful approximation from the
  device history is published meanwhile, and its label says so."""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from .enums import PeriodType, TerritoryType

FLOW_PERIODS = (PeriodType.MONTH, PeriodType.QUARTER, PeriodType.YEAR, PeriodType.TOTAL)
STATE_PERIODS = (PeriodType.DAY,)
D, R, C = TerritoryType.DEPARTEMENT, TerritoryType.RELAIS, TerritoryType.COMMUNE


@dataclass(frozen=True)
class Indicator:
    code: str
    label: str
    unit: str
    section: str
    description: str
    territories: tuple = (D,)
    periods: tuple = FLOW_PERIODS
    source: str = "exact"
    source_note: str = ""
    decimals: int = 0
    higher_is_better: bool = True

    @property
    def is_flow(self):
        return PeriodType.DAY not in self.periods


SECTIONS = {
    "distribution": _("Équipement des habitants"),
    "public": _("Accès public"),
    "mesh": _("Maillage des lieux ouverts au public"),
    "deee_mesh": _("Maillage des points de collecte DEEE"),
    "weights": _("Flux de matière"),
    "donors": _("Donateurs"),
}


def _mesh(prefix, section, places_label, places_short):
    """The same mesh indicators for the places open to the public and for DEEE collection points."""
    state = {"periods": STATE_PERIODS, "section": section}
    return [
        Indicator(
            f"{prefix}_count",
            places_label,
            _("lieux"),
            description=_(
                "Lieux actifs dont les coordonnées sont connues, dans les communes du département."
            ),
            **state,
        ),
        Indicator(
            f"{prefix}_mean_nearest_km",
            _("Distance moyenne entre %(places)s") % {"places": places_short},
            "km",
            description=_(
                "Moyenne, sur chaque lieu du département, de la distance à sa voisine la plus proche parmi "
                "les lieux du département (définition de la stratégie départementale)."
            ),
            decimals=1,
            higher_is_better=False,
            **state,
        ),
        Indicator(
            f"{prefix}_weighted_distance_km",
            _("Distance moyenne des habitants au plus proche des %(places)s") % {"places": places_short},
            "km",
            description=_(
                "Distance du centre de chaque commune au lieu le plus proche (y compris de l'autre côté "
                "de la limite du département), moyenne pondérée par la population."
            ),
            decimals=1,
            higher_is_better=False,
            **state,
        ),
        *[
            Indicator(
                f"{prefix}_share_{radius}km",
                _("Population à moins de %(radius)s km") % {"radius": radius},
                "%",
                description=_(
                    "Part de la population des communes dont le centre est à %(radius)s km ou moins du lieu "
                    "le plus proche."
                )
                % {"radius": radius},
                decimals=1,
                **state,
            )
            for radius in (5, 10, 20)
        ],
        Indicator(
            f"{prefix}_per_10k",
            _("Lieux pour 10 000 habitants"),
            _("pour 10 000 hab."),
            description=_("Nombre de lieux du département rapporté à sa population."),
            decimals=2,
            **state,
        ),
        Indicator(
            f"{prefix}_far_communes",
            _("Communes à plus de 20 km"),
            _("communes"),
            description=_(
                "Communes dont le centre est à plus de 20 km du lieu le plus proche ; le détail liste les "
                "plus peuplées."
            ),
            higher_is_better=False,
            **state,
        ),
    ]


INDICATORS = [
    Indicator(
        "pcs_distributed",
        _("PC reconditionnés vendus ou donnés"),
        _("PC"),
        section="distribution",
        description=_(
            "Ordinateurs portables et fixes vendus ou donnés par les relais (une vente annulée par un retour sous garantie ne compte pas)."
        ),
        territories=(D, R),
    ),
    Indicator(
        "devices_distributed",
        _("Appareils vendus ou donnés"),
        _("appareils"),
        section="distribution",
        description=_("Tous les appareils vendus ou donnés, par catégorie."),
        territories=(D, R),
    ),
    Indicator(
        "devices_lent",
        _("Prêts d'appareils"),
        _("prêts"),
        section="distribution",
        description=_("Appareils prêtés par les relais (prêts commencés dans la période)."),
        territories=(D, R),
    ),
    Indicator(
        "people_equipped",
        _("Personnes équipées"),
        _("personnes"),
        section="distribution",
        description=_(
            "Personnes distinctes ayant acheté ou reçu un appareil dans la période (un appareil retourné "
            "sous garantie ne compte plus)."
        ),
        territories=(D, R),
    ),
    Indicator(
        "structures_equipped",
        _("Structures équipées"),
        _("structures"),
        section="distribution",
        description=_(
            "Associations au service de personnes en précarité, distinctes, ayant acheté ou reçu du "
            "matériel dans la période."
        ),
        territories=(D, R),
    ),
    Indicator(
        "median_days_to_distribution",
        _("Délai médian du don à la distribution"),
        _("jours"),
        section="distribution",
        description=_(
            "Médiane, sur les appareils vendus ou donnés dans la période, du délai depuis le jour où leur "
            "don a été proposé (depuis leur entrée dans l'historique pour un appareil venu sans don)."
        ),
        decimals=1,
        higher_is_better=False,
    ),
    Indicator(
        "public_devices",
        _("Équipements en accès libre"),
        _("équipements"),
        section="public",
        description=_(
            "Équipements accessibles au public dans les lieux ouverts au public (relais, lieux équipés)."
        ),
        territories=(D, C),
        periods=STATE_PERIODS,
    ),
    *_mesh("places", "mesh", _("Lieux ouverts au public équipés"), _("lieux ouverts au public")),
    *_mesh("deee_points", "deee_mesh", _("Points de collecte DEEE"), _("points de collecte DEEE")),
    Indicator(
        "commune_place_distance_km",
        _("Distance au lieu ouvert au public le plus proche"),
        "km",
        section="mesh",
        description=_("Distance du centre de la commune au lieu ouvert au public le plus proche."),
        territories=(C,),
        periods=STATE_PERIODS,
        decimals=1,
        higher_is_better=False,
    ),
    Indicator(
        "commune_deee_distance_km",
        _("Distance au point de collecte DEEE le plus proche"),
        "km",
        section="deee_mesh",
        description=_("Distance du centre de la commune au point de collecte DEEE le plus proche."),
        territories=(C,),
        periods=STATE_PERIODS,
        decimals=1,
        higher_is_better=False,
    ),
    Indicator(
        "kg_collected",
        _("Kilogrammes collectés"),
        "kg",
        section="weights",
        description=_(
            "Poids des appareils entrés dans la filière, par catégorie : pesée du don à la réception "
            "(sinon à la collecte) répartie entre ses appareils, sinon poids mesuré de l'appareil, "
            "sinon poids type de sa catégorie."
        ),
    ),
    Indicator(
        "kg_reused",
        _("Kilogrammes réemployés"),
        "kg",
        section="weights",
        description=_(
            "Poids des appareils vendus ou donnés, par catégorie (poids mesuré, sinon poids type)."
        ),
    ),
    Indicator(
        "kg_deee",
        _("Kilogrammes envoyés en traitement DEEE"),
        "kg",
        section="weights",
        description=_(
            "Poids des appareils envoyés en traitement DEEE, par catégorie ; le détail donne aussi les "
            "appareils démantelés pour pièces."
        ),
        higher_is_better=False,
    ),
    Indicator(
        "reuse_rate",
        _("Taux de réemploi"),
        "%",
        section="donors",
        description=_(
            "Parmi les appareils reçus dans la période, part de ceux qui ont été vendus, donnés ou prêtés "
            "depuis ; le détail donne le taux par type de donateur."
        ),
        decimals=1,
    ),
    Indicator(
        "public_donor_reuse",
        _("Équipements publics orientés vers le réemploi"),
        _("équipements"),
        section="donors",
        description=_(
            "Décret n° 2023-266 : équipements (DEEE 2° et 6°) des donateurs publics reçus dans l'année et "
            "réemployés (A), rapportés au stock réformé au 1er janvier déclaré par chaque donateur (B)."
        ),
        periods=(PeriodType.YEAR, PeriodType.TOTAL),
    ),
]

BY_CODE = {indicator.code: indicator for indicator in INDICATORS}

# Targets of décret n° 2023-266 du 12 avril 2023 (art. 1) : share of retired IT equipment the State
# and local authorities must orient to reuse, by year of effect. Data, not code: a new rate is a row.
DECREE_2023_266 = "Décret n° 2023-266 du 12 avril 2023"
DECREE_2023_266_TARGETS = [(2023, 25), (2024, 35), (2025, 50)]


def decree_2023_266_target(year):
    """The share (%) to reach in `year`, or None before the decree applies."""
    target = None
    for first_year, share in DECREE_2023_266_TARGETS:
        if year >= first_year:
            target = share
    return target


def get(code):
    return BY_CODE[code]


def of_territory(territory_type):
    return [i for i in INDICATORS if territory_type in i.territories]
