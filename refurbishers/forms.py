from decimal import Decimal

from django import forms
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _

from reemploi.models import EquipmentCategory, Organisation

from . import parsers
from .enums import (
    CosmeticGrade,
    FunctionalGrade,
    ImportKind,
    MediumKind,
    PartKind,
    PartOrigin,
    SanitisationStandard,
    TreatmentCode,
)
from .models import Audit, Destruction, Part, Sanitisation, StorageMedium, WasteLot

PER_PAGE_CHOICES = [(25, "25"), (50, "50"), (100, "100"), (200, "200")]
WORKSHOP_STATE_FILTERS = [
    ("", _("Tous les appareils à l'atelier")),
    ("received", _("À diagnostiquer")),
    ("audited", _("Diagnostiqués")),
    ("sanitised", _("Données effacées")),
    ("ready", _("Prêts")),
]


BLANK = "---------"


class ChoosePrompt:
    """Lists open on « — Choisissez — » rather than Django's row of dashes."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, forms.ModelChoiceField):
                if field.empty_label == BLANK:
                    field.empty_label = _("— Choisissez —")
            elif isinstance(field, forms.ChoiceField) and field.choices and field.choices[0] == ("", BLANK):
                field.choices = [("", _("— Choisissez —")), *field.choices[1:]]


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def format_value(self, value):
        if hasattr(value, "strftime"):
            value = timezone.localtime(value) if timezone.is_aware(value) else value
            return value.strftime("%Y-%m-%dT%H:%M")
        return value


class DateInput(forms.DateInput):
    input_type = "date"

    def format_value(self, value):
        return value.strftime("%Y-%m-%d") if hasattr(value, "strftime") else value


class WorkQueueFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Rechercher ou scanner"),
        required=False,
        help_text=_("Numéro de série, d'inventaire, identifiant public ou QR code de l'étiquette"),
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    state = forms.ChoiceField(label=_("Étape"), required=False, choices=WORKSHOP_STATE_FILTERS)
    category = forms.ModelChoiceField(
        label=_("Catégorie"),
        required=False,
        queryset=EquipmentCategory.objects.all(),
        empty_label=_("Toutes"),
    )
    workshop = forms.ModelChoiceField(
        label=_("Atelier"), required=False, queryset=Organisation.objects.none(), empty_label=_("Tous")
    )
    per_page = forms.TypedChoiceField(
        label=_("Par page"), required=False, choices=PER_PAGE_CHOICES, coerce=int, empty_value=50, initial=50
    )

    def __init__(self, *args, workshops=None, **kwargs):
        super().__init__(*args, **kwargs)
        if workshops is not None and len(workshops) > 1:
            self.fields["workshop"].queryset = Organisation.objects.filter(pk__in=[w.pk for w in workshops])
        else:
            del self.fields["workshop"]


class CapacityField(forms.DecimalField):
    """A capacity typed in Go (10⁹ octets, as disks are sold), stored in bytes."""

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Capacité (Go)"))
        kwargs.setdefault("min_value", Decimal("0.001"))
        kwargs.setdefault("max_digits", 12)
        kwargs.setdefault("decimal_places", 3)
        super().__init__(**kwargs)


class MediumForm(ChoosePrompt, forms.ModelForm):
    capacity_gb = CapacityField(required=False)

    class Meta:
        model = StorageMedium
        fields = ["kind", "interface", "vendor", "model", "serial_number", "property_number"]
        help_texts = {
            "serial_number": _(
                "Celui imprimé sur l'étiquette du disque : il identifie la preuve d'effacement."
            )
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["serial_number"].required = True

    def medium_fields(self):
        data = {name: self.cleaned_data[name] for name in self.Meta.fields}
        capacity = self.cleaned_data.get("capacity_gb")
        data["capacity_bytes"] = int(capacity * 10**9) if capacity else None
        return data


class AuditForm(ChoosePrompt, forms.ModelForm):
    """The diagnostic, with the device's main storage medium or the declaration that it has none."""

    storage_kind = forms.ChoiceField(
        label=_("Support de stockage principal"),
        required=False,
        choices=[("", _("— déjà enregistré ou à saisir plus tard —"))]
        + MediumKind.choices
        + [("none", _("Aucun support de stockage"))],
    )
    storage_serial = forms.CharField(label=_("Numéro de série du support"), required=False, max_length=100)
    storage_model = forms.CharField(label=_("Modèle du support"), required=False, max_length=150)
    storage_capacity_gb = CapacityField(required=False)
    no_storage_reason = forms.CharField(
        label=_("Constat d'absence de support"),
        required=False,
        max_length=255,
        help_text=_(
            "Si « aucun support » : ce que vous avez vérifié (par exemple « baie vide, pas d'eMMC »)."
        ),
    )

    class Meta:
        model = Audit
        fields = list(Audit.RECORDED_FIELDS)
        widgets = {
            "notes": forms.Textarea(attrs={"rows": 3}),
            "charger_included": forms.NullBooleanSelect,
            "keyboard_test": forms.RadioSelect,
            "touchpad_test": forms.RadioSelect,
            "ports_test": forms.RadioSelect,
            "webcam_test": forms.RadioSelect,
            "wifi_test": forms.RadioSelect,
        }

    def __init__(self, *args, device=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.device = device
        self.fields["cosmetic_grade"].required = True
        self.fields["functional_grade"].required = True
        self.fields["battery_health_pct"].widget.attrs.update(min=0, max=100)
        if device is not None and device.storage_media.filter(detached_at__isnull=True).exists():
            for name in (
                "storage_kind",
                "storage_serial",
                "storage_model",
                "storage_capacity_gb",
                "no_storage_reason",
            ):
                del self.fields[name]

    def clean_battery_health_pct(self):
        value = self.cleaned_data.get("battery_health_pct")
        if value is not None and value > 100:
            raise forms.ValidationError(_("Un pourcentage ne dépasse pas 100."))
        return value

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("storage_kind")
        if kind and kind != "none" and not cleaned.get("storage_serial"):
            self.add_error(
                "storage_serial",
                _("Le numéro de série du support est nécessaire pour tracer son effacement."),
            )
        if kind == "none" and not cleaned.get("no_storage_reason"):
            self.add_error("no_storage_reason", _("Décrivez ce que vous avez vérifié."))
        return cleaned

    def storage(self):
        """(medium fields or None, no-storage reason)."""
        kind = self.cleaned_data.get("storage_kind")
        if not kind:
            return None, ""
        if kind == "none":
            return None, self.cleaned_data["no_storage_reason"]
        capacity = self.cleaned_data.get("storage_capacity_gb")
        return {
            "kind": kind,
            "serial_number": self.cleaned_data["storage_serial"],
            "model": self.cleaned_data.get("storage_model", ""),
            "capacity_bytes": int(capacity * 10**9) if capacity else None,
        }, ""


class SanitisationForm(ChoosePrompt, forms.ModelForm):
    class Meta:
        model = Sanitisation
        fields = [
            "level",
            "technique",
            "standard",
            "tool",
            "tool_version",
            "method_detail",
            "verification_method",
            "verification_result",
            "started_at",
            "ended_at",
            "operator_name",
            "operator_title",
            "operator_phone",
            "validator_name",
            "validator_title",
            "outcome",
            "destination",
            "data_backed_up",
            "passes",
            "rounds",
            "blanking",
            "error_count",
            "bytes_erased",
            "notes",
        ]
        widgets = {
            "started_at": DateTimeInput,
            "ended_at": DateTimeInput,
            "notes": forms.Textarea(attrs={"rows": 2}),
        }

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("started_at"), cleaned.get("ended_at")
        if start and end and end < start:
            self.add_error("ended_at", _("La fin ne peut pas précéder le début."))
        if end and end > timezone.now() + timezone.timedelta(minutes=5):
            self.add_error("ended_at", _("Cette date est dans le futur."))
        return cleaned


class DestructionForm(ChoosePrompt, forms.ModelForm):
    class Meta:
        model = Destruction
        fields = [
            "iso_level",
            "method",
            "performed_at",
            "operator_name",
            "provider_name",
            "provider_siret",
            "certificate_reference",
            "notes",
        ]
        widgets = {"performed_at": DateTimeInput, "notes": forms.Textarea(attrs={"rows": 2})}
        help_texts = {
            "provider_name": _("Si la destruction est confiée à un prestataire."),
            "iso_level": _("Par exemple H-4 ou H-5 pour un disque dur, E-3 à E-5 pour un SSD."),
        }


class DetachForm(forms.Form):
    reason = forms.CharField(label=_("Motif du retrait"), max_length=255)


class NoStorageForm(forms.Form):
    reason = forms.CharField(
        label=_("Ce que vous avez vérifié"),
        max_length=255,
        help_text=_(
            "Par exemple « écran sans mémoire interne » ou « baie de disque vide, pas d'eMMC soudée »."
        ),
    )
    confirm = forms.BooleanField(
        label=_("J'atteste, en mon nom, que cet appareil ne contient aucun support de stockage."),
        required=True,
    )


class ReadyForm(ChoosePrompt, forms.Form):
    cosmetic_grade = forms.ChoiceField(label=_("Grade esthétique"), choices=CosmeticGrade.choices)
    functional_grade = forms.ChoiceField(label=_("État fonctionnel"), choices=FunctionalGrade.choices)
    battery_health_pct = forms.IntegerField(
        label=_("Santé de la batterie (%)"), required=False, min_value=0, max_value=100
    )
    os_name = forms.CharField(label=_("Système installé"), required=False, max_length=100)
    has_charger = forms.BooleanField(label=_("Chargeur fourni"), required=False)
    has_storage = forms.BooleanField(label=_("Disque présent"), required=False)
    has_os = forms.BooleanField(label=_("Système d'exploitation installé"), required=False)
    battery_ok = forms.BooleanField(label=_("Batterie en état de fonctionnement"), required=False)
    price = forms.DecimalField(label=_("Prix solidaire (€ TTC)"), min_value=0, max_digits=8, decimal_places=2)
    notes = forms.CharField(label=_("Observations"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, cap=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.cap = cap
        if cap is not None:
            self.fields["price"].max_value = cap.amount
            self.fields["price"].widget.attrs["max"] = str(cap.amount)
            self.fields["price"].help_text = _("Plafond en vigueur : %(amount)s € (%(reference)s).") % {
                "amount": number_format(cap.amount, 2),
                "reference": cap.legal_reference,
            }
        else:
            self.fields["price"].help_text = _("Catégorie non plafonnée par le décret.")

    def clean_price(self):
        price = self.cleaned_data["price"]
        if self.cap is not None and price > self.cap.amount:
            raise forms.ValidationError(
                _("Le prix ne peut pas dépasser le plafond de %(amount)s € en vigueur.")
                % {"amount": number_format(self.cap.amount, 2)}
            )
        return price


class RepairForm(forms.Form):
    actions = forms.CharField(label=_("Actions réalisées"), widget=forms.Textarea(attrs={"rows": 3}))
    duration_minutes = forms.IntegerField(label=_("Temps passé (minutes)"), min_value=0, max_value=100_000)
    stock_parts = forms.ModelMultipleChoiceField(
        label=_("Pièces prises dans le stock"),
        queryset=Part.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Un disque installé devient un support de l'appareil : il faudra l'effacer."),
    )
    other_cost = forms.DecimalField(
        label=_("Autres frais (€)"), min_value=0, max_digits=8, decimal_places=2, initial=0
    )
    notes = forms.CharField(label=_("Observations"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, parts=None, **kwargs):
        super().__init__(*args, **kwargs)
        if parts is not None:
            self.fields["stock_parts"].queryset = parts


class BoughtPartForm(ChoosePrompt, forms.Form):
    description = forms.CharField(label=_("Pièce achetée"), max_length=200, required=False)
    quantity = forms.IntegerField(label=_("Quantité"), min_value=1, max_value=1000, initial=1, required=False)
    unit_cost = forms.DecimalField(
        label=_("Prix unitaire (€)"), min_value=0, max_digits=8, decimal_places=2, required=False
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("description") and cleaned.get("unit_cost") is None:
            self.add_error("unit_cost", _("Indiquez le prix de la pièce achetée."))
        return cleaned


BoughtPartFormSet = forms.formset_factory(BoughtPartForm, extra=2, max_num=10)


class ComponentForm(ChoosePrompt, forms.Form):
    kind = forms.ChoiceField(
        label=_("Type"),
        choices=[("", "—")] + [c for c in PartKind.choices if c[0] != PartKind.STORAGE],
        required=False,
    )
    description = forms.CharField(label=_("Description"), max_length=200, required=False)
    serial_number = forms.CharField(label=_("N° de série"), max_length=100, required=False)

    def clean(self):
        cleaned = super().clean()
        if bool(cleaned.get("kind")) != bool(cleaned.get("description")):
            raise forms.ValidationError(_("Indiquez le type et la description de la pièce."))
        return cleaned


ComponentFormSet = forms.formset_factory(ComponentForm, extra=4, max_num=30)


class HarvestForm(forms.Form):
    note = forms.CharField(label=_("Pourquoi démonter cet appareil"), max_length=500)


class PartForm(ChoosePrompt, forms.ModelForm):
    origin = forms.ChoiceField(
        label=_("Provenance"), choices=[c for c in PartOrigin.choices if c[0] != PartOrigin.HARVESTED]
    )

    class Meta:
        model = Part
        fields = ["kind", "medium_kind", "description", "serial_number", "origin"]

    def __init__(self, *args, workshops=(), **kwargs):
        super().__init__(*args, **kwargs)
        if len(workshops) > 1:
            self.fields["workshop"] = forms.ModelChoiceField(
                label=_("Atelier"), queryset=Organisation.objects.filter(pk__in=[w.pk for w in workshops])
            )


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)]


class ImportForm(forms.Form):
    kind = forms.ChoiceField(label=_("Type de rapport"), choices=ImportKind.choices, widget=forms.HiddenInput)
    files = MultipleFileField(label=_("Fichier(s)"))
    workshop = forms.ModelChoiceField(
        label=_("Atelier"), queryset=Organisation.objects.none(), required=False
    )
    nwipe_method = forms.ChoiceField(
        label=_("Méthode nwipe utilisée"),
        choices=parsers.NWIPE_METHOD_CHOICES,
        required=False,
        help_text=_("Sert seulement si le rapport ne l'indique pas (première version du format JSON)."),
    )
    nwipe_verify = forms.ChoiceField(
        label=_("Vérification nwipe"),
        choices=parsers.NWIPE_VERIFY_CHOICES,
        required=False,
        initial="last",
        help_text=_("Sert seulement si le rapport ne l'indique pas."),
    )
    standard = forms.ChoiceField(
        label=_("Référentiel appliqué"), choices=SanitisationStandard.choices, required=False
    )
    operator_name = forms.CharField(label=_("Opérateur"), max_length=150, required=False)

    def __init__(self, *args, workshops=(), **kwargs):
        super().__init__(*args, **kwargs)
        if len(workshops) > 1:
            self.fields["workshop"].queryset = Organisation.objects.filter(pk__in=[w.pk for w in workshops])
            self.fields["workshop"].required = True
        else:
            del self.fields["workshop"]


class WasteLotForm(ChoosePrompt, forms.ModelForm):
    destination_siret = forms.CharField(
        label=_("SIRET de l'opérateur"), max_length=20, help_text=_("14 chiffres, espaces acceptés.")
    )
    treatment_code = forms.CharField(
        label=_("Code de traitement"),
        widget=forms.Select(choices=[("", "—")] + TreatmentCode.choices),
        help_text=_("Opération R (valorisation) ou D (élimination) du prestataire."),
    )

    class Meta:
        model = WasteLot
        fields = [
            "waste_code",
            "eco_organisme",
            "destination_name",
            "destination_siret",
            "treatment_code",
            "bsdd_number",
            "notes",
        ]
        widgets = {"notes": forms.Textarea(attrs={"rows": 2})}

    def clean_treatment_code(self):
        code = self.cleaned_data["treatment_code"].strip().upper()
        if code == "R0":
            raise forms.ValidationError(
                _(
                    "R0 (réemploi) n'est pas un traitement DEEE : un appareil réemployé ne va pas dans un lot DEEE."
                )
            )
        if code not in TreatmentCode.values:
            raise forms.ValidationError(_("Choisissez un code R1 à R13 ou D1 à D15."))
        return code

    def clean_destination_siret(self):
        from reemploi.validators import validate_siret

        value = "".join(self.cleaned_data["destination_siret"].split())
        validate_siret(value)
        return value


class HandOverForm(ChoosePrompt, forms.Form):
    handover_date = forms.DateField(label=_("Date de remise"), widget=DateInput)
    bsdd_number = forms.CharField(label=_("N° de BSDD (Trackdéchets)"), max_length=40, required=False)
    measured_weight_kg = forms.DecimalField(
        label=_("Poids pesé (kg)"), required=False, min_value=Decimal("0.01"), max_digits=9, decimal_places=2
    )

    def clean_handover_date(self):
        day = self.cleaned_data["handover_date"]
        if day > timezone.localdate():
            raise forms.ValidationError(_("La remise ne peut pas être datée dans le futur."))
        return day


class IdentifiersForm(forms.Form):
    identifiers = forms.CharField(
        label=_("Appareils à ajouter"),
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "off"}),
        help_text=_("Scannez les étiquettes ou tapez les identifiants, un par ligne."),
    )

    def identifier_list(self):
        raw = self.cleaned_data["identifiers"].replace(",", "\n").replace(";", "\n").split()
        return [item.rstrip("/").rsplit("/", 1)[-1].strip().upper() for item in raw if item.strip()]


class ShipmentForm(ChoosePrompt, forms.Form):
    workshop = forms.ModelChoiceField(label=_("Atelier expéditeur"), queryset=Organisation.objects.none())
    relais = forms.ModelChoiceField(label=_("Relais destinataire"), queryset=Organisation.objects.none())
    carrier = forms.CharField(
        label=_("Transport"),
        max_length=150,
        required=False,
        help_text=_("Navette de l'atelier, transporteur…"),
    )
    notes = forms.CharField(label=_("Observations"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, workshops=(), relais=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["workshop"].queryset = Organisation.objects.filter(pk__in=[w.pk for w in workshops])
        if len(workshops) == 1:
            self.fields["workshop"].initial = workshops[0].pk
            self.fields["workshop"].widget = forms.HiddenInput()
        self.fields["relais"].queryset = relais if relais is not None else Organisation.objects.none()


class ReceiptForm(forms.Form):
    note = forms.CharField(label=_("Remarques"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, lines=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.lines = list(lines)
        for line in self.lines:
            self.fields[f"device_{line.device.uuid}"] = forms.BooleanField(
                label=f"{line.device.public_id} – {line.device}", required=False, initial=True
            )

    def received_devices(self):
        return [line.device for line in self.lines if self.cleaned_data.get(f"device_{line.device.uuid}")]

    def rows(self):
        return [(line, self[f"device_{line.device.uuid}"]) for line in self.lines]
