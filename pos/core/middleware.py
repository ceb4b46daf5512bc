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
