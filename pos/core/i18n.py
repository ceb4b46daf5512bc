"""The user's language: English or Kiswahili (settings.LANGUAGES), the shop's default from SHOP_LANGUAGE.

A user switches with POST /i18n/language/ (language=sw|en), from the till's header or the admin; the
choice is kept in their session (so it follows the person who logged in, not the browser of a shared
till) and in Django's language cookie (the login page of that browser). SessionLanguageMiddleware, after
LocaleMiddleware and the authentication, makes the session's choice win over the browser's.
"""

from django.conf import settings
from django.http import HttpResponseRedirect
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

SESSION_KEY = "language"


def supported(code):
    return code in dict(settings.LANGUAGES)


class SessionLanguageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        code = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
        if code and supported(code):
            translation.activate(code)
            request.LANGUAGE_CODE = code
        response = self.get_response(request)
        if code and supported(code):
            response.headers.setdefault("Content-Language", code)
        return response


@require_POST
def switch_language(request):
    """Set the user's language (session + cookie) and go back where they were."""
    code = request.POST.get("language", "")
    target = request.POST.get("next") or request.META.get("HTTP_REFERER") or "/admin/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        target = "/admin/"
    response = HttpResponseRedirect(target)
    if supported(code):
        request.session[SESSION_KEY] = code
        translation.activate(code)
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, code, max_age=365 * 24 * 3600, samesite="Lax")
    return response
