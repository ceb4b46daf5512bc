"""Excel (streamed, pos.reports.xlsx) and CSV files of the reports, and the bookkeeper's sales-lines ledger.

A report becomes a list of `Sheet`s: typed columns (money, quantity, integer, percent, date, datetime,
text), rows as dicts (or sequences in column order) and a totals row. In xlsx every number is a real number cell with a number
format, dates are date cells, the header is bold and frozen, and columns have widths. The same sheets
give the CSV (sections one after the other). Rows may be a generator: the writers keep one row in
memory at a time and add the totals up as they go.
"""

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import CharField, F, Value
from django.db.models.functions import Coalesce, Concat, NullIf, Trim
from django.utils import timezone

from pos.core.cells import safe_cell
from pos.core.money import ZERO
from pos.reports import xlsx
from pos.reports.queries import Period, return_lines, sale_lines, shop_zone

NUMBER_FORMATS = {
    "money": "#,##0.00",
    "quantity": "#,##0.000",
    "integer": "#,##0",
    "percent": '0.00"%"',
    "date": "yyyy-mm-dd",
    "datetime": "yyyy-mm-dd hh:mm",
}
SUMMED = ("money", "quantity", "integer")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass
class Column:
    header: str
    key: str
    kind: str = "text"
    width: int = 14
    total: bool = True


@dataclass
class Sheet:
    title: str
    columns: list[Column]
    rows: Iterable[dict]
    totals: dict | None = None
    with_totals: bool = True
    summed: dict = field(default_factory=dict)
    written: int = 0


def _plain(value):
    """A value as a cell wants it: aware datetimes become naive shop time (Excel has no zones)."""
    if isinstance(value, datetime):
        return timezone.localtime(value, shop_zone()).replace(tzinfo=None) if timezone.is_aware(value) else value
    return value


def _kind(column, row):
    return row.get("_kind", "money") if column.kind == "auto" else column.kind


def _add_up(sheet, row):
    sheet.written += 1
    for column in sheet.columns:
        if not column.total:
            continue
        value = row.get(column.key)
        if isinstance(value, (int, Decimal)) and _kind(column, row) in SUMMED:
            sheet.summed[column.key] = sheet.summed.get(column.key, ZERO) + value


def _totals(sheet):
    values = sheet.totals if sheet.totals is not None else sheet.summed
    first = sheet.columns[0].key
    return {**{c.key: values.get(c.key) for c in sheet.columns if c.total and c.kind in SUMMED}, first: "Total"}


def _sheet_part(sheet):
    """(title, write) of a sheet for pos.reports.xlsx.stream: the header (bold, frozen), the rows as
    they come (text through safe_cell, numbers and dates as typed cells), then the bold totals row."""
    kinds = [c.kind for c in sheet.columns]
    auto = "auto" in kinds
    keys = [c.key for c in sheet.columns]

    def write(emit):
        writer = xlsx.SheetWriter(len(sheet.columns))
        yield emit(writer.head([c.width for c in sheet.columns]))
        yield emit(writer.row([c.header for c in sheet.columns], bold=True))
        # text through the formula rule, numbers and dates as they are; times to the shop's wall clock
        write_row = xlsx.row_writer(kinds, writer.letters, text=safe_cell)
        moments = [n for n, kind in enumerate(kinds) if kind == "datetime"]
        summed = [] if sheet.totals is not None else \
            [(n, c.key) for n, c in enumerate(sheet.columns) if c.total and c.kind in SUMMED]
        totals = sheet.summed
        for row in sheet.rows:
            if auto:
                _add_up(sheet, row)
                row_kinds = [_kind(c, row) for c in sheet.columns]
                values = [_plain(row.get(key)) if kind in NUMBER_FORMATS else safe_cell(_plain(row.get(key)))
                          for key, kind in zip(keys, row_kinds, strict=True)]
                yield emit(writer.row(values, row_kinds))
                continue
            sheet.written += 1
            values = [row.get(key) for key in keys] if isinstance(row, dict) else list(row)
            for n in moments:
                values[n] = _plain(values[n])
            for n, key in summed:
                value = values[n]
                if value is not None and not isinstance(value, str):
                    totals[key] = totals.get(key, ZERO) + value
            yield emit(writer.fast_row(write_row, values))
        if sheet.with_totals:
            totals = _totals(sheet)
            yield emit(writer.row([totals.get(key) for key in keys], kinds, bold=True))
        yield emit(writer.tail())

    return sheet.title, write


