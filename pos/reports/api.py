"""Reports API (thin: figures come from pos.reports.queries, files from pos.reports.exports).

Formats: every report answers JSON by default, `?format=xlsx` (Excel) or `?format=csv` on the same
URL; the sales-lines ledger answers xlsx (default) or csv and streams. Money is a decimal string.
Roles: admin, manager and bookkeeper see every report. A cashier sees the sales report of their own
sales only, and the X/Z report of their own shifts; profit, inventory (stock value), the dashboard and
the ledger exports are refused to cashiers (403).
"""

import json

from django.conf import settings
from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from pos.core.errors import ServiceError
from pos.core.permissions import can, can_any, may_act_for
from pos.reports import exports, queries, services
from pos.reports.models import ExportFormat, ExportJob, ExportStatus
from pos.reports.pdf import shift_pdf
from pos.sales.models import Shift


class Needs(BasePermission):
    """The view's `needs`: a report permission (reports.view_reports, reports.view_profit)."""

    def has_permission(self, request, view):
        return can(request.user, *view.needs)


class OwnOrAll(BasePermission):
    """The shop's figures with reports.view_reports; a cashier's own with sales.view_sale."""

    def has_permission(self, request, view):
        return can_any(request.user, "reports.view_reports", "sales.view_sale")




# --- Renderers: the file formats selected by ?format= ---------------------------------------------

class FileRenderer(BaseRenderer):
    """The view builds the file itself; an error dict that reaches here is written as JSON."""

    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, (bytes, str)):
            return data
        return json.dumps(data, default=str).encode()


class XlsxRenderer(FileRenderer):
    media_type = exports.XLSX_TYPE
    format = "xlsx"


class CsvRenderer(FileRenderer):
    media_type = "text/csv"
    format = "csv"


class PdfRenderer(FileRenderer):
    media_type = "application/pdf"
    format = "pdf"


# --- Output serializers (also the OpenAPI schema) -------------------------------------------------

def money(**kwargs):
    return serializers.DecimalField(max_digits=20, decimal_places=2, **kwargs)


def quantity(**kwargs):
    return serializers.DecimalField(max_digits=20, decimal_places=3, **kwargs)


class PeriodOut(serializers.Serializer):
    name = serializers.CharField()
    start = serializers.DateField()
    end = serializers.DateField()
    time_zone = serializers.CharField()


class SalesFigures(serializers.Serializer):
    gross_sales = money(help_text="Sum of qty x VAT-inclusive price, before discounts.")
    discounts = money(help_text="Line discounts + shares of order discounts.")
    rounding = money(help_text="The sales' cash rounding lines (no VAT).")
    sales_total = money(help_text="Gross sales - discounts + rounding (VAT incl.): what the sales charged.")
    refunds = money(help_text="Returns taken in the period, their rounding lines included (VAT incl.).")
    net_sales = money(help_text="Sales total - refunds (VAT incl.).")
    vat = money(help_text="VAT of the sales lines - VAT of the returns.")
    net_sales_ex_vat = money()
    sales_count = serializers.IntegerField()
    returns_count = serializers.IntegerField()
    quantity = quantity(help_text="Units sold net of returns.")


class SalesTotals(SalesFigures):
    average_basket = money()


class SalesDay(SalesFigures):
    date = serializers.DateField()


class SalesHour(SalesFigures):
    hour = serializers.DateTimeField()


class ProductKey(serializers.Serializer):
    product_id = serializers.IntegerField()
    sku = serializers.CharField()
    name = serializers.CharField()
    category = serializers.CharField()


class CategoryKey(serializers.Serializer):
    category_id = serializers.IntegerField(allow_null=True, help_text="None: no category, or the cash rounding row.")
    category = serializers.CharField()


class SalesProduct(ProductKey, SalesFigures):
    pass


class SalesCategory(CategoryKey, SalesFigures):
    pass


class SalesCashier(SalesFigures):
    cashier_id = serializers.IntegerField()
    cashier = serializers.CharField()


