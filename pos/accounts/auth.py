"""API tokens with an end: `Authorization: Token <key>` (DRF's token model) is refused once it is older
than API_TOKEN_TTL_HOURS, or older than the user's last password change or deactivation
(User.credentials_changed_at). An ended token is deleted; the client logs in again."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication


def token_lifetime() -> timedelta:
    return timedelta(hours=float(getattr(settings, "API_TOKEN_TTL_HOURS", 12)))


def token_ended(token, user=None, now=None) -> bool:
    user = user or token.user
    if token.created + token_lifetime() <= (now or timezone.now()):
        return True
    changed = getattr(user, "credentials_changed_at", None)
    return changed is not None and token.created < changed


def token_expires_at(token):
    return token.created + token_lifetime()


class ExpiringTokenAuthentication(TokenAuthentication):
    def authenticate(self, request):
        """The token's user, whose language the answer is then in (pos.core.i18n)."""
        from pos.core.i18n import activate_user_language

        result = super().authenticate(request)
        if result is not None:
            activate_user_language(request, result[0])
        return result

    def authenticate_credentials(self, key):
        model = self.get_model()
        token = model.objects.select_related("user").filter(key=key).first()
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        if token_ended(token):
            token.delete()
            raise exceptions.AuthenticationFailed("Token expired: log in again.")
        return token.user, token


LOCKED_OUT = ("Too many failed logins: this account is locked for a while at this address. Try again later "
              "or ask a manager.")


def lockout_response(request, original_response=None, credentials=None):
    """django-axes' answer to a locked-out login: the API's error shape (429) on /api/, a page on /admin/."""
    from django.http import HttpResponse, JsonResponse

    if request.path.startswith("/api/"):
        return JsonResponse({"detail": LOCKED_OUT, "code": "locked_out"}, status=429)
    return HttpResponse(f"<h1>Locked out</h1><p>{LOCKED_OUT}</p>", status=429)
