"""`manage.py check --deploy` for C2B: the secret in the registered URLs is what tells Safaricom's
notifications from anyone's forged "payment"; an empty or short one lets forged money reach the till."""

from django.conf import settings
from django.core.checks import Tags, Warning, register

MIN_TOKEN_LENGTH = 32


@register(Tags.security, deploy=True)
def url_token(app_configs, **kwargs):
    if not settings.C2B_SHORTCODE:
        return []  # no shortcode: no C2B URLs are registered
    token = settings.C2B_URL_TOKEN or ""
    if not token:
        return [Warning("C2B_URL_TOKEN is empty while C2B is enabled (C2B_SHORTCODE is set): every C2B notification "
                        "is ignored, and registering the URLs is refused.",
                        hint=f"Set C2B_URL_TOKEN to at least {MIN_TOKEN_LENGTH} random letters and digits.",
                        id="c2b.W001")]
    if len(token) < MIN_TOKEN_LENGTH:
        return [Warning(f"C2B_URL_TOKEN has {len(token)} characters: a short secret in the C2B URLs can be guessed, "
                        "and a guessed one lets anyone post M-Pesa payments that were never made.",
                        hint=f"Set C2B_URL_TOKEN to at least {MIN_TOKEN_LENGTH} random letters and digits, then "
                             "register the C2B URLs again (manage.py register_c2b).",
                        id="c2b.W002")]
    return []
