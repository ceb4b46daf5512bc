"""Report figures, computed in SQL with Django aggregation (a fixed number of queries per report,
whatever the number of sales; Python only merges and derives figures from the aggregated rows).

Which sales count
-----------------
* A sale counts when its status is one of ``pos.sales.models.SOLD_STATUSES`` (paid, partially returned,
  returned). Open carts,
  sales waiting for payment (``pending_payment``) and ``cancelled`` sales never count.
* A sale is dated by ``paid_at`` (the moment completed payments covered it), read in the shop's time
  zone (``settings.TIME_ZONE``, Africa/Nairobi): a sale paid at 23:59 belongs to that day, one paid at
  00:01 to the next. All periods are whole days in that zone.
* Every figure comes from the sale lines (SaleItem), which store what was charged, and the sales' cash
  rounding lines (``Sale.rounding``, no VAT, no product): gross = qty x VAT-inclusive price;
  discounts = line discount + the line's share of the order discount; rounding = the sales' rounding
  lines; sales total = gross - discounts + rounding (VAT incl.: what the sales charged); VAT = tax
  stored on the line; cost = qty x unit cost captured at the sale.
* Returns (SaleReturnLine: amount, tax, cost, and ``SaleReturn.rounding``) are their own figure,
  ``refunds`` (lines + their rounding line: what the returns owe), dated by the return's ``created_at``
  (not by the original sale), and are netted out in the period of the return:
  net sales = sales total - refunds (VAT incl.); VAT = line VAT - VAT of returns;
  net sales ex VAT = net sales - VAT. Net sales = payments received - refunds owed, to the cent.
* Breakdowns by day, hour and cashier hold whole sales, rounding included; by product and by category
  hold lines, and the category breakdown has one more row, "Cash rounding", so it adds up too.
* Profit and loss: revenue = (line total - line tax) - (return amount - return tax) + rounding, where
  rounding = the sales' rounding lines - the returns' (no VAT; so revenue = net sales ex VAT);
  COGS = line cost - cost of returned goods; gross margin = revenue - COGS;
  margin % = gross margin / revenue x 100 (None when there is no revenue).
* Payments by method: completed payments (the amount applied to the sale, change excluded) of the
  sales counted in the period, dated like their sale; they add up to the sales total. ``refunds``
  per method is money paid back (completed Refund rows) dated by the refund's ``completed_at``.

Periods
-------
``today``; ``week`` (Monday of this week to today); ``month`` (the 1st to today); ``year`` (1 January
to today); ``custom`` (``start`` and ``end``, YYYY-MM-DD, both included, at most 366 days).

Speed (a year: ~1,000,000 lines, 100,000 products)
--------------------------------------------------
* Lines are grouped by ids and dates only; names (products, categories, cashiers) are read afterwards
  for the rows shown. The sales report makes three passes over the period's lines: by (day or hour,
  cashier), which also gives the totals; by product; by category. Profit makes two (by day, by
  product) and adds its categories up from the products. Numbers of sales per day and cashier come
  from the sales table.
* Long per-product lists (products, stock on hand, low stock, slow movers) take a ``Page``: JSON and
  admin pages show one page with the number of rows there are; xlsx and csv files get every row.
* On PostgreSQL a report runs with JIT off and a larger work_mem (``report_session``).
"""

import heapq
import operator
import re
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import partial, reduce
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import (
    BigIntegerField,
    Count,
    DecimalField,
    F,
    Func,
    Q,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Collate, Round, TruncDate, TruncHour
from django.utils import timezone

from pos.catalog.models import Category, Product
from pos.core.errors import ServiceError
from pos.core.money import ZERO, to_money, to_quantity
from pos.inventory.models import AlertStatus, StockAlert, StockMovement
from pos.payments.models import Method, Payment, PaymentStatus, Refund, RefundStatus
from pos.reports.models import SalesRollup
from pos.sales.models import (
    SOLD_STATUSES,
    Sale,
    SaleItem,
    SaleReturn,
    SaleReturnLine,
    Shift,
    ShiftStatus,
)

PERIODS = ("today", "week", "month", "year", "custom")
MAX_CUSTOM_DAYS = 366
MONEY = DecimalField(max_digits=20, decimal_places=2)
QUANTITY = DecimalField(max_digits=20, decimal_places=3)
REPORT_WORK_MEM = "160MB"
LABELS_BY_ID = 5000  # more product ids than this: read the names of the whole catalogue in one query


def person_name(first, last, username):
    """A cashier as reports show them: their full name, else their username."""
    return " ".join(part for part in (first, last) if part) or username


def shop_zone():
    return ZoneInfo(settings.TIME_ZONE)


def shop_today():
    return timezone.localtime(timezone.now(), shop_zone()).date()


@dataclass(frozen=True)
class Period:
    """Whole days in the shop's time zone, `start` and `end` included."""

    name: str
    start: date
    end: date

    @property
    def by_hour(self):
        return self.start == self.end

    @property
    def since(self):
        return datetime.combine(self.start, time.min, tzinfo=shop_zone())

    @property
    def until(self):
        return datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=shop_zone())

    def days(self):
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]

    def as_dict(self):
        return {"name": self.name, "start": self.start, "end": self.end, "time_zone": settings.TIME_ZONE}


def _parse_date(value, field):
    if not value:
        raise ServiceError("Required for a custom period (YYYY-MM-DD).", field=field, code="required")
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ServiceError(f"'{value}' is not a date: use YYYY-MM-DD.", field=field, code="bad_date") from None


def resolve_period(name="today", start=None, end=None, today=None) -> Period:
    """Turn `period` (+ `start`/`end` for custom) into whole days in the shop's zone. Bad input is a
    ServiceError naming the field: period, start or end."""
    name = (name or "today").strip().lower()
    today = today or shop_today()
    if name not in PERIODS:
        raise ServiceError(f"Unknown period '{name}': choose one of {', '.join(PERIODS)}.", field="period",
                           code="bad_period")
    if name == "today":
        return Period(name, today, today)
    if name == "week":
        return Period(name, today - timedelta(days=today.weekday()), today)
    if name == "month":
        return Period(name, today.replace(day=1), today)
    if name == "year":
        return Period(name, today.replace(month=1, day=1), today)
    first, last = _parse_date(start, "start"), _parse_date(end, "end")
    if first > last:
        raise ServiceError("The start date must be on or before the end date.", field="start", code="bad_range")
    if (last - first).days + 1 > MAX_CUSTOM_DAYS:
        raise ServiceError(f"A custom period covers at most {MAX_CUSTOM_DAYS} days.", field="start",
                           code="range_too_long")
    return Period(name, first, last)


