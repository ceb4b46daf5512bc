import pytest
from django.test import override_settings
from rest_framework.authtoken.models import Token

from pos.accounts.models import Role, User

LOGIN, LOGOUT, REGISTER, ME = "/api/auth/login/", "/api/auth/logout/", "/api/auth/register/", "/api/auth/me/"
STRONG = "Kilimanjaro-2026!"


def with_password(user, password="pass12345"):
    """Give the user a known password."""
    user.set_password(password)
    user.save(update_fields=["password"])
    return user


REAL_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["admin_user", "manager", "cashier", "bookkeeper"])
def test_login_answers_a_token_and_the_users_role(role, request, api):
    user = with_password(request.getfixturevalue(role))
    answer = api(None).post(LOGIN, {"username": user.username, "password": "pass12345"})
    assert answer.status_code == 200
    body = answer.json()
    assert body["token"] == Token.objects.get(user=user).key
    assert body["user"] == {"id": user.id, "username": user.username, "role": user.role,
                            "email": user.email, "first_name": "", "last_name": ""}
    assert api(None).get(ME, HTTP_AUTHORIZATION=f"Token {body['token']}").json()["role"] == user.role


@pytest.mark.django_db
def test_wrong_password_is_a_400_with_a_message(cashier, api):
    with_password(cashier)
    answer = api(None).post(LOGIN, {"username": "cashier", "password": "wrong"})
    assert answer.status_code == 400
    assert answer.json()["detail"] == ["Unable to log in with the given username and password."]
    assert not Token.objects.filter(user=cashier).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("body, field", [
    ({"username": "nobody", "password": "x"}, "detail"),
    ({"username": "cashier"}, "password"),
    ({}, "username"),
])
def test_login_with_missing_or_unknown_input_is_400_never_500(body, field, cashier, api):
    answer = api(None).post(LOGIN, body)
    assert answer.status_code == 400
    assert field in answer.json()


@pytest.mark.django_db
def test_inactive_user_cannot_log_in(cashier, api):
    with_password(cashier)
    cashier.is_active = False
    cashier.save()
    assert api(None).post(LOGIN, {"username": "cashier", "password": "pass12345"}).status_code == 400


@pytest.mark.django_db
def test_logout_deletes_the_token(cashier, api):
    client = api(cashier)
    assert client.get(ME).status_code == 200
    assert client.post(LOGOUT).status_code == 204
    assert not Token.objects.filter(user=cashier).exists()
    assert client.get(ME).status_code == 401


@pytest.mark.django_db
def test_anonymous_user_cannot_log_out_or_use_the_api(api):
    assert api(None).post(LOGOUT).status_code == 401
    assert api(None).get("/api/products/").status_code == 401


@pytest.mark.django_db
def test_admin_registers_a_user_who_can_then_log_in(admin_user, api):
    answer = api(admin_user).post(REGISTER, {"username": "wanjiku", "password": STRONG, "role": "cashier",
                                             "email": "wanjiku@duka.example", "first_name": "Wanjiku",
                                             "last_name": "Kariuki"})
    assert answer.status_code == 201
    assert answer.json()["role"] == "cashier" and "password" not in answer.json()
    user = User.objects.get(username="wanjiku")
    assert list(user.groups.values_list("name", flat=True)) == ["Cashier"]
    assert user.has_perm("catalog.view_product") and not user.has_perm("catalog.change_product")
    login = api(None).post(LOGIN, {"username": "wanjiku", "password": STRONG})
    assert login.json()["user"]["role"] == "cashier"


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["manager", "cashier", "bookkeeper"])
def test_only_an_admin_may_register(who, request, api):
    user = request.getfixturevalue(who)
    answer = api(user).post(REGISTER, {"username": "newbie", "password": STRONG, "role": "cashier"})
    assert answer.status_code == 403
    assert not User.objects.filter(username="newbie").exists()


@pytest.mark.django_db
def test_anonymous_register_is_refused(api):
    assert api(None).post(REGISTER, {"username": "x", "password": STRONG, "role": "admin"}).status_code == 401


@pytest.mark.django_db
@pytest.mark.parametrize("body, field", [
    ({"username": "amos", "password": STRONG, "role": "owner"}, "role"),
    ({"username": "amos", "password": STRONG}, "role"),
    ({"username": "amos me", "password": STRONG, "role": "cashier"}, "username"),
    ({"username": "amos", "password": STRONG, "role": "cashier", "email": "not-an-email"}, "email"),
    ({"username": "boss", "password": STRONG, "role": "cashier"}, "username"),
])
def test_register_bad_input_is_400_with_the_field(body, field, admin_user, api):
    answer = api(admin_user).post(REGISTER, body)
    assert answer.status_code == 400
    assert field in answer.json()
    assert User.objects.count() == 1


@pytest.mark.django_db
@override_settings(AUTH_PASSWORD_VALIDATORS=REAL_VALIDATORS)
@pytest.mark.parametrize("password", ["123", "password123", "12345678901", "qwertyuiop"])
def test_register_weak_password_is_400_on_password(password, admin_user, api):
    answer = api(admin_user).post(REGISTER, {"username": "amos", "password": password, "role": "cashier"})
    assert answer.status_code == 400
    assert answer.json()["password"][0]
    assert not User.objects.filter(username="amos").exists()


@pytest.mark.django_db
def test_registered_admin_is_a_superuser_and_manager_is_not(admin_user, api):
    api(admin_user).post(REGISTER, {"username": "owner2", "password": STRONG, "role": Role.ADMIN})
    api(admin_user).post(REGISTER, {"username": "mgr2", "password": STRONG, "role": Role.MANAGER})
    assert User.objects.get(username="owner2").is_superuser
    mgr = User.objects.get(username="mgr2")
    assert not mgr.is_superuser and mgr.is_staff and mgr.has_perm("catalog.add_product")