class MethodRow(serializers.Serializer):
    method = serializers.CharField()
    label = serializers.CharField()
    payments = serializers.IntegerField()
    amount = money(help_text="Completed payments applied to the sales (change excluded).")
    refunds = money(help_text="Refunds paid back with this method in the period.")


class SalesReportOut(serializers.Serializer):
    period = PeriodOut()
    cashier = serializers.CharField(allow_null=True, help_text="Set when the report is limited to one cashier.")
    totals = SalesTotals()
    by_day = SalesDay(many=True)
    by_hour = SalesHour(many=True, help_text="Filled for a single-day period (today).")
    by_product = SalesProduct(many=True, help_text="Best net sales first: the rows asked by limit/offset.")
    product_count = serializers.IntegerField(help_text="Products sold or returned in the period (all rows).")
    by_category = SalesCategory(many=True)
    by_cashier = SalesCashier(many=True)
    by_payment_method = MethodRow(many=True)


class ProfitFigures(serializers.Serializer):
    revenue = money(help_text="Line total - line VAT, less returns net of VAT, plus the cash rounding.")
    rounding = money(help_text="The sales' cash rounding lines less the returns' (no VAT).")
    cogs = money(help_text="Cost captured on the sale lines, less the cost of returned goods.")
    gross_margin = money()
    margin_percent = money(allow_null=True)
    quantity = quantity()


class ProfitDay(ProfitFigures):
    date = serializers.DateField()


class ProfitProduct(ProductKey, ProfitFigures):
    pass


class ProfitCategory(CategoryKey, ProfitFigures):
    pass


class ProfitReportOut(serializers.Serializer):
    period = PeriodOut()
    totals = ProfitFigures()
    by_day = ProfitDay(many=True)
    by_product = ProfitProduct(many=True, help_text="Best gross margin first: the rows asked by limit/offset.")
    product_count = serializers.IntegerField(help_text="Products sold or returned in the period (all rows).")
    by_category = ProfitCategory(many=True)


class StockFigures(serializers.Serializer):
    products = serializers.IntegerField()
    quantity = quantity()
    value_at_cost = money()
    value_at_retail = money()


class StockCategory(StockFigures):
    category_id = serializers.IntegerField()
    category = serializers.CharField()


class StockProduct(serializers.Serializer):
    id = serializers.IntegerField()
    sku = serializers.CharField()
    name = serializers.CharField()
    category = serializers.CharField()
    stock_quantity = quantity()
    reorder_level = quantity()
    cost_price = money()
    price = money()
    value_at_cost = money()
    value_at_retail = money()


class LowStockRow(serializers.Serializer):
    id = serializers.IntegerField()
    sku = serializers.CharField()
    name = serializers.CharField()
    category = serializers.CharField()
    stock_quantity = quantity()
    reorder_level = quantity()


class SlowMover(serializers.Serializer):
    id = serializers.IntegerField()
    sku = serializers.CharField()
    name = serializers.CharField()
    category = serializers.CharField()
    stock_quantity = quantity()
    last_sold_on = serializers.DateField(allow_null=True, help_text="The last day a counted sale took it.")
    value_at_cost = money()


class MovementRow(serializers.Serializer):
    kind = serializers.CharField()
    label = serializers.CharField()
    movements = serializers.IntegerField()
    quantity_in = quantity()
    quantity_out = quantity()
    net_quantity = quantity()
    value_at_cost = money()


class InventoryReportOut(serializers.Serializer):
    period = PeriodOut(help_text="The period of the movement summary.")
    slow_days = serializers.IntegerField()
    totals = StockFigures()
    by_product = StockProduct(many=True, help_text="By category and name: the rows asked by limit/offset.")
    product_count = serializers.IntegerField()
    by_category = StockCategory(many=True)
    low_stock = LowStockRow(many=True, help_text="Lowest stock first: the rows asked by limit/offset.")
    low_stock_count = serializers.IntegerField()
    slow_movers = SlowMover(many=True, help_text="Most value at cost first: the rows asked by limit/offset.")
    slow_movers_count = serializers.IntegerField()
    slow_movers_value = money(help_text="Value at cost of every slow mover.")
    movements = MovementRow(many=True)


