import re

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import BaseUserCreationForm
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from reemploi.enums import OrganisationKind
from reemploi.models import Commune, EquipmentCategory, Organisation, Site

from .enums import AVAILABILITY_CHOICES, Condition, DonationStatus, DonorKind, HandoverMode, Verdict
from .models import AcceptancePolicy
from .photos import ACCEPT, prepare_photo
from .rules import LineInput
from .services import MAX_LINES, drop_off_sites, parse_items

POSTAL_CODE = re.compile(r"^\d{5}$")


class SiteChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, site):
        return site_label(site)


def site_label(site):
    where = ", ".join(
        part for part in (site.address, f"{site.postal_code} {site.commune.name}".strip()) if part
    )
    return f"{site.name} – {where}" if where else site.name


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ACCEPT}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


class DonationForm(forms.Form):
    """Who gives, where, how. The equipment lines are a formset (`LineFormSet`)."""

    donor_kind = forms.ChoiceField(
        label=_("Vous donnez en tant que"),
        choices=DonorKind.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Indiquez qui donne : entreprise, organisme public, association ou particulier.")
        },
    )
    organisation_name = forms.CharField(label=_("Nom de l'organisation"), max_length=200, required=False)
    siret = forms.CharField(
        label=_("SIRET"),
        max_length=20,
        required=False,
        help_text=_("14 chiffres (facultatif pour une association sans SIRET)."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    contact_name = forms.CharField(
        label=_("Nom et prénom du contact"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    contact_email = forms.EmailField(
        label=_("E-mail"),
        help_text=_("Votre lien de suivi y sera envoyé."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    contact_phone = forms.CharField(
        label=_("Téléphone"),
        max_length=30,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel"}),
    )
    postal_code = forms.CharField(
        label=_("Code postal"),
        max_length=5,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "postal-code", "pattern": r"\d{5}"}
        ),
    )
    commune = forms.ChoiceField(label=_("Commune"), required=False, choices=[])
    address = forms.CharField(
        label=_("Adresse d'enlèvement"),
        max_length=255,
        required=False,
        help_text=_("Numéro et rue. Obligatoire pour un enlèvement."),
        widget=forms.TextInput(attrs={"autocomplete": "street-address"}),
    )
    access_notes = forms.CharField(
        label=_("Précisions d'accès"),
        max_length=500,
        required=False,
        help_text=_("Étage, ascenseur, quai de chargement, code d'accès…"),
    )
    handover_mode = forms.ChoiceField(
        label=_("Remise du matériel"),
        choices=HandoverMode.choices,
        widget=forms.RadioSelect,
        initial=HandoverMode.PICKUP,
    )
    drop_off_site = SiteChoiceField(
        label=_("Atelier de dépôt"),
        queryset=Site.objects.none(),
        required=False,
        empty_label=_("Choisissez un atelier"),
    )
    availability = forms.MultipleChoiceField(
        label=_("Vos disponibilités"),
        choices=AVAILABILITY_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    availability_note = forms.CharField(
        label=_("Autres précisions sur vos disponibilités"), max_length=500, required=False
    )
    reuse_commitment = forms.BooleanField(
        label=_(
            "Je prends acte de l'engagement préalable du réseau à orienter ce matériel vers le réemploi et à en "
            "apporter la preuve (attestation par numéro de série : réemployé ou recyclé), au sens du décret "
            "n° 2023-266 du 12 avril 2023."
        ),
        required=False,
    )
    retired_stock_count = forms.IntegerField(
        label=_("Équipements informatiques réformés en stock au 1er janvier de cette année"),
        help_text=_(
            "Écrans et petits équipements informatiques (DEEE 2° et 6°), hors équipements de plus de 10 ans."
        ),
        min_value=0,
        max_value=10_000_000,
        required=False,
    )
    photos = MultipleFileField(
        label=_("Photos (facultatif)"),
        required=False,
        help_text=_("JPEG, PNG ou WebP."),
    )
    privacy_consent = forms.BooleanField(
        label=_(
            "J'ai lu la notice de confidentialité et j'accepte que ces données soient conservées pour traiter le don."
        ),
        required=False,
    )
    # Honeypot: hidden from people (and from assistive technologies), filled by robots.
    website = forms.CharField(label=_("Ne pas remplir ce champ"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["drop_off_site"].queryset = drop_off_sites()
        self.fields["postal_code"].widget.attrs.update(
            {
                "hx-get": reverse("donors:communes"),
                "hx-trigger": "input changed delay:300ms",
                "hx-target": "#commune-field",
                "hx-swap": "outerHTML",
            }
        )
        self.fields["photos"].help_text = _("JPEG, PNG ou WebP, %(count)s photos de %(size)s Mo au plus.") % {
            "count": settings.DONORS_PHOTO_MAX_COUNT,
            "size": settings.DONORS_PHOTO_MAX_SIZE // (1024 * 1024),
        }
        self.communes = []
        postal_code = (
            self.data.get(self.add_prefix("postal_code")) or self.initial.get("postal_code") or ""
        ).strip()
        if POSTAL_CODE.match(postal_code):
            self.communes = list(Commune.objects.with_postal_code(postal_code).order_by("name"))
        self.fields["commune"].choices = [("", _("Choisissez la commune"))] + [
            (commune.insee_code, commune.name) for commune in self.communes
        ]

    def clean_siret(self):
        return "".join(self.cleaned_data["siret"].split())

    def clean_postal_code(self):
        value = self.cleaned_data["postal_code"].strip()
        if not POSTAL_CODE.match(value):
            raise ValidationError(_("Un code postal compte 5 chiffres."))
        if not self.communes:
            raise ValidationError(_("Nous ne connaissons pas ce code postal."))
        return value

    def clean_commune(self):
        value = self.cleaned_data.get("commune")
        by_code = {commune.insee_code: commune for commune in self.communes}
        if value in by_code:
            return by_code[value]
        if len(self.communes) == 1:
            return self.communes[0]
        if self.communes:
            raise ValidationError(_("Plusieurs communes ont ce code postal : choisissez la vôtre."))
        return None

    def clean_photos(self):
        photos = self.cleaned_data.get("photos") or []
        if len(photos) > settings.DONORS_PHOTO_MAX_COUNT:
            raise ValidationError(
                _("%(count)s photos au plus.") % {"count": settings.DONORS_PHOTO_MAX_COUNT},
                code="photo_count",
            )
        prepared, errors = [], []
        for photo in photos:
            try:
                prepared.append(prepare_photo(photo))
            except ValidationError as error:
                errors.extend(error.messages)
        if errors:
            raise ValidationError(errors)
        return prepared

    @property
    def is_spam(self):
        return bool((self.data.get(self.add_prefix("website")) or "").strip())


class DonationLineForm(forms.Form):
    category = forms.ModelChoiceField(
        label=_("Équipement"),
        queryset=EquipmentCategory.objects.all(),
        empty_label=_("Choisissez"),
        error_messages={"required": _("Choisissez le type d'équipement.")},
    )
    quantity = forms.IntegerField(
        label=_("Quantité"),
        min_value=1,
        max_value=10_000,
        initial=1,
        error_messages={
            "min_value": _("Indiquez au moins un équipement."),
            "max_value": _("10 000 équipements au plus par ligne."),
        },
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    age_years = forms.IntegerField(
        label=_("Âge (ans)"),
        min_value=0,
        max_value=60,
        required=False,
        error_messages={
            "min_value": _("Indiquez un âge en années, entre 0 et 60."),
            "max_value": _("Indiquez un âge en années, entre 0 et 60."),
        },
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "placeholder": _("environ")}),
    )
    condition = forms.ChoiceField(label=_("État"), choices=Condition.choices, initial=Condition.WORKS)
    has_charger = forms.BooleanField(label=_("Chargeur fourni"), required=False)
    holds_data = forms.BooleanField(label=_("Contient des données"), required=False)
    description = forms.CharField(label=_("Marque, modèle, précisions"), max_length=255, required=False)
    inventory = forms.CharField(
        label=_("Inventaire (facultatif)"),
        required=False,
        help_text=_(
            "Un équipement par ligne : numéro de série, ou « numéro de série ; numéro d'inventaire »."
        ),
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
    )

    def clean_inventory(self):
        return parse_items(self.cleaned_data["inventory"])

    def as_line(self):
        data = self.cleaned_data
        return {
            "category": data["category"],
            "quantity": data["quantity"],
            "age_years": data.get("age_years"),
            "condition": data["condition"],
            "has_charger": data.get("has_charger", False),
            "holds_data": data.get("holds_data", False),
            "description": data.get("description", ""),
            "announced_items": data.get("inventory") or [],
        }


class BaseLineFormSet(forms.BaseFormSet):
    def active_forms(self):
        return [
            form
            for form in self.forms
            if form.has_changed() and not (self.can_delete and self._should_delete_form(form))
        ]


LineFormSet = forms.formset_factory(
    DonationLineForm,
    formset=BaseLineFormSet,
    extra=0,
    min_num=1,
    max_num=MAX_LINES,
    validate_max=True,
    can_delete=True,
)
LINES_PREFIX = "lines"


def _int(value):
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def lenient_lines(data, prefix=LINES_PREFIX):
    """What the donor typed so far, line by line, tolerant of incomplete input: for the live verdict.
    Returns (index, LineInput) pairs, deleted lines left out."""
    total = min(_int(data.get(f"{prefix}-TOTAL_FORMS")) or 0, MAX_LINES)
    category_ids = {_int(data.get(f"{prefix}-{index}-category")) for index in range(total)} - {None}
    categories = EquipmentCategory.objects.in_bulk(category_ids)
    lines = []
    for index in range(total):
        key = f"{prefix}-{index}-"
        if data.get(key + "DELETE"):
            continue
        condition = data.get(key + "condition")
        lines.append(
            (
                index,
                LineInput(
                    category=categories.get(_int(data.get(key + "category"))),
                    quantity=max(_int(data.get(key + "quantity")) or 0, 0),
                    age_years=_int(data.get(key + "age_years")),
                    condition=condition if condition in Condition.values else Condition.WORKS,
                    has_charger=bool(data.get(key + "has_charger")),
                    holds_data=bool(data.get(key + "holds_data")),
                ),
            )
        )
    return lines


# --- The coordinator's screens --------------------------------------------------------------------


class QueueFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Rechercher"), required=False, help_text=_("Référence, donateur, e-mail, commune")
    )
    status = forms.ChoiceField(
        label=_("Statut"), required=False, choices=[("", _("Tous")), *DonationStatus.choices]
    )
    donor_kind = forms.ChoiceField(
        label=_("Donateur"), required=False, choices=[("", _("Tous")), *DonorKind.choices]
    )
    handover_mode = forms.ChoiceField(
        label=_("Remise"), required=False, choices=[("", _("Toutes")), *HandoverMode.choices]
    )
    refurbisher = forms.ModelChoiceField(
        label=_("Atelier"),
        required=False,
        queryset=Organisation.objects.filter(kind=OrganisationKind.REFURBISHER),
        empty_label=_("Tous"),
    )


class QualifyLineForm(forms.Form):
    decision = forms.ChoiceField(label=_("Décision"), choices=Verdict.choices, widget=forms.RadioSelect)
    quantity = forms.IntegerField(label=_("Quantité retenue"), min_value=0, max_value=10_000, required=False)
    reason = forms.CharField(
        label=_("Motif communiqué au donateur"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, line, **kwargs):
        self.line = line
        kwargs.setdefault(
            "initial",
            {
                "decision": line.decision or line.verdict,
                "quantity": line.accepted_quantity
                if line.decision
                else (line.quantity if line.verdict in Verdict.collected() else 0),
                "reason": line.decision_reason or line.verdict_reason,
            },
        )
        super().__init__(*args, prefix=f"line-{line.pk}", **kwargs)


class QualifyForm(forms.Form):
    refurbisher = forms.ModelChoiceField(
        label=_("Atelier qui recevra le don"),
        queryset=Organisation.objects.filter(kind=OrganisationKind.REFURBISHER, is_active=True),
        required=False,
        empty_label=_("Choisissez un atelier"),
    )
    message = forms.CharField(
        label=_("Message au donateur (facultatif)"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ScheduleForm(forms.Form):
    mode = forms.ChoiceField(label=_("Remise"), choices=HandoverMode.choices, widget=forms.RadioSelect)
    planned_date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    slot_start = forms.TimeField(
        label=_("Créneau : de"),
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    slot_end = forms.TimeField(
        label=_("à"), required=False, widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    carrier = forms.ModelChoiceField(
        label=_("Transporteur"),
        queryset=Organisation.objects.filter(
            kind__in=[OrganisationKind.REFURBISHER, OrganisationKind.COORDINATOR], is_active=True
        ),
        required=False,
        empty_label=_("Autre (préciser)"),
    )
    carrier_name = forms.CharField(label=_("Autre transporteur"), max_length=150, required=False)
    site = SiteChoiceField(label=_("Atelier de dépôt"), queryset=Site.objects.none(), required=False)
    note = forms.CharField(
        label=_("Consignes (facultatif)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = drop_off_sites()


class CollectForm(forms.Form):
    items_count = forms.IntegerField(
        label=_("Nombre d'équipements collectés"), min_value=1, max_value=100_000
    )
    weight_kg = forms.DecimalField(
        label=_("Poids total (kg)"), min_value=0, max_digits=8, decimal_places=2, localize=True
    )
    note = forms.CharField(
        label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class ReceptionForm(forms.Form):
    site = forms.ModelChoiceField(
        label=_("Site de réception"), queryset=Site.objects.none(), empty_label=None
    )
    weight_kg = forms.DecimalField(
        label=_("Poids reçu (kg)"), min_value=0, max_digits=8, decimal_places=2, required=False, localize=True
    )
    note = forms.CharField(
        label=_("Observations"), required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, refurbisher, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = Site.objects.filter(
            organisation=refurbisher, is_active=True
        ).select_related("commune")


class ReceptionLineForm(forms.Form):
    received_quantity = forms.IntegerField(label=_("Reçus"), min_value=0, max_value=100_000)
    items = forms.CharField(
        label=_("Numéros de série et d'inventaire"),
        required=False,
        help_text=_("Saisissez ou scannez un équipement par ligne : « série » ou « série ; inventaire »."),
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "autocomplete": "off"}),
    )
    note = forms.CharField(label=_("Observation"), required=False, max_length=1000)

    def __init__(self, *args, line, **kwargs):
        self.line = line
        kwargs.setdefault("initial", {"received_quantity": line.expected_quantity})
        super().__init__(*args, prefix=f"rline-{line.pk}", **kwargs)

    def clean_items(self):
        return parse_items(self.cleaned_data["items"])


class ExtraLineForm(forms.Form):
    category = forms.ModelChoiceField(
        label=_("Catégorie"),
        queryset=EquipmentCategory.objects.all(),
        required=False,
        empty_label=_("Choisissez"),
    )
    received_quantity = forms.IntegerField(label=_("Reçus"), min_value=0, max_value=100_000, required=False)
    items = forms.CharField(
        label=_("Numéros"), required=False, widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false"})
    )
    note = forms.CharField(label=_("Précisions"), required=False, max_length=255)

    def clean_items(self):
        return parse_items(self.cleaned_data["items"])


ExtraLineFormSet = forms.formset_factory(ExtraLineForm, extra=2, max_num=20)


class MessageForm(forms.Form):
    body = forms.CharField(
        label=_("Votre message"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )


class SlotAnswerForm(forms.Form):
    note = forms.CharField(
        label=_("Vos disponibilités pour un autre créneau"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ReconciliationForm(forms.Form):
    note = forms.CharField(
        label=_("Commentaire (facultatif)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class CancelForm(forms.Form):
    reason = forms.CharField(
        label=_("Motif de l'annulation"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class ResendLinkForm(forms.Form):
    email = forms.EmailField(label=_("L'e-mail donné lors de votre proposition"))
    website = forms.CharField(label=_("Ne pas remplir ce champ"), required=False)


class DonorAccountForm(BaseUserCreationForm):
    """A donor organisation's member account, created from the tracking link."""

    class Meta:
        model = get_user_model()
        fields = ["username", "first_name", "last_name"]
        labels = {"username": _("Identifiant de connexion"), "first_name": _("Prénom"), "last_name": _("Nom")}


class PolicyForm(forms.ModelForm):
    class Meta:
        model = AcceptancePolicy
        fields = [
            "default_max_age_years",
            "too_old_reason",
            "broken_reason",
            "not_collected_reason",
            "citizen_notice",
            "citizen_pickup_min_quantity",
            "citizen_drop_off_reason",
        ]
        widgets = {
            name: forms.Textarea(attrs={"rows": 3})
            for name in (
                "too_old_reason",
                "broken_reason",
                "not_collected_reason",
                "citizen_notice",
                "citizen_drop_off_reason",
            )
        }


class CategoryRuleForm(forms.Form):
    collected = forms.BooleanField(label=_("Collecté"), required=False)
    collect_broken = forms.BooleanField(label=_("Même hors service"), required=False)
    max_age_years = forms.IntegerField(
        label=_("Âge maximal (ans)"), min_value=1, max_value=50, required=False
    )
    reason = forms.CharField(label=_("Motif si non collecté"), required=False, max_length=1000)

    def __init__(self, *args, category, **kwargs):
        self.category = category
        super().__init__(*args, prefix=f"cat-{category.code}", **kwargs)


class EuroField(forms.DecimalField):
    """An amount as people type it in French: "1 250,50 €", "1250.5"."""

    def to_python(self, value):
        if isinstance(value, str):
            value = re.sub(r"[\s\u00a0\u202f€]", "", value).replace(",", ".")
        return super().to_python(value)


class TaxReceiptForm(forms.Form):
    declared_value = EuroField(
        label=_("Valeur de votre don (€)"),
        help_text=_(
            "La valeur que votre entreprise déclare, sous sa responsabilité : en général la valeur nette "
            "comptable des biens donnés."
        ),
        max_digits=12,
        decimal_places=2,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )

    def clean_declared_value(self):
        value = self.cleaned_data["declared_value"]
        if value <= 0:
            raise ValidationError(_("Indiquez la valeur de votre don en euros, supérieure à zéro."))
        return value


class TaxReceiptDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("issue", _("Émettre")), ("refuse", _("Refuser"))])
    reason = forms.CharField(label=_("Motif du refus (envoyé au donateur)"), required=False, max_length=2000)