def xlsx_chunks(sheets: list[Sheet]):
    """The xlsx file of the sheets as a stream of bytes (pos.reports.xlsx): the first bytes at once,
    memory flat whatever the number of rows."""
    return xlsx.stream([_sheet_part(sheet) for sheet in sheets])


def write_xlsx(sheets: list[Sheet], target):
    """Write the sheets to `target` (a path or a binary file)."""
    if isinstance(target, (str, bytes)) or hasattr(target, "__fspath__"):
        with open(target, "wb") as out:
            for chunk in xlsx_chunks(sheets):
                out.write(chunk)
    else:
        for chunk in xlsx_chunks(sheets):
            target.write(chunk)
    return sheets


def xlsx_bytes(sheets) -> bytes:
    buffer = io.BytesIO()
    write_xlsx(sheets, buffer)
    return buffer.getvalue()


def _text(value):
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


class _Echo:
    def write(self, value):
        return value


def csv_lines(sheets: list[Sheet], titles=True):
    """The sheets as CSV lines (a generator), sections separated by a blank line."""
    writer = csv.writer(_Echo())
    for n, sheet in enumerate(sheets):
        if titles:
            if n:
                yield writer.writerow([])
            yield writer.writerow([sheet.title])
        yield writer.writerow([c.header for c in sheet.columns])
        keys = [c.key for c in sheet.columns]
        for row in sheet.rows:
            row = row if isinstance(row, dict) else dict(zip(keys, row, strict=True))
            _add_up(sheet, row)
            yield writer.writerow([safe_cell(_text(row.get(c.key))) for c in sheet.columns])
        if sheet.with_totals:
            totals = _totals(sheet)
            yield writer.writerow([_text(totals.get(c.key)) for c in sheet.columns])


# --- Report sheets --------------------------------------------------------------------------------

def _money(header, key, width=14, total=True):
    return Column(header, key, "money", width, total)


SALES_COLUMNS = [
    _money("Gross sales", "gross_sales"), _money("Discounts", "discounts"), _money("Rounding", "rounding", 11),
    _money("Sales total", "sales_total"),
    _money("Refunds", "refunds"), _money("Net sales", "net_sales"), _money("VAT", "vat"),
    _money("Net sales ex VAT", "net_sales_ex_vat", 16), Column("Quantity", "quantity", "quantity", 12),
]
PROFIT_COLUMNS = [
    Column("Quantity", "quantity", "quantity", 12), _money("Revenue ex VAT", "revenue", 16),
    _money("Cost of goods", "cogs", 16), _money("Gross margin", "gross_margin", 16),
    Column("Margin %", "margin_percent", "percent", 10, total=False),
]


def _summary(title, totals, figures):
    """A two-column sheet: figure, value; `figures` is [(key, label, kind)]."""
    rows = [{"figure": label, "value": totals[key], "_kind": kind} for key, label, kind in figures if key in totals]
    return Sheet(title, [Column("Figure", "figure", "text", 26), Column("Value", "value", "auto", 18)], rows,
                 with_totals=False)


SALES_SUMMARY = [
    ("gross_sales", "Gross sales (VAT incl.)", "money"), ("discounts", "Discounts", "money"),
    ("rounding", "Cash rounding", "money"), ("sales_total", "Sales total", "money"), ("refunds", "Refunds (returns)", "money"),
    ("net_sales", "Net sales (VAT incl.)", "money"), ("vat", "VAT", "money"),
    ("net_sales_ex_vat", "Net sales ex VAT", "money"), ("sales_count", "Number of sales", "integer"),
    ("returns_count", "Number of returns", "integer"), ("average_basket", "Average basket", "money"),
    ("quantity", "Quantity sold (net of returns)", "quantity"),
]
PROFIT_SUMMARY = [
    ("revenue", "Revenue ex VAT", "money"), ("rounding", "of which cash rounding", "money"), ("cogs", "Cost of goods sold", "money"),
    ("gross_margin", "Gross margin", "money"), ("margin_percent", "Margin %", "percent"),
    ("quantity", "Quantity sold (net of returns)", "quantity"),
]
STOCK_SUMMARY = [
    ("products", "Products", "integer"), ("quantity", "Quantity on hand", "quantity"),
    ("value_at_cost", "Stock value at cost", "money"), ("value_at_retail", "Stock value at retail", "money"),
]


