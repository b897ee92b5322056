from datetime import timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from beneficiaries.forms import DATE, euros_field
from reemploi.enums import OrganisationKind
from reemploi.models import Organisation
from refurbishers.resets import FactoryReset

from .enums import (
    MEDNUM_PROGRAMMES,
    MEDNUM_SERVICES,
    SERVICE_SOLIDARITY_EQUIPMENT,
    AfterReturn,
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


RESET_FIELDS = ("started_at", "ended_at", "encryption_confirmed", "verified", "validator_name")
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class AfterReturnForm(forms.Form):
    """What becomes of a device that came back from a person: a verified factory reset here (only for
    the categories where it erases: `reset_allowed`), a workshop, or later (it then waits, blocked)."""

    after = forms.ChoiceField(
        label=_("Et maintenant ?"), widget=forms.RadioSelect, choices=AfterReturn.choices
    )
    refurbisher = forms.ModelChoiceField(
        label=_("Atelier qui effacera les données de l'emprunteur"),
        queryset=Organisation.objects.filter(kind=OrganisationKind.REFURBISHER, is_active=True),
        required=False,
    )
    started_at = forms.DateTimeField(label=_("Réinitialisation lancée le"), widget=DATETIME, required=False)
    ended_at = forms.DateTimeField(label=_("Terminée le"), widget=DATETIME, required=False)
    encryption_confirmed = forms.BooleanField(
        label=_("Le stockage de l'appareil est chiffré (iPhone, iPad ; Android 10 ou plus récent)"),
        required=False,
    )
    verified = forms.BooleanField(
        label=_("J'ai vérifié qu'il redémarre sur l'assistant de configuration, sans compte ni donnée"),
        required=False,
    )
    validator_name = forms.CharField(
        label=_("Personne qui valide (si ce n'est pas vous)"), max_length=150, required=False
    )

    def __init__(self, *args, reset_allowed=True, allow_later=True, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [
            (value, label)
            for value, label in AfterReturn.choices
            if (reset_allowed or value != AfterReturn.RESET) and (allow_later or value != AfterReturn.LATER)
        ]
        self.fields["after"].choices = choices
        self.reset_allowed = reset_allowed
        if not reset_allowed:
            for name in RESET_FIELDS:
                del self.fields[name]
        if not self.is_bound:
            now = timezone.localtime().replace(second=0, microsecond=0)
            self.initial.setdefault("after", AfterReturn.RESET if reset_allowed else AfterReturn.WORKSHOP)
            self.initial.setdefault("started_at", now - timedelta(minutes=15))
            self.initial.setdefault("ended_at", now)

    def clean(self):
        data = super().clean()
        after = data.get("after")
        if after == AfterReturn.WORKSHOP and not data.get("refurbisher"):
            self.add_error("refurbisher", _("Choisissez l'atelier qui effacera l'appareil."))
        if after == AfterReturn.RESET:
            for name in ("started_at", "ended_at"):
                if not data.get(name):
                    self.add_error(name, _("Indiquez l'heure de la réinitialisation."))
        return data

    def service_kwargs(self):
        """The keyword arguments of relais.services.loan_return (and of the stock's own step)."""
        data = self.cleaned_data
        kwargs = {"after": data["after"]}
        if data["after"] == AfterReturn.RESET:
            kwargs["reset"] = FactoryReset(
                started_at=data["started_at"],
                ended_at=data["ended_at"],
                encryption_confirmed=data["encryption_confirmed"],
                verified=data["verified"],
                validator_name=data.get("validator_name", ""),
            )
        elif data["after"] == AfterReturn.WORKSHOP:
            kwargs["refurbisher"] = data["refurbisher"]
        return kwargs


class LoanReturnForm(AfterReturnForm):
    note = forms.CharField(label=_("État au retour"), max_length=255, required=False)

    field_order = ["note", "after"]


class ReturnForm(forms.Form):
    defect = forms.CharField(label=_("Défaut constaté"), widget=forms.Textarea(attrs={"rows": 2}))
    remedy = forms.ChoiceField(label=_("Solution proposée"), choices=ReturnRemedy.choices)


class ReturnSendForm(forms.Form):
    refurbisher = forms.ModelChoiceField(
        label=_("Atelier"),
        queryset=Organisation.objects.filter(kind=OrganisationKind.REFURBISHER, is_active=True),
    )
