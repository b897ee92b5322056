from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class DonorDocumentForm(forms.Form):
    """Which organisation and which year a donor document is asked for."""

    organisation = forms.UUIDField(widget=forms.HiddenInput)
    year = forms.IntegerField(label=_("Année"), min_value=2000)

    def clean_year(self):
        year = self.cleaned_data["year"]
        if year > timezone.localdate().year:
            raise forms.ValidationError(_("Choisissez une année écoulée ou l'année en cours."))
        return year


def year_choices():
    today = timezone.localdate().year
    return list(range(today, today - 6, -1))
