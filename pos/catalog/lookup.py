"""The scanner's read path: a product by barcode, answered from memory by a catalogue cache that is
never stale, with the API token's user cached the same way.

How it stays exact
------------------
* Every product has a *version* (and so do the set of categories, whose names are in the answer, and
  every user). Every operation that changes what a lookup answers bumps the versions of the products
  it touched when its transaction commits (``transaction.on_commit``: bumped before the operation
  returns to its caller): price, cost, name, barcode, category, VAT rate, unit, reorder level,
  activation and deletion (pos.catalog.services), every stock movement
  (pos.inventory.services.post_movements: sales, returns, receipts, counts, adjustments), a category's
  name or activation (pos.catalog.services), a user saved or their API token created or deleted.
* Each web worker keeps ``{barcode: (product id, versions, answer)}`` in its own memory. A lookup reads
  the product's current version and answers from memory when it is the version the answer was read
  under. The version is read *before* the product row, so an answer read while a change commits is
  kept under the old version and thrown away at the next lookup.
* An entry also expires after ``CATALOG_CACHE_MAX_AGE`` seconds (a bound on any bump lost), and a
  missing barcode or an inactive product is never cached (a 404 always asks the database).

Where the versions live (``CATALOG_CACHE``)
-------------------------------------------
* ``local`` (the default when DEBUG is off): a table of counters in a shared-memory file
  (``CATALOG_CACHE_PATH``, default under /dev/shm, named after the database) that every process of the
  machine maps: web workers and task workers. Reading a version is a memory read, no round trip: the
  lookup costs no more than a bare Django view. A bump increments counters under a file lock. Products
  share counters by id modulo the table's size (65,536): a collision only drops an entry too early.
  For web and task workers on ONE machine (the README's production layout).
* ``redis``: random version tokens in the shared cache (``REDIS_URL``): one round trip per lookup; for
  web workers on several machines.
* ``off`` (DEBUG, tests): the lookup reads the database, one indexed query.

The token->user lookup of ``Authorization: Token ...`` works the same way (CachedTokenAuthentication):
the user (with the permissions it has looked up) is kept in memory under the user's version, bumped
when the user is saved (role, active, password) or any of their API tokens is created or deleted
(logout), and a permissions version bumped when any group's permissions or any user's groups or
permissions change: a logged-out token or a withdrawn permission stops working at once.

The offline till's catalogue sync can share this: ``product_payloads(ids)`` gives the same JSON
objects for many products, and ``product_versions(ids)`` tells which ones changed since it last looked.
"""

import fcntl
import json
import logging
import mmap
import os
import re
import struct
import tempfile
import time
import uuid
from decimal import Decimal

from django.conf import settings
from django.core.cache import caches
from django.db import connection, transaction
from django.db.models import F
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.http import HttpResponse
from rest_framework import exceptions

from pos.accounts.auth import ExpiringTokenAuthentication, token_expires_at

log = logging.getLogger(__name__)

CATEGORIES = "c"
PERMISSIONS = "a"  # any group's permissions or any user's groups changed
MAX_ENTRIES = 200_000
# The answer's fields, as ProductSerializer gives them (decimals as strings with the field's places).
FIELDS = ["id", "name", "sku", "barcode", "category", "category_name", "price", "cost_price", "tax_rate", "unit",
          "stock_quantity", "reorder_level", "is_active"]
PLACES = {"price": 2, "cost_price": 2, "tax_rate": 2, "stock_quantity": 3, "reorder_level": 3}

_products: dict = {}  # barcode -> (product id, versions, answer bytes, stored at)
_users: dict = {}  # API token key -> (user, versions, stored at, token's end as a timestamp)


def product_key(pk):
    return f"p{pk}"


def user_key(pk):
    return f"u{pk}"


def mode() -> str:
    value = str(getattr(settings, "CATALOG_CACHE", "off") or "off").lower()
    return value if value in ("local", "redis") else "off"


def enabled() -> bool:
    return mode() != "off"


def _max_age() -> float:
    return getattr(settings, "CATALOG_CACHE_MAX_AGE", 300)


class LocalVersions:
    """Counters in a file mapped by every process of the machine (see the module's docstring)."""

    SLOTS = 1 << 16
    PRODUCT_SLOTS = SLOTS - 4096 - 2  # then 4,096 for users, one for permissions, one for the categories

    def __init__(self, path):
        self.path = path
        self.pid = None

    def _open(self):
        if self.pid != os.getpid():  # after a fork: a file description (and its lock) of our own
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            if os.fstat(fd).st_size < self.SLOTS * 8:
                os.ftruncate(fd, self.SLOTS * 8)
            self.fd, self.map, self.pid = fd, mmap.mmap(fd, self.SLOTS * 8), os.getpid()
        return self.map

    def _slot(self, key):
        kind, number = key[0], key[1:]
        if kind == "p":
            return int(number) % self.PRODUCT_SLOTS
        if kind == "u":
            return self.PRODUCT_SLOTS + int(number) % 4096
        if kind == "a":
            return self.SLOTS - 2
        return self.SLOTS - 1

    def read(self, keys):
        view = self._open()
        return tuple(struct.unpack_from("<Q", view, self._slot(key) * 8)[0] for key in keys)

    def bump(self, keys):
        view = self._open()
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        try:
            for slot in {self._slot(key) for key in keys}:
                value = struct.unpack_from("<Q", view, slot * 8)[0]
                struct.pack_into("<Q", view, slot * 8, (value + 1) & 0xFFFFFFFFFFFFFFFF)
        finally:
            fcntl.flock(self.fd, fcntl.LOCK_UN)