def sales_sheets(report):
    totals = report["totals"]
    count = Column("Sales", "sales_count", "integer", 8)
    sheets = [
        _summary("Summary", totals, SALES_SUMMARY),
        Sheet("By day", [Column("Date", "date", "date", 12), count, *SALES_COLUMNS], report["by_day"], totals),
    ]
    if report["by_hour"]:
        sheets.append(Sheet("By hour", [Column("Hour", "hour", "datetime", 17), count, *SALES_COLUMNS],
                            report["by_hour"], totals))
    not_additive = Column("Sales", "sales_count", "integer", 8, total=False)
    sheets += [
        Sheet("By product", [Column("SKU", "sku", width=14), Column("Product", "name", width=32),
                             Column("Category", "category", width=20), not_additive, *SALES_COLUMNS],
              report["by_product"], report["products_total"]),  # lines: the rounding is no product's
        Sheet("By category", [Column("Category", "category", width=24), not_additive, *SALES_COLUMNS],
              report["by_category"], totals),
        Sheet("By cashier", [Column("Cashier", "cashier", width=20), count, *SALES_COLUMNS], report["by_cashier"],
              totals),
        Sheet("By payment method", [Column("Method", "label", width=18), Column("Payments", "payments", "integer", 10),
                                    _money("Amount", "amount"), _money("Refunded", "refunds")],
              report["by_payment_method"]),
    ]
    return sheets


def profit_sheets(report):
    totals = report["totals"]
    return [
        _summary("Summary", totals, PROFIT_SUMMARY),
        Sheet("By day", [Column("Date", "date", "date", 12), *PROFIT_COLUMNS], report["by_day"], totals),
        Sheet("By product", [Column("SKU", "sku", width=14), Column("Product", "name", width=32),
                             Column("Category", "category", width=20), *PROFIT_COLUMNS], report["by_product"],
              report["products_total"]),
        Sheet("By category", [Column("Category", "category", width=24), *PROFIT_COLUMNS], report["by_category"],
              totals),
    ]


def inventory_sheets(report):
    totals = report["totals"]
    value_columns = [_money("Value at cost", "value_at_cost", 16), _money("Value at retail", "value_at_retail", 16)]
    return [
        _summary("Summary", totals, STOCK_SUMMARY),
        Sheet("Stock on hand", [
            Column("SKU", "sku"), Column("Product", "name", width=32), Column("Category", "category", width=20),
            Column("On hand", "stock_quantity", "quantity", 12), Column("Reorder level", "reorder_level", "quantity", 13,
                                                                        total=False),
            _money("Unit cost", "cost_price", total=False), _money("Price", "price", total=False), *value_columns,
        ], report["by_product"], totals),
        Sheet("By category", [Column("Category", "category", width=24), Column("Products", "products", "integer", 10),
                              Column("On hand", "quantity", "quantity", 12), *value_columns],
              report["by_category"], totals),
        Sheet("Low stock", [Column("SKU", "sku"), Column("Product", "name", width=32),
                            Column("Category", "category", width=20), Column("On hand", "stock_quantity", "quantity", 12),
                            Column("Reorder level", "reorder_level", "quantity", 13, total=False)],
              report["low_stock"]),
        Sheet(f"Slow movers ({report['slow_days']} days)", [
            Column("SKU", "sku"), Column("Product", "name", width=32), Column("Category", "category", width=20),
            Column("On hand", "stock_quantity", "quantity", 12), Column("Last sold", "last_sold_on", "date", 12),
            _money("Value at cost", "value_at_cost", 16)], report["slow_movers"]),
        Sheet("Movements", [Column("Kind", "label", width=26), Column("Movements", "movements", "integer", 11),
                            Column("In", "quantity_in", "quantity", 12), Column("Out", "quantity_out", "quantity", 12),
                            Column("Net", "net_quantity", "quantity", 12), _money("Value at cost", "value_at_cost", 16)],
              report["movements"]),
    ]