class AlertRow(serializers.Serializer):
    product_id = serializers.IntegerField()
    name = serializers.CharField()
    sku = serializers.CharField()
    stock_quantity = quantity()
    reorder_level = quantity()
    since = serializers.DateTimeField()


class PaymentRow(serializers.Serializer):
    id = serializers.IntegerField()
    method = serializers.CharField()
    amount = money()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    receipt_number = serializers.CharField()


class OpenShiftRow(serializers.Serializer):
    id = serializers.IntegerField()
    cashier = serializers.CharField()
    opened_at = serializers.DateTimeField()
    opening_float = money()
    sales_count = serializers.IntegerField()
    sales_total = money()


class DashboardOut(serializers.Serializer):
    date = serializers.DateField()
    now = serializers.DateTimeField()
    today = SalesTotals(help_text="Today so far.")
    last_week = SalesTotals(help_text="Same weekday last week, up to the same time of day.")
    change_percent = money(allow_null=True, help_text="Net sales today vs last week, in %.")
    by_hour = SalesHour(many=True)
    payments_by_method = MethodRow(many=True)
    top_products = SalesProduct(many=True)
    low_stock_count = serializers.IntegerField()
    low_stock = AlertRow(many=True)
    payments_waiting_count = serializers.IntegerField()
    payments_waiting = PaymentRow(many=True)
    payments_failed_count = serializers.IntegerField()
    payments_failed = PaymentRow(many=True)
    open_shifts = OpenShiftRow(many=True)


class ShiftMethodRow(serializers.Serializer):
    method = serializers.CharField()
    label = serializers.CharField()
    opening = money()
    payments = money()
    count = serializers.IntegerField()
    tendered = money()
    change = money()
    refunds = money()
    expected = money()
    counted = money(allow_null=True)
    difference = money(allow_null=True)


class VatRow(serializers.Serializer):
    rate = money()
    total = money()
    tax = money()
    net = money()


class ShiftReportOut(serializers.Serializer):
    shift_id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=["X", "Z"])
    status = serializers.CharField()
    cashier = serializers.CharField()
    opened_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField(allow_null=True)
    generated_at = serializers.DateTimeField()
    opening_float = money()
    sales_count = serializers.IntegerField()
    sales_total = money()
    discount_total = money()
    tax_total = money()
    returns_count = serializers.IntegerField()
    returns_total = money()
    net_sales = money()
    pending_count = serializers.IntegerField()
    cancelled_count = serializers.IntegerField()
    methods = ShiftMethodRow(many=True)
    vat = VatRow(many=True)
    expected_cash = money()
    counted_cash = money(allow_null=True)
    cash_variance = money(allow_null=True)


class ExportRequest(serializers.Serializer):
    period = serializers.CharField(default="month")
    start = serializers.CharField(required=False, allow_blank=True)
    end = serializers.CharField(required=False, allow_blank=True)
    format = serializers.ChoiceField(choices=ExportFormat.values, default=ExportFormat.XLSX)


class ExportJobOut(serializers.ModelSerializer):
    format = serializers.CharField(source="file_format")
    download_url = serializers.SerializerMethodField()
    status_url = serializers.SerializerMethodField()

    class Meta:
        model = ExportJob
        fields = ["id", "kind", "format", "start", "end", "status", "rows", "error", "created_at", "finished_at",
                  "status_url", "download_url"]

    def get_status_url(self, job) -> str:
        return self.context["request"].build_absolute_uri(f"/api/reports/sales-lines/export/jobs/{job.pk}/")

    def get_download_url(self, job) -> str | None:
        if job.status != ExportStatus.DONE:
            return None
        return self.context["request"].build_absolute_uri(f"/api/reports/sales-lines/export/jobs/{job.pk}/download/")


# --- Views ----------------------------------------------------------------------------------------

PERIOD_PARAMS = [
    OpenApiParameter("period", str, enum=list(queries.PERIODS), description="Whole days in the shop's time zone."),
    OpenApiParameter("start", OpenApiTypes.DATE, description="First day (YYYY-MM-DD), period=custom only."),
    OpenApiParameter("end", OpenApiTypes.DATE, description="Last day, included (at most 366 days in all)."),
]