class SharedCacheVersions:
    """Random version tokens in the shared cache (Redis): one round trip per read. A new token is
    random, so a cache that lost its keys can never hand back an old token by chance."""

    PREFIX = "catalog:v:"

    def _cache(self):
        return caches[getattr(settings, "CATALOG_CACHE_ALIAS", "default")]

    def read(self, keys):
        names = [self.PREFIX + key for key in keys]
        cache = self._cache()
        found = cache.get_many(names)
        missing = [name for name in names if name not in found]
        for name in missing:  # add: a concurrent bump wins
            cache.add(name, uuid.uuid4().hex, timeout=None)
        if missing:
            found.update(cache.get_many(missing))
        return tuple(found[name] for name in names)

    def bump(self, keys):
        self._cache().set_many({self.PREFIX + key: uuid.uuid4().hex for key in keys}, timeout=None)


_stores: dict = {}


def default_path():
    """One counters file per database (so test databases and other shops on the machine never share)."""
    db = connection.settings_dict
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{db.get('HOST') or 'local'}-{db.get('PORT') or ''}-{db['NAME']}")[-120:]
    base = "/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()
    return os.path.join(base, f"duka-pos-catalog-{name}")


def versions():
    """The version store of the configured mode (one per mode, path and database: found by a dict
    lookup, no file system call on the hot path)."""
    current = mode()
    key = (current, getattr(settings, "CATALOG_CACHE_PATH", ""), connection.settings_dict["NAME"])
    store = _stores.get(key)
    if store is None:
        store = _stores[key] = SharedCacheVersions() if current == "redis" else LocalVersions(key[1] or default_path())
    return store


# --- Writers: bump versions when the change commits ---------------------------------------------------

def _bump(keys):
    try:
        versions().bump(keys)
    except Exception:  # noqa: BLE001 - the change is committed; a lost bump is bounded by CATALOG_CACHE_MAX_AGE
        log.exception("catalogue cache: could not bump %s", keys)


def _on_commit(keys):
    if keys and enabled():
        transaction.on_commit(lambda: _bump(keys))


def products_changed(product_ids):
    """Call in the transaction that changes these products (price, barcode, activation, stock, ...):
    their cached lookups are dropped when it commits."""
    _on_commit([product_key(pk) for pk in {pk for pk in product_ids if pk is not None}])


def categories_changed():
    _on_commit([CATEGORIES])


def user_changed(user_id):
    _on_commit([user_key(user_id)])


def product_versions(product_ids) -> dict:
    """{product id: its current version} (for a sync that remembers what it has seen)."""
    ids = list(product_ids)
    return dict(zip(ids, versions().read([product_key(pk) for pk in ids]), strict=True))


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
    store = versions()
    entry = _products.get(code)
    if entry is not None and time.monotonic() - entry[3] < _max_age():
        pk, seen, body, _ = entry
        try:
            if store.read([product_key(pk), CATEGORIES]) == seen:
                return body
        except Exception:  # noqa: BLE001 - the version store is unreachable: the database answers
            return _read(code)[1]
    pk = _active_id(code)
    if pk is None:
        _products.pop(code, None)
        return None
    try:
        seen = store.read([product_key(pk), CATEGORIES])
    except Exception:  # noqa: BLE001
        return _read(code)[1]
    read_pk, body = _read(code)  # read after the versions: a change committing meanwhile bumps past them
    if read_pk != pk:  # the barcode moved to another product meanwhile: answer, keep nothing
        return body
    if len(_products) >= MAX_ENTRIES:
        _products.clear()
    _products[code] = (pk, seen, body, time.monotonic())
    return body


def clear_local():
    """Forget this process's entries (tests; the shared versions stay)."""
    _products.clear()
    _users.clear()


# --- API tokens ------------------------------------------------------------------------------------

