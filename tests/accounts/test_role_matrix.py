"""The role matrix: every API operation and every admin changelist and action, per role. Roles are groups
of Django permissions and every check asks has_perm, so this is also what the Groups screen says."""

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.admin.sites import site
from django.contrib.auth.models import Group, Permission
from django.test import RequestFactory
from drf_spectacular.generators import SchemaGenerator

from pos.accounts.models import Role
from pos.accounts.roles import group_name, sync_role_groups
from pos.inventory.models import GoodsReceipt, StockAlert, StockMovement, Supplier
from pos.inventory.services import adjust_stock, start_count
from pos.payments.services import pay_cash, request_refund
from pos.reports.models import ExportJob
from pos.sales.services import get_open_shift
from tests.conftest import api_client_for, client_for
from tests.factories import CategoryFactory, ProductFactory, UserFactory
from tests.payments.flows import make_sale

C, M, B, A = "cashier", "manager", "bookkeeper", "admin"
ALL = {C, M, B, A}
BACK = {M, B, A}      # back office readers
WRITE = {M, A}        # back office writers
TILL = {C, M, A}      # who sells

# (method, path as in the schema, who may) -- "public" operations (login, provider webhooks) are left out.
MATRIX = [
    ("POST", "/api/auth/logout/", ALL), ("GET", "/api/auth/me/", ALL), ("POST", "/api/auth/register/", {A}),
    ("GET", "/api/inventory/alerts/", BACK), ("GET", "/api/inventory/alerts/{id}/", BACK),
    ("POST", "/api/inventory/alerts/{id}/resolve/", WRITE), ("GET", "/api/inventory/alerts/active/", BACK),
    ("GET", "/api/inventory/counts/", BACK), ("POST", "/api/inventory/counts/", WRITE),
    ("GET", "/api/inventory/counts/{id}/", BACK), ("POST", "/api/inventory/counts/{id}/cancel/", WRITE),
    ("POST", "/api/inventory/counts/{id}/complete/", WRITE), ("POST", "/api/inventory/counts/{id}/lines/", WRITE),
    ("GET", "/api/inventory/movements/", BACK), ("POST", "/api/inventory/movements/", WRITE),
    ("GET", "/api/inventory/movements/{id}/", BACK),
    ("GET", "/api/inventory/receipts/", BACK), ("POST", "/api/inventory/receipts/", WRITE),
    ("GET", "/api/inventory/receipts/{id}/", BACK), ("POST", "/api/inventory/receipts/{id}/post/", WRITE),
    ("GET", "/api/inventory/suppliers/", BACK), ("POST", "/api/inventory/suppliers/", WRITE),
    ("GET", "/api/inventory/suppliers/{id}/", BACK),
    ("GET", "/api/payments/payments/", ALL), ("GET", "/api/payments/payments/{id}/", ALL),
    ("POST", "/api/payments/payments/{id}/cancel/", TILL), ("POST", "/api/payments/payments/{id}/verify/", TILL),
    ("POST", "/api/payments/payments/initiate/", TILL),
    ("GET", "/api/payments/refunds/", BACK), ("POST", "/api/payments/refunds/", WRITE),
    ("GET", "/api/payments/refunds/{id}/", BACK), ("POST", "/api/payments/refunds/{id}/approve/", WRITE),
    ("POST", "/api/payments/refunds/{id}/reject/", WRITE),
    ("GET", "/api/products/", ALL), ("POST", "/api/products/", WRITE), ("GET", "/api/products/{id}/", ALL),
    ("PUT", "/api/products/{id}/", WRITE), ("PATCH", "/api/products/{id}/", WRITE),
    ("DELETE", "/api/products/{id}/", WRITE), ("GET", "/api/products/barcode/{code}/", ALL),
    ("GET", "/api/products/categories/", ALL), ("POST", "/api/products/categories/", WRITE),
    ("GET", "/api/products/categories/{id}/", ALL), ("PUT", "/api/products/categories/{id}/", WRITE),
    ("PATCH", "/api/products/categories/{id}/", WRITE), ("GET", "/api/products/low_stock/", ALL),
    ("GET", "/api/reports/dashboard/", BACK), ("GET", "/api/reports/inventory/", BACK),
    ("GET", "/api/reports/profit/", BACK), ("GET", "/api/reports/sales/", ALL),
    ("GET", "/api/reports/sales-lines/export/", BACK), ("POST", "/api/reports/sales-lines/export/jobs/", BACK),
    ("GET", "/api/reports/sales-lines/export/jobs/{id}/", BACK),
    ("GET", "/api/reports/sales-lines/export/jobs/{id}/download/", BACK),
    ("GET", "/api/reports/shifts/{id}/", ALL),
    ("GET", "/api/sales/sales/", ALL), ("POST", "/api/sales/sales/", TILL), ("GET", "/api/sales/sales/{id}/", ALL),
    ("POST", "/api/sales/sales/{id}/cancel/", TILL), ("POST", "/api/sales/sales/{id}/pay_cash/", TILL),
    ("GET", "/api/sales/sales/{id}/receipt/", ALL),
    # a cashier takes a return, voids a paid sale or pays a refund with a manager's PIN (the service checks it)
    # (a void without a PIN is the cashier's 403; with one, the manager's permission holds)
    ("POST", "/api/sales/sales/{id}/return/", TILL), ("POST", "/api/sales/sales/{id}/void/", WRITE),
    ("POST", "/api/sales/sales/{id}/pay/", TILL), ("POST", "/api/sales/sales/price/", TILL),
    ("GET", "/api/sales/returns/", ALL), ("GET", "/api/sales/returns/{id}/", ALL),
    ("GET", "/api/sales/returns/owed/", ALL), ("POST", "/api/sales/returns/{id}/refund/", TILL),
    ("GET", "/api/sales/returns/waiting/", ALL), ("POST", "/api/sales/returns/{id}/approve/", TILL),
    ("GET", "/api/sales/cash-movements/", ALL), ("POST", "/api/sales/cash-movements/", TILL),
    ("GET", "/api/sales/cash-movements/{id}/", ALL),
    ("POST", "/api/auth/pin/", ALL),
    ("GET", "/api/sales/sales/today/", ALL),
    ("GET", "/api/sales/shifts/", ALL), ("GET", "/api/sales/shifts/{id}/", ALL),
    ("POST", "/api/sales/shifts/{id}/close/", TILL), ("GET", "/api/sales/shifts/{id}/report/", ALL),
    ("GET", "/api/sales/shifts/current/", ALL), ("POST", "/api/sales/shifts/open/", TILL),
    ("GET", "/api/c2b/received/", BACK), ("GET", "/api/c2b/received/{id}/", BACK),
    ("POST", "/api/c2b/received/{id}/deposit/", WRITE), ("POST", "/api/c2b/received/{id}/match/", WRITE),
    ("GET", "/api/c2b/till/{sale_id}/", TILL), ("POST", "/api/c2b/till/{sale_id}/", TILL),
    ("POST", "/api/c2b/till/{sale_id}/match/", TILL),
    ("GET", "/api/products/quick-keys/", ALL), ("GET", "/api/c2b/received/shift-summary/", BACK),
    ("GET", "/api/fiscal/day/", BACK), ("GET", "/api/fiscal/documents/", BACK),
    ("GET", "/api/fiscal/documents/{id}/", BACK), ("POST", "/api/fiscal/documents/{id}/resend/", WRITE),
    ("POST", "/api/tills/{device_id}/blocks/", TILL), ("POST", "/api/tills/{device_id}/status/", TILL),
    ("POST", "/api/tills/{device_id}/refused/", TILL),
    ("GET", "/api/tills/catalogue/", TILL), ("POST", "/api/tills/register/", TILL),
]
PUBLIC = {"/api/auth/login/"}  # and the providers' webhooks/notices (below)
# Operations on one cashier's object: another cashier gets 404 (it does not exist for them).
OWNED = {"/api/payments/payments/{id}/", "/api/payments/payments/{id}/cancel/", "/api/payments/payments/{id}/verify/",
         "/api/reports/shifts/{id}/", "/api/sales/sales/{id}/", "/api/sales/sales/{id}/cancel/",
         "/api/sales/sales/{id}/pay_cash/", "/api/sales/sales/{id}/pay/",
         "/api/sales/sales/{id}/receipt/", "/api/sales/shifts/{id}/",
         "/api/sales/shifts/{id}/close/", "/api/sales/shifts/{id}/report/", "/api/c2b/till/{sale_id}/",
         "/api/c2b/till/{sale_id}/match/"}


