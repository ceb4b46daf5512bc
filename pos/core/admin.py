"""Shared admin pieces: the read-only admin, "run a service on each selected row and report the
refusals", and a confirmation page for state changes started from a detail page (always a POST)."""

from django.contrib import messages
from django.template.response import TemplateResponse
from django.urls import reverse
from unfold.admin import TabularInline

from pos.core.errors import ServiceError


class ReadOnlyAdminMixin:
    """A model (or inline) nobody adds, changes or deletes in the admin: its rows come from services."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyTabularInline(ReadOnlyAdminMixin, TabularInline):
    """Rows shown under their parent, every listed field read only, no empty extra row."""

    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields


def run_on_each(modeladmin, request, rows, operation, done_text, label=str):
    """Call `operation(row)` on each row; a ServiceError refuses that row only. Reports one success message
    (`done_text(results)` for the rows that went through) and one error message per refusal. Returns the
    results."""
    results = []
    for row in rows:
        try:
            results.append(operation(row))
        except ServiceError as exc:
            modeladmin.message_user(request, f"{label(row)}: {exc.message}", messages.ERROR)
    if results:
        modeladmin.message_user(request, done_text(results), messages.SUCCESS)
    return results


def counted(what):
    """The success text of a batch action that counts what went through: "3 note(s) posted."."""
    return lambda results: f"{len(results)} {what}."


def confirm_page(modeladmin, request, obj, *, question, button, details=(), warning="", danger=False, title=None,
                 back_url=None):
    """The GET answer of a detail action that changes state: the question, what will happen (`details`, a
    `warning`) and a POST form back to the same URL; Cancel goes back to the object's page."""
    if back_url is None:
        back_url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    return TemplateResponse(request, "core/admin/confirm_action.html", {
        **modeladmin.admin_site.each_context(request), "opts": modeladmin.model._meta, "object": obj,
        "title": title or question, "question": question, "details": details, "warning": warning, "button": button,
        "back_url": back_url, "danger": danger,
    })
