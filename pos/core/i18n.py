"""The user's language: English or Kiswahili (settings.LANGUAGES), the shop's default from SHOP_LANGUAGE.

Each user has a language (User.language; empty: the shop's). It is what their screens, the API's answers
to them (error messages included) and the receipts of their sales are in.

A user switches with POST /i18n/language/ (language=sw|en), from the till's header or the admin; the
choice is saved on the user, kept in their session (so it follows the person who logged in, not the
browser of a shared till) and in Django's language cookie (the login page of that browser).
SessionLanguageMiddleware, after LocaleMiddleware and the authentication, makes the user's language (else
the session's) win over the browser's. An API client with a token gets its user's language from the token
authentication (pos.accounts.auth), since DRF authenticates inside the view.
"""

from django.conf import settings
from django.http import HttpResponseRedirect
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

SESSION_KEY = "language"


def supported(code):
    return code in dict(settings.LANGUAGES)


def user_language(user) -> str:
    """The user's language, else the shop's (SHOP_LANGUAGE)."""
    code = getattr(user, "language", "") if user is not None else ""
    return code if supported(code) else settings.LANGUAGE_CODE


def activate_user_language(request, user):
    """Answer this request in `user`'s own language, when they chose one."""
    code = getattr(user, "language", "")
    if code and supported(code):
        translation.activate(code)
        request.LANGUAGE_CODE = code


class SessionLanguageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        code = getattr(user, "language", "") if user is not None and user.is_authenticated else ""
        if not supported(code):
            code = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
        if code and supported(code):
            translation.activate(code)
            request.LANGUAGE_CODE = code
        response = self.get_response(request)
        code = getattr(request, "LANGUAGE_CODE", code)
        if code and supported(code):
            response.headers.setdefault("Content-Language", code)
        return response


@require_POST
def switch_language(request):
    """Set the user's language (their account, session + cookie) and go back where they were."""
    code = request.POST.get("language", "")
    target = request.POST.get("next") or request.META.get("HTTP_REFERER") or "/admin/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        target = "/admin/"
    response = HttpResponseRedirect(target)
    if supported(code):
        request.session[SESSION_KEY] = code
        if request.user.is_authenticated and request.user.language != code:
            request.user.language = code
            request.user.save(update_fields=["language"])
        translation.activate(code)
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, code, max_age=365 * 24 * 3600, samesite="Lax")
    return response