def schema_operations():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {(method.upper(), path) for path, ops in schema["paths"].items() for method in ops
            if method in ("get", "post", "put", "patch", "delete")}


@pytest.fixture
def users(db):
    return {role: UserFactory(role=role, username=f"{role}-m") for role in (C, M, B, A)}


@pytest.fixture
def objects(users):
    cashier, manager = users[C], users[M]
    product = ProductFactory(category=CategoryFactory(name="Matrix"), reorder_level=Decimal(50))
    adjust_stock(product, Decimal(10), user=manager, reason="opening")
    paid_sale = make_sale(cashier, "100.00", manager=manager)
    payment = pay_cash(paid_sale, amount_tendered=Decimal(100), user=cashier)
    refund, _ = request_refund(payment, Decimal("10.00"), "matrix", manager)
    supplier = Supplier.objects.create(name="Matrix supplier")
    receipt = GoodsReceipt.objects.create(supplier=supplier, created_by=manager)
    job = ExportJob.objects.create(start=date.today(), end=date.today(), created_by=users[B])
    return {
        "product": product.pk, "category": product.category_id, "code": product.barcode,
        "sale": make_sale(cashier, "50.00", manager=manager).pk, "payment": payment.pk, "refund": refund.pk,
        "shift": get_open_shift(cashier).pk, "alert": StockAlert.objects.filter(product=product).get().pk,
        "count": start_count(user=manager).pk, "movement": StockMovement.objects.filter(product=product).first().pk,
        "receipt": receipt.pk, "supplier": supplier.pk, "job": job.pk, "received": 999999,
    }


