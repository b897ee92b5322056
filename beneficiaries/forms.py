from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from reemploi.models import Departement, EquipmentCategory

from .enums import BeneficiaryKind, CriterionKind, DocumentType
from .models import Beneficiary, EligibilityCriterion
from .selectors import communes_for, departement_ids

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def euros_field(**kwargs):
    """An amount in euros typed the French way (« 640,50 ») or with a dot: a text box with a numeric
    keypad, not a number input whose parsing depends on the browser's language."""
    return forms.DecimalField(
        min_value=0,
        decimal_places=2,
        max_digits=8,
        localize=True,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
        error_messages={"invalid": _("Écrivez un montant en euros, par exemple 640,50.")},
        **kwargs,
    )


class CommuneChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, commune):
        codes = commune.postal_code_list
        return f"{commune.name} ({codes[0]})" if codes else commune.name


class RelaisChoiceMixin:
    """Adds a `relais` field only for people who act for several relais."""

    def _setup_relais(self, relais_list):
        self.relais_list = relais_list
        if len(relais_list) > 1:
            self.fields["relais"] = forms.ChoiceField(
                label=_("Relais"), choices=[(str(r.pk), r.name) for r in relais_list]
            )

    def chosen_relais(self):
        if len(self.relais_list) == 1:
            return self.relais_list[0]
        wanted = self.cleaned_data.get("relais")
        return next(r for r in self.relais_list if str(r.pk) == wanted)


class BeneficiaryForm(RelaisChoiceMixin, forms.Form):
    kind = forms.ChoiceField(
        label=_("Type"),
        choices=BeneficiaryKind.choices,
        initial=BeneficiaryKind.PERSON,
        widget=forms.RadioSelect,
    )
    first_name = forms.CharField(label=_("Prénom"), max_length=100, required=False)
    last_name = forms.CharField(label=_("Nom"), max_length=100, required=False)
    organisation_name = forms.CharField(label=_("Nom de l'association"), max_length=200, required=False)
    commune = CommuneChoiceField(label=_("Commune de résidence"), queryset=None)
    household_size = forms.IntegerField(
        label=_("Taille du foyer"), min_value=1, max_value=30, initial=1, required=False
    )
    same_household_as = forms.ModelChoiceField(
        label=_("Même foyer qu'une personne déjà enregistrée"),
        queryset=Beneficiary.objects.none(),
        required=False,
        help_text=_("Facultatif : le quota s'applique alors au foyer commun."),
    )

    def __init__(self, *args, relais_list, **kwargs):
        super().__init__(*args, **kwargs)
        self._setup_relais(relais_list)
        first = relais_list[0]
        self.fields["commune"].queryset = communes_for(first).prefetch_related("postal_codes")
        self.fields["same_household_as"].queryset = (
            Beneficiary.objects.active()
            .filter(relais__in=relais_list, kind=BeneficiaryKind.PERSON)
            .select_related("household")
        )

    def clean(self):
        data = super().clean()
        if data.get("kind") == BeneficiaryKind.PERSON and not (data.get("last_name") or "").strip():
            self.add_error("last_name", _("Indiquez au moins le nom de la personne."))
        if (
            data.get("kind") == BeneficiaryKind.ASSOCIATION
            and not (data.get("organisation_name") or "").strip()
        ):
            self.add_error("organisation_name", _("Indiquez le nom de l'association."))
        return data


class EligibilityCheckForm(forms.Form):
    criterion = forms.ModelChoiceField(label=_("Critère"), queryset=EligibilityCriterion.objects.none())
    document_type = forms.ChoiceField(
        label=_("Justificatif vu"),
        choices=[("", "---------")] + DocumentType.choices,
        help_text=_("Regardez le document ; ne le photocopiez pas et ne le scannez pas."),
    )
    declared_amount = euros_field(
        label=_("Montant lu (quotient familial)"),
        required=False,
        help_text=_("Seulement pour un critère à plafond ; ce montant n'est pas conservé."),
    )
    valid_until = forms.DateField(label=_("Valable jusqu'au"), required=False, widget=DATE)

    def __init__(self, *args, beneficiary, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["valid_until"].help_text = _("Par défaut : %(n)s mois.") % {
            "n": settings.ELIGIBILITY_VALIDITY_MONTHS
        }
        day = timezone.localdate()
        criteria = EligibilityCriterion.objects.in_force(day).filter(
            departement_id__in=departement_ids(beneficiary.relais)
        )
        if beneficiary.kind == BeneficiaryKind.ASSOCIATION:
            criteria = criteria.filter(kind=CriterionKind.ASSOCIATION)
        else:
            criteria = criteria.exclude(kind=CriterionKind.ASSOCIATION)
        self.fields["criterion"].queryset = criteria


class VoucherRedeemForm(forms.Form):
    code = forms.CharField(label=_("Code du bon"), max_length=20, help_text=_("Par exemple BON-7K3M2Q9T"))


class CriterionForm(forms.Form):
    departement = forms.ModelChoiceField(label=_("Département"), queryset=Departement.objects.all())
    kind = forms.ChoiceField(label=_("Critère"), choices=CriterionKind.choices)
    label = forms.CharField(label=_("Précision"), max_length=200, required=False)
    threshold_amount = euros_field(
        label=_("Plafond (€)"),
        required=False,
        help_text=_("Pour le quotient familial."),
    )
    effective_from = forms.DateField(label=_("En vigueur à partir du"), widget=DATE)
    effective_until = forms.DateField(label=_("Jusqu'au (inclus)"), required=False, widget=DATE)


class CriterionEndForm(forms.Form):
    effective_until = forms.DateField(label=_("Dernier jour de validité"), widget=DATE)


class QuotaExceptionForm(forms.Form):
    household = forms.CharField(
        label=_("Référence du foyer"), max_length=12, help_text=_("Par exemple F-7K3M2Q")
    )
    category = forms.ModelChoiceField(
        label=_("Catégorie"), queryset=EquipmentCategory.objects.filter(is_decree_category=True)
    )
    extra_devices = forms.IntegerField(
        label=_("Appareils supplémentaires"), min_value=1, max_value=5, initial=1
    )
    valid_until = forms.DateField(label=_("Valable jusqu'au"), widget=DATE)
    reason = forms.CharField(
        label=_("Raison"),
        widget=forms.Textarea(attrs={"rows": 3}),
        min_length=10,
        help_text=_("Obligatoire, conservée."),
        error_messages={"min_length": _("Écrivez la raison de cette exception (10 caractères au moins).")},
    )


class VoucherForm(forms.Form):
    first_name = forms.CharField(label=_("Prénom"), max_length=100, required=False)
    last_name = forms.CharField(label=_("Nom"), max_length=100)
    commune = CommuneChoiceField(label=_("Commune de résidence"), queryset=None)
    household_size = forms.IntegerField(label=_("Taille du foyer"), min_value=1, max_value=30, initial=1)
    category = forms.ModelChoiceField(
        label=_("Équipement conseillé"),
        queryset=EquipmentCategory.objects.filter(is_decree_category=True),
        required=False,
    )
    expires_on = forms.DateField(label=_("Valable jusqu'au"), widget=DATE, required=False)

    def __init__(self, *args, prescriber, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["expires_on"].help_text = _("Par défaut : %(n)s jours.") % {
            "n": settings.VOUCHER_VALIDITY_DAYS
        }
        self.fields["commune"].queryset = communes_for(prescriber).prefetch_related("postal_codes")
