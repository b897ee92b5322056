"""API fuzzing: schemathesis generates requests for every operation of /api/schema/ and checks that
none answers a server error and that every documented response conforms to the schema.

Runs in-process against the WSGI application and the test database, authenticated as the demo
network's coordinator (who may reach every endpoint), so that detail endpoints find real objects too.
One test per operation, built from the schema itself: a new endpoint is fuzzed without a new test."""

import os

import pytest
import schemathesis
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.wsgi import get_wsgi_application
from django.urls import resolve
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

MAX_EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "10"))
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]

SCHEMA = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]


@pytest.fixture
def coordinator_token(db):
    with open(os.devnull, "w") as quiet:
        call_command("demo", stdout=quiet)
    user = get_user_model().objects.get(username="coordination")
    return Token.objects.get_or_create(user=user)[0].key


def real_lookup_values(operation):
    """Values of the path parameter that name existing objects, found from the view behind the path,
    so that half of the generated requests reach real objects instead of 404s."""
    names = [p.name for p in operation.path_parameters]
    if len(names) != 1:
        return names[0] if names else None, []
    probe = operation.path.replace("{" + names[0] + "}", "00000000-0000-0000-0000-000000000000")
    view = getattr(resolve(probe).func, "cls", None)
    serializer = getattr(view, "serializer_class", None)
    model = getattr(getattr(serializer, "Meta", None), "model", None)
    if model is None:
        return names[0], []
    field = getattr(view, "lookup_field", "pk")
    return names[0], [str(v) for v in model._base_manager.values_list(field, flat=True)[:50]]


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """The WSGI app fires request_started/finished, whose close_old_connections would close the test
    transaction's connection on PostgreSQL (autocommit is off inside it); Django's test client
    disconnects them the same way."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_schema_lists_operations():
    assert len(OPERATIONS) >= 10


def fuzz(operation, headers):
    """Generate requests for one operation; half of them name real objects when it has a path id."""
    parameter, real_values = real_lookup_values(operation)

    @given(case=operation.as_strategy(), real=st.sampled_from(real_values) if real_values else st.none())
    @settings(
        max_examples=MAX_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    def run(case, real):
        if real is not None:
            case.path_parameters[parameter] = real
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()


@pytest.mark.django_db
def test_every_api_operation_never_fails_and_matches_its_schema(coordinator_token):
    """One pass over every operation on one demo network (building it per operation costs minutes);
    the failures of all operations are gathered and reported together."""
    headers = {"Authorization": f"Token {coordinator_token}"}
    failures = []
    for operation in OPERATIONS:
        try:
            fuzz(operation, headers)
        except Exception as failure:  # noqa: BLE001 - every operation's failure is reported below
            failures.append(f"{operation.method.upper()} {operation.path}:\n{failure}")
    assert not failures, "\n\n".join(failures)
