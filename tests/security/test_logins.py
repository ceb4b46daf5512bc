"""Logins and tokens: lockout on both logins (django-axes) keyed by username + the client's address as the
trusted proxies tell it, tokens that end, the API description behind a login, error pages without
secrets, export files never public."""

import sys
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client, RequestFactory
from django.utils import timezone
from django.views.debug import technical_500_response
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from pos.reports.models import ExportJob, ExportStatus
from tests.conftest import api_client_for
from tests.factories import UserFactory

LOGIN = "/api/auth/login/"
ADMIN_LOGIN = "/admin/login/?next=/admin/"
PASSWORD = "pass12345"


def api_login(username, password, **headers):
    return APIClient().post(LOGIN, {"username": username, "password": password}, format="json", **headers)


def admin_login(username, password, **headers):
    client = Client()
    answer = client.post(ADMIN_LOGIN, {"username": username, "password": password}, **headers)
    return answer, client


@pytest.mark.django_db
def test_api_login_brute_force_is_locked_out_even_with_the_right_password(cashier, settings):
    settings.AXES_FAILURE_LIMIT = 5
    for _ in range(4):
        assert api_login("cashier", "guess").status_code == 400
    assert api_login("cashier", "guess").status_code == 429  # the fifth wrong one locks
    locked = api_login("cashier", PASSWORD)
    assert locked.status_code == 429 and locked.json()["code"] == "locked_out"
    assert "token" not in locked.json()


@pytest.mark.django_db
def test_admin_login_brute_force_is_locked_out_even_with_the_right_password(manager, settings):
    settings.AXES_FAILURE_LIMIT = 5
    for _ in range(4):
        answer, _ = admin_login("manager", "guess")
        assert answer.status_code == 200  # the form again, with its error
    assert admin_login("manager", "guess")[0].status_code == 429
    answer, client = admin_login("manager", PASSWORD)
    assert answer.status_code == 429
    assert client.get("/admin/").status_code == 302  # not logged in


