"""Daily rollups of the sales that count (SalesRollup): what the reports read for whole days, so a
year's report reads ~days x keys rows instead of joining a year of lines, and grows with the period
asked for, not with the history.

* ``record_sale(sale)`` in the transaction that marks a sale paid (pos.sales.services), and
  ``record_return(sale_return)`` in the one that takes a return, add the sale's lines (or the return's
  lines) to the rows of their day, cashier and product / category / whole day: one INSERT ... SELECT
  ... ON CONFLICT DO UPDATE statement each, its rows locked in key order. The rows are per cashier, so
  two tills never wait on the same row.
* The cash rounding lines (``Sale.rounding``, ``SaleReturn.rounding``: whole sales, no product) are
  summed on the day rows only (``rounding``, ``returned_rounding``): lines + rounding = what the sales
  charged and the returns refunded, which is what the payments and the Z report count.
* A sale counts from the moment it is paid and never stops counting (paid -> partially refunded ->
  refunded), dated by ``paid_at``; a return is dated by its own ``created_at``: the same rules as
  pos.reports.queries, computed by the same SQL expressions (``expected_select``).
* ``rebuild(start, end)`` recomputes days from the lines (the migration that added the table, data
  loaded by other means such as bench/data.py, a repair); ``mismatches()`` compares every row with the
  lines and is one of the checks of ``check_books``.
"""

import json
from datetime import date
from functools import cache

from django.db import connection, transaction
from django.db.models import Count, F, Sum, Value
from django.db.models.functions import TruncDate
from django.utils import timezone

from pos.core.money import ZERO
from pos.reports.models import SalesRollup
from pos.sales.models import SOLD_STATUSES

TABLE = SalesRollup._meta.db_table
KEY = ["day", "cashier_id", "dim", "key_id"]
LINE_FIGURES = ["sold_quantity", "gross", "discounts", "total", "tax", "cost", "sales_count", "lines"]
RETURN_FIGURES = ["returned_quantity", "returned_amount", "returned_tax", "returned_cost", "returns_count"]
ROUNDING_FIGURES = ["rounding", "returned_rounding"]
FIGURES = LINE_FIGURES + RETURN_FIGURES + ROUNDING_FIGURES
# Not a sum: on the product-year rows, the last day of the year with sale lines of the product (None when
# the row holds returns only), what slow movers read (one row per product and year instead of its days).
LAST_DAY = "last_day"
COLUMNS = KEY + FIGURES + [LAST_DAY]
PLACES = {"sold_quantity": 3, "returned_quantity": 3, "sales_count": 0, "lines": 0, "returns_count": 0}
DIMS = {"p": "product", "m": "product month", "y": "product year", "c": "category", "d": "day"}
# Products are also summed per month and per year (`day` holds the first day of the bucket) for all
# cashiers together (cashier 0), so a year's per-product figures read one row per product, not one per
# product, day and cashier. (Those rows are locked only by sales of the product, which hold the
# product's row lock already: no new wait between tills.)
BUCKETS = {
    "m": {"postgresql": "CAST(date_trunc('month', CAST(q.day_ AS timestamp)) AS date)",
          "sqlite": "date(q.day_, 'start of month')"},
    "y": {"postgresql": "CAST(date_trunc('year', CAST(q.day_ AS timestamp)) AS date)",
          "sqlite": "date(q.day_, 'start of year')"},
}


def _zone():
    from pos.reports.queries import shop_zone

    return shop_zone()


def _aliased(dim, mine):
    """The SELECT list of a part: day, cashier, dim, key, then every figure (zeros for those not `mine`),
    then the last day with lines (the lines' own day on product-year rows, else none)."""
    day = BUCKETS[dim][connection.vendor] if dim in BUCKETS else "q.day_"
    cols = [f"{day} AS c0", "q.cashier_ AS c1", f"'{dim}' AS c2", "COALESCE(q.key_, 0) AS c3"]
    for n, name in enumerate(FIGURES, start=4):
        cols.append(f"q.{name}_ AS c{n}" if name in mine else f"0 AS c{n}")
    last = "q.day_" if dim == "y" and mine is LINE_FIGURES else "NULL"
    cols.append(f"CAST({last} AS date) AS c{len(COLUMNS) - 1}" if connection.vendor == "postgresql" else
                f"{last} AS c{len(COLUMNS) - 1}")
    return ", ".join(cols)


