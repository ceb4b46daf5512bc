"""PDF of a shift's X/Z report (reportlab)."""

import io

from django.conf import settings
from django.utils import timezone
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from pos.reports.queries import shop_zone

GRID = TableStyle([
    ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
    ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
    ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
    ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
    ("FONTSIZE", (0, 0), (-1, -1), 9),
])


def _money(value):
    return "" if value is None else f"{value:,.2f}"


def _when(moment):
    return timezone.localtime(moment, shop_zone()).strftime("%Y-%m-%d %H:%M") if moment else "-"


def shift_pdf(summary) -> bytes:
    """`summary` is pos.reports.services.shift_summary(shift)."""
    styles = getSampleStyleSheet()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm,
                            bottomMargin=15 * mm, title=f"{summary['kind']} report shift {summary['shift_id']}")
    story = [
        Paragraph(settings.SHOP_NAME, styles["Title"]),
        Paragraph(f"{summary['kind']} report - shift #{summary['shift_id']} ({summary['status']})", styles["Heading2"]),
        Paragraph(f"Cashier: {summary['cashier']} &nbsp; Opened: {_when(summary['opened_at'])} &nbsp; "
                  f"Closed: {_when(summary['closed_at'])} &nbsp; Printed: {_when(summary['generated_at'])}",
                  styles["Normal"]),
        Spacer(1, 6 * mm),
    ]
    figures = [["Sales", "Count / amount"],
               ["Sales paid", str(summary["sales_count"])], ["Sales total", _money(summary["sales_total"])],
               ["Discounts", _money(summary["discount_total"])], ["VAT", _money(summary["tax_total"])],
               ["Returns", f"{summary['returns_count']} / {_money(summary['returns_total'])}"],
               ["Net sales", _money(summary["net_sales"])],
               ["Waiting for payment", str(summary["pending_count"])], ["Cancelled", str(summary["cancelled_count"])]]
    story += [Table(figures, colWidths=[70 * mm, 50 * mm], style=GRID), Spacer(1, 6 * mm)]
    methods = [["Method", "Opening", "Payments", "Change", "Refunds", "Expected", "Counted", "Difference"]]
    methods += [[m["label"], _money(m["opening"]), _money(m["payments"]), _money(m["change"]), _money(m["refunds"]),
                 _money(m["expected"]), _money(m["counted"]), _money(m["difference"])] for m in summary["methods"]]
    story += [Table(methods, style=GRID), Spacer(1, 6 * mm)]
    cash = [["Cash drawer", "Amount"], ["Expected cash", _money(summary["expected_cash"])],
            ["Counted cash", _money(summary["counted_cash"])], ["Variance", _money(summary["cash_variance"])]]
    story += [Table(cash, colWidths=[70 * mm, 50 * mm], style=GRID), Spacer(1, 6 * mm)]
    vat = [["VAT rate %", "Total", "VAT", "Net"]]
    vat += [[f"{v['rate']}", _money(v["total"]), _money(v["tax"]), _money(v["net"])] for v in summary["vat"]]
    story.append(Table(vat, style=GRID))
    doc.build(story)
    return buffer.getvalue()


def report_pdf(title, subtitle, kpis, tables) -> bytes:
    """A report page as a PDF (A4 landscape): its title, period, figures and tables, as the admin page
    shows them (pos.reports.views: kpis are (label, text), tables (title, {"headers", "rows"}))."""
    styles = getSampleStyleSheet()
    buffer = io.BytesIO()
    page = landscape(A4)
    doc = SimpleDocTemplate(buffer, pagesize=page, leftMargin=12 * mm, rightMargin=12 * mm, topMargin=12 * mm,
                            bottomMargin=12 * mm, title=title)
    story = [Paragraph(settings.SHOP_NAME, styles["Title"]), Paragraph(title, styles["Heading2"])]
    if subtitle:
        story.append(Paragraph(subtitle, styles["Normal"]))
    story.append(Spacer(1, 4 * mm))
    if kpis:
        story += [Table([[label for label, _ in kpis], [str(value) for _, value in kpis]], style=GRID),
                  Spacer(1, 6 * mm)]
    cell = styles["BodyText"].clone("cell", fontSize=8, leading=10)
    width = page[0] - 24 * mm
    for heading, data in tables:
        story.append(Paragraph(heading, styles["Heading3"]))
        if not data["rows"]:
            story += [Paragraph("Nothing in this period.", styles["Normal"]), Spacer(1, 4 * mm)]
            continue
        first = width * 0.3 if len(data["headers"]) > 2 else width * 0.5
        rest = (width - first) / max(1, len(data["headers"]) - 1)
        rows = [data["headers"]] + [[Paragraph(str(row[0]), cell), *row[1:]] for row in data["rows"]]
        story += [Table(rows, colWidths=[first] + [rest] * (len(data["headers"]) - 1), style=GRID, repeatRows=1),
                  Spacer(1, 6 * mm)]
    doc.build(story)
    return buffer.getvalue()
