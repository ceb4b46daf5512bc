"""Response headers every page gets (the Content-Security-Policy comes from django-csp)."""

from django.conf import settings


class PermissionsPolicyMiddleware:
    """Permissions-Policy: the browser features no page of the shop uses are switched off."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = getattr(settings, "PERMISSIONS_POLICY", "")
        if policy and "Permissions-Policy" not in response:
            response["Permissions-Policy"] = policy
        return response


class AdminObjectIdMiddleware:
    """`/admin/<app>/<model>/abc/change/` (and history, delete, detail actions) on a model whose key is a
    number: "no such object" (404) before any admin code turns 'abc' into a 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        object_id = view_kwargs.get("object_id")
        if object_id is None or not request.path.startswith("/admin/"):
            return None
        from django.contrib import admin
        from django.db import models
        from django.http import Http404

        parts = request.path.strip("/").split("/")
        if len(parts) < 3:
            return None
        try:
            model = admin.site._registry and next(
                m for m in admin.site._registry if m._meta.app_label == parts[1] and m._meta.model_name == parts[2])
        except StopIteration:
            return None
        if isinstance(model._meta.pk, models.AutoField | models.BigAutoField | models.IntegerField) \
                and not str(object_id).isdigit():
            raise Http404(f"No {model._meta.verbose_name} with id {object_id!r}.")
        return None
