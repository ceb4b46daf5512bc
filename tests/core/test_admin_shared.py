"""One read-only admin and one "run a service on each selected row" (pos.core.admin), used by every app."""

import ast
from pathlib import Path

import pytest
from django.contrib import admin
from django.contrib.messages import get_messages
from django.test import RequestFactory
from django.urls import reverse

from pos.core.admin import ReadOnlyAdminMixin
from pos.inventory import services
from pos.inventory.models import CountStatus
from tests.factories import ProductFactory, UserFactory

ROOT = Path(__file__).resolve().parents[2]


def _read_only(model_admin, request):
    return not any(check(request) for check in (model_admin.has_add_permission, model_admin.has_change_permission,
                                                model_admin.has_delete_permission))


@pytest.mark.django_db
def test_every_read_only_admin_and_inline_is_the_shared_one():
    request = RequestFactory().get("/admin/")
    request.user = UserFactory(role="admin")
    copies = []
    for model_admin in admin.site._registry.values():
        if not type(model_admin).__module__.startswith("pos."):
            continue  # the libraries' own admins (tokens, history, schedules)
        if _read_only(model_admin, request) and not isinstance(model_admin, ReadOnlyAdminMixin):
            copies.append(type(model_admin).__name__)
        for inline in model_admin.get_inline_instances(request):
            if _read_only(inline, request) and not isinstance(inline, ReadOnlyAdminMixin):
                copies.append(type(inline).__name__)
    assert copies == []


def _loops_catching_service_error(tree):
    for loop in ast.walk(tree):
        if isinstance(loop, ast.For | ast.While):
            for node in ast.walk(loop):
                if isinstance(node, ast.ExceptHandler) and "ServiceError" in ast.unparse(node.type or ast.Pass()):
                    yield loop.lineno


def test_no_admin_loops_over_rows_catching_refusals_itself():
    """Batch actions call pos.core.admin.run_on_each; no admin module has its own copy of the loop."""
    found = []
    for path in sorted(ROOT.glob("pos/*/admin.py")):
        if path.parent.name == "core":
            continue
        found += [f"{path.relative_to(ROOT)}:{line}" for line in _loops_catching_service_error(ast.parse(path.read_text()))]
    assert found == []


@pytest.mark.django_db
def test_a_batch_action_reports_the_rows_done_and_each_refusal(client):
    """Cancelling two stock counts, one of them already cancelled: one success message for the one that went
    through, and the other refused by name with the service's reason."""
    manager = UserFactory(role="manager")
    client.force_login(manager)
    ProductFactory(name="Unga 2kg")
    done = services.start_count(user=manager)
    services.cancel_count(done, user=manager)
    running = services.start_count(user=manager)
    response = client.post(reverse("admin:inventory_stockcount_changelist"),
                           {"action": "cancel_selected", "_selected_action": [running.pk, done.pk]}, follow=True)
    texts = sorted(m.message for m in get_messages(response.wsgi_request))
    assert texts[0] == "1 count(s) cancelled."
    assert texts[1].startswith(f"{done}: ") and len(texts) == 2
    running.refresh_from_db()
    assert running.status == CountStatus.CANCELLED


@pytest.mark.django_db
def test_one_confirmation_page_for_every_state_change_started_from_a_detail_page(client):
    """The count's Complete button and the product's Deactivate button answer a GET with the same confirmation
    page (question, what will happen, a POST form, Cancel back to the object); nothing changes until the POST."""
    manager = UserFactory(role="manager")
    client.force_login(manager)
    soap = ProductFactory(name="Soap")
    count = services.start_count(user=manager)
    pages = [client.get(f"/admin/inventory/stockcount/{count.pk}/complete/"),
             client.get(f"/admin/catalog/product/{soap.pk}/deactivate/")]
    for page, obj in zip(pages, [count, soap]):
        assert [t.name for t in page.templates][0] == "core/admin/confirm_action.html"
        html = page.content.decode()
        assert 'method="post"' in html and "Cancel" in html
        assert reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk]) in html
    count.refresh_from_db()
    soap.refresh_from_db()
    assert count.status == CountStatus.IN_PROGRESS and soap.is_active
