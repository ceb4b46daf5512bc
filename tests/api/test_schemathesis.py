"""Property-based API testing from the OpenAPI schema (schemathesis): for every documented operation and
every role, generated requests never get a 5xx and every documented answer matches the schema.

Bounded for CI: SCHEMATHESIS_EXAMPLES (default 3) examples per operation, each sent once per role.
"""

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from pos.accounts.models import Role
from tests.factories import ProductFactory, UserFactory

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "3"))
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


def _load_schema():
    """The OpenAPI document drf-spectacular serves at /api/schema/, generated in-process at collection
    (no database needed), called through the real WSGI app."""
    import json

    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    from config.wsgi import application

    document = json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))
    loaded = schemathesis.openapi.from_dict(document)
    loaded.app = application
    return loaded


schema = _load_schema()


@pytest.fixture(autouse=True)
def keep_test_connection_open():
    """Like Django's test client: the WSGI request signals must not close the test's DB connection."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def role_headers(db):
    from rest_framework.authtoken.models import Token

    ProductFactory()
    headers = {}
    for role in Role.values:
        user = UserFactory(role=role, username=f"fuzz-{role}")
        headers[role] = {"Authorization": f"Token {Token.objects.get_or_create(user=user)[0].key}"}
    return headers


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_no_server_error_and_answers_match_the_schema_for_every_role(case, role_headers):
    for headers in role_headers.values():
        case.call_and_validate(headers=headers, checks=CHECKS)


def test_the_fuzzed_schema_covers_the_documented_api(api, admin_user):
    assert api(None).get("/api/schema/?format=json").status_code == 401  # DEBUG off: a login first
    paths = api(admin_user).get("/api/schema/?format=json").json()["paths"]
    for path in ["/api/auth/login/", "/api/products/", "/api/products/barcode/{code}/", "/api/inventory/movements/",
                 "/api/sales/sales/", "/api/payments/payments/initiate/", "/api/reports/sales/"]:
        assert path in paths
