"""Protection of the public form: a rate limit per client IP (in the cache, with the IP hashed),
and request bodies refused on their announced length before anything reads them."""

import hashlib
import time
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.shortcuts import render
from django.views.decorators.csrf import csrf_protect

from reemploi.accounts import client_ip


def _bucket(scope, request, window):
    digest = hashlib.sha256(f"{settings.SECRET_KEY}:{client_ip(request)}".encode()).hexdigest()[:32]
    return f"donors:rate:{scope}:{digest}:{int(time.time() // window)}"


def hit(scope, request, *, limit, window=3600):
    """Count one request of this client in the current window; False once over the limit."""
    key = _bucket(scope, request, window)
    cache.add(key, 0, timeout=window)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        count = 1
    return count <= limit


def too_many(request):
    return render(request, "donors/too_many.html", status=429)


def refuse_oversized(view):
    """Refuse a request whose announced body is bigger than MAX_UPLOAD_SIZE before the CSRF check or
    the form parse read it; the CSRF check runs right after, on the view itself."""
    protected = csrf_protect(view)

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.MAX_UPLOAD_SIZE:
            return render(
                request,
                "donors/too_large.html",
                {"max_mb": settings.MAX_UPLOAD_SIZE // (1024 * 1024)},
                status=413,
            )
        return protected(request, *args, **kwargs)

    wrapped.refuses_oversized = True  # its own page, instead of RequestSizeLimitMiddleware's
    wrapped.csrf_exempt = True  # checked by csrf_protect above, once the size is known to be sane
    return wrapped