def day_period(day: date) -> Period:
    return Period("custom", day, day)


# --- Sales lines and returns, grouped ------------------------------------------------------------

@contextmanager
def report_session():
    """Run a report's queries in one transaction; on PostgreSQL with JIT off (compiling the big
    aggregates cost more than it saved) and enough work_mem to sort or hash a year of lines in memory."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('jit', 'off', true), set_config('work_mem', %s, true)",
                           [REPORT_WORK_MEM])
        yield


@contextmanager
def overlapped():
    """Inside: on PostgreSQL (psycopg 3) queries are sent without waiting for their results (pipeline
    mode): the database works on them, on another core, while Python turns the rows of a query run
    before the block (its result already received) into the report's. Same order, same transaction.
    Elsewhere queries run one at a time. Reading any query sent in the block waits for all of them
    (psycopg reads a pipeline's results in order), so read the one run before the block first."""
    if connection.vendor == "postgresql":
        connection.ensure_connection()
    pipeline = getattr(connection.connection, "pipeline", None) if connection.vendor == "postgresql" else None
    if pipeline is None:
        yield
        return
    with pipeline():
        yield


def _sent(sql, params, make_rows):
    """Send `sql` now; returns the function that reads its rows (tuples) and makes them with `make_rows`."""
    cursor = connection.cursor()
    cursor.execute(sql, params)

    def read():
        with cursor:
            return make_rows(cursor.fetchall())

    return read


def _later(queryset, make_rows):
    """Like _sent for a values_list() queryset: on PostgreSQL its SQL is sent now and read with a plain
    cursor (psycopg gives each column its type: no per-row ORM work); elsewhere it is read now through
    the ORM (SQLite needs its converters for decimals and dates)."""
    if connection.vendor != "postgresql":
        made = make_rows(list(queryset))
        return lambda: made
    return _sent(*queryset.query.sql_with_params(), make_rows)


# Grouping keys: name -> (alias, expression on SaleItem, on SaleReturnLine, on Sale, on SaleReturn). Only ids and
# dates are grouped on; names are looked up afterwards (grouping a year of lines by text is slow).
def _keys(zone):
    return {
        "day": ("bucket", TruncDate("sale__paid_at", tzinfo=zone), TruncDate("sale_return__created_at", tzinfo=zone),
                TruncDate("paid_at", tzinfo=zone), TruncDate("created_at", tzinfo=zone)),
        "hour": ("bucket", TruncHour("sale__paid_at", tzinfo=zone), TruncHour("sale_return__created_at", tzinfo=zone),
                 TruncHour("paid_at", tzinfo=zone), TruncHour("created_at", tzinfo=zone)),
        "product": ("product_id_", F("product_id"), F("sale_item__product_id"), None, None),
        "category": ("category_id_", F("product__category_id"), F("sale_item__product__category_id"), None, None),
        "cashier": ("cashier_id_", F("sale__cashier_id"), F("sale_item__sale__cashier_id"), F("cashier_id"),
                    F("sale__cashier_id")),
    }


def _money_sum(expression):
    return Sum(expression, output_field=MONEY, default=ZERO)


LINE_FIGURES = {
    "sold_quantity": lambda: Sum("quantity", output_field=QUANTITY, default=ZERO),
    "gross": lambda: _money_sum("gross"),
    "discounts": lambda: _money_sum(F("discount") + F("order_discount")),
    "total": lambda: _money_sum("total"),
    "tax": lambda: _money_sum("tax"),
    "cost": lambda: _money_sum("cost"),
}
RETURN_FIGURES = {
    "returned_quantity": lambda: Sum("quantity", output_field=QUANTITY, default=ZERO),
    "returned_amount": lambda: _money_sum("amount"),
    "returned_tax": lambda: _money_sum("tax"),
    "returned_cost": lambda: _money_sum("cost"),
    "returns_count": lambda: Count("sale_return_id", distinct=True),
}
# The cash rounding lines of whole sales and returns (no product, no category, no VAT).
ROUNDING_FIGURES = ("rounding", "returned_rounding")
ADDITIVE = (*LINE_FIGURES, *RETURN_FIGURES, "sales_count", *ROUNDING_FIGURES)
ROLLUP_FIGURES = (*ADDITIVE, "lines")


def sale_lines(since, until, cashier=None):
    """Lines of the sales that count, paid in [since, until)."""
    lines = SaleItem.objects.filter(sale__status__in=SOLD_STATUSES, sale__paid_at__gte=since, sale__paid_at__lt=until)
    return lines.filter(sale__cashier=cashier) if cashier is not None else lines


def return_lines(since, until, cashier=None):
    """Lines of returns taken in [since, until) on sales that count."""
    lines = SaleReturnLine.objects.filter(sale_item__sale__status__in=SOLD_STATUSES, sale_return__created_at__gte=since,
                                          sale_return__created_at__lt=until)
    return lines.filter(sale_item__sale__cashier=cashier) if cashier is not None else lines


def counted_sales(since, until, cashier=None):
    """The sales that count, paid in [since, until)."""
    sales = Sale.objects.filter(status__in=SOLD_STATUSES, paid_at__gte=since, paid_at__lt=until)
    return sales.filter(cashier=cashier) if cashier is not None else sales


def counted_returns(since, until, cashier=None):
    """Returns taken in [since, until) on sales that count."""
    returns = SaleReturn.objects.filter(sale__status__in=SOLD_STATUSES, created_at__gte=since, created_at__lt=until)
    return returns.filter(sale__cashier=cashier) if cashier is not None else returns


def _aggregate(queryset, keys, figures):
    figures = {name: make() for name, make in figures.items()}
    if not keys:
        return [queryset.aggregate(**figures)]
    return list(queryset.order_by().values(**keys).annotate(**figures))


def empty_figures():
    return {**{k: ZERO for k in ADDITIVE}, "sales_count": 0, "returns_count": 0}


def grouped(since, until, by=(), cashier=None, count_sales="lines"):
    """Raw figures of sales lines and returns per group of `by` (names of _keys), merged on the group
    key: {key tuple: figures}. The number of sales per group: `count_sales="lines"` counts distinct
    sales among the lines (a sort); "sales" counts rows of the sales table, for groups that hold whole
    sales (day, hour, cashier); None leaves it out. Groups that hold whole sales (day, hour, cashier or
    none) also get the sales' and returns' cash rounding lines."""
    keys = _keys(shop_zone())
    aliases = [keys[name][0] for name in by]
    line_figures = {**LINE_FIGURES, "sales_count": lambda: Count("sale_id", distinct=True)} \
        if count_sales == "lines" else LINE_FIGURES
    parts = [
        _aggregate(sale_lines(since, until, cashier), {keys[n][0]: keys[n][1] for n in by}, line_figures),
        _aggregate(return_lines(since, until, cashier), {keys[n][0]: keys[n][2] for n in by}, RETURN_FIGURES),
    ]
    whole_sales = all(keys[n][3] is not None for n in by)
    if whole_sales:
        per_sale = {"rounding": lambda: _money_sum("rounding")}
        if count_sales == "sales":
            per_sale["sales_count"] = lambda: Count("id")
        parts.append(_aggregate(counted_sales(since, until, cashier), {keys[n][0]: keys[n][3] for n in by}, per_sale))
        parts.append(_aggregate(counted_returns(since, until, cashier), {keys[n][0]: keys[n][4] for n in by},
                                {"returned_rounding": lambda: _money_sum("rounding")}))
    merged = {}
    empty = empty_figures()
    for rows in parts:
        for row in rows:
            key = tuple(row.pop(alias) for alias in aliases)
            into = merged.get(key)
            if into is None:
                merged[key] = {**empty, **row}
            else:
                into.update(row)
    return merged


ROLLUP_KEYS = {"day": "day", "cashier": "cashier_id", "product": "key_id", "category": "key_id"}
ROLLUP_DIM = {"product": "p", "category": "c"}


def rolled(period, by=(), cashier=None):
    """The same figures as grouped(), read from the daily rollups (pos.reports.rollups) of the period's
    days: ~days x keys rows instead of a join over the lines. `by`: ("day" and/or "cashier"), or one of
    "product" / "category" (+ "day"/"cashier"). The number of sales per product or category counts each
    sale once per product / category it holds, as grouped() does."""
    dims = [ROLLUP_DIM[name] for name in by if name in ROLLUP_DIM]
    if dims == ["p"] and "day" not in by:  # products over the period: whole years and months in one row each
        spans = product_spans(period, cashier=cashier)
        rows = SalesRollup.objects.filter(reduce(operator.or_, (Q(dim=dim, day__gte=first, day__lte=last)
                                                                for dim, first, last in spans)))
        if len(spans) == 1 and spans[0][0] != "p":  # one year or month: one row per product already
            return {(row.pop("key_id"),): {**empty_figures(), **row}
                    for row in rows.order_by().values("key_id", *ROLLUP_FIGURES)}
    else:
        rows = SalesRollup.objects.filter(dim=dims[0] if dims else "d", day__gte=period.start, day__lte=period.end)
    if cashier is not None:
        rows = rows.filter(cashier_id=cashier.pk)
    columns = [ROLLUP_KEYS[name] for name in by]
    figures = {name: Sum(name) for name in ROLLUP_FIGURES}
    if not columns:
        found = rows.aggregate(**figures)
        return {(): {**empty_figures(), **{k: v for k, v in found.items() if v is not None}}} if found["lines"] else {}
    return {tuple(row.pop(c) for c in columns): {**empty_figures(), **row}
            for row in rows.order_by().values(*columns).annotate(**figures)}


def _month_end(day):
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def product_spans(period, today=None, cashier=None):
    """[(dim, first, last)] of product rollup rows that cover the period's days with the fewest rows:
    whole years ("y"), whole months ("m"), then days ("p"). A year or month counts as whole when the
    period covers it up to today (no sale is dated later). Years and months are for all cashiers
    together: one cashier's figures read days."""
    if cashier is not None:
        return [("p", period.start, period.end)]
    today = today or shop_today()
    spans, day = [], period.start
    while day <= period.end:
        year_end = date(day.year, 12, 31)
        if (day.month, day.day) == (1, 1) and min(year_end, today) <= period.end:
            spans.append(("y", day, day))
            day = year_end + timedelta(days=1)
            continue
        month_end = _month_end(day)
        if day.day == 1 and min(month_end, today) <= period.end:
            spans.append(("m", day, day))
            day = month_end + timedelta(days=1)
            continue
        last = min(period.end, month_end)
        if spans and spans[-1][0] == "p" and spans[-1][2] == day - timedelta(days=1):
            spans[-1] = ("p", spans[-1][1], last)
        else:
            spans.append(("p", day, last))
        day = last + timedelta(days=1)
    return spans


# The figures of a product row, computed in SQL from its rollup sums (q.*): product rows hold lines only
# (no rounding), so each figure is a difference of sums of cents, exact. (name, SQL, decimal places)
PRODUCT_FIGURES = {
    "sales": [
        ("gross_sales", "q.gross", 2), ("discounts", "q.discounts", 2), ("sales_total", "q.total", 2),
        ("refunds", "q.returned_amount", 2), ("net_sales", "q.total - q.returned_amount", 2),
        ("vat", "q.tax - q.returned_tax", 2),
        ("net_sales_ex_vat", "q.total - q.returned_amount - q.tax + q.returned_tax", 2),
        ("sales_count", "q.sales_count", 0), ("returns_count", "q.returns_count", 0),
        ("quantity", "q.sold_quantity - q.returned_quantity", 3),
    ],
    "profit": [
        ("revenue", "q.total - q.tax - q.returned_amount + q.returned_tax", 2), ("cogs", "q.cost - q.returned_cost", 2),
        ("gross_margin", "q.total - q.tax - q.returned_amount + q.returned_tax - q.cost + q.returned_cost", 2),
        ("quantity", "q.sold_quantity - q.returned_quantity", 3),
    ],
}
PRODUCT_RANK = {"sales": "net_sales", "profit": "gross_margin"}
SUMMED = ["gross", "discounts", "total", "tax", "cost", "sales_count", "sold_quantity", "returned_quantity",
          "returned_amount", "returned_tax", "returned_cost", "returns_count"]


def _number(value, places):
    if value is None:
        return ZERO if places else 0
    if not places:
        return int(value)
    return Decimal(str(value)).quantize(Decimal(1).scaleb(-places))


def product_rows(period, report, page, categories, cashier=None):
    """(the page's product rows, best first, with their names and figures; how many products there are)
    for `report` "sales" or "profit", read from the rollups of the period's days (whole years and months
    in one row per product). Figures, names, ranking and the cut are the database's: Python only makes
    each row a dict (its category named from `categories`, {id: name}), so every row of a year of
    100,000 products comes back in one query. Every row (no limit, no offset): counted as they come."""
    return send_product_rows(period, report, page, categories, cashier)()


def send_product_rows(period, report, page, categories, cashier=None):
    """product_rows, its query sent now: returns the function that reads it."""
    spans = product_spans(period, cashier=cashier)
    where = "(" + " OR ".join("(dim = %s AND day >= %s AND day <= %s)" for _ in spans) + ")"
    params = [value for span in spans for value in span]
    if cashier is not None:
        where, params = where + " AND cashier_id = %s", [*params, cashier.pk]
    table = SalesRollup._meta.db_table
    figures = PRODUCT_FIGURES[report]
    rank = next(sql for name, sql, _ in figures if name == PRODUCT_RANK[report])
    paged = page.limit is not None or page.offset
    count = ", COUNT(*) OVER () AS n_" if paged and not page.stream else ""
    if len(spans) == 1 and spans[0][0] != "p":  # one year or month: one row per product, nothing to add up
        inner = f"SELECT key_id, {', '.join(SUMMED)}{count} FROM {table} WHERE {where}"
        inner_rank = rank.replace("q.", "")
    else:
        inner = (f"SELECT key_id, {', '.join(f'SUM({n}) AS {n}' for n in SUMMED)}{count} "
                 f"FROM {table} WHERE {where} GROUP BY key_id")
        inner_rank = re.sub(r"q\.(\w+)", r"SUM(\1)", rank)
    inner_params = []
    if page.limit is not None and connection.vendor == "postgresql":
        # A page: the best rows by figure (ties included, to be ordered by name) before the join, so only
        # they are joined to their names; counted before the cut.
        inner += f" ORDER BY {inner_rank} DESC FETCH FIRST %s ROWS WITH TIES"
        inner_params = [page.offset + page.limit]
    by_name = 'p.name COLLATE "C"' if connection.vendor == "postgresql" else "p.name"
    cut, cut_params = ("LIMIT %s OFFSET %s", [page.limit, page.offset]) if page.limit is not None else \
        ("LIMIT -1 OFFSET %s" if connection.vendor == "sqlite" else "OFFSET %s", [page.offset])
    sql = (f"SELECT q.key_id, COALESCE(p.sku, ''), COALESCE(p.name, ''), p.category_id, "
           f"{', '.join(expression for _, expression, _ in figures)}{', q.n_' if count else ''} "
           f"FROM ({inner}) q LEFT JOIN {Product._meta.db_table} p ON p.id = q.key_id "
           f"ORDER BY {rank} DESC, {by_name}, q.key_id {cut}")
    make_row = _product_row_maker(report, categories)
    if page.stream:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM ({inner}) q", params)
            count = cursor.fetchone()[0]
        streamed = _streamed(sql, [*params, *cut_params], make_row), count
        return lambda: streamed

    def made(found):
        if not paged:
            return list(map(make_row, found)), len(found)
        if not found:
            if not page.offset:
                return [], 0
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT COUNT(DISTINCT key_id) FROM {table} WHERE {where}", params)
                return [], cursor.fetchone()[0]
        return list(map(make_row, found)), found[0][-1]

    return _sent(sql, [*params, *inner_params, *cut_params], made)


def _product_row_maker(report, categories):
    """The function that turns a row of product_rows' query into its dict: the category named from
    `categories`, the figures' places restored on SQLite (which sums decimals as floats), no rounding
    (lines only), and for profit the margin %."""
    figures = PRODUCT_FIGURES[report]
    convert = {"category": categories.get}
    if connection.vendor != "postgresql":
        convert.update({name: partial(_number, places=places) for name, _, places in figures})
    make_row = _dict_maker(["product_id", "sku", "name", "category", *(name for name, _, _ in figures)], convert,
                           {"rounding": ZERO})
    if report != "profit":
        return make_row

    def with_margin(found):
        row = make_row(found)
        row["margin_percent"] = margin_percent(row["gross_margin"], row["revenue"])
        return row

    return with_margin


def _dict_maker(names, convert=None, constants=None):
    """A function making a row (a tuple of at least len(names) values; more are ignored) the dict of
    `names`, by one generated dict display: twice as fast as dict(zip()) over 100,000 rows. `convert`
    ({name: function}) is applied to those values; `constants` ({name: value}) are added last."""
    convert, constants = convert or {}, constants or {}
    scope, items = {}, []
    for n, name in enumerate(names):
        if name in convert:
            scope[f"convert{n}"] = convert[name]
            items.append(f"{name!r}: convert{n}(row[{n}])")
        else:
            items.append(f"{name!r}: row[{n}]")
    for n, (name, value) in enumerate(constants.items()):
        scope[f"constant{n}"] = value
        items.append(f"{name!r}: constant{n}")
    source = f"def make_row(row):\n    return {{{', '.join(items)}}}\n"
    exec(compile(source, "<report row>", "exec"), scope)  # noqa: S102 - code generated above from names only
    return scope["make_row"]


def line_count(period) -> int:
    """How many sale lines the period holds (from the rollups: no pass over the lines)."""
    return SalesRollup.objects.filter(dim="d", day__gte=period.start, day__lte=period.end).aggregate(
        n=Sum("lines", default=0))["n"]


def _roll_up(rows, key):
    """Add up raw figures ({group: figures}) into coarser groups: key(group) -> the coarser group."""
    out = {}
    for group, figures in rows.items():
        into = out.get(key(group))
        if into is None:
            out[key(group)] = dict(figures)
        else:
            for name in ADDITIVE:
                into[name] += figures[name]
    return out


def sales_figures(raw):
    rounding = to_money(raw["rounding"])
    sales_total = to_money(raw["total"]) + rounding
    refunds = to_money(raw["returned_amount"]) + to_money(raw["returned_rounding"])
    vat = to_money(raw["tax"] - raw["returned_tax"])
    net_sales = sales_total - refunds
    return {
        "gross_sales": to_money(raw["gross"]), "discounts": to_money(raw["discounts"]), "rounding": rounding,
        "sales_total": sales_total,
        "refunds": refunds, "net_sales": net_sales, "vat": vat, "net_sales_ex_vat": net_sales - vat,
        "sales_count": raw["sales_count"], "returns_count": raw["returns_count"],
        "quantity": to_quantity(raw["sold_quantity"] - raw["returned_quantity"]),
    }


def with_basket(figures):
    """Add the average basket: sales total / number of sales."""
    count = figures["sales_count"]
    return {**figures, "average_basket": to_money(figures["sales_total"] / count) if count else ZERO}


def margin_percent(margin, revenue):
    return to_money(margin * 100 / revenue) if revenue else None


def profit_figures(raw):
    rounding = to_money(raw["rounding"] - raw["returned_rounding"])
    revenue = to_money(raw["total"] - raw["tax"]) - to_money(raw["returned_amount"] - raw["returned_tax"]) + rounding
    cogs = to_money(raw["cost"] - raw["returned_cost"])
    margin = revenue - cogs
    return {"revenue": revenue, "rounding": rounding, "cogs": cogs, "gross_margin": margin,
            "margin_percent": margin_percent(margin, revenue),
            "quantity": to_quantity(raw["sold_quantity"] - raw["returned_quantity"])}


# What each report ranks its products by, read straight from the raw sums (exact: cents).
RANKS = {
    "net_sales": lambda r: r["total"] - r["returned_amount"],
    "gross_margin": lambda r: r["total"] - r["tax"] - r["returned_amount"] + r["returned_tax"] - r["cost"]
    + r["returned_cost"],
}


def _zero_time_rows(period, rows, figures, unit):
    zone, zero = shop_zone(), figures(empty_figures())
    if unit == "hour":
        by_hour = {timezone.localtime(moment, zone).hour: raw for (moment,), raw in rows.items()}
        return [{"hour": datetime.combine(period.start, time(h), tzinfo=zone),
                 **(figures(by_hour[h]) if h in by_hour else zero)} for h in range(24)]
    by_day = {day: raw for (day,), raw in rows.items()}
    return [{"date": day, **(figures(by_day[day]) if day in by_day else zero)} for day in period.days()]


def _local_date(moment):
    return timezone.localtime(moment, shop_zone()).date() if isinstance(moment, datetime) else moment


def _product_labels(ids):
    """{product id: (sku, name, category id)} for `ids` (the whole catalogue when they are many)."""
    products = Product.objects.order_by()
    if len(ids) <= LABELS_BY_ID:
        products = products.filter(pk__in=ids)
    return {pk: (sku, name, category) for pk, sku, name, category in products.values_list(
        "pk", "sku", "name", "category_id")}


def _category_names():
    return dict(Category.objects.values_list("pk", "name"))


@dataclass(frozen=True)
class Page:
    """Which rows of a long breakdown to show: `limit` rows (None: all) after `offset`. `stream`: every
    row, read from the database as they are used (a file being written), not as a list."""

    limit: int | None = None
    offset: int = 0
    stream: bool = False

    def cut(self, rows):
        return rows[self.offset:] if self.limit is None else rows[self.offset:self.offset + self.limit]


ALL = Page()
STREAM = Page(stream=True)  # the downloads: the report's figures first, then its long lists as they are written


def _streamed(sql, params, make_row):
    """The rows of `sql`, read in chunks through a server-side cursor when they are iterated (after the
    report's other figures: the file's first bytes leave before the long lists are read)."""
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while chunk := cursor.fetchmany(2000):
            yield from map(make_row, chunk)


def _products(raw, figures, rank, page, categories):
    """Product rows (figures and names), best first by `rank`; only the page's rows get names and
    figures. Returns (rows, number of products)."""
    score = RANKS[rank]
    if page.limit is None and not page.offset:  # every row: one sort below, by the figure and name
        ranked = raw.items()
    else:
        best = sorted if page.limit is None else partial(heapq.nsmallest, page.offset + page.limit)
        ranked = page.cut(best(raw.items(), key=lambda item: (-score(item[1]), item[0][0])))
    labels = _product_labels([pid for (pid,), _ in ranked])
    rows = []
    for (pid,), figs in ranked:
        sku, name, category_id = labels.get(pid, ("", "", None))
        rows.append({"product_id": pid, "sku": sku, "name": name, "category": categories.get(category_id),
                     **figures(figs)})
    rows.sort(key=lambda r: (-r[rank], r["name"]))
    return rows, len(raw)


ROUNDING_ROW = "Cash rounding"


def _lines_only(raw):
    """Raw figures without the rounding lines: what the product rows add up to."""
    return {**raw, **{name: ZERO for name in ROUNDING_FIGURES}}


def _category_rows(raw, figures, rank, names, rounding=None):
    """Category rows, best first; `rounding` (raw figures holding the rounding lines) adds the row of the
    cash rounding lines last, when there are any, so the rows add up to the totals."""
    rows = [{"category_id": cid, "category": names.get(cid), **figures(figs)} for (cid,), figs in raw.items()]
    rows.sort(key=lambda r: (-r[rank], str(r["category"] or "")))
    if rounding and (rounding["rounding"] or rounding["returned_rounding"]):
        only = {**empty_figures(), **{name: rounding[name] for name in ROUNDING_FIGURES}, "sales_count": 0}
        rows.append({"category_id": None, "category": ROUNDING_ROW, **figures(only)})
    return rows


def payments_by_method(since, until, cashier=None):
    """Completed payments of the sales counted in [since, until) per method, and refunds paid back."""
    return send_payments_by_method(since, until, cashier)()


def send_payments_by_method(since, until, cashier=None):
    """payments_by_method, its queries sent now: returns the function that reads them."""
    payments = Payment.objects.filter(status=PaymentStatus.COMPLETED, sale__status__in=SOLD_STATUSES,
                                      sale__paid_at__gte=since, sale__paid_at__lt=until)
    refunds = Refund.objects.filter(status=RefundStatus.COMPLETED, completed_at__gte=since, completed_at__lt=until)
    if cashier is not None:
        payments = payments.filter(sale__cashier=cashier)
        refunds = refunds.filter(payment__sale__cashier=cashier)
    paid = _later(payments.order_by().values("method").annotate(payments=Count("id"), amount=_money_sum("amount"))
                  .values_list("method", "payments", "amount"), lambda rows: {r[0]: r[1:] for r in rows})
    # how the money went back: cash from a drawer counts as cash whatever the payment's method
    back = _later(refunds.order_by().annotate(paid_by=Refund.paid_by_expression()).values("paid_by")
                  .annotate(amount=_money_sum("amount")).values_list("paid_by", "amount"), dict)

    def read():
        by_method, refunded = paid(), back()
        return [{"method": method, "label": label, "payments": by_method.get(method, (0, ZERO))[0],
                 "amount": to_money(by_method.get(method, (0, ZERO))[1]),
                 "refunds": to_money(refunded.get(method, ZERO))}
                for method, label in Method.choices if method in by_method or method in refunded]

    return read


def sales_report(period: Period, *, cashier=None, products: Page = ALL):
    """Sales of the period: totals and breakdowns (by day, by hour for a single day, by product,
    category, cashier and payment method). Each additive figure of a breakdown sums to the total.
    `products` limits the product rows (best net sales first); `product_count` tells how many there are.

    Three passes over the lines: by (day or hour, cashier), which also gives the totals, the days and
    the cashiers; by product; by category."""
    since, until = period.since, period.until
    unit = "hour" if period.by_hour else "day"
    with report_session():
        if period.by_hour:  # one day, by hour: its lines (a day's worth)
            timeline = grouped(since, until, (unit, "cashier"), cashier, count_sales="sales")
            per_product = grouped(since, until, ("product",), cashier)
            per_category = grouped(since, until, ("category",), cashier)
            by_product, product_count = _products(per_product, sales_figures, "net_sales", products,
                                                  categories := _category_names())
        else:  # whole days: the daily rollups; the product rows (the most rows) sent first, read last
            timeline = rolled(period, ("day", "cashier"), cashier)
            per_category = rolled(period, ("category",), cashier)
            categories = _category_names()
        cashier_names = {pk: person_name(first, last, username) for pk, first, last, username in
                         get_user_model().objects.filter(pk__in={c for _, c in timeline}).values_list(
                             "pk", "first_name", "last_name", "username")}
        if not period.by_hour:  # the product rows (the most rows) received, made while the database adds up
            read_products = send_product_rows(period, "sales", products, categories, cashier)  # the payments
        with overlapped():
            read_payments = send_payments_by_method(since, until, cashier)
            if not period.by_hour:
                by_product, product_count = read_products()
            by_method = read_payments()
    times = _roll_up(timeline, lambda group: (group[0],))
    total = _roll_up(timeline, lambda group: ()).get((), empty_figures())
    return {
        "period": period.as_dict(),
        "cashier": person_name(cashier.first_name, cashier.last_name, cashier.username) if cashier else None,
        "totals": with_basket(sales_figures(total)),
        "by_day": _zero_time_rows(period, _roll_up(times, lambda group: (_local_date(group[0]),)), sales_figures,
                                  "day"),
        "by_hour": _zero_time_rows(period, times, sales_figures, "hour") if unit == "hour" else [],
        "by_product": by_product,
        "product_count": product_count,
        "products_total": sales_figures(_lines_only(total)),
        "by_category": _category_rows(per_category, sales_figures, "net_sales", categories, rounding=total),
        "by_cashier": sorted([{"cashier_id": cid, "cashier": cashier_names.get(cid), **sales_figures(figs)}
                              for (cid,), figs in _roll_up(timeline, lambda group: (group[1],)).items()],
                             key=lambda r: r["cashier"] or ""),
        "by_payment_method": by_method,
    }


def profit_report(period: Period, *, products: Page = ALL):
    """Profit and loss of the period: revenue net of VAT, COGS, gross margin and margin %, by day,
    product and category; returns netted in the period they were taken. Two passes over the lines (by
    day, by product); the categories add up their products."""
    with report_session():
        per_day = rolled(period, ("day",))
        per_category = rolled(period, ("category",))
        categories = _category_names()
        by_product, product_count = product_rows(period, "profit", products, categories)
    total = _roll_up(per_day, lambda group: ()).get((), empty_figures())
    return {
        "period": period.as_dict(),
        "totals": profit_figures(total),
        "by_day": _zero_time_rows(period, per_day, profit_figures, "day"),
        "by_product": by_product,
        "product_count": product_count,
        "products_total": profit_figures(_lines_only(total)),
        "by_category": _category_rows(per_category, profit_figures, "gross_margin", categories, rounding=total),
    }


# --- Inventory -------------------------------------------------------------------------------------

def _value(price_field):
    return Round(F("stock_quantity") * F(price_field), 2, output_field=MONEY)


def _stock_figures():
    return {"quantity": Sum("stock_quantity", output_field=QUANTITY, default=ZERO),
            "value_at_cost": Sum(_value("cost_price"), output_field=MONEY, default=ZERO),
            "value_at_retail": Sum(_value("price"), output_field=MONEY, default=ZERO),
            "products": Count("id")}


def _stocked_products():
    """Active products, and inactive ones still holding (or owing) stock."""
    return Product.objects.filter(Q(is_active=True) | ~Q(stock_quantity=0))


def _money_row(row, *fields):
    """Money fields rounded to the cent; `category_name` (an alias: Product has a `category` field)
    becomes `category`."""
    row = {**row, **{f: to_money(row[f]) for f in fields if row.get(f) is not None}}
    if "category_name" in row:
        row["category"] = row.pop("category_name")
    return row


def _bytewise(field):
    """Order by text as Python does (code points): PostgreSQL's "C" collation, a plain memcmp, several
    times faster than a language's collation on 100,000 names. SQLite compares bytes already."""
    return Collate(field, "C") if connection.vendor == "postgresql" else F(field)


def _row_maker(names, money=()):
    """The function that makes a values_list() row the dict of `names`. Money computed with ROUND(.., 2)
    is exact cents on PostgreSQL; SQLite gives floats, made cents again."""
    if connection.vendor == "postgresql":
        money = ()
    return _dict_maker(names, dict.fromkeys(money, _cents))


def _cents(value):
    return None if value is None else to_money(value)


def _listed(queryset, make_row):
    """The rows of a values_list() queryset through `make_row`, read in one go (see _later)."""
    return _later(queryset, partial(_made, make_row))()


def _made(make_row, rows):
    return list(map(make_row, rows))


def _every_row(page):
    """The page asks for every row as a list (no limit, no offset, not streamed): counts and sums of
    the list can be taken from its rows."""
    return page.limit is None and not page.offset and not page.stream


STOCK_ROW = ["id", "sku", "name", "stock_quantity", "reorder_level", "cost_price", "price", "category",
             "value_at_cost", "value_at_retail"]


def _by_category_name():
    """Products ordered by their category's name (bytewise): on PostgreSQL by the category's place among
    the names sorted in Python (an integer: a far cheaper sort key over 100,000 products than the text;
    the same order, names being unique); elsewhere by the name itself."""
    if connection.vendor != "postgresql":
        return F("category__name")
    from django.contrib.postgres.fields import ArrayField

    ranked = [pk for pk, _ in _categories_by_name()]
    return Func(Cast(Value(ranked), ArrayField(BigIntegerField())), F("category_id"), function="array_position",
                output_field=BigIntegerField())


def _categories_by_name():
    """[(id, name)] of every category, by name compared as Python compares text (code points)."""
    return sorted(Category.objects.values_list("pk", "name"), key=operator.itemgetter(1))


def _stock_rows(products):
    """The stock list's columns (STOCK_ROW) of the queryset `products`."""
    return products.annotate(value_at_cost=_value("cost_price"), value_at_retail=_value("price")).values_list(
        "id", "sku", "name", "stock_quantity", "reorder_level", "cost_price", "price", "category__name",
        "value_at_cost", "value_at_retail")


def stock_on_hand(page: Page = ALL):
    """Stock per product, by category then name: the page's rows."""
    return send_stock_on_hand(page)()


def send_stock_on_hand(page: Page = ALL):
    """stock_on_hand, its query sent now: returns the function that reads it."""
    products = _stock_rows(_stocked_products().order_by(_by_category_name(), _bytewise("name"), "pk"))
    make_row = _row_maker(STOCK_ROW, ("value_at_cost", "value_at_retail"))
    if page.stream:
        streamed = _streamed(*products.query.sql_with_params(), make_row)
        return lambda: streamed
    return _later(page.cut(products), partial(_made, make_row))


def send_stock(page: Page = ALL):
    """The page's rows of stock_on_hand and stock_by_category's figures, the queries sent now: returns
    the function that reads (rows, (categories, totals)). Every row, on PostgreSQL: the products are
    read a category at a time, in the categories' order, each sorted by name (20 sorts of 5,000 rows
    took half the time of one sort of 100,000 by category and name), and each category's figures are
    summed from its rows (no second pass over the products)."""
    if connection.vendor != "postgresql" or not _every_row(page):
        read_rows, read_categories = send_stock_on_hand(page), send_stock_by_category()
        return lambda: (read_rows(), read_categories())
    by_name = _stocked_products().order_by(_bytewise("name"), "pk")
    make_row = _row_maker(STOCK_ROW)
    readers = [(category_id, name, _later(_stock_rows(by_name.filter(category_id=category_id)), list))
               for category_id, name in _categories_by_name()]

    def read():
        rows, categories = [], []
        for category_id, name, read_category in readers:
            found = read_category()
            if found:
                rows += map(make_row, found)
                categories.append((category_id, name, sum(r[3] for r in found), sum(r[8] for r in found),
                                   sum(r[9] for r in found), len(found)))
        return rows, _category_stock(categories)

    return read


STOCK_FIGURES = ("quantity", "value_at_cost", "value_at_retail", "products")


def stock_by_category():
    """(stock per category, by name compared bytewise as in the stock list; the totals over every
    stocked product): one pass over the products, the totals added up from the categories (every
    product has one)."""
    return send_stock_by_category()()


def send_stock_by_category():
    """stock_by_category, its query sent now: returns the function that reads it."""
    rows = _stocked_products().order_by(_bytewise("category__name")).values("category_id", "category__name").annotate(
        **_stock_figures()).values_list("category_id", "category__name", *STOCK_FIGURES)
    return _later(rows, _category_stock)


def _category_stock(found):
    rows = [{"category_id": category_id, "quantity": quantity, "value_at_cost": to_money(at_cost),
             "value_at_retail": to_money(at_retail), "products": products, "category": name}
            for category_id, name, quantity, at_cost, at_retail, products in found]
    totals = {name: sum((r[name] for r in rows), 0 if name == "products" else ZERO) for name in STOCK_FIGURES}
    return rows, totals


def low_stock(page: Page = ALL):
    """Active products at or below their reorder level, lowest stock first: (the page's rows, how many)."""
    products = Product.objects.low_stock()
    rows = _listed(page.cut(products.order_by("stock_quantity", _bytewise("name"), "pk").values_list(
        "id", "sku", "name", "stock_quantity", "reorder_level", "category__name")),
        _row_maker(["id", "sku", "name", "stock_quantity", "reorder_level", "category"]))
    return rows, len(rows) if _every_row(page) else products.count()


SLOW_ROW = ["id", "sku", "name", "stock_quantity", "value_at_cost", "category", "last_sold_on"]


def slow_movers(days=30, today=None, page: Page = ALL):
    """Active products with stock that no counted sale has taken in the last `days` days: see
    send_slow_movers."""
    return send_slow_movers(days, today, page)()


def send_slow_movers(days=30, today=None, page: Page = ALL):
    """Active products with stock that no counted sale has taken in the last `days` days (since the
    start of that day in the shop's zone), the most money tied up (value at cost) first, each with the
    day of its last sale (None: never sold). Returns (the page's rows, {"products", "value_at_cost"}
    of all of them), its query sent now: returns the function that reads it. Read from the product-year
    rollups, not from the lines or the days: each product's row of the latest year (its last day of
    sales) joined to the products in one pass; a product with no sale that year looks back at its
    earlier years (one step in an index)."""
    cutoff = (today or shop_today()) - timedelta(days=days)
    postgresql = connection.vendor == "postgresql"
    rollup = SalesRollup._meta.db_table
    latest = f"SELECT MAX(day) FROM {rollup} WHERE dim = 'y'"
    earlier = (f"SELECT o.last_day FROM {rollup} o WHERE o.dim = 'y' AND o.key_id = p.id AND o.last_day IS NOT NULL "
               f"AND o.day < ({latest}) ORDER BY o.day DESC LIMIT 1")
    value = "ROUND(s.stock_quantity * s.cost_price, 2)"
    slow = (f"FROM (SELECT p.id, p.sku, p.name, p.stock_quantity, p.cost_price, p.category_id, "
            f"COALESCE(y.last_day, ({earlier})) AS last_sold FROM {Product._meta.db_table} p "
            f"LEFT JOIN {rollup} y ON y.dim = 'y' AND y.key_id = p.id AND y.day = ({latest}) "
            f"WHERE p.is_active AND p.stock_quantity > 0) s JOIN {Category._meta.db_table} c ON c.id = s.category_id "
            f"WHERE s.last_sold IS NULL OR s.last_sold < %s")
    by_name = 's.name COLLATE "C"' if postgresql else "s.name"
    cut, cut_params = ("LIMIT %s OFFSET %s", [page.limit, page.offset]) if page.limit is not None else \
        ("OFFSET %s" if postgresql else "LIMIT -1 OFFSET %s", [page.offset])
    # A page counts and sums every slow mover in the same pass (window functions, before the cut).
    summed = f", COUNT(*) OVER (), SUM({value}) OVER ()" if not page.stream and not _every_row(page) else ""
    sql = (f"SELECT s.id, s.sku, s.name, s.stock_quantity, {value} AS value_at_cost, c.name, s.last_sold{summed} "
           f"{slow} ORDER BY value_at_cost DESC, {by_name}, s.id {cut}")
    convert = {} if postgresql else {"stock_quantity": to_quantity, "value_at_cost": _cents, "last_sold_on": _date}
    make_row = _dict_maker(SLOW_ROW, convert)

    def summed_up(rows, found=None):
        if _every_row(page):
            return rows, {"products": len(rows), "value_at_cost": sum((r["value_at_cost"] for r in rows), ZERO)}
        if found:
            count, total = found[0][-2:]
        else:  # streamed (the figures come first), or a page past the last row
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT COUNT(*), COALESCE(SUM({value}), 0) {slow}", [cutoff])
                count, total = cursor.fetchone()
        return rows, {"products": count, "value_at_cost": to_money(total)}

    if page.stream:
        streamed = summed_up(_streamed(sql, [cutoff, *cut_params], make_row))
        return lambda: streamed
    return _sent(sql, [cutoff, *cut_params], lambda found: summed_up(list(map(make_row, found)), found))


def _date(value):
    return None if value is None else date.fromisoformat(value)


MOVEMENT_FIGURES = ("movements", "quantity_in", "quantity_out", "net_quantity", "value_at_cost")


def movement_summary(since, until):
    return send_movement_summary(since, until)()


def send_movement_summary(since, until):
    """Stock movements of [since, until) by kind, the query sent now: returns the function that reads it."""
    rows = StockMovement.objects.filter(created_at__gte=since, created_at__lt=until).order_by("kind").values(
        "kind").annotate(
        movements=Count("id"),
        quantity_in=Sum("quantity", filter=Q(quantity__gt=0), output_field=QUANTITY, default=ZERO),
        quantity_out=Sum("quantity", filter=Q(quantity__lt=0), output_field=QUANTITY, default=ZERO),
        net_quantity=Sum("quantity", output_field=QUANTITY, default=ZERO),
        value_at_cost=Sum(Round(F("quantity") * F("unit_cost"), 2, output_field=MONEY), output_field=MONEY,
                          default=ZERO),
    ).values_list("kind", *MOVEMENT_FIGURES)
    labels = dict(StockMovement._meta.get_field("kind").choices)
    return _later(rows, lambda found: [
        {**_money_row(dict(zip(("kind", *MOVEMENT_FIGURES), r, strict=True)), "value_at_cost"),
         "label": labels.get(r[0], r[0])} for r in found])


def inventory_report(period: Period, *, slow_days=30, products: Page = ALL):
    """Stock on hand (totals and categories in SQL over every product; `products` picks the rows of the
    per-product lists: stock on hand, low stock, slow movers), slow movers and movements by kind."""
    with report_session():
        low, low_count = low_stock(products)
        read_stock = send_stock(products)  # the most rows: received, then made while the database
        with overlapped():  # works on the other lists
            read_slow = send_slow_movers(slow_days, today=period.end, page=products)
            read_movements = send_movement_summary(period.since, period.until)
            by_product, (by_category, totals) = read_stock()
            slow, slow_summary = read_slow()
            movements = read_movements()
    return {
        "period": period.as_dict(),
        "slow_days": slow_days,
        "totals": totals,
        "by_product": by_product,
        "product_count": totals["products"],
        "by_category": by_category,
        "low_stock": low,
        "low_stock_count": low_count,
        "slow_movers": slow,
        "slow_movers_count": slow_summary["products"],
        "slow_movers_value": slow_summary["value_at_cost"],
        "movements": movements,
    }


# --- Dashboard -------------------------------------------------------------------------------------

def dashboard(now=None, top=5):
    """Today so far against the same weekday last week up to the same time of day, payments by method,
    top products, active low-stock alerts, payments waiting or failed today, open shifts."""
    now = timezone.localtime(now or timezone.now(), shop_zone())
    today = day_period(now.date())
    week_ago = now - timedelta(days=7)
    current = with_basket(sales_figures(grouped(today.since, now)[()]))
    previous = with_basket(sales_figures(grouped(today.since - timedelta(days=7), week_ago)[()]))
    top_products, _ = _products(grouped(today.since, now, ("product",)), sales_figures, "net_sales", Page(top),
                                _category_names())
    alerts = StockAlert.objects.filter(status=AlertStatus.ACTIVE).select_related("product").order_by("created_at")
    waiting = Payment.objects.filter(status__in=[PaymentStatus.PENDING, PaymentStatus.PROCESSING])
    failed = Payment.objects.filter(status=PaymentStatus.FAILED, created_at__gte=today.since)
    return {
        "date": today.start,
        "now": now,
        "today": current,
        "last_week": previous,
        "change_percent": margin_percent(current["net_sales"] - previous["net_sales"], previous["net_sales"]),
        "by_hour": _zero_time_rows(today, grouped(today.since, today.until, ("hour",), count_sales="sales"),
                                   sales_figures, "hour"),
        "payments_by_method": payments_by_method(today.since, now),
        "top_products": top_products,
        "low_stock_count": alerts.count(),
        "low_stock": [{"product_id": a.product_id, "name": a.product.name, "sku": a.product.sku,
                       "stock_quantity": a.product.stock_quantity, "reorder_level": a.product.reorder_level,
                       "since": a.created_at} for a in alerts[:10]],
        "payments_waiting": _payment_rows(waiting),
        "payments_waiting_count": waiting.count(),
        "payments_failed": _payment_rows(failed),
        "payments_failed_count": failed.count(),
        "open_shifts": open_shifts(),
    }


def _payment_rows(payments, limit=10):
    rows = payments.order_by("-created_at").values("id", "method", "amount", "status", "created_at",
                                                   receipt_number=F("sale__receipt_number"))[:limit]
    return [_money_row(r, "amount") for r in rows]


def open_shifts():
    """Open shifts with their counted sales so far. The sales are added up per shift in a query of their
    own (one pass over the sales joined to the open shifts, whatever the planner guesses per shift)."""
    shifts = Shift.objects.filter(status=ShiftStatus.OPEN)
    sales = {r["shift_id"]: r for r in Sale.objects.filter(shift__in=shifts, status__in=SOLD_STATUSES).order_by().values(
        "shift_id").annotate(sales_count=Count("id"), sales_total=_money_sum("total"))}
    rows = shifts.order_by("opened_at").values("id", "opened_at", "opening_float", "cashier__first_name",
                                               "cashier__last_name", "cashier__username")
    return [{**_money_row(r, "opening_float"),
             "cashier": person_name(r["cashier__first_name"], r["cashier__last_name"], r["cashier__username"]),
             "sales_count": sales.get(r["id"], {}).get("sales_count", 0),
             "sales_total": to_money(sales.get(r["id"], {}).get("sales_total", ZERO))} for r in rows]