def _line_select(lines, dim):
    """SQL (and params) of the lines' figures grouped by (day, cashier, key of `dim`)."""
    key = {"c": F("product__category_id"), "d": Value(0)}.get(dim, F("product_id"))
    cashier = Value(0) if dim in BUCKETS else F("sale__cashier_id")
    rows = lines.order_by().values(day_=TruncDate("sale__paid_at", tzinfo=_zone()), cashier_=cashier,
                                   key_=key).annotate(
        sold_quantity_=Sum("quantity"), gross_=Sum("gross"), discounts_=Sum(F("discount") + F("order_discount")),
        total_=Sum("total"), tax_=Sum("tax"), cost_=Sum("cost"), sales_count_=Count("sale_id", distinct=True),
        lines_=Count("id"))
    sql, params = rows.query.sql_with_params()
    return f"SELECT {_aliased(dim, LINE_FIGURES)} FROM ({sql}) q", list(params)


def _return_select(returns, dim):
    key = {"c": F("sale_item__product__category_id"), "d": Value(0)}.get(dim, F("sale_item__product_id"))
    rows = returns.order_by().values(day_=TruncDate("sale_return__created_at", tzinfo=_zone()),
                                     cashier_=Value(0) if dim in BUCKETS else F("sale_item__sale__cashier_id"),
                                     key_=key).annotate(
        returned_quantity_=Sum("quantity"), returned_amount_=Sum("amount"), returned_tax_=Sum("tax"),
        returned_cost_=Sum("cost"), returns_count_=Count("sale_return_id", distinct=True))
    sql, params = rows.query.sql_with_params()
    return f"SELECT {_aliased(dim, RETURN_FIGURES)} FROM ({sql}) q", list(params)


def _rounding_select(rows, figure, day, cashier):
    """The day rows' rounding figure: `rows` (Sale or SaleReturn queryset) with a rounding line."""
    rows = rows.exclude(rounding=0).order_by().values(day_=TruncDate(day, tzinfo=_zone()), cashier_=F(cashier),
                                                      key_=Value(0)).annotate(**{f"{figure}_": Sum("rounding")})
    sql, params = rows.query.sql_with_params()
    return f"SELECT {_aliased('d', [figure])} FROM ({sql}) q", list(params)


def expected_select(lines=None, returns=None, sales=None, sale_returns=None):
    """One SELECT of the rollup rows that `lines` (SaleItem queryset), `returns` (SaleReturnLine
    queryset) and the rounding lines of `sales` (Sale) and `sale_returns` (SaleReturn) give, in key
    order (the order their rows are locked in), columns as COLUMNS."""
    parts = []
    for dim in DIMS:
        if lines is not None:
            parts.append(_line_select(lines, dim))
        if returns is not None:
            parts.append(_return_select(returns, dim))
    if sales is not None:
        parts.append(_rounding_select(sales, "rounding", "paid_at", "cashier_id"))
    if sale_returns is not None:
        parts.append(_rounding_select(sale_returns, "returned_rounding", "created_at", "sale__cashier_id"))
    union = " UNION ALL ".join(sql for sql, _ in parts)
    params = [p for _, ps in parts for p in ps]
    sums = ", ".join([*(f"SUM(u.c{n}) AS c{n}" for n in range(4, len(COLUMNS) - 1)),
                      f"MAX(u.c{len(COLUMNS) - 1}) AS c{len(COLUMNS) - 1}"])
    return (f"SELECT u.c0 AS c0, u.c1 AS c1, u.c2 AS c2, u.c3 AS c3, {sums} FROM ({union}) u WHERE 1 = 1 "
            "GROUP BY u.c0, u.c1, u.c2, u.c3 ORDER BY u.c0, u.c1, u.c2, u.c3", params)


def _upsert(select, params):
    columns = ", ".join(COLUMNS)
    adds = ", ".join([*(f"{name} = {TABLE}.{name} + excluded.{name}" for name in FIGURES), _later_day()])
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {TABLE} ({columns}) {select} "
                       f"ON CONFLICT (day, cashier_id, dim, key_id) DO UPDATE SET {adds}", params)


