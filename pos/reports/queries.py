"""Report figures, computed in SQL with Django aggregation (a fixed number of queries per report,
whatever the number of sales; Python only merges and derives figures from the aggregated rows).

Which sales count
-----------------
* A sale counts when its status is ``paid``, ``partially_refunded`` or ``refunded``. Open carts,
  sales waiting for payment (``pending_payment``) and ``cancelled`` sales never count.
* A sale is dated by ``paid_at`` (the moment completed payments covered it), read in the shop's time
  zone (``settings.TIME_ZONE``, Africa/Nairobi): a sale paid at 23:59 belongs to that day, one paid at
  00:01 to the next. All periods are whole days in that zone.
* Every figure comes from the sale lines (SaleItem), which store what was charged:
  gross = qty x VAT-inclusive price; discounts = line discount + the line's share of the order
  discount; sales total = gross - discounts (VAT incl.); VAT = tax stored on the line; cost = qty x
  unit cost captured at the sale.
* Returns (SaleReturnLine: amount, tax, cost) are their own figure, ``refunds``, dated by the
  return's ``created_at`` (not by the original sale), and are netted out in the period of the return:
  net sales = gross - discounts - refunds (VAT incl.); VAT = line VAT - VAT of returns;
  net sales ex VAT = net sales - VAT.
* Profit and loss: revenue = (line total - line tax) - (return amount - return tax);
  COGS = line cost - cost of returned goods; gross margin = revenue - COGS;
  margin % = gross margin / revenue x 100 (None when there is no revenue).
* Payments by method: completed payments (the amount applied to the sale, change excluded) of the
  sales counted in the period, dated like their sale; they add up to the sales total. ``refunds``
  per method is money paid back (completed Refund rows) dated by the refund's ``completed_at``.

Periods
-------
``today``; ``week`` (Monday of this week to today); ``month`` (the 1st to today); ``year`` (1 January
to today); ``custom`` (``start`` and ``end``, YYYY-MM-DD, both included, at most 366 days).
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, DecimalField, F, Max, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Round, TruncDate, TruncHour
from django.utils import timezone

from pos.catalog.models import Product
from pos.core.errors import ServiceError
from pos.core.money import ZERO, to_money, to_quantity
from pos.inventory.models import AlertStatus, StockAlert, StockMovement
from pos.payments.models import Method, Payment, PaymentStatus, Refund, RefundStatus
from pos.sales.models import SaleItem, SaleReturnLine, SaleStatus, Shift, ShiftStatus

COUNTED = (SaleStatus.PAID, SaleStatus.PARTIALLY_REFUNDED, SaleStatus.REFUNDED)
PERIODS = ("today", "week", "month", "year", "custom")
MAX_CUSTOM_DAYS = 366
MONEY = DecimalField(max_digits=20, decimal_places=2)
QUANTITY = DecimalField(max_digits=20, decimal_places=3)


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

# Grouping keys: alias -> (expression on SaleItem, expression on SaleReturnLine).
def _groups(zone):
    return {
        None: {},
        "day": {"date": (TruncDate("sale__paid_at", tzinfo=zone), TruncDate("sale_return__created_at", tzinfo=zone))},
        "hour": {"hour": (TruncHour("sale__paid_at", tzinfo=zone), TruncHour("sale_return__created_at", tzinfo=zone))},
        "product": {
            "product_id_": (F("product_id"), F("sale_item__product_id")),
            "product_sku": (F("product__sku"), F("sale_item__product__sku")),
            "product_name": (F("product__name"), F("sale_item__product__name")),
            "category_name": (F("product__category__name"), F("sale_item__product__category__name")),
        },
        "category": {
            "category_id_": (F("product__category_id"), F("sale_item__product__category_id")),
            "category_name": (F("product__category__name"), F("sale_item__product__category__name")),
        },
        "cashier": {
            "cashier_id_": (F("sale__cashier_id"), F("sale_item__sale__cashier_id")),
            "cashier_name": (F("sale__cashier__username"), F("sale_item__sale__cashier__username")),
        },
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
    "sales_count": lambda: Count("sale_id", distinct=True),
}
RETURN_FIGURES = {
    "returned_quantity": lambda: Sum("quantity", output_field=QUANTITY, default=ZERO),
    "returned_amount": lambda: _money_sum("amount"),
    "returned_tax": lambda: _money_sum("tax"),
    "returned_cost": lambda: _money_sum("cost"),
    "returns_count": lambda: Count("sale_return_id", distinct=True),
}


def sale_lines(since, until, cashier=None):
    """Lines of the sales that count, paid in [since, until)."""
    lines = SaleItem.objects.filter(sale__status__in=COUNTED, sale__paid_at__gte=since, sale__paid_at__lt=until)
    return lines.filter(sale__cashier=cashier) if cashier is not None else lines


def return_lines(since, until, cashier=None):
    """Lines of returns taken in [since, until) on sales that count."""
    lines = SaleReturnLine.objects.filter(sale_item__sale__status__in=COUNTED, sale_return__created_at__gte=since,
                                          sale_return__created_at__lt=until)
    return lines.filter(sale_item__sale__cashier=cashier) if cashier is not None else lines


def _aggregate(queryset, aliases, which, figures):
    figures = {name: make() for name, make in figures.items()}
    if not aliases:
        return [queryset.aggregate(**figures)]
    keys = {alias: pair[which] for alias, pair in aliases.items()}
    return list(queryset.order_by().values(**keys).annotate(**figures))


def empty_figures():
    return {**{k: ZERO for k in LINE_FIGURES}, **{k: ZERO for k in RETURN_FIGURES}, "sales_count": 0,
            "returns_count": 0}


def grouped(since, until, by=None, cashier=None):
    """Raw figures of sales lines and returns per group (two queries), merged on the group key."""
    aliases = _groups(shop_zone())[by]
    merged = {}
    sold = _aggregate(sale_lines(since, until, cashier), aliases, 0, LINE_FIGURES)
    back = _aggregate(return_lines(since, until, cashier), aliases, 1, RETURN_FIGURES)
    for row in sold + back:
        key = tuple(row.get(alias) for alias in aliases)
        merged.setdefault(key, {**empty_figures(), **{alias: row.get(alias) for alias in aliases}}).update(
            {k: v for k, v in row.items() if k not in aliases and v is not None}
        )
    return list(merged.values())


def sales_figures(raw):
    sales_total = to_money(raw["total"])
    refunds = to_money(raw["returned_amount"])
    vat = to_money(raw["tax"] - raw["returned_tax"])
    net_sales = sales_total - refunds
    return {
        "gross_sales": to_money(raw["gross"]), "discounts": to_money(raw["discounts"]), "sales_total": sales_total,
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
    revenue = to_money(raw["total"] - raw["tax"]) - to_money(raw["returned_amount"] - raw["returned_tax"])
    cogs = to_money(raw["cost"] - raw["returned_cost"])
    margin = revenue - cogs
    return {"revenue": revenue, "cogs": cogs, "gross_margin": margin, "margin_percent": margin_percent(margin, revenue),
            "quantity": to_quantity(raw["sold_quantity"] - raw["returned_quantity"])}


def _product_key(raw):
    return {"product_id": raw["product_id_"], "sku": raw["product_sku"], "name": raw["product_name"],
            "category": raw["category_name"]}


def _category_key(raw):
    return {"category_id": raw["category_id_"], "category": raw["category_name"]}


def _by_day(period, cashier, figures):
    rows = {raw["date"]: figures(raw) for raw in grouped(period.since, period.until, "day", cashier)}
    zero = figures(empty_figures())
    return [{"date": day, **rows.get(day, zero)} for day in period.days()]


def _by_hour(period, cashier, figures):
    zone = shop_zone()
    rows = {timezone.localtime(raw["hour"], zone).hour: figures(raw)
            for raw in grouped(period.since, period.until, "hour", cashier)}
    zero = figures(empty_figures())
    return [{"hour": datetime.combine(period.start, time(h), tzinfo=zone), **rows.get(h, zero)} for h in range(24)]


def _sorted(rows, key):
    return sorted(rows, key=lambda r: (-r[key], str(r.get("name") or r.get("category") or "")))


def payments_by_method(since, until, cashier=None):
    """Completed payments of the sales counted in [since, until) per method, and refunds paid back."""
    payments = Payment.objects.filter(status=PaymentStatus.COMPLETED, sale__status__in=COUNTED,
                                      sale__paid_at__gte=since, sale__paid_at__lt=until)
    refunds = Refund.objects.filter(status=RefundStatus.COMPLETED, completed_at__gte=since, completed_at__lt=until)
    if cashier is not None:
        payments = payments.filter(sale__cashier=cashier)
        refunds = refunds.filter(payment__sale__cashier=cashier)
    paid = {r["method"]: r for r in payments.order_by().values("method").annotate(
        payments=Count("id"), amount=_money_sum("amount"))}
    back = {r["payment__method"]: r["amount"] for r in refunds.order_by().values("payment__method").annotate(
        amount=_money_sum("amount"))}
    return [
        {"method": method, "label": label, "payments": paid.get(method, {}).get("payments", 0),
         "amount": to_money(paid.get(method, {}).get("amount", ZERO)), "refunds": to_money(back.get(method, ZERO))}
        for method, label in Method.choices if method in paid or method in back
    ]


def sales_report(period: Period, *, cashier=None):
    """Sales of the period: totals and breakdowns (by day, by hour for a single day, by product,
    category, cashier and payment method). Each additive figure of a breakdown sums to the total."""
    since, until = period.since, period.until
    totals = with_basket(sales_figures(grouped(since, until, None, cashier)[0]))
    report = {
        "period": period.as_dict(),
        "cashier": cashier.username if cashier is not None else None,
        "totals": totals,
        "by_day": _by_day(period, cashier, sales_figures),
        "by_hour": _by_hour(period, cashier, sales_figures) if period.by_hour else [],
        "by_product": _sorted([{**_product_key(r), **sales_figures(r)}
                               for r in grouped(since, until, "product", cashier)], "net_sales"),
        "by_category": _sorted([{**_category_key(r), **sales_figures(r)}
                                for r in grouped(since, until, "category", cashier)], "net_sales"),
        "by_cashier": sorted([{"cashier_id": r["cashier_id_"], "cashier": r["cashier_name"], **sales_figures(r)}
                              for r in grouped(since, until, "cashier", cashier)], key=lambda r: r["cashier"]),
        "by_payment_method": payments_by_method(since, until, cashier),
    }
    return report


def profit_report(period: Period):
    """Profit and loss of the period: revenue net of VAT, COGS, gross margin and margin %, by day,
    product and category; returns netted in the period they were taken."""
    since, until = period.since, period.until
    return {
        "period": period.as_dict(),
        "totals": profit_figures(grouped(since, until)[0]),
        "by_day": _by_day(period, None, profit_figures),
        "by_product": _sorted([{**_product_key(r), **profit_figures(r)} for r in grouped(since, until, "product")],
                              "gross_margin"),
        "by_category": _sorted([{**_category_key(r), **profit_figures(r)} for r in grouped(since, until, "category")],
                               "gross_margin"),
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


def stock_on_hand():
    products = _stocked_products().order_by("category__name", "name").values(
        "id", "sku", "name", "stock_quantity", "reorder_level", "cost_price", "price", category_name=F("category__name"),
    ).annotate(value_at_cost=_value("cost_price"), value_at_retail=_value("price"))
    return [_money_row(p, "value_at_cost", "value_at_retail") for p in products]


def stock_by_category():
    rows = _stocked_products().order_by("category__name").values(
        category_id_=F("category_id"), category_name=F("category__name")).annotate(**_stock_figures())
    return [{"category_id": r.pop("category_id_"), **_money_row(r, "value_at_cost", "value_at_retail")} for r in rows]


def stock_totals():
    return _money_row(_stocked_products().aggregate(**_stock_figures()), "value_at_cost", "value_at_retail")


def low_stock():
    rows = Product.objects.low_stock().order_by("stock_quantity", "name").values(
        "id", "sku", "name", "stock_quantity", "reorder_level", category_name=F("category__name"))
    return [_money_row(r) for r in rows]


def slow_movers(days=30, today=None):
    """Active products with stock that no counted sale has taken in the last `days` days (since the
    start of that day in the shop's zone)."""
    cutoff = datetime.combine((today or shop_today()) - timedelta(days=days), time.min, tzinfo=shop_zone())
    last_sale = SaleItem.objects.filter(product=OuterRef("pk"), sale__status__in=COUNTED).order_by().values(
        "product").annotate(last=Max("sale__paid_at")).values("last")
    rows = Product.objects.filter(is_active=True, stock_quantity__gt=0).annotate(
        last_sold_at=Subquery(last_sale)).filter(Q(last_sold_at__isnull=True) | Q(last_sold_at__lt=cutoff)).order_by(
        F("last_sold_at").asc(nulls_first=True), "name").values(
        "id", "sku", "name", "stock_quantity", "last_sold_at", category_name=F("category__name"),
    ).annotate(value_at_cost=_value("cost_price"))
    return [_money_row(r, "value_at_cost") for r in rows]


def movement_summary(since, until):
    rows = StockMovement.objects.filter(created_at__gte=since, created_at__lt=until).order_by("kind").values(
        "kind").annotate(
        movements=Count("id"),
        quantity_in=Sum("quantity", filter=Q(quantity__gt=0), output_field=QUANTITY, default=ZERO),
        quantity_out=Sum("quantity", filter=Q(quantity__lt=0), output_field=QUANTITY, default=ZERO),
        net_quantity=Sum("quantity", output_field=QUANTITY, default=ZERO),
        value_at_cost=Sum(Round(F("quantity") * F("unit_cost"), 2, output_field=MONEY), output_field=MONEY,
                          default=ZERO),
    )
    labels = dict(StockMovement._meta.get_field("kind").choices)
    return [{**_money_row(r, "value_at_cost"), "label": labels.get(r["kind"], r["kind"])} for r in rows]


def inventory_report(period: Period, *, slow_days=30):
    return {
        "period": period.as_dict(),
        "slow_days": slow_days,
        "totals": stock_totals(),
        "by_product": stock_on_hand(),
        "by_category": stock_by_category(),
        "low_stock": low_stock(),
        "slow_movers": slow_movers(slow_days, today=period.end),
        "movements": movement_summary(period.since, period.until),
    }


# --- Dashboard -------------------------------------------------------------------------------------

def dashboard(now=None, top=5):
    """Today so far against the same weekday last week up to the same time of day, payments by method,
    top products, active low-stock alerts, payments waiting or failed today, open shifts."""
    now = timezone.localtime(now or timezone.now(), shop_zone())
    today = day_period(now.date())
    week_ago = now - timedelta(days=7)
    current = with_basket(sales_figures(grouped(today.since, now)[0]))
    previous = with_basket(sales_figures(grouped(today.since - timedelta(days=7), week_ago)[0]))
    products = [{**_product_key(r), **sales_figures(r)} for r in grouped(today.since, now, "product")]
    alerts = StockAlert.objects.filter(status=AlertStatus.ACTIVE).select_related("product").order_by("created_at")
    waiting = Payment.objects.filter(status__in=[PaymentStatus.PENDING, PaymentStatus.PROCESSING])
    failed = Payment.objects.filter(status=PaymentStatus.FAILED, created_at__gte=today.since)
    return {
        "date": today.start,
        "now": now,
        "today": current,
        "last_week": previous,
        "change_percent": margin_percent(current["net_sales"] - previous["net_sales"], previous["net_sales"]),
        "by_hour": _by_hour(today, None, sales_figures),
        "payments_by_method": payments_by_method(today.since, now),
        "top_products": _sorted(products, "net_sales")[:top],
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
    counted = Q(sales__status__in=COUNTED)
    rows = Shift.objects.filter(status=ShiftStatus.OPEN).order_by("opened_at").values(
        "id", "opened_at", "opening_float", cashier_name=F("cashier__username")).annotate(
        sales_count=Count("sales", filter=counted), sales_total=Sum("sales__total", filter=counted,
                                                                    output_field=MONEY, default=ZERO))
    return [{**_money_row(r, "sales_total", "opening_float"), "cashier": r["cashier_name"]} for r in rows]
