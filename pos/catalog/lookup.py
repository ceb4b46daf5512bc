"""The scanner's read path: a product by barcode, answered from memory by a catalogue cache that is
never stale, with the API token's user cached the same way.

How it stays exact
------------------
* Every product has a *version token* in the shared cache (Redis in production: ``REDIS_URL``), and
  so does the set of categories (their names are in the answer). Every operation that changes what a
  lookup answers bumps the token of the products it touched, in the same transaction as the change
  (``transaction.on_commit``: the new token is visible before the operation returns to its caller):
  price, cost, name, barcode, category, VAT rate, unit, reorder level, activation and deletion
  (pos.catalog.services), every stock movement (pos.inventory.services.post_movements: sales, returns,
  receipts, counts, adjustments), a category's name or activation. A new token is random, so a cache
  that lost its keys (restarted Redis) can never hand back an old token by chance.
* Each web worker keeps ``{barcode: (product id, token, answer)}`` in its own memory. A lookup reads
  the product's current token (one cache round trip, no database) and answers from memory when it is
  the token the answer was read under. The token is read *before* the product row, so an answer
  read while a change commits is stored under the old token and thrown away at the next lookup.
* An entry also expires after ``CATALOG_CACHE_MAX_AGE`` seconds (a bound on a bump lost with the cache
  server down), and a missing barcode or an inactive product is never cached (404 asks the database).
* ``CATALOG_CACHE`` turns the memory layer on; it defaults to on when ``REDIS_URL`` is set. Without a
  shared cache server (SQLite, one machine) the lookup reads the database with one indexed query.

The token->user lookup of ``Authorization: Token ...`` works the same way (CachedTokenAuthentication):
the user is kept in memory under a per-user token that changes when the user is saved (role, active,
password) or any of their API tokens is created or deleted (logout), so a logged-out token stops
working at once.

The offline till's catalogue sync can share this: ``product_payloads(ids)`` gives the same JSON
objects for many products, and ``product_tokens(ids)`` tells which ones changed since it last looked.
"""

import json
import logging
import time
import uuid
from decimal import Decimal

from django.conf import settings
from django.core.cache import caches
from django.db import transaction
from django.db.models import F
from django.db.models.signals import post_delete, post_save
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

log = logging.getLogger(__name__)

PRODUCT_KEY = "catalog:v:{}"
CATEGORIES_KEY = "catalog:v:categories"
USER_KEY = "auth:v:{}"
MAX_ENTRIES = 200_000
# The answer's fields, as ProductSerializer gives them (decimals as strings with the field's places).
FIELDS = ["id", "name", "sku", "barcode", "category", "category_name", "price", "cost_price", "tax_rate", "unit",
          "stock_quantity", "reorder_level", "is_active"]
PLACES = {"price": 2, "cost_price": 2, "tax_rate": 2, "stock_quantity": 3, "reorder_level": 3}

_products: dict = {}  # barcode -> (product id, product token, categories token, answer bytes, stored at)
_users: dict = {}  # API token key -> (user, user token, stored at)


def enabled() -> bool:
    return getattr(settings, "CATALOG_CACHE", False)


def _cache():
    return caches[getattr(settings, "CATALOG_CACHE_ALIAS", "default")]


def _max_age() -> float:
    return getattr(settings, "CATALOG_CACHE_MAX_AGE", 300)


def _new_token() -> str:
    return uuid.uuid4().hex


# --- Writers: bump tokens in the transaction of the change --------------------------------------------

def _bump(keys):
    try:
        _cache().set_many({key: _new_token() for key in keys}, timeout=None)
    except Exception:  # noqa: BLE001 - the change is committed; a lost bump is bounded by CATALOG_CACHE_MAX_AGE
        log.exception("catalogue cache: could not bump %s", keys)


def products_changed(product_ids):
    """Call in the transaction that changes these products (price, barcode, activation, stock, ...):
    their cached lookups are dropped when it commits."""
    keys = [PRODUCT_KEY.format(pk) for pk in {pk for pk in product_ids if pk is not None}]
    if keys:
        transaction.on_commit(lambda: _bump(keys))


def categories_changed():
    transaction.on_commit(lambda: _bump([CATEGORIES_KEY]))


def user_changed(user_id):
    transaction.on_commit(lambda: _bump([USER_KEY.format(user_id)]))


def _tokens(keys) -> dict:
    """The current tokens of `keys`; a key the cache does not have gets a new token (add: a concurrent
    bump wins)."""
    cache = _cache()
    found = cache.get_many(keys)
    missing = [key for key in keys if key not in found]
    if missing:
        for key in missing:
            cache.add(key, _new_token(), timeout=None)
        found.update(cache.get_many(missing))
    return found


