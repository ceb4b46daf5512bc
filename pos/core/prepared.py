"""The till's checkout, the hottest write path, with as little work per sale as the database allows.

* ``statements()``: on PostgreSQL every statement sent in the block is bound on the server and prepared
  once per connection, so the server parses and plans each once instead of on every sale (planning the
  rollup statement alone cost more than running it). Every other query of Django's keeps its
  client-side binding. Prepared statements use one generic plan (settings: ``plan_cache_mode``), right
  for the key lookups and writes of a hot path. A connection pooler in transaction mode that cannot
  keep prepared statements (PgBouncer before 1.21) needs DB_PREPARED_STATEMENTS=0. Elsewhere (SQLite)
  nothing changes.
* ``insert(objs)``: new rows by SQL built once per model (bulk_create builds it on every call).
* ``fetch(key, build, *lists)``: a queryset compiled once per shape, run with each call's values.
"""

import json
from contextlib import contextmanager
from copy import copy
from decimal import Decimal
from functools import cache

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import AutoField


@contextmanager
def statements():
    """Every statement sent in the block (ORM or hand-written) is prepared: for a hot path whose
    statements are the same on every call. Query logging, execute wrappers and query counts see them
    as usual."""
    if connection.vendor != "postgresql" or not settings.DB_PREPARED_STATEMENTS:
        yield
        return
    connection.ensure_connection()
    raw = connection.connection
    before = raw.cursor_factory
    raw.cursor_factory = _preparing_cursor_class()
    try:
        yield
    finally:
        raw.cursor_factory = before


@cache
def _preparing_cursor_class():
    from django.db.backends.postgresql.base import ServerBindingCursor

    class PreparingCursor(ServerBindingCursor):
        def execute(self, query, params=None, *, prepare=None, binary=None):
            return super().execute(query, params, prepare=True, binary=binary)

    return PreparingCursor


def insert(objs):
    """INSERT new rows of one model in one statement and give them their primary keys, as bulk_create
    does (no signals), with its SQL built once per model instead of on every call: what the checkout
    writes on every sale (its sale, lines, stock movements, payment and their history rows). Fields'
    pre_save (auto_now_add, ...) and database conversions apply as in save(). On PostgreSQL several rows
    go as one JSON array of rows (one parameter), so the statement is the same whatever the number of
    rows and is prepared once; a single row, or a model with fields JSON does not carry as they are,
    goes as VALUES."""
    if not objs:
        return objs
    db = connections[DEFAULT_DB_ALIAS]  # the wrapper itself: every attribute read of the proxy costs
    model = type(objs[0])
    if db.vendor == "postgresql" and len(objs) > 1 and _json_rows(model):
        _insert(db, objs, *_insert_statement(model, 0, db.vendor), columns=True)
        return objs
    fields = _insert_statement(model, 1, db.vendor)[0]
    size = max(1, db.ops.bulk_batch_size(fields, objs))  # SQLite takes at most 999 parameters
    for start in range(0, len(objs), size):
        batch = objs[start:start + size]
        _insert(db, batch, *_insert_statement(model, len(batch), db.vendor), columns=False)
    return objs


def insert_one(obj, sql, extra=()):
    """Insert the new row `obj` by `sql`: single_insert(type(obj))'s statement, or one that wraps it, with
    `extra` parameters after the row's (pos.core.history: the row and its history row in one statement)."""
    db = connections[DEFAULT_DB_ALIAS]
    _insert(db, [obj], _insert_statement(type(obj), 1, db.vendor)[0], sql, columns=False, extra=extra)
    return obj


def single_insert(model):
    """(fields, SQL) of the INSERT of one row of `model`, ending with its RETURNING clause."""
    return _insert_statement(model, 1, connections[DEFAULT_DB_ALIAS].vendor)