def _url(path, objects):
    key = {"alerts": "alert", "counts": "count", "movements": "movement", "receipts": "receipt",
           "suppliers": "supplier", "payments": "payment", "refunds": "refund", "categories": "category",
           "jobs": "job", "shifts": "shift", "sales": "sale", "received": "received",
           "documents": "received"}
    parts = path.strip("/").split("/")
    for n, part in enumerate(parts):
        if part == "{id}":
            owner = parts[n - 1]
            parts[n] = str(objects[key.get(owner, "product")])
        elif part == "{device_id}":
            parts[n] = "00000000-0000-0000-0000-000000000000"
        elif part == "{sale_id}":
            parts[n] = str(objects["sale"])
        elif part == "{code}":
            parts[n] = objects["code"]
    return "/" + "/".join(parts) + "/"


def test_every_api_operation_is_in_the_matrix():
    listed = {(method, path) for method, path, _ in MATRIX}
    public = {op for op in schema_operations() if op[1] in PUBLIC or "/webhooks/" in op[1] or "/notify/" in op[1]}
    assert schema_operations() - public == listed


@pytest.mark.django_db
@pytest.mark.parametrize("role", [C, M, B, A])
def test_api_role_matrix(role, users, objects):
    client = api_client_for(users[role])
    wrong = []
    for method, path, allowed in MATRIX:
        if path == "/api/auth/logout/":
            continue  # it ends the token used below; covered by tests/accounts/test_auth_api.py
        answer = client.generic(method, _url(path, objects), "{}", content_type="application/json")
        if role in allowed and answer.status_code in (401, 403):
            wrong.append(f"{role} refused {method} {path}: {answer.status_code}")
        if role not in allowed and answer.status_code != 403:
            wrong.append(f"{role} allowed {method} {path}: {answer.status_code}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.django_db
def test_another_cashiers_objects_are_404_everywhere(users, objects):
    stranger = api_client_for(UserFactory(role=Role.CASHIER, username="stranger"))
    for method, path, _ in MATRIX:
        if path in OWNED:
            answer = stranger.generic(method, _url(path, objects), "{}", content_type="application/json")
            assert answer.status_code == 404, (method, path, answer.status_code)
    answer = stranger.post("/api/payments/payments/initiate/", {"sale": objects["sale"], "method": "cash",
                                                                "amount": "50.00"}, format="json")
    assert answer.status_code == 404


# --- The admin -----------------------------------------------------------------------------------------

def _request(user, method="get"):
    request = getattr(RequestFactory(), method)("/admin/")
    request.user = user
    return request


@pytest.mark.django_db
@pytest.mark.parametrize("role", [C, M, B, A])
def test_admin_changelists_follow_the_view_permission(role, users):
    user = type(users[role]).objects.get(pk=users[role].pk)
    client = client_for(user)
    for model in site._registry:
        opts = model._meta
        url = f"/admin/{opts.app_label}/{opts.model_name}/"
        expected = 200 if user.has_perm(f"{opts.app_label}.view_{opts.model_name}") or \
            user.has_perm(f"{opts.app_label}.change_{opts.model_name}") else 403
        assert client.get(url).status_code == expected, (role, url)


def _our_admins():
    return [(model, model_admin) for model, model_admin in site._registry.items()
            if type(model_admin).__module__.startswith("pos.")]


def test_every_admin_action_declares_its_permissions():
    missing = []
    for model, model_admin in _our_admins():
        for name in [*(model_admin.actions or []), *getattr(model_admin, "actions_detail", []),
                     *getattr(model_admin, "actions_list", []), *getattr(model_admin, "actions_row", []),
                     *getattr(model_admin, "actions_submit_line", [])]:
            function = getattr(model_admin, name, None) if isinstance(name, str) else name
            if function is not None and not getattr(function, "allowed_permissions", None):
                missing.append(f"{model.__name__}.{getattr(function, '__name__', name)}")
    assert not missing, f"admin actions without permissions=: {missing}"


@pytest.mark.django_db
@pytest.mark.parametrize("role", [C, M, B, A])
def test_admin_actions_offered_match_the_permissions(role, users):
    user = type(users[role]).objects.get(pk=users[role].pk)
    for model, model_admin in _our_admins():
        offered = set(model_admin.get_actions(_request(user)))
        for name in model_admin.actions or []:
            if not isinstance(name, str):
                continue
            function = getattr(model_admin, name)
            may = all(getattr(model_admin, f"has_{p}_permission")(_request(user))
                      for p in function.allowed_permissions)
            assert (name in offered) == may, (role, model.__name__, name)


@pytest.mark.django_db
def test_who_authorised_what_is_seen_by_managers_and_bookkeepers_and_large_cash_outs_by_managers(users):
    fresh = {role: type(user).objects.get(pk=user.pk) for role, user in users.items()}
    assert {role for role, user in fresh.items() if user.has_perm("sales.view_authorisation")} == {M, B, A}
    assert {role for role, user in fresh.items() if user.has_perm("sales.large_cash_out")} == {M, A}
    assert {role for role, user in fresh.items() if user.has_perm("sales.add_cashmovement")} == TILL


# --- The Groups screen is what holds ---------------------------------------------------------------

@pytest.mark.django_db
def test_taking_view_profit_from_a_group_takes_effect_and_stays_after_migrate(users):
    bookkeeper = users[B]
    assert api_client_for(bookkeeper).get("/api/reports/profit/").status_code == 200
    group = Group.objects.get(name=group_name(Role.BOOKKEEPER))
    group.permissions.remove(Permission.objects.get(content_type__app_label="reports", codename="view_profit"))
    assert api_client_for(bookkeeper).get("/api/reports/profit/").status_code == 403
    assert client_for(type(bookkeeper).objects.get(pk=bookkeeper.pk)).get("/admin/reports/profit/").status_code == 403
    sync_role_groups(only=set())  # what every later `migrate` does: new permissions only
    assert api_client_for(bookkeeper).get("/api/reports/profit/").status_code == 403


@pytest.mark.django_db
def test_giving_a_cashier_group_a_permission_takes_effect(users):
    cashier = users[C]
    assert api_client_for(cashier).get("/api/inventory/movements/").status_code == 403
    Group.objects.get(name=group_name(Role.CASHIER)).permissions.add(
        Permission.objects.get(content_type__app_label="inventory", codename="view_stockmovement"))
    assert api_client_for(cashier).get("/api/inventory/movements/").status_code == 200
