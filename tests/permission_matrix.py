"""Tools of the permission matrix: every URL pattern of the project, how to fill its arguments from
the world, how to request it as a role, and how to read the outcome as one short token.

Tokens: a status code ("200", "403", "404", "405"...), "L" a redirect to the login page, "R" another
redirect, "ok" anything that is not a refusal (a success, a form error, a redirect after saving),
"-" not checked."""

from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.shortcuts import resolve_url
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.resolvers import RegexPattern, RoutePattern

REFUSALS = {"L", "401", "403", "404"}
# The admin has its own staff gate, tested apart; Django's static and media serving are not ours.
EXCLUDED_PREFIXES = ("admin/", "static/", "media/")
# Tables whose row counts must not move when a forbidden POST is refused.
COUNTED_APPS = ("reemploi", "donors", "refurbishers", "beneficiaries", "relais", "indicators", "auth")


@dataclass(frozen=True)
class Endpoint:
    name: str
    route: str
    kwargs: tuple

    def url(self, values):
        """The URL with its arguments taken from `values` (a world object: kwarg name -> value, and
        optionally "query", a query string)."""
        missing = [kwarg for kwarg in self.kwargs if kwarg not in values]
        if missing:
            raise AssertionError(f"{self.name}: no value for {missing} in the world's object")
        url = reverse(self.name, kwargs={kwarg: values[kwarg] for kwarg in self.kwargs})
        return f"{url}?{values['query']}" if values.get("query") else url


def _kwargs_of(pattern):
    if isinstance(pattern, RoutePattern):
        return tuple(pattern.converters)
    if isinstance(pattern, RegexPattern):
        return tuple(pattern.regex.groupindex)
    return ()


def _walk(patterns, prefix="", namespace="", kwargs=()):
    for entry in patterns:
        route = prefix + str(entry.pattern)
        here = kwargs + _kwargs_of(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry.url_patterns, route, inner, here)
        elif isinstance(entry, URLPattern):
            yield Endpoint(f"{namespace}{entry.name}" if entry.name else route, route, here)


def endpoints():
    """Every URL pattern of the project but the admin and static/media serving, named by URL name
    (or by route when it has no name)."""
    found = [e for e in _walk(get_resolver().url_patterns) if not e.route.startswith(EXCLUDED_PREFIXES)]
    names = [e.name for e in found]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    assert not duplicates, f"URL names used twice, the matrix cannot tell them apart: {duplicates}"
    return found


def outcome(response):
    if response.status_code in (301, 302, 303):
        location = response.headers.get("Location", "")
        return "L" if location.startswith(resolve_url(settings.LOGIN_URL)) else "R"
    return str(response.status_code)


def matches(expected, actual):
    if expected == "-":
        return True
    if expected == "ok":
        return actual not in REFUSALS and not actual.startswith("5")
    return expected == actual


def body_of(response):
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def row_counts():
    """Rows per table of the project's apps, in one query."""
    from django.apps import apps

    tables = sorted(
        model._meta.db_table
        for app in COUNTED_APPS
        for model in apps.get_app_config(app).get_models()
        if not model._meta.proxy and model._meta.managed
    )
    quote = connection.ops.quote_name
    sql = " UNION ALL ".join(f"SELECT '{table}', COUNT(*) FROM {quote(table)}" for table in tables)
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return dict(cursor.fetchall())


def request_as(client, user, endpoint, values, method):
    """Request `endpoint` as `user` (None: anonymous) with `values` (see Endpoint.url); a POST sends
    the object's "post" body when it has one. Returns the response."""
    if user is not None:
        client.force_login(user)
    url = endpoint.url(values)
    if method == "post":
        return client.post(url, values.get("post", {}))
    return client.get(url)
