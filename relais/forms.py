from django import forms
from django.utils.translation import gettext_lazy as _

from beneficiaries.forms import DATE, euros_field
from reemploi.enums import OrganisationKind
from reemploi.models import Organisation

from .enums import (
    MEDNUM_PROGRAMMES,
    MEDNUM_SERVICES,
    SERVICE_SOLIDARITY_EQUIPMENT,
    PaymentMethod,
    ReturnRemedy,
    SaleKind,
)
from .opening_hours import validate_opening_hours

# The schema's pattern for `telephone`: international format, no spaces.
PHONE_PATTERN = r"^(\+33|\+590|\+594|\+262|\+596|\+269|\+687|\+689|\+508|\+681)\d{6,9}$"


class RelaisProfileForm(forms.Form):
    opening_hours = forms.CharField(
        label=_("Horaires d'ouverture (format OpenStreetMap)"),
        max_length=255,
        required=False,
        validators=[validate_opening_hours],
        help_text=_("Exemple : Mo-Fr 09:00-12:00,14:00-17:30; Sa 09:00-12:00; PH off"),
    )
    pivot = forms.RegexField(
        label=_("SIRET, RNA ou RIDET du lieu (schéma national)"),
        regex=r"^[a-zA-Z0-9]{9,14}$",
        required=False,
        help_text=_("Obligatoire dans l'export national. Vide : le SIRET de la structure, s'il est connu."),
        error_messages={"invalid": _("De 9 à 14 lettres ou chiffres, sans espace.")},
    )
    is_itinerant = forms.BooleanField(label=_("Lieu itinérant (bus, permanences mobiles)"), required=False)
    sells_equipment = forms.BooleanField(label=_("Vend du matériel à prix solidaire"), required=False)
    lends_equipment = forms.BooleanField(label=_("Prête du matériel"), required=False)
    public_devices = forms.IntegerField(
        label=_("Équipements en accès libre sur place"), min_value=0, initial=0
    )
    services = forms.MultipleChoiceField(
        label=_("Services (schéma national)"),
        choices=[(s, s) for s in MEDNUM_SERVICES if s != SERVICE_SOLIDARITY_EQUIPMENT],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "« Acquisition de matériel informatique à prix solidaire » est ajouté d'office aux relais qui vendent."
        ),
    )
    programmes = forms.MultipleChoiceField(
        label=_("Dispositifs et programmes nationaux"),
        choices=[(p, p) for p in MEDNUM_PROGRAMMES],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    phone = forms.RegexField(
        label=_("Téléphone"),
        regex=PHONE_PATTERN,
        required=False,
        help_text=_("Format international sans espace : +33386000000"),
        error_messages={"invalid": _("Écrivez le numéro au format +33XXXXXXXXX, sans espace.")},
    )
    email = forms.EmailField(label=_("Courriel"), required=False)
    website = forms.URLField(label=_("Site web"), required=False, assume_scheme="https")
    summary = forms.CharField(
        label=_("Présentation courte"),
        max_length=280,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    latitude = forms.FloatField(label=_("Latitude"), required=False, min_value=-90, max_value=90)
    longitude = forms.FloatField(label=_("Longitude"), required=False, min_value=-180, max_value=180)

    def clean(self):
        data = super().clean()
        if (data.get("latitude") is None) != (data.get("longitude") is None):
            raise forms.ValidationError(
                _("Indiquez la latitude et la longitude, ou aucune des deux (centre de la commune).")
            )
        return data


class MednumImportForm(forms.Form):
    file = forms.FileField(label=_("Fichier CSV (schéma des lieux de médiation numérique v1.0.1)"))


class StockPriceForm(forms.Form):
    price = euros_field(label=_("Prix TTC (€)"))


class SaleForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Nature"), choices=SaleKind.choices, initial=SaleKind.SALE, widget=forms.RadioSelect
    )
    payment_method = forms.ChoiceField(
        label=_("Moyen de paiement"), choices=PaymentMethod.choices, initial=PaymentMethod.CASH
    )


class DeviceChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, device):
        return f"{device.category.name} — {device}"


class LoanForm(forms.Form):
    beneficiary = forms.ModelChoiceField(label=_("Emprunteur"), queryset=None)
    device = DeviceChoiceField(label=_("Appareil"), queryset=None)
    due_on = forms.DateField(label=_("À rendre le"), widget=DATE)

    def __init__(self, *args, beneficiaries, devices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["beneficiary"].queryset = beneficiaries
        self.fields["device"].queryset = devices


class LoanReturnForm(forms.Form):
    note = forms.CharField(label=_("État au retour"), max_length=255, required=False)


class ReturnForm(forms.Form):
    defect = forms.CharField(label=_("Défaut constaté"), widget=forms.Textarea(attrs={"rows": 2}))
    remedy = forms.ChoiceField(label=_("Solution proposée"), choices=ReturnRemedy.choices)


class ReturnSendForm(forms.Form):
    refurbisher = forms.ModelChoiceField(
        label=_("Atelier"),
        queryset=Organisation.objects.filter(kind=OrganisationKind.REFURBISHER, is_active=True),
    )