def _later_day():
    """The SET clause keeping the later of the row's last day and the new lines' (either may be none)."""
    mine, new = f"{TABLE}.{LAST_DAY}", f"excluded.{LAST_DAY}"
    if connection.vendor == "postgresql":
        return f"{LAST_DAY} = GREATEST({mine}, {new})"  # GREATEST skips NULLs
    return f"{LAST_DAY} = CASE WHEN {new} IS NULL OR {new} < {mine} THEN {mine} ELSE {new} END"


# Stands for the sale (or return) in a statement compiled once: no row has this id.
_MARK = -2_147_000_001
_STATEMENTS = {}


def _statement(kind):
    """The rollup statement of one sale (`kind` "sale") or one return ("return"), with _MARK for its id,
    compiled once per database and time zone: building it through the ORM costs more CPU than running
    it (about 5 ms per sale, a third of a checkout's)."""
    from pos.sales.models import Sale, SaleItem, SaleReturn, SaleReturnLine

    key = (kind, connection.alias, connection.vendor, timezone.get_current_timezone_name())
    if key not in _STATEMENTS:
        if kind == "sale":
            built = expected_select(lines=SaleItem.objects.filter(sale_id=_MARK, sale__status__in=SOLD_STATUSES),
                                    sales=Sale.objects.filter(pk=_MARK, status__in=SOLD_STATUSES))
        else:
            built = expected_select(
                returns=SaleReturnLine.objects.filter(sale_return_id=_MARK, sale_item__sale__status__in=SOLD_STATUSES),
                sale_returns=SaleReturn.objects.filter(pk=_MARK, sale__status__in=SOLD_STATUSES))
        _STATEMENTS[key] = built
    return _STATEMENTS[key]


def _record(kind, pk):
    select, params = _statement(kind)
    _upsert(select, [pk if isinstance(p, int) and p == _MARK else p for p in params])


def record_sale(sale, items=None):
    """Add a sale that has just become paid to the rollups (call in the transaction that marks it paid).
    `items`: its lines just written, with their products (the checkout's): their rows are summed here
    and sent as they are, instead of read back by the rollup statement (same rows: check_books)."""
    if items is None or connection.vendor != "postgresql":
        _record("sale", sale.pk)
        return
    rows = json.dumps(sale_rows(sale, items), default=str)
    with connection.cursor() as cursor:
        cursor.execute(_rows_statement(), [rows])


def sale_rows(sale, items):
    """The rollup rows (COLUMNS, in key order: the order rows are locked in) of a paid sale's lines, as
    expected_select gives them: per product (day and cashier; month and year, all cashiers, the year
    row with the sale's day as its last day of sales), per category (0: none) and the whole day (which
    also carries the sale's rounding line)."""
    day = timezone.localtime(sale.paid_at, _zone()).date()
    month, year = day.replace(day=1), day.replace(month=1, day=1)
    cashier = sale.cashier_id
    sums = {}
    for item in items:
        figures = (item.quantity, item.gross, item.discount + item.order_discount, item.total, item.tax, item.cost)
        product, category = item.product_id, item.product.category_id or 0
        for key in ((day, cashier, "p", product), (month, 0, "m", product), (year, 0, "y", product),
                    (day, cashier, "c", category), (day, cashier, "d", 0)):
            row = sums.get(key)
            if row is None:
                sums[key] = [*figures, 1]
            else:
                row[:6] = [a + b for a, b in zip(row[:6], figures, strict=True)]
                row[6] += 1
    none_returned = [ZERO, ZERO, ZERO, ZERO, 0]  # RETURN_FIGURES; each column's values of one type
    return [[*key, *row[:6], 1, row[6], *none_returned, sale.rounding if key[2] == "d" else ZERO, ZERO,
             day if key[2] == "y" else None]  # LAST_DAY: the year row's last day of sales
            for key, row in sorted(sums.items())]


@cache
def _rows_statement():
    """The rows as one JSON array of arrays (one parameter: psycopg sends it as it is, where arrays or
    hundreds of parameters cost more to send than to run), added to those already there."""
    fields = [SalesRollup._meta.get_field(name) for name in COLUMNS]
    values = ", ".join(f"CAST(e.r ->> {n} AS {f.db_type(connection)})" for n, f in enumerate(fields))
    adds = ", ".join([*(f"{name} = {TABLE}.{name} + excluded.{name}" for name in FIGURES), _later_day()])
    return (f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) SELECT {values} "
            f"FROM jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS e(r, n) ORDER BY e.n "  # key order: lock order
            f"ON CONFLICT (day, cashier_id, dim, key_id) DO UPDATE SET {adds}")


