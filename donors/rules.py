"""The acceptance rules engine: one function, used by the form as the donor types (htmx), again on
submit, and by the API. The rules themselves are data (`AcceptancePolicy`, `CategoryRule`) that the
coordinator edits; this module only applies them, in a fixed order:

1. a category the network does not collect is refused (cables and peripherals, except mice);
2. broken equipment is refused, unless its category says otherwise;
3. equipment older than the maximal age goes to DEEE treatment, not reuse;
4. otherwise it is accepted for reuse.

For individuals, the donation as a whole carries a notice (most citizens' equipment is too old) and,
under a quantity, is offered drop-off only."""

from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from .enums import Condition, DonorKind, Verdict
from .models import AcceptancePolicy, CategoryRule

# Categories for which a missing charger is worth a word to the donor.
CHARGER_CATEGORIES = {"laptop", "tablet", "smartphone"}


@dataclass
class LineInput:
    category: object = None  # EquipmentCategory
    quantity: int | None = None
    age_years: int | None = None
    condition: str | None = None
    has_charger: bool = False
    holds_data: bool = False


@dataclass
class LineAssessment:
    verdict: str | None  # None while the line is too incomplete to judge
    reason: str = ""
    notices: list = field(default_factory=list)
    quantity: int = 0

    @property
    def collected(self):
        return self.verdict in Verdict.collected()

    @property
    def label(self):
        return Verdict(self.verdict).label if self.verdict else ""


@dataclass
class Assessment:
    lines: list
    notices: list = field(default_factory=list)
    drop_off_only: bool = False
    drop_off_reason: str = ""

    @property
    def collected_quantity(self):
        return sum(result.quantity for result in self.lines if result.collected)

    @property
    def any_collected(self):
        return any(result.collected for result in self.lines)


class Rules:
    """The rules in force, loaded once (two queries) and applied to any number of lines."""

    def __init__(self, policy, category_rules):
        self.policy = policy
        self.category_rules = category_rules

    @classmethod
    def load(cls):
        return cls(
            AcceptancePolicy.current(),
            {rule.category_id: rule for rule in CategoryRule.objects.all()},
        )

    def max_age_for(self, category):
        rule = self.category_rules.get(category.pk)
        if rule is not None and rule.max_age_years:
            return rule.max_age_years
        return self.policy.default_max_age_years

    def summary(self, categories):
        """What the form says up front: the categories collected and not, in the rules' words."""
        collected, refused, broken_exceptions = [], [], []
        for category in categories:
            rule = self.category_rules.get(category.pk)
            if rule is not None and not rule.collected:
                refused.append({"category": category})
                continue
            override = rule.max_age_years if rule is not None and rule.max_age_years else None
            collected.append({"category": category, "max_age": override})
            if rule is not None and rule.collect_broken:
                broken_exceptions.append(category.name)
        return {
            "collected": collected,
            "refused": refused,
            "broken_exceptions": broken_exceptions,
            "max_age": self.policy.default_max_age_years,
        }

    def assess_line(self, line: LineInput) -> LineAssessment:
        if line.category is None:
            return LineAssessment(verdict=None)
        rule = self.category_rules.get(line.category.pk)
        if rule is not None and not rule.collected:
            return LineAssessment(
                verdict=Verdict.REFUSED, reason=rule.reason or self.policy.not_collected_reason
            )
        collect_broken = rule.collect_broken if rule is not None else False
        if line.condition == Condition.BROKEN and not collect_broken:
            return LineAssessment(verdict=Verdict.REFUSED, reason=self.policy.broken_reason)
        max_age = self.max_age_for(line.category)
        if line.age_years is not None and line.age_years > max_age:
            return LineAssessment(
                verdict=Verdict.DEEE, reason=_interpolate(self.policy.too_old_reason, age=max_age)
            )
        notices = []
        if line.condition == Condition.PARTLY:
            notices.append(
                _(
                    "Accepté pour diagnostic : s'il ne peut pas être réparé, il sera démonté pour pièces "
                    "ou recyclé."
                )
            )
        if line.holds_data:
            notices.append(
                _(
                    "Les données seront effacées selon la norme NIST SP 800-88, ou le support détruit ; "
                    "vous recevrez un certificat par support."
                )
            )
        if line.category.code in CHARGER_CATEGORIES and not line.has_charger:
            notices.append(
                _("Pensez au chargeur : sans lui, l'appareil est plus difficile à remettre en service.")
            )
        return LineAssessment(verdict=Verdict.ACCEPTED, reason="", notices=notices)

    def assess(self, donor_kind, lines) -> Assessment:
        results = []
        for line in lines:
            result = self.assess_line(line)
            result.quantity = line.quantity or 0
            results.append(result)
        assessment = Assessment(lines=results)
        if donor_kind == DonorKind.INDIVIDUAL:
            assessment.notices.append(self.policy.citizen_notice)
            minimum = self.policy.citizen_pickup_min_quantity
            if assessment.collected_quantity < minimum:
                assessment.drop_off_only = True
                assessment.drop_off_reason = _interpolate(
                    self.policy.citizen_drop_off_reason, quantite=minimum
                )
        return assessment


def _interpolate(text, **values):
    """Put the configured figures into a coordinator-written text: `{age}`, `{quantite}`."""
    for name, value in values.items():
        text = text.replace("{" + name + "}", str(value))
    return text


def assess(donor_kind, lines, rules=None) -> Assessment:
    """The verdict on each line and on the donation as a whole, with the reasons shown to the donor."""
    return (rules or Rules.load()).assess(donor_kind, lines)
