"""A reasonable validator for OpenStreetMap's `opening_hours` syntax, the format the national schema
of places of digital mediation asks for (wiki.openstreetmap.org/wiki/Key:opening_hours).

It accepts the forms a place of mediation actually publishes: weekday ranges and lists, nth weekdays,
public and school holidays, several time spans, months, weeks and years, `off`/`closed`/`open`,
quoted comments, `24/7`, and rules separated by `;`, `,` or `||`. It refuses the usual mistakes
(French day names, `9h`, hours past 24, a day range without a valid day)."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

_DAY = r"(?:Mo|Tu|We|Th|Fr|Sa|Su)"
_NTH = r"(?:\[-?[1-5](?:-[1-5])?(?:,-?[1-5](?:-[1-5])?)*\])"
_DAYS = rf"(?:{_DAY}(?:-{_DAY})?{_NTH}?|(?:PH|SH)(?: [+-]\d+ days?)?)"
_WEEKDAYS = rf"{_DAYS}(?:,{_DAYS})*"
_TIME = r"(?:[01]\d|2[0-4]):[0-5]\d"
_SPAN = rf"{_TIME}(?:-{_TIME}\+?|\+)"
_TIMES = rf"{_SPAN}(?:,{_SPAN})*"
_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_DAY_OF_MONTH = r"(?:0?[1-9]|[12]\d|3[01])"
_MONTH_DATE = rf"(?:\d{{4}} )?{_MONTH}(?: {_DAY_OF_MONTH})?"
_MONTHS_RANGE = rf"{_MONTH_DATE}(?:-(?:{_MONTH_DATE}|{_DAY_OF_MONTH}))?"
_MONTHS = rf"{_MONTHS_RANGE}(?:,{_MONTHS_RANGE})*"
_WEEK = r"week (?:0?[1-9]|[1-4]\d|5[0-3])(?:-(?:0?[1-9]|[1-4]\d|5[0-3]))?(?:/\d+)?"
_YEAR = r"\d{4}(?:-\d{4})?"
_STATE = r"(?:open|closed|off|unknown)"
_COMMENT = r'"[^"]*"'
_SELECTORS = rf"(?:(?:{_YEAR} )?(?:{_MONTHS}:? )?(?:{_WEEK}:? )?)"
_RULE = (
    rf"(?:24/7(?: {_COMMENT})?|{_SELECTORS}?(?:{_WEEKDAYS})?(?: ?{_TIMES})?(?: {_STATE})?(?: {_COMMENT})?)"
)
_RULE_RE = re.compile(rf"{_RULE}(?: ?, ?{_RULE})*")


def _normalise(value):
    return re.sub(r"\s+", " ", value.strip())


def validate_opening_hours(value):
    text = _normalise(value)
    if not text:
        return
    rules = [part.strip() for part in re.split(r";|\|\|", text)]
    if rules and rules[-1] == "":
        rules.pop()  # a trailing semicolon is tolerated
    for rule in rules:
        if not rule or not _RULE_RE.fullmatch(rule) or all(not piece.strip() for piece in rule.split(",")):
            raise ValidationError(
                _(
                    "« %(rule)s » n'est pas au format OpenStreetMap. Exemple : « Mo-Fr 09:00-12:00,14:00-17:30; "
                    "Sa 09:00-12:00; PH off » (jours en anglais abrégé : Mo Tu We Th Fr Sa Su, heures sur "
                    "4 chiffres)."
                )
                % {"rule": rule},
                code="opening_hours",
            )
        for start, end in re.findall(rf"({_TIME})-({_TIME})", rule):
            if start == end:
                raise ValidationError(
                    _("La plage %(start)s-%(end)s est vide.") % {"start": start, "end": end},
                    code="opening_hours",
                )


FRENCH_DAYS = {
    "Mo": "lun.",
    "Tu": "mar.",
    "We": "mer.",
    "Th": "jeu.",
    "Fr": "ven.",
    "Sa": "sam.",
    "Su": "dim.",
}


def humanise(value):
    """A French reading of simple `opening_hours` values, for the directory page."""
    text = _normalise(value or "")
    if not text:
        return ""
    if text == "24/7":
        return _("tous les jours, 24 h/24")
    out = text
    for code, label in FRENCH_DAYS.items():
        out = re.sub(rf"\b{code}\b", label, out)
    out = (
        out.replace("PH off", _("fermé les jours fériés"))
        .replace("PH", _("jours fériés"))
        .replace("SH", _("vacances scolaires"))
    )
    out = re.sub(r"(\d\d):(\d\d)", lambda m: f"{int(m.group(1))} h {m.group(2)}", out)
    out = out.replace("-", " – ").replace(" off", " " + _("fermé")).replace(";", " ·")
    return re.sub(r",(?! )", ", ", out)
