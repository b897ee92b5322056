from django import forms
from django.utils.translation import gettext_lazy as _

from .enums import DeviceState
from .models import EquipmentCategory, Organisation


class DeviceFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Rechercher"),
        required=False,
        help_text=_("Numéro de série, numéro d'inventaire ou identifiant public"),
    )
    state = forms.ChoiceField(
        label=_("État"), required=False, choices=[("", _("Tous"))] + DeviceState.choices
    )
    category = forms.ModelChoiceField(
        label=_("Catégorie"),
        required=False,
        queryset=EquipmentCategory.objects.all(),
        empty_label=_("Toutes"),
    )
    holder = forms.ModelChoiceField(
        label=_("Détenteur"), required=False, queryset=Organisation.objects.none(), empty_label=_("Tous")
    )

    def __init__(self, *args, holders=None, **kwargs):
        super().__init__(*args, **kwargs)
        if holders is not None:
            self.fields["holder"].queryset = holders


class TransitionForm(forms.Form):
    to_state = forms.ChoiceField(label=_("Nouvel état"))
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=2000
    )

    def __init__(self, *args, targets=(), **kwargs):
        super().__init__(*args, **kwargs)
        # No state preselected: a click on « Enregistrer » must not move a device by accident.
        order = list(DeviceState.values)
        self.fields["to_state"].choices = [("", _("— Choisissez —"))] + [
            (t, DeviceState(t).label) for t in sorted(targets, key=order.index)
        ]


class DocumentCheckForm(forms.Form):
    file = forms.FileField(label=_("Fichier PDF à vérifier"))
