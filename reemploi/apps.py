from django.apps import AppConfig


class ReemploiConfig(AppConfig):
    """The shared kernel: organisations, sites, territories, categories, devices, documents."""

    name = "reemploi"
    verbose_name = "Noyau du réseau"

    def ready(self):
        _refuse_nul_in_slug_lookups()
        _bound_api_dates()


def _refuse_nul_in_slug_lookups():
    """DRF's SlugRelatedField looks its value up as is: a NUL character makes PostgreSQL raise a
    DataError (a 500). Every API field that names an object by a slug answers a 400 instead."""
    from rest_framework.relations import SlugRelatedField

    original = SlugRelatedField.to_internal_value
    if getattr(original, "refuses_nul", False):
        return

    def to_internal_value(self, data):
        if isinstance(data, str) and "\x00" in data:
            self.fail("invalid")
        return original(self, data)

    to_internal_value.refuses_nul = True
    SlugRelatedField.to_internal_value = to_internal_value


# Dates the platform can meet: nothing it records happened before 1970 or after 2100. Earlier years
# also come back from time zone arithmetic with local mean time offsets (+00:09:21 for Paris before
# 1911) that are not valid RFC 3339.
DATE_RANGE = (1970, 2100)


def _bound_api_dates():
    """Every API date and date-time field refuses a year outside DATE_RANGE with a 400."""
    from rest_framework import serializers

    for field_class in (serializers.DateField, serializers.DateTimeField):
        original = field_class.to_internal_value
        if getattr(original, "bounded", False):
            continue

        def to_internal_value(self, data, _original=original):
            value = _original(self, data)
            if value is not None and not DATE_RANGE[0] <= value.year <= DATE_RANGE[1]:
                raise serializers.ValidationError(
                    f"Date hors de la plage acceptée (années {DATE_RANGE[0]} à {DATE_RANGE[1]}).",
                    code="date_range",
                )
            return value

        to_internal_value.bounded = True
        field_class.to_internal_value = to_internal_value
