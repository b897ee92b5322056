"""Login with throttling: after too many failed attempts for an account or from an address, logging in
is refused for a while, with a clear message (the password is not even checked then)."""

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


def client_ip(request):
    """The client's address; behind a trusted reverse proxy, the last hop it added."""
    if settings.TRUST_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR", "")


def _keys(request, username):
    return [f"login-fail:user:{(username or '').strip().lower()}", f"login-fail:ip:{client_ip(request)}"]


class ThrottledAuthenticationForm(AuthenticationForm):
    def clean(self):
        username = self.data.get("username", "")
        keys = _keys(self.request, username)
        limit = settings.LOGIN_MAX_ATTEMPTS
        if any((cache.get(key) or 0) >= limit for key in keys):
            minutes = max(1, settings.LOGIN_LOCKOUT_SECONDS // 60)
            raise ValidationError(
                _("Trop de tentatives de connexion échouées. Réessayez dans %(minutes)s minutes.")
                % {"minutes": minutes},
                code="throttled",
            )
        try:
            return super().clean()
        except ValidationError:
            for key in keys:
                cache.add(key, 0, settings.LOGIN_LOCKOUT_SECONDS)
                try:
                    cache.incr(key)
                except ValueError:
                    cache.set(key, 1, settings.LOGIN_LOCKOUT_SECONDS)
            raise


class ThrottledLoginView(LoginView):
    form_class = ThrottledAuthenticationForm

    def form_valid(self, form):
        from .two_factor import confirmed_device, start_second_step

        cache.delete_many(_keys(self.request, form.cleaned_data.get("username")))
        user = form.get_user()
        if confirmed_device(user):
            return start_second_step(self.request, user, user.backend, self.get_redirect_url())
        return super().form_valid(form)