@pytest.mark.django_db
def test_changing_x_forwarded_for_does_not_escape_the_lockout(cashier, settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.TRUSTED_PROXY_COUNT = 1  # nginx appends the real client (203.0.113.7) to what the client sent
    for n in range(3):
        api_login("cashier", "guess", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}, 203.0.113.7", REMOTE_ADDR="127.0.0.1")
    answer = api_login("cashier", PASSWORD, HTTP_X_FORWARDED_FOR="10.9.9.9, 203.0.113.7", REMOTE_ADDR="127.0.0.1")
    assert answer.status_code == 429


@pytest.mark.django_db
def test_without_a_trusted_proxy_x_forwarded_for_is_ignored(cashier, settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.TRUSTED_PROXY_COUNT = 0
    for n in range(3):
        api_login("cashier", "guess", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
    assert api_login("cashier", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.99").status_code == 429


@pytest.mark.django_db
def test_two_tills_behind_one_proxy_do_not_lock_each_other_out(settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.TRUSTED_PROXY_COUNT = 1
    UserFactory(username="till1")
    UserFactory(username="till2")
    shop = {"HTTP_X_FORWARDED_FOR": "196.201.214.10", "REMOTE_ADDR": "127.0.0.1"}  # one shop, one proxy
    for _ in range(4):
        api_login("till1", "guess", **shop)
        admin_login("till1", "guess", **shop)
    assert api_login("till1", PASSWORD, **shop).status_code == 429
    assert api_login("till2", PASSWORD, **shop).status_code == 200
    answer, client = admin_login("till2", PASSWORD, **shop)
    assert answer.status_code == 302 and client.get("/admin/").status_code in (200, 302)
    # the locked till from another address (another shop) is not locked either
    assert api_login("till1", PASSWORD, HTTP_X_FORWARDED_FOR="41.90.1.1", REMOTE_ADDR="127.0.0.1").status_code == 200


# --- Tokens ------------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_login_answers_token_and_user_and_the_token_works(cashier):
    body = api_login("cashier", PASSWORD).json()
    assert set(body) == {"token", "user"} and body["user"]["username"] == "cashier"
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {body['token']}")
    assert client.get("/api/auth/me/").status_code == 200


@pytest.mark.django_db
def test_a_password_change_ends_the_token(cashier):
    client = api_client_for(cashier)
    assert client.get("/api/auth/me/").status_code == 200
    cashier.set_password("a-new-long-password-2026")
    cashier.save()
    assert client.get("/api/auth/me/").status_code == 401
    assert not Token.objects.filter(user=cashier).exists()
    assert api_login("cashier", "a-new-long-password-2026").status_code == 200


@pytest.mark.django_db
def test_deactivating_a_user_in_the_admin_ends_the_token(cashier, admin_user):
    client = api_client_for(cashier)
    assert client.get("/api/auth/me/").status_code == 200
    admin = Client()
    admin.force_login(admin_user)
    page = admin.get(f"/admin/accounts/user/{cashier.pk}/change/")
    data = {k: v for k, v in page.context["adminform"].form.initial.items() if v is not None}
    data.update({"username": "cashier", "role": "cashier", "date_joined_0": "2026-01-01", "date_joined_1": "08:00:00"})
    data.pop("is_active", None)
    data.pop("password", None)
    answer = admin.post(f"/admin/accounts/user/{cashier.pk}/change/", data)
    assert answer.status_code == 302, answer.content[:2000]
    cashier.refresh_from_db()
    assert not cashier.is_active
    assert not Token.objects.filter(user=cashier).exists()
    cashier.is_active = True
    cashier.save()
    assert client.get("/api/auth/me/").status_code == 401  # reactivated: the old token stays ended


@pytest.mark.django_db
def test_a_token_ends_after_its_lifetime_and_login_gives_a_new_one(cashier, settings):
    settings.API_TOKEN_TTL_HOURS = 12
    first = api_login("cashier", PASSWORD).json()["token"]
    Token.objects.filter(key=first).update(created=timezone.now() - timedelta(hours=13))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {first}")
    assert client.get("/api/auth/me/").status_code == 401
    second = api_login("cashier", PASSWORD).json()["token"]
    assert second != first


# --- The API's description, error pages, export files ------------------------------------------------

@pytest.mark.django_db
def test_api_schema_and_docs_need_a_login_when_debug_is_off(cashier):
    assert APIClient().get("/api/schema/").status_code == 401
    for page in ("/swagger/", "/redoc/"):
        answer = Client().get(page)
        assert answer.status_code == 302 and "/admin/login/" in answer["Location"]
    assert api_client_for(cashier).get("/api/schema/").status_code == 200
    client = Client()
    client.force_login(cashier)
    assert client.get("/swagger/").status_code == 200


SECRETS = {"MPESA_SECURITY_CREDENTIAL": "Zm9v" + "Q1JFREVOVElBTA==", "MPESA_PASSKEY": "pass" + "key-value-123",
           "REDIS_URL": "redis://:redis-" + "password-9@10.0.0.1:6379/0"}


@pytest.fixture
def secret_settings(settings):
    settings.DEBUG = True
    for name, value in SECRETS.items():
        setattr(settings, name, value)
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": SECRETS["REDIS_URL"]}}


def _crash(request):
    raise RuntimeError("boom")


def test_error_pages_never_show_secrets(secret_settings):
    request = RequestFactory().get("/boom/", HTTP_AUTHORIZATION="Token " + "abcdef" * 3)
    try:
        _crash(request)
    except RuntimeError:
        page = technical_500_response(request, *sys.exc_info()).content.decode()
    assert "MPESA_SECURITY_CREDENTIAL" in page  # the setting is listed ...
    for secret in [*SECRETS.values(), "abcdef" * 3]:
        assert secret not in page  # ... its value is not


@pytest.mark.django_db
def test_export_files_under_media_are_never_public_even_with_debug(bookkeeper, cashier, settings, tmp_path):
    from config.urls import media

    settings.MEDIA_ROOT = tmp_path
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "ledger.csv").write_text("secret sales")
    factory = RequestFactory()

    def get(user):
        from django.contrib.auth.models import AnonymousUser
        from django.core.exceptions import PermissionDenied

        request = factory.get("/media/exports/ledger.csv")
        request.user = user or AnonymousUser()
        try:
            return media(request, "exports/ledger.csv").status_code
        except PermissionDenied:
            return 403

    assert get(None) == 302  # to the login page
    assert get(cashier) == 403
    assert get(bookkeeper) == 200
    assert Client().get("/media/exports/ledger.csv").status_code == 404  # DEBUG off: no media route at all


@pytest.mark.django_db
def test_old_export_files_are_deleted_by_the_task(bookkeeper, settings, tmp_path):
    from django.core.files.base import ContentFile

    from pos.reports.tasks import SCHEDULES, delete_old_exports

    settings.MEDIA_ROOT = tmp_path
    settings.EXPORT_KEEP_HOURS = 24
    day = timezone.localdate()
    old = ExportJob.objects.create(start=day, end=day, created_by=bookkeeper, status=ExportStatus.DONE,
                                   finished_at=timezone.now() - timedelta(hours=25))
    old.file.save("old.csv", ContentFile(b"a,b"))
    new = ExportJob.objects.create(start=day, end=day, created_by=bookkeeper, status=ExportStatus.DONE,
                                   finished_at=timezone.now() - timedelta(hours=1))
    new.file.save("new.csv", ContentFile(b"a,b"))
    old_path = old.file.path
    assert delete_old_exports() == 1
    old.refresh_from_db()
    new.refresh_from_db()
    assert not old.file and "deleted" in old.error and new.file
    assert not __import__("os").path.exists(old_path)
    assert any(s["func"] == "pos.reports.tasks.delete_old_exports" for s in SCHEDULES)
    assert Decimal(1)  # keep the import list honest