DEFAULT_ROWS = 100
MAX_ROWS = 1000
PAGE_PARAMS = [
    OpenApiParameter("limit", int, description=f"Rows of each per-product list in JSON (default {DEFAULT_ROWS}, at "
                                               f"most {MAX_ROWS}); the xlsx and csv files hold every row."),
    OpenApiParameter("offset", int, description="Rows of each per-product list to skip (default 0)."),
]


def _whole_number(value, field, default, low, high):
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except ValueError:
        raise ServiceError("Enter a whole number.", field=field, code=f"bad_{field}") from None
    if not low <= number <= high:
        raise ServiceError(f"Must be between {low} and {high}.", field=field, code=f"bad_{field}")
    return number


def product_page(params):
    """The rows of the per-product lists that a JSON answer or a page shows."""
    return queries.Page(_whole_number(params.get("limit"), "limit", DEFAULT_ROWS, 1, MAX_ROWS),
                        _whole_number(params.get("offset"), "offset", 0, 0, 10_000_000))


def format_param(*choices, default="json"):
    return OpenApiParameter("format", str, enum=list(choices), default=default,
                            description="json (default), or a file: xlsx (Excel) / csv / pdf.")


BAD_INPUT = OpenApiResponse(description='Bad period or dates, e.g. {"period": ["Unknown period ..."], '
                                        '"code": "bad_period"}')
REFUSED = OpenApiResponse(description="Not allowed for this role.")


class ReportView(APIView):
    """Answers JSON, or the file asked with ?format=. Errors are always JSON."""

    needs = ("reports.view_reports",)
    renderer_classes = [JSONRenderer, XlsxRenderer, CsvRenderer]
    default_period = "today"
    out = None
    sheets = None
    file_stem = "report"

    def handle_exception(self, exc):
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return super().handle_exception(exc)

    def period(self):
        params = self.request.query_params
        return queries.resolve_period(params.get("period") or self.default_period, params.get("start"),
                                      params.get("end"))

    def products(self):
        """Every row for a file (read as the file is written), the asked rows for JSON."""
        if self.request.accepted_renderer.format in ("xlsx", "csv"):
            return queries.STREAM
        return product_page(self.request.query_params)

    def respond(self, data, name):
        """JSON, or the file streamed as it is written (the figures are computed; the rows go out as
        they are turned into cells, so the first bytes leave at once and memory stays flat)."""
        fmt = self.request.accepted_renderer.format
        if fmt == "xlsx":
            return attachment(exports.xlsx_chunks(self.sheets(data)), exports.XLSX_TYPE, f"{name}.xlsx")
        if fmt == "csv":
            return attachment(exports.csv_lines(self.sheets(data)), "text/csv; charset=utf-8", f"{name}.csv")
        return Response(self.out(data).data)


def attachment(content, content_type, filename):
    """A download: `content` bytes, or an iterator of chunks (streamed)."""
    response = HttpResponse(content, content_type=content_type) if isinstance(content, bytes) else \
        StreamingHttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _period_name(period):
    return f"{period.start}-{period.end}" if period.start != period.end else f"{period.start}"


class SalesReportView(ReportView):
    permission_classes = [IsAuthenticated, OwnOrAll]
    out = SalesReportOut
    sheets = staticmethod(exports.sales_sheets)

    @extend_schema(
        summary="Sales report", tags=["reports"],
        parameters=[*PERIOD_PARAMS, *PAGE_PARAMS, format_param("json", "xlsx", "csv")],
        description="Gross sales, discounts, refunds, net sales, VAT, number of sales, average basket; by day "
                    "(by hour for one day), product, category, cashier and payment method. A cashier gets the "
                    "report of their own sales only.",
        responses={200: SalesReportOut, 400: BAD_INPUT, 403: REFUSED},
    )
    def get(self, request):
        period = self.period()
        cashier = None if can(request.user, "reports.view_reports") else request.user
        report = queries.sales_report(period, cashier=cashier, products=self.products())
        return self.respond(report, f"sales-{_period_name(period)}")


