"""Optional two-factor authentication (TOTP, django-otp) for staff accounts.

A person turns it on from "Sécurité du compte" by scanning a QR code with an authenticator app and
typing a code. From then on, logging in asks for a code after the password."""

import base64
import io

import segno
from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import login as auth_login
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

PENDING_USER = "otp_pending_user"
PENDING_BACKEND = "otp_pending_backend"
PENDING_NEXT = "otp_pending_next"


class TokenForm(forms.Form):
    token = forms.CharField(
        label=gettext_lazy("Code à 6 chiffres"),
        max_length=6,
        min_length=6,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "pattern": "[0-9]{6}"}
        ),
    )

    def clean_token(self):
        token = self.cleaned_data["token"].strip()
        if not token.isdigit():
            raise forms.ValidationError(_("Le code ne contient que des chiffres."))
        return token


def confirmed_device(user):
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def start_second_step(request, user, backend, next_url):
    """Called by the login view once the password is right, when the user has a confirmed device."""
    request.session[PENDING_USER] = user.pk
    request.session[PENDING_BACKEND] = backend
    request.session[PENDING_NEXT] = next_url
    return redirect("otp_verify")


@login_not_required
@require_http_methods(["GET", "POST"])
def verify(request):
    user_id = request.session.get(PENDING_USER)
    if not user_id:
        return redirect("login")
    user = get_user_model().objects.get(pk=user_id)
    device = confirmed_device(user)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        verified, _message = device.verify_is_allowed() if device else (False, None)
        if device and verified and device.verify_token(form.cleaned_data["token"]):
            next_url = request.session.get(PENDING_NEXT) or ""
            backend = request.session.get(PENDING_BACKEND)
            for key in (PENDING_USER, PENDING_BACKEND, PENDING_NEXT):
                request.session.pop(key, None)
            auth_login(request, user, backend=backend)
            otp_login(request, device)
            if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
                next_url = reverse("home")
            return HttpResponseRedirect(next_url)
        if device and not verified:
            form.add_error("token", _("Trop d'essais : patientez quelques instants avant de réessayer."))
        else:
            form.add_error("token", _("Ce code n'est pas valide ou a expiré."))
    return render(request, "registration/otp_verify.html", {"form": form})


def _qr_data_uri(text):
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="svg", scale=5, border=2, xmldecl=False)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


@require_http_methods(["GET", "POST"])
def setup(request):
    """Turn two-factor authentication on (scan, then confirm with a code) or off."""
    user = request.user
    device = confirmed_device(user)
    if device:
        if request.method == "POST" and request.POST.get("action") == "disable":
            form = TokenForm(request.POST)
            if form.is_valid() and device.verify_token(form.cleaned_data["token"]):
                TOTPDevice.objects.filter(user=user).delete()
                messages.success(request, _("La double authentification est désactivée."))
                return redirect("otp_setup")
            messages.error(request, _("Code incorrect : la double authentification reste active."))
        return render(request, "registration/otp_setup.html", {"enabled": True, "form": TokenForm()})

    pending = TOTPDevice.objects.filter(user=user, confirmed=False).first() or TOTPDevice.objects.create(
        user=user, name=_("Application d'authentification"), confirmed=False
    )
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if pending.verify_token(form.cleaned_data["token"]):
            pending.confirmed = True
            pending.save(update_fields=["confirmed"])
            otp_login(request, pending)
            messages.success(
                request,
                _("La double authentification est activée : un code vous sera demandé à chaque connexion."),
            )
            return redirect("otp_setup")
        form.add_error(
            "token", _("Ce code n'est pas valide : vérifiez l'heure de votre téléphone et réessayez.")
        )
    secret = base64.b32encode(pending.bin_key).decode().rstrip("=")
    return render(
        request,
        "registration/otp_setup.html",
        {
            "enabled": False,
            "form": form,
            "qr_uri": _qr_data_uri(pending.config_url),
            "secret": secret,
        },
    )