def product_tokens(product_ids) -> dict:
    """{product id: its current version token} (for a sync that remembers what it has seen)."""
    keys = {PRODUCT_KEY.format(pk): pk for pk in product_ids}
    return {keys[key]: token for key, token in _tokens(list(keys)).items()}


# --- The answer ------------------------------------------------------------------------------------

def _decimal(value, places):
    return None if value is None else f"{Decimal(value).quantize(Decimal(1).scaleb(-places)):f}"


def _payload(row) -> dict:
    return {name: _decimal(row[name], PLACES[name]) if name in PLACES else row[name] for name in FIELDS}


def _rows(**filters):
    from pos.catalog.models import Product

    return Product.objects.filter(**filters).order_by().values(
        *[f for f in FIELDS if f != "category_name"], category_name=F("category__name"))


def product_payloads(ids) -> list[dict]:
    """The lookup's JSON objects of the products `ids` (active or not), one query."""
    return [_payload(row) for row in _rows(pk__in=list(ids))]


def _read(code):
    """(product id, answer bytes) of the active product with this barcode, or (None, None)."""
    row = _rows(barcode=code, is_active=True).first()
    return (None, None) if row is None else (row["id"], json.dumps(_payload(row), separators=(",", ":")).encode())


def _active_id(code):
    from pos.catalog.models import Product

    return Product.objects.filter(barcode=code, is_active=True).values_list("pk", flat=True).first()


def lookup(code) -> bytes | None:
    """The JSON (bytes) of the active product with this barcode, or None. From memory when the cache is
    on and the product has not changed since it was read (no database query); else from the database."""
    code = (code or "").strip()
    if not code:
        return None
    if not enabled():
        return _read(code)[1]
    entry = _products.get(code)
    if entry is not None and time.monotonic() - entry[4] < _max_age():
        pk, token, categories, body, _ = entry
        try:
            current = _cache().get_many([PRODUCT_KEY.format(pk), CATEGORIES_KEY])
        except Exception:  # noqa: BLE001 - the cache server is down: the database answers
            return _read(code)[1]
        if current.get(PRODUCT_KEY.format(pk)) == token and current.get(CATEGORIES_KEY) == categories:
            return body
    pk = _active_id(code)
    if pk is None:
        _products.pop(code, None)
        return None
    try:
        tokens = _tokens([PRODUCT_KEY.format(pk), CATEGORIES_KEY])
    except Exception:  # noqa: BLE001
        return _read(code)[1]
    read_pk, body = _read(code)  # read after the tokens: a change committing meanwhile bumps past them
    if read_pk != pk:  # the barcode moved to another product meanwhile: answer, keep nothing
        return body
    if len(_products) >= MAX_ENTRIES:
        _products.clear()
    _products[code] = (pk, tokens[PRODUCT_KEY.format(pk)], tokens[CATEGORIES_KEY], body, time.monotonic())
    return body


def clear_local():
    """Forget this process's entries (tests; the shared tokens stay)."""
    _products.clear()
    _users.clear()


# --- API tokens ------------------------------------------------------------------------------------

class CachedTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>` with the token's user kept in memory while the user and their tokens
    are unchanged (see the module's docstring). Without the cache: DRF's TokenAuthentication."""

    def authenticate_credentials(self, key):
        if not enabled():
            return super().authenticate_credentials(key)
        entry = _users.get(key)
        if entry is not None and time.monotonic() - entry[2] < _max_age():
            user, token, _ = entry
            try:
                if _cache().get(USER_KEY.format(user.pk)) == token:
                    return user, key
            except Exception:  # noqa: BLE001
                return super().authenticate_credentials(key)
        model = self.get_model()
        user_id = model.objects.filter(key=key).values_list("user_id", flat=True).first()
        if user_id is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        token = _tokens([USER_KEY.format(user_id)])[USER_KEY.format(user_id)]
        user, _ = super().authenticate_credentials(key)  # read after the token (see lookup)
        if len(_users) >= MAX_ENTRIES:
            _users.clear()
        _users[key] = (user, token, time.monotonic())
        return user, key


def _user_saved(sender, instance, **kwargs):
    if enabled():
        user_changed(instance.pk)


def _token_changed(sender, instance, **kwargs):
    if enabled():
        user_changed(instance.user_id)


def connect_signals():
    """Cache invalidation only (no business logic): users and API tokens change in pos.accounts."""
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    user_model = get_user_model()
    post_save.connect(_user_saved, sender=user_model, dispatch_uid="lookup-user-saved")
    post_delete.connect(_user_saved, sender=user_model, dispatch_uid="lookup-user-deleted")
    post_save.connect(_token_changed, sender=Token, dispatch_uid="lookup-token-saved")
    post_delete.connect(_token_changed, sender=Token, dispatch_uid="lookup-token-deleted")