class ProfitReportView(ReportView):
    permission_classes = [IsAuthenticated, Needs]
    needs = ("reports.view_profit",)
    default_period = "month"
    out = ProfitReportOut
    sheets = staticmethod(exports.profit_sheets)

    @extend_schema(
        summary="Profit and loss", tags=["reports"],
        parameters=[*PERIOD_PARAMS, *PAGE_PARAMS, format_param("json", "xlsx", "csv")],
        description="Revenue net of VAT, cost of goods sold (captured on each sale line), gross margin and margin "
                    "%, by day, product and category; returns netted in the period they were taken. Default "
                    "period: month. Refused to cashiers.",
        responses={200: ProfitReportOut, 400: BAD_INPUT, 403: REFUSED},
    )
    def get(self, request):
        period = self.period()
        return self.respond(queries.profit_report(period, products=self.products()), f"profit-{_period_name(period)}")


class InventoryReportView(ReportView):
    permission_classes = [IsAuthenticated, Needs]
    default_period = "month"
    out = InventoryReportOut
    sheets = staticmethod(exports.inventory_sheets)

    @extend_schema(
        summary="Inventory report", tags=["reports"],
        parameters=[*PERIOD_PARAMS, OpenApiParameter("days", int, description="Slow movers: no sale in this many "
                                                                              "days (default 30)."),
                    *PAGE_PARAMS, format_param("json", "xlsx", "csv")],
        description="On-hand quantity and value at cost and at retail per product and category, low-stock list, "
                    "slow movers, and stock movements by kind for the period (default: month). Refused to "
                    "cashiers.",
        responses={200: InventoryReportOut, 400: BAD_INPUT, 403: REFUSED},
    )
    def get(self, request):
        period = self.period()
        report = queries.inventory_report(period, slow_days=slow_days(request.query_params.get("days")),
                                          products=self.products())
        return self.respond(report, f"inventory-{period.end}")


def slow_days(value):
    return _whole_number(value, "days", 30, 1, 3660)


class DashboardView(ReportView):
    permission_classes = [IsAuthenticated, Needs]
    out = DashboardOut
    sheets = staticmethod(exports.dashboard_sheets)

    @extend_schema(
        summary="Dashboard", tags=["reports"], parameters=[format_param("json", "xlsx", "csv")],
        description="Today's sales and count against the same weekday last week (up to the same time), payments "
                    "by method, top products, active low-stock alerts, payments waiting or failed, open shifts.",
        responses={200: DashboardOut, 403: REFUSED},
    )
    def get(self, request):
        data = queries.dashboard()
        return self.respond(data, f"dashboard-{data['date']}")


class ShiftReportView(ReportView):
    permission_classes = [IsAuthenticated, OwnOrAll]
    renderer_classes = [JSONRenderer, PdfRenderer]
    out = ShiftReportOut

    @extend_schema(
        summary="Shift X/Z report", tags=["reports"], parameters=[format_param("json", "pdf")],
        description="X report while the shift is open, Z report once closed: sales by payment method, expected "
                    "cash, counted cash, variance. ?format=pdf gives the printable PDF. A cashier sees their own "
                    "shifts only.",
        responses={200: ShiftReportOut, 403: REFUSED, 404: OpenApiResponse(description="No such shift.")},
    )
    def get(self, request, pk):
        shift = Shift.objects.select_related("cashier").filter(pk=pk).first()
        if shift is None or not (can(request.user, "reports.view_reports") or may_act_for(request.user, shift.cashier_id)):
            raise Http404("No such shift.")
        summary = services.shift_summary(shift)
        if request.accepted_renderer.format == "pdf":
            return attachment(shift_pdf(summary), "application/pdf", f"shift-{shift.pk}-{summary['kind']}.pdf")
        return Response(ShiftReportOut(summary).data)


