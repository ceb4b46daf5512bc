"""The client's address, trusting X-Forwarded-For only as far as the configured proxies.

Behind TRUSTED_PROXY_COUNT proxies (nginx in front of gunicorn: 1), each proxy appends the address it
was called from to X-Forwarded-For, so the client is the TRUSTED_PROXY_COUNT-th entry from the right.
Whatever a client writes in X-Forwarded-For itself stands further left and is never used. With no
proxy (0, the default) the header is ignored and REMOTE_ADDR is the client. Used by the login lockout
(django-axes) and, through DRF's NUM_PROXIES (the same rule), by the API throttles.
"""

from django.conf import settings


def client_ip(request) -> str | None:
    meta = request.META
    proxies = int(getattr(settings, "TRUSTED_PROXY_COUNT", 0) or 0)
    if proxies > 0:
        chain = [part.strip() for part in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(chain) >= proxies:
            return chain[-proxies]
    return meta.get("REMOTE_ADDR")