class CachedTokenAuthentication(ExpiringTokenAuthentication):
    """`Authorization: Token <key>` with the token's user kept in memory while the user and their tokens
    are unchanged (see the module's docstring) and the token has not reached its end (API_TOKEN_TTL_HOURS).
    Without the cache: pos.accounts.auth.ExpiringTokenAuthentication."""

    def authenticate_credentials(self, key):
        if not enabled():
            return super().authenticate_credentials(key)
        store = versions()
        try:
            user = remembered_user(key)
        except Exception:  # noqa: BLE001 - the version store is unreachable: the database answers
            return super().authenticate_credentials(key)
        if user is not None:
            return user, key
        user_id = self.get_model().objects.filter(key=key).values_list("user_id", flat=True).first()
        if user_id is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        seen = store.read([user_key(user_id), PERMISSIONS])
        user, token = super().authenticate_credentials(key)  # read after the version (see lookup)
        if len(_users) >= MAX_ENTRIES:
            _users.clear()
        _users[key] = (user, seen, time.monotonic(), token_expires_at(token).timestamp())
        return user, key


def remembered_user(key):
    """The user of API token `key` from memory, when it was read under the current versions of the user
    and of the permissions and the token has not reached its end; else None (no database query)."""
    entry = _users.get(key)
    if entry is None or time.monotonic() - entry[2] >= _max_age() or time.time() >= entry[3]:
        return None
    user, seen = entry[0], entry[1]
    return user if versions().read([user_key(user.pk), PERMISSIONS]) == seen else None


def remembered_answer(code):
    """The cached JSON of the barcode `code` when the product and the categories are unchanged since it
    was read; else None (no database query)."""
    entry = _products.get(code)
    if entry is None or time.monotonic() - entry[3] >= _max_age():
        return None
    return entry[2] if versions().read([product_key(entry[0]), CATEGORIES]) == entry[1] else None


# --- The scanner's route ------------------------------------------------------------------------------

def scanner_route(api_patterns):
    """The URL of GET /api/products/barcode/<code>/ in front of the API's own action (found in
    `api_patterns` by its name): a scan whose token, user, permissions and product are all in memory and
    unchanged is answered here, without DRF's dispatch (a third of a lookup's CPU, which a scanner
    feels): the same JSON and headers, the same permission check (ActionPermissions on the viewset).
    Everything else (a session, a first scan, a changed product or permission, an unknown code, a scale
    label, an error) is the API action's, unchanged."""
    from django.urls import path
    from django.views.decorators.csrf import csrf_exempt
    from rest_framework.authentication import get_authorization_header

    from pos.catalog.barcodes import ALLOWED as BARCODE_CHARS
    from pos.core.permissions import ActionPermissions, can

    api_view = next(p.callback for p in api_patterns if getattr(p, "name", None) == "product-barcode")
    viewset, needed = api_view.cls, {}

    @csrf_exempt
    def scan(request, code):
        if request.method == "GET" and enabled():
            try:
                body = _from_memory(request, code)
            except Exception:  # noqa: BLE001 - the version store is unreachable: the API answers
                body = None
            if body is not None:
                return HttpResponse(body, content_type="application/json",
                                    headers={"Allow": "GET, HEAD, OPTIONS"})
        return api_view(request, code=code)

    def _from_memory(request, code):
        auth = get_authorization_header(request).split()
        if len(auth) != 2 or auth[0].lower() != b"token" or not BARCODE_CHARS.match(code):
            return None
        user = remembered_user(auth[1].decode(errors="replace"))
        if user is None:
            return None
        if "perms" not in needed:  # the viewset's table for this action (static): read once
            needed["perms"] = ActionPermissions.needed(request, viewset(action="barcode"))
        if not needed["perms"] or not can(user, *needed["perms"]):
            return None  # the API answers (and refuses)
        return remembered_answer(code.strip())

    return path("barcode/<str:code>/", scan)


def _user_saved(sender, instance, **kwargs):
    user_changed(instance.pk)


def _token_changed(sender, instance, **kwargs):
    user_changed(instance.user_id)


def _permissions_changed(sender, **kwargs):
    if kwargs.get("action", "").startswith("post_"):
        _on_commit([PERMISSIONS])


def connect_signals():
    """Cache invalidation only (no business logic): users and API tokens change in pos.accounts."""
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    user_model = get_user_model()
    post_save.connect(_user_saved, sender=user_model, dispatch_uid="lookup-user-saved")
    post_delete.connect(_user_saved, sender=user_model, dispatch_uid="lookup-user-deleted")
    post_save.connect(_token_changed, sender=Token, dispatch_uid="lookup-token-saved")
    post_delete.connect(_token_changed, sender=Token, dispatch_uid="lookup-token-deleted")
    from django.contrib.auth.models import Group

    m2m_changed.connect(_permissions_changed, sender=Group.permissions.through, dispatch_uid="lookup-group-perms")
    m2m_changed.connect(_permissions_changed, sender=user_model.groups.through, dispatch_uid="lookup-user-groups")
    m2m_changed.connect(_permissions_changed, sender=user_model.user_permissions.through,
                        dispatch_uid="lookup-user-perms")
