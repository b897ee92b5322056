"""Every endpoint refuses a body announced larger than MAX_UPLOAD_SIZE with a 413, before anything
reads it: the test sends a body that cannot be read at all."""

import io
import re
import uuid

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern

pytestmark = pytest.mark.django_db

OVERSIZED = 200 * 1024 * 1024
UPLOAD_ENDPOINTS = [  # the pages and API endpoints that take files
    "/dons/proposer/",
    "/v/REC-2026-000001/",
    "/atelier/imports/",
    "/relais/import/",
    "/api/refurbishers/imports/",
]


class Unreadable(io.RawIOBase):
    def read(self, *args):
        raise AssertionError("the body must not be read")

    readinto = read


def post_oversized(client, path):
    return client.generic(
        "POST",
        path,
        b"",
        content_type="multipart/form-data; boundary=xyz",
        CONTENT_LENGTH=str(OVERSIZED),
        **{"wsgi.input": Unreadable()},
    )


def _sample(converter_name):
    return {"uuid": str(uuid.uuid4()), "int": "1", "slug": "x", "path": "x"}.get(converter_name, "x")


def every_path(resolver=None, prefix=""):
    """A concrete path for every route of the URL configuration (converters filled with samples)."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        pattern = entry.pattern
        if isinstance(pattern, RoutePattern):
            text = re.sub(r"<(?:(\w+):)?\w+>", lambda m: _sample(m.group(1)), str(pattern))
        else:  # DRF's router: ^imports/(?P<uuid>[^/.]+)/$
            text = re.sub(r"\(\?P<\w+>[^)]*\)", "x", str(pattern)).strip("^$").replace("\\.", ".")
            if any(char in text for char in "()[]?*+\\"):
                continue  # format suffixes and the like
        if isinstance(entry, URLResolver):
            yield from every_path(entry, prefix + text)
        elif isinstance(entry, URLPattern):
            yield "/" + prefix + text


@pytest.mark.parametrize("path", UPLOAD_ENDPOINTS)
def test_an_oversized_upload_is_refused_unread(client, refurbisher, path):
    client.force_login(refurbisher)
    response = post_oversized(client, path)
    assert response.status_code == 413
    assert "volumineux" in response.content.decode()
    if path.startswith("/api/"):
        assert "Mo au plus" in response.json()["detail"]


def test_an_oversized_body_is_refused_anonymously_too():
    response = post_oversized(Client(), "/atelier/imports/")
    assert response.status_code == 413


def test_every_route_refuses_an_oversized_body_unread(client, coordinator):
    client.force_login(coordinator)
    paths = sorted(set(every_path()))
    assert len(paths) > 100 and set(UPLOAD_ENDPOINTS) - {"/v/REC-2026-000001/"} <= set(paths)
    answers = {path: post_oversized(client, path).status_code for path in paths}
    # A path that does not resolve (404) never reaches a view, so nothing reads its body either.
    assert {path: status for path, status in answers.items() if status not in (413, 404)} == {}


def test_a_body_within_the_limit_still_reaches_the_view(client, refurbisher, settings):
    client.force_login(refurbisher)
    response = client.post("/atelier/imports/", {"kind": "csv"})
    assert response.status_code != 413