class SalesLinesExportView(ReportView):
    needs = ("reports.view_reports", "reports.view_profit")  # the ledger has each line's cost
    """Every sale line (and returned line) of the period, streamed."""

    permission_classes = [IsAuthenticated, Needs]
    renderer_classes = [XlsxRenderer, CsvRenderer]
    default_period = "month"

    @extend_schema(
        summary="Sales lines export (bookkeeper's ledger)", tags=["reports"],
        parameters=[*PERIOD_PARAMS, format_param("xlsx", "csv", default="xlsx")],
        description="One row per sale line paid in the period, then one per returned line (negative amounts), "
                    "with date and time in the shop's zone. Both formats stream (the first bytes at once, "
                    "memory flat). A period of more than EXPORT_INLINE_MAX_LINES lines is not answered in the "
                    "request: it is queued as a background export and the answer is 202 with the job (the "
                    "jobs endpoint's answer: poll status_url, then download_url).",
        responses={(200, exports.XLSX_TYPE): OpenApiTypes.BINARY, (200, "text/csv"): OpenApiTypes.STR,
                   202: ExportJobOut, 400: BAD_INPUT, 403: REFUSED},
    )
    def get(self, request):
        period = self.period()
        fmt = request.accepted_renderer.format
        if queries.line_count(period) > settings.EXPORT_INLINE_MAX_LINES:
            job = services.start_sales_lines_export(user=request.user, period=period, file_format=fmt)
            job.refresh_from_db()
            body = ExportJobOut(job, context={"request": request}).data
            return HttpResponse(json.dumps(body, default=str), status=status.HTTP_202_ACCEPTED,
                                content_type="application/json")
        sheet = exports.ledger_sheet(period)
        if fmt == "csv":
            response = StreamingHttpResponse(exports.csv_lines([sheet], titles=False),
                                             content_type="text/csv; charset=utf-8")
        else:
            response = StreamingHttpResponse(exports.xlsx_chunks([sheet]), content_type=exports.XLSX_TYPE)
        response["Content-Disposition"] = f'attachment; filename="{exports.ledger_filename(period, fmt)}"'
        return response


class ExportJobsView(ReportView):
    permission_classes = [IsAuthenticated, Needs]
    renderer_classes = [JSONRenderer]

    @extend_schema(
        summary="Start a background sales-lines export", tags=["reports"], request=ExportRequest,
        description="Queues a django-q2 task that writes the ledger under MEDIA_ROOT/exports/. Poll the job's "
                    "status_url; download_url is set once it is done.",
        responses={202: ExportJobOut, 400: BAD_INPUT, 403: REFUSED},
    )
    def post(self, request):
        given = ExportRequest(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        period = queries.resolve_period(data["period"], data.get("start"), data.get("end"))
        job = services.start_sales_lines_export(user=request.user, period=period, file_format=data["format"])
        job.refresh_from_db()
        return Response(ExportJobOut(job, context={"request": request}).data, status=status.HTTP_202_ACCEPTED)


class ExportJobView(ReportView):
    permission_classes = [IsAuthenticated, Needs]
    renderer_classes = [JSONRenderer]

    @extend_schema(summary="Status of a background export", tags=["reports"],
                   responses={200: ExportJobOut, 403: REFUSED, 404: OpenApiResponse(description="No such job.")})
    def get(self, request, pk):
        job = ExportJob.objects.filter(pk=pk).first()
        if job is None:
            raise Http404("No such export.")
        return Response(ExportJobOut(job, context={"request": request}).data)


class ExportDownloadView(ReportView):
    permission_classes = [IsAuthenticated, Needs]
    renderer_classes = [XlsxRenderer, CsvRenderer, JSONRenderer]

    @extend_schema(summary="Download a finished background export", tags=["reports"],
                   responses={(200, exports.XLSX_TYPE): OpenApiTypes.BINARY, (200, "text/csv"): OpenApiTypes.STR,
                              403: REFUSED, 404: OpenApiResponse(description="No such job, or not ready yet.")})
    def get(self, request, pk):
        job = ExportJob.objects.filter(pk=pk, status=ExportStatus.DONE).first()
        if job is None or not job.file:
            raise Http404("No such export, or not ready yet.")
        return FileResponse(job.file.open("rb"), as_attachment=True, filename=job.file.name.rsplit("/", 1)[-1])
