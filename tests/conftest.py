import os
import shutil
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from pos.accounts.models import Role
from tests.factories import ProductFactory, UserFactory


def pytest_collection_modifyitems(config, items):
    chromium = shutil.which("chromium")
    for item in items:
        if "browser" in item.keywords and not chromium:
            item.add_marker(pytest.mark.skip(reason="Debian's chromium is not installed (apt-get install chromium)"))


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """After the run, before the test database is dropped: close every connection to it. A thread of a
    test (a live server's, a race test's) or a process it started may still hold one, and PostgreSQL
    refuses to drop a database "being accessed by other users" (the test database was left behind)."""
    yield
    with django_db_blocker.unblock():
        from django.db import connections

        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                               "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        connections.close_all()


@pytest.fixture
def needs_postgres(db):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (row locks, concurrency or pg_dump): set DATABASE_URL=postgres://...")


def _user(role, username):
    return UserFactory(role=role, username=username)


@pytest.fixture
def admin_user(db):
    user = _user(Role.ADMIN, "boss")
    return user


@pytest.fixture
def manager(db):
    return _user(Role.MANAGER, "manager")


@pytest.fixture
def cashier(db):
    return _user(Role.CASHIER, "cashier")


@pytest.fixture
def other_cashier(db):
    return _user(Role.CASHIER, "cashier2")


@pytest.fixture
def bookkeeper(db):
    return _user(Role.BOOKKEEPER, "bookkeeper")


def client_for(user):
    """A Django test client logged in as `user` (admin pages, the checkout page)."""
    client = Client()
    client.force_login(user)
    return client


def api_client_for(user):
    from rest_framework.authtoken.models import Token

    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def api():
    """api(user) -> an APIClient authenticated with the user's token (api(None): anonymous)."""
    return api_client_for


@pytest.fixture
def product(db):
    return ProductFactory(name="Sugar 1kg", price=Decimal("180.00"), cost_price=Decimal("150.00"))


@pytest.fixture
def artifacts_dir():
    path = os.path.join(os.path.dirname(__file__), "..", "test-artifacts")
    os.makedirs(path, exist_ok=True)
    return os.path.abspath(path)
