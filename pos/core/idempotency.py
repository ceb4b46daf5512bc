"""Idempotent creation, one implementation for every money- or stock-moving call.

A client sends a key (the `Idempotency-Key` header, or a client-generated reference). The row the
call creates stores the key (a unique column) and a fingerprint of the request body. A retry with
the same key and body returns the first row; the same key with another body is a ConflictError.
Under concurrency the unique constraint decides: the loser's IntegrityError becomes a replay.

    fp = fingerprint([sale.pk, method, str(amount)])
    payment, created = create_once(Payment, key, fp, lambda: _create(...))

The model needs `idempotency_key` (unique, null=True) and `request_hash` (CharField 64) columns;
`create()` must store both (key may be None when the client sent none).
"""

import hashlib
import json

from django.db import IntegrityError, transaction

from pos.core.errors import ConflictError, ServiceError

MAX_KEY_LENGTH = 100


def fingerprint(payload) -> str:
    """A stable SHA-256 of a JSON-able request description (dict keys sorted, Decimals as strings)."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def clean_key(value) -> str | None:
    """A client's key stripped; None when empty. Longer than MAX_KEY_LENGTH is a ConflictError-free
    ValueError for the caller to turn into a field message."""
    key = (str(value) if value is not None else "").strip()
    if len(key) > MAX_KEY_LENGTH:
        raise ValueError(f"An idempotency key has at most {MAX_KEY_LENGTH} characters.")
    return key or None


def replay(model, key, request_hash, *, what="request", owner=None, conflict=None, key_field="idempotency_key"):
    """The row created earlier with `key`, or None. The same key with another body is refused with a
    ConflictError carrying that row as `existing` (the client may resume or undo what its key made).

    `owner` (attribute, value, message): a row that belongs to someone else is refused with `message`
    (and is not disclosed). `conflict(row)`: the message for another body (default: a generic one).
    `key_field`: the model's unique key column when it is not `idempotency_key` (e.g. a client's uuid)."""
    if not key:
        return None
    found = model.objects.filter(**{key_field: key}).first()
    if found is None:
        return None
    name = "Idempotency-Key" if key_field == "idempotency_key" else key_field
    if owner is not None and getattr(found, owner[0]) != owner[1]:
        raise ConflictError(owner[2], field=name, code="idempotency_conflict")
    if found.request_hash != request_hash:
        message = conflict(found) if conflict else f"This {name} was already used for a different {what}."
        error = ConflictError(message, field=name, code="idempotency_conflict")
        error.existing = found
        raise error
    return found


def create_once(model, key, request_hash, create, *, what="request", owner=None, conflict=None,
                insert_first=False, key_field="idempotency_key"):
    """(row, created): the row of an earlier call with the same key, else `create()`'s row.

    `create()` runs in its own savepoint, so a concurrent twin's unique-key violation is turned into
    a replay of the winner's row without breaking the caller's transaction. `insert_first`: look for
    the key only when `create()` fails (its unique key, or a ServiceError such as a product sold out
    since the first call): one query less for the first call, the common case on a hot path."""
    key = key or None
    options = {name: value for name, value in (("owner", owner), ("conflict", conflict)) if value is not None}
    options["key_field"] = key_field
    if not insert_first:
        existing = replay(model, key, request_hash, what=what, **options)
        if existing is not None:
            return existing, False
    try:
        with transaction.atomic():
            return create(), True
    except IntegrityError:
        existing = replay(model, key, request_hash, what=what, **options)
        if existing is not None:
            return existing, False
        raise
    except ServiceError:
        existing = insert_first and replay(model, key, request_hash, what=what, **options)
        if existing:
            return existing, False
        raise
