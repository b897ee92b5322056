from django.apps import AppConfig


class ReemploiConfig(AppConfig):
    """The shared kernel: organisations, sites, territories, categories, devices, documents."""

    name = "reemploi"
    verbose_name = "Noyau du réseau"

    def ready(self):
        _refuse_nul_in_slug_lookups()


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