def _insert(db, objs, fields, sql, columns, extra=()):
    rows = []
    plain = _plain_fields(type(objs[0]), db.vendor)
    for obj in objs:
        obj._prepare_related_fields_for_save(operation_name="insert")  # a parent saved since: its id
        row = []
        for field, as_is in zip(fields, plain):
            value = field.pre_save(obj, True)
            row.append(value if as_is and type(value) in _AS_IS else field.get_db_prep_save(value, db))
        rows.append(row)
    with db.cursor() as cursor:
        cursor.execute(sql, [json.dumps(rows, default=str)] if columns
                       else [v for row in rows for v in row] + list(extra))
        ids = [row[0] for row in cursor.fetchall()]
    for obj, pk in zip(objs, ids, strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = db.alias


# Values psycopg sends as they are, for fields whose conversion (get_db_prep_save) would give them back
# unchanged on PostgreSQL (a Decimal's places: the numeric column rounds it, as the conversion would).
_AS_IS = {str, int, bool, type(None), Decimal}
_AS_IS_FIELDS = {"CharField", "TextField", "IntegerField", "BigIntegerField", "SmallIntegerField",
                 "PositiveIntegerField", "PositiveSmallIntegerField", "PositiveBigIntegerField", "BooleanField",
                 "DecimalField", "ForeignKey", "OneToOneField", "AutoField", "BigAutoField", "SmallAutoField"}


# Fields whose database values JSON carries as text PostgreSQL casts back exactly (str() of a Decimal,
# an aware datetime, a date or a UUID).
_JSON_FIELDS = _AS_IS_FIELDS | {"DateTimeField", "DateField", "UUIDField"}


def _of_kind(field, kinds):
    """The field (and, for a foreign key, the field it points to) is of one of `kinds`."""
    return field.get_internal_type() in kinds and (not field.is_relation or
                                                  field.target_field.get_internal_type() in kinds)


@cache
def _json_rows(model):
    return all(_of_kind(field, _JSON_FIELDS) for field in _insert_statement(model, 1, "postgresql")[0])


@cache
def _plain_fields(model, vendor):
    """Per inserted field of `model`: whether its values of the _AS_IS types go to psycopg as they are."""
    return [vendor == "postgresql" and _of_kind(field, _AS_IS_FIELDS) for field in _insert_statement(model, 1, vendor)[0]]


@cache
def _insert_statement(model, rows, vendor):
    """(fields, SQL): `rows` VALUES lists, or on PostgreSQL (rows 0) the rows of one JSON array parameter."""
    from django.db import connection as db

    meta = model._meta
    fields = [f for f in meta.concrete_fields if not isinstance(f, AutoField) and not f.generated]
    quote = db.ops.quote_name
    names = ", ".join(quote(f.column) for f in fields)
    if rows:
        one = "(" + ", ".join(["%s"] * len(fields)) + ")"
        values = f"VALUES {', '.join([one] * rows)}"
    else:  # one JSON array of rows: one parameter, where arrays or hundreds of them cost more to send than to run
        values = (f"SELECT {', '.join(f'CAST(e.r ->> {n} AS {f.db_type(db)})' for n, f in enumerate(fields))} "
                  f"FROM jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS e(r, n) ORDER BY e.n")
    return fields, f"INSERT INTO {quote(meta.db_table)} ({names}) {values} RETURNING {quote(meta.pk.column)}"


def fetch(key, build, *lists):
    """The model instances (with their select_related rows) of the queryset `build(*lists)`, its SQL
    compiled once per `key`, database and shape instead of on every call: `build` gets stand-in values at
    that first call, and each call's values take their places in the compiled parameters. `lists` are
    lists of ints or of strings (the SQL has one parameter per value: each length is its own shape)."""
    db = connections[DEFAULT_DB_ALIAS]
    shape = tuple((len(values), type(values[0]) if values else None) for values in lists)
    sql, params, stand_ins, compiler = _compiled(key, db.vendor, build, shape)
    given = {}
    for stand_ins_of, values in zip(stand_ins, lists):
        given.update(zip(stand_ins_of, values))
    with db.cursor() as cursor:
        cursor.execute(sql, [given.get(p, p) if type(p) in (int, str) else p for p in params])
        rows = cursor.fetchall()
    return _instances(compiler, rows, db)


_FETCHES = {}


def _compiled(key, vendor, build, shape):
    found = _FETCHES.get((key, vendor, shape))
    if found is None:
        stand_ins = [[(f"\x00stand-in {n}.{i}" if kind is str else -(2**62) - 1000 * n - i) for i in range(length)]
                     for n, (length, kind) in enumerate(shape)]
        compiler = build(*stand_ins).query.get_compiler(using=DEFAULT_DB_ALIAS)
        sql, params = compiler.as_sql()
        missing = {v for values in stand_ins for v in values} - set(params)
        if missing:  # a lookup converted them: the values could not be put in their places
            raise ValueError(f"{key}: stand-ins not found in the compiled parameters: {sorted(map(str, missing))}")
        found = _FETCHES[(key, vendor, shape)] = (sql, list(params), stand_ins, compiler)
    return found


def _instances(compiler, rows, db):
    """Rows to model instances as Django's ModelIterable makes them (converters, select_related rows)."""
    from django.db.models.query import get_related_populators

    compiler = copy(compiler)  # shared by every thread: this thread's connection converts the values
    compiler.connection, compiler.using = db, db.alias
    info, select = compiler.klass_info, compiler.select
    fields = info["select_fields"]
    start, end = fields[0], fields[-1] + 1
    names = [column[0].target.attname for column in select[start:end]]
    populators = get_related_populators(info, select, db.alias)
    model = info["model"]
    objs = []
    for row in compiler.results_iter([rows]):
        obj = model.from_db(db.alias, names, row[start:end])
        for populator in populators:
            populator.populate(row, obj)
        objs.append(obj)
    return objs
