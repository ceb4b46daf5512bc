import pytest
from django.core.management import call_command

from pos.accounts.models import Role, User

USERS = "/admin/accounts/user/"


def logged_in(client, user):
    client.force_login(user)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["admin_user", "manager", "bookkeeper"])
def test_back_office_roles_reach_the_dashboard(who, request, client):
    assert logged_in(client, request.getfixturevalue(who)).get("/admin/").status_code == 200


@pytest.mark.django_db
def test_a_cashier_is_sent_to_the_checkout(cashier, client):
    answer = logged_in(client, cashier).get("/admin/")
    assert answer.status_code == 302 and answer.url == "/admin/checkout/"


@pytest.mark.django_db
@pytest.mark.parametrize("who, listing, adding", [
    ("admin_user", 200, 200), ("manager", 200, 403), ("cashier", 403, 403), ("bookkeeper", 403, 403),
])
def test_only_admins_manage_users_in_the_admin(who, listing, adding, request, client):
    logged_in(client, request.getfixturevalue(who))
    assert client.get(USERS).status_code == listing
    assert client.get(f"{USERS}add/").status_code == adding


@pytest.mark.django_db
def test_admin_adds_a_user_and_the_role_brings_its_group(admin_user, client):
    logged_in(client, admin_user)
    answer = client.post(f"{USERS}add/", {"username": "akinyi", "role": Role.MANAGER, "usable_password": "true",
                                          "password1": "Tsavo-East-2026", "password2": "Tsavo-East-2026",
                                          "_save": "Save"})
    assert answer.status_code == 302, answer.context["adminform"].form.errors
    user = User.objects.get(username="akinyi")
    assert user.is_staff and not user.is_superuser
    assert list(user.groups.values_list("name", flat=True)) == ["Store manager"]
    assert user.has_perm("catalog.change_product") and not user.has_perm("accounts.add_user")


@pytest.mark.django_db
def test_changing_the_role_in_the_admin_changes_the_group(admin_user, cashier, client):
    logged_in(client, admin_user)
    page = client.get(f"{USERS}{cashier.pk}/change/")
    data = {k: v for k, v in page.context["adminform"].form.initial.items() if v is not None and k != "password"}
    data.update({"username": "cashier", "role": Role.BOOKKEEPER, "is_active": "on", "last_login_0": "",
                 "date_joined_0": "2026-01-01", "date_joined_1": "08:00:00", "_save": "Save"})
    answer = client.post(f"{USERS}{cashier.pk}/change/", data)
    assert answer.status_code == 302, answer.context["adminform"].form.errors
    cashier.refresh_from_db()
    assert cashier.role == Role.BOOKKEEPER
    assert list(cashier.groups.values_list("name", flat=True)) == ["Bookkeeper"]
    assert cashier.has_perm("reports.view_reports") and not cashier.has_perm("sales.add_sale")


@pytest.mark.django_db
def test_createsuperuser_makes_an_admin_who_stays_superuser(api):
    call_command("createsuperuser", username="owner", email="owner@duka.example", interactive=False, verbosity=0)
    owner = User.objects.get(username="owner")
    assert owner.role == Role.ADMIN and owner.is_superuser
    assert api(owner).get("/api/auth/me/").json()["role"] == "admin"
    from pos.accounts.services import assign_role

    assign_role(owner, owner.role)  # what the user admin does on every save
    owner.refresh_from_db()
    assert owner.is_superuser