def record_return(sale_return):
    """Add a return that has just been taken (call in its transaction, after its lines are written)."""
    _record("return", sale_return.pk)


def _sources(start=None, end=None):
    """{lines, returns, sales, sale_returns}: what the rollups of the days start..end (None: open) sum."""
    from pos.reports.queries import Period
    from pos.sales.models import Sale, SaleItem, SaleReturn, SaleReturnLine

    sources = {"lines": SaleItem.objects.filter(sale__status__in=SOLD_STATUSES),
               "returns": SaleReturnLine.objects.filter(sale_item__sale__status__in=SOLD_STATUSES),
               "sales": Sale.objects.filter(status__in=SOLD_STATUSES),
               "sale_returns": SaleReturn.objects.filter(sale__status__in=SOLD_STATUSES)}
    if start is None and end is None:
        return sources
    period = Period("custom", start or date(1970, 1, 1), end or date(9999, 12, 30))
    return {"lines": sources["lines"].filter(sale__paid_at__gte=period.since, sale__paid_at__lt=period.until),
            "returns": sources["returns"].filter(sale_return__created_at__gte=period.since,
                                                 sale_return__created_at__lt=period.until),
            "sales": sources["sales"].filter(paid_at__gte=period.since, paid_at__lt=period.until),
            "sale_returns": sources["sale_returns"].filter(created_at__gte=period.since, created_at__lt=period.until)}


def _rows_in(start, end):
    rows = SalesRollup.objects.all()
    if start is not None:
        rows = rows.filter(day__gte=start)
    if end is not None:
        rows = rows.filter(day__lte=end)
    return rows


@transaction.atomic
def rebuild(start: date | None = None, end: date | None = None) -> int:
    """Recompute the rollups of the days start..end (both included; None: open) from the lines.
    Returns the number of rows written. The days are widened to whole years, whose month and year
    rows of products depend on every day of them."""
    from pos.reports.queries import report_session

    start = date(start.year, 1, 1) if start else None
    end = date(end.year, 12, 31) if end else None
    with report_session():
        return _rebuild(start, end)


def _rebuild(start, end):
    _rows_in(start, end).delete()
    select, params = expected_select(**_sources(start, end))
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) {select}", params)
    return _rows_in(start, end).count()


def _round(expression, name):
    return f"ROUND({expression}, {PLACES.get(name, 2)})"


def mismatches(limit=20) -> list[str]:
    """Rollup rows that differ from what the lines and rounding lines give (both ways, to the cent), as messages; [] when
    they are equal. Compared in the database (EXCEPT), whatever the number of rows."""
    select, params = expected_select(**_sources())
    want = ", ".join(["e.c0", "e.c1", "e.c2", "e.c3"] + [_round(f"e.c{n}", name) for n, name in
                                                          enumerate(FIGURES, start=4)] + [f"e.c{len(COLUMNS) - 1}"])
    have = ", ".join(KEY + [_round(name, name) for name in FIGURES] + [LAST_DAY])
    expected = f"SELECT {want} FROM ({select}) e"
    actual = f"SELECT {have} FROM {TABLE}"
    found = {"want": {}, "have": {}}
    from pos.reports.queries import report_session

    with report_session(), connection.cursor() as cursor:
        for side, first, second, first_params, second_params in (
                ("want", expected, actual, params, []), ("have", actual, expected, [], params)):
            cursor.execute(f"SELECT * FROM ({first} EXCEPT {second}) x LIMIT {limit}", first_params + second_params)
            found[side] = {tuple(str(v) for v in row[:4]): row for row in cursor.fetchall()}
    return [f"rollups: {DIMS.get(key[2], key[2])} {key[3]} of {key[0]}, cashier {key[1]}: the rollup holds "
            f"{_figures(found['have'].get(key))} but the lines give {_figures(found['want'].get(key))}"
            for key in sorted(set(found["want"]) | set(found["have"]))][:limit]


def _figures(row):
    if row is None:
        return "nothing"
    return ", ".join(f"{name} {value}" for name, value in zip(FIGURES + [LAST_DAY], row[4:], strict=True)
                     if value) or "zeros"
