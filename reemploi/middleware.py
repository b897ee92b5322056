from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequiredMiddleware
from rest_framework.views import APIView


class LoginRequiredMiddleware(DjangoLoginRequiredMiddleware):
    """Every page needs a login unless it opts out; API views authenticate themselves (session or
    token) and answer 401/403 as JSON instead of redirecting to the login page."""

    def process_view(self, request, view_func, view_args, view_kwargs):
        view_class = getattr(view_func, "cls", None) or getattr(view_func, "view_class", None)
        if view_class is not None and issubclass(view_class, APIView):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)


class ContentSecurityPolicyMiddleware:
    """Content-Security-Policy on every response. Scripts come from our own static files, or carry the
    per-request nonce (`<script nonce="{{ request.csp_nonce }}">`); nothing from another origin but
    the map's tile server when one is set."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        import secrets

        from django.conf import settings

        request.csp_nonce = secrets.token_urlsafe(16)
        response = self.get_response(request)
        if settings.CSP_ENABLED and "Content-Security-Policy" not in response:
            header = (
                "Content-Security-Policy-Report-Only"
                if settings.CSP_REPORT_ONLY
                else "Content-Security-Policy"
            )
            response[header] = self.policy(request.csp_nonce, settings)
        return response

    @staticmethod
    def policy(nonce, settings):
        images = ["'self'", "data:", "blob:", *settings.CSP_EXTRA_IMG_SRC]
        directives = {
            "default-src": ["'self'"],
            "script-src": ["'self'", f"'nonce-{nonce}'"],
            "style-src": ["'self'", "'unsafe-inline'"],
            "img-src": images,
            "font-src": ["'self'", "data:"],
            "connect-src": ["'self'"],
            "object-src": ["'none'"],
            "base-uri": ["'self'"],
            "form-action": ["'self'"],
            "frame-ancestors": ["'none'"],
        }
        return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


class RequestSizeLimitMiddleware:
    """Refuse every request whose announced body is larger than MAX_UPLOAD_SIZE with a 413, before
    anything reads it: the CSRF check parses a POST body, and Django streams uploads to memory or to
    temporary files before any form can check a size. Placed before CsrfViewMiddleware. Views that
    give their own answer (the public donation form) are marked `refuses_oversized` and let through.

    A body sent without Content-Length (chunked) is not read by Django at all."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        from django.conf import settings
        from django.http import JsonResponse
        from django.shortcuts import render
        from django.utils.translation import gettext as _

        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length <= settings.MAX_UPLOAD_SIZE or getattr(view_func, "refuses_oversized", False):
            return None
        max_mb = settings.MAX_UPLOAD_SIZE // (1024 * 1024)
        view_class = getattr(view_func, "cls", None) or getattr(view_func, "view_class", None)
        if view_class is not None and issubclass(view_class, APIView):
            message = _("Envoi trop volumineux : %(max_mb)s Mo au plus.") % {"max_mb": max_mb}
            response = JsonResponse({"detail": message}, status=413)
        else:
            response = render(request, "too_large.html", {"max_mb": max_mb}, status=413)
        response["Connection"] = "close"  # the unread body must not be taken for the next request
        return response
