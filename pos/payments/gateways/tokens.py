"""OAuth tokens shared by every process through the ProviderToken row.

Daraja invalidates the previous token when a new one is issued, so web workers and task workers
must share one. The first worker that finds the token missing or about to expire refreshes it while
holding a lock; the others wait for it and reuse the new token.

PostgreSQL: the lock is the ProviderToken row (`select_for_update`). SQLite has no row locks and a
long write transaction would block every other writer (the sandbox keeps its state in the same
file), so there the lock is a short-lived `cache.add` key and waiters poll the row.
"""

import time
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from pos.payments.gateways.base import GatewayError

REFRESH_MARGIN = timedelta(seconds=60)


def shared_token(provider: str, fetch, *, stale: str = "") -> str:
    """The current token of `provider`; `fetch()` -> (token, expires_in seconds) gets a new one.

    `stale`: a token the provider just refused; it is replaced unless another worker already did.
    """
    from pos.payments.models import ProviderToken

    row, _ = ProviderToken.objects.get_or_create(provider=provider)
    if _usable(row, stale):
        return row.access_token
    if not connection.features.has_select_for_update:
        return _refresh_with_cache_lock(row, fetch, stale)
    with transaction.atomic():
        row = ProviderToken.objects.select_for_update().get(pk=row.pk)
        if _usable(row, stale):
            return row.access_token
        try:
            return _refresh(row, fetch)
        except GatewayError as exc:
            failure = exc  # leave the block normally: the logged failed call is kept
    raise failure


def _usable(row, stale):
    return bool(row.access_token) and row.access_token != stale and row.expires_at is not None \
        and row.expires_at > timezone.now() + REFRESH_MARGIN


def _refresh(row, fetch):
    token, expires_in = fetch()
    row.access_token = token
    row.expires_at = timezone.now() + timedelta(seconds=int(expires_in))
    row.save(update_fields=["access_token", "expires_at", "updated_at"])
    return token


def _refresh_with_cache_lock(row, fetch, stale):
    lock = f"payments:token-lock:{row.provider}"
    deadline = time.monotonic() + settings.PAYMENT_HTTP_TIMEOUT * 2 + 5
    while True:
        if cache.add(lock, "1", timeout=int(settings.PAYMENT_HTTP_TIMEOUT * 2) + 5):
            try:
                row.refresh_from_db()
                return row.access_token if _usable(row, stale) else _refresh(row, fetch)
            finally:
                cache.delete(lock)
        time.sleep(0.05)
        row.refresh_from_db()
        if _usable(row, stale):
            return row.access_token
        if time.monotonic() > deadline:
            raise GatewayError("token_busy", f"another worker is still fetching the {row.provider} token")