def dashboard_sheets(data):
    return [
        _summary("Today", data["today"], SALES_SUMMARY),
        _summary("Same day last week", data["last_week"], SALES_SUMMARY),
        Sheet("By hour", [Column("Hour", "hour", "datetime", 17), Column("Sales", "sales_count", "integer", 8),
                          *SALES_COLUMNS], data["by_hour"]),
        Sheet("Payments by method", [Column("Method", "label", width=18),
                                     Column("Payments", "payments", "integer", 10), _money("Amount", "amount"),
                                     _money("Refunded", "refunds")], data["payments_by_method"]),
        Sheet("Top products", [Column("SKU", "sku"), Column("Product", "name", width=32),
                               Column("Sales", "sales_count", "integer", 8, total=False), *SALES_COLUMNS],
              data["top_products"]),
        Sheet("Low stock", [Column("SKU", "sku"), Column("Product", "name", width=32),
                            Column("On hand", "stock_quantity", "quantity", 12, total=False),
                            Column("Reorder level", "reorder_level", "quantity", 13, total=False),
                            Column("Since", "since", "datetime", 17)], data["low_stock"], with_totals=False),
    ]


# --- Sales lines (the bookkeeper's ledger) ---------------------------------------------------------

LEDGER_COLUMNS = [
    Column("Type", "type", width=8), Column("Date", "date", "date", 12), Column("Time", "time", "datetime", 17),
    Column("Receipt", "receipt", width=14), Column("Cashier", "cashier", width=14), Column("SKU", "sku", width=14),
    Column("Product", "name", width=30), Column("Category", "category", width=18),
    Column("Quantity", "quantity", "quantity", 11), _money("Unit price", "unit_price", 12, total=False),
    _money("Gross", "gross", 12), _money("Discount", "discount", 12), _money("Total", "total", 12),
    Column("VAT rate %", "tax_rate", "percent", 10, total=False), _money("VAT", "tax", 12),
    _money("Net of VAT", "net", 12), _money("Cost", "cost", 12),
]
CHUNK = 2000
LEDGER_DAYS = 7  # the sale lines are read a week at a time


def _wall_clock(moment):
    """An aware time as the shop's wall clock, naive (Excel and CSV have no zones)."""
    return timezone.localtime(moment, shop_zone()).replace(tzinfo=None)


def cashier_name(user):
    """The cashier's full name in SQL (first and last name), else the username: `user` is the relation path."""
    full = Trim(Concat(F(f"{user}__first_name"), Value(" "), F(f"{user}__last_name"), output_field=CharField()))
    return Coalesce(NullIf(full, Value("")), F(f"{user}__username"), output_field=CharField())


def ledger_rows(period):
    """Every sale line paid in the period, then every returned line taken in it (negative amounts), as
    tuples in the order of LEDGER_COLUMNS, read in chunks: constant memory whatever the period. The sale
    lines are read a week at a time, so the first lines leave after a week's lines are sorted, not the
    whole period's."""
    for start in range(0, (period.end - period.start).days + 1, LEDGER_DAYS):
        first = period.start + timedelta(days=start)
        week = Period("custom", first, min(period.end, first + timedelta(days=LEDGER_DAYS - 1)))
        sold = sale_lines(week.since, week.until).order_by("sale__paid_at", "id").values_list(
            "sale__paid_at", "sale__receipt_number", cashier_name("sale__cashier"), "sku", "name",
            "product__category__name", "quantity", "unit_price", "gross", "discount", "order_discount", "total",
            "tax_rate", "tax", "cost")
        for (at, receipt, cashier, sku, name, category, qty, price, gross, discount, share, total, rate, tax,
             cost) in sold.iterator(chunk_size=CHUNK):
            moment = _wall_clock(at)
            yield ("sale", moment.date(), moment, receipt, cashier, sku, name, category, qty, price, gross,
                   discount + share, total, rate, tax, total - tax, cost)
    back = return_lines(period.since, period.until).order_by("sale_return__created_at", "id").values_list(
        "sale_return__created_at", "sale_item__sale__receipt_number", cashier_name("sale_item__sale__cashier"),
        "sale_item__sku", "sale_item__name", "sale_item__product__category__name", "quantity",
        "sale_item__unit_price", "sale_item__tax_rate", "amount", "tax", "cost")
    for at, receipt, cashier, sku, name, category, qty, price, rate, amount, tax, cost in back.iterator(
            chunk_size=CHUNK):
        moment = _wall_clock(at)
        yield ("return", moment.date(), moment, receipt, cashier, sku, name, category, -qty, price, None, None,
               -amount, rate, -tax, tax - amount, -cost)


def ledger_sheet(period):
    return Sheet(f"Sales lines {period.start}..{period.end}", LEDGER_COLUMNS, ledger_rows(period))


def ledger_filename(period, fmt):
    return f"sales-lines-{period.start}-{period.end}.{fmt}"
