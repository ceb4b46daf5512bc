"""Receipts of a sale: one set of figures (`receipt_data`), four renderings.

- `receipt_pdf(sale)`: an 80 mm wide PDF (reportlab) with a Code128 barcode of the receipt number;
- `receipt_text(sale)`: the 80 mm thermal layout, 48 columns of plain text;
- `receipt_html(sale)`: that text in a <pre> page sized for the browser's print dialog;
- `receipt_escpos(sale)`: ESC/POS bytes for a thermal printer (text, barcode, cut).

Amounts are the stored ones (rounded once, at the line): receipt, reports and refunds agree to the cent.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from io import BytesIO

from django.conf import settings
from django.db.models import Prefetch
from django.template.loader import render_to_string
from django.utils import timezone

from pos.core.money import ZERO
from pos.sales.models import Sale, SaleReturn, SaleStatus

WIDTH = 48
STATUS_BANNERS = {
    SaleStatus.PENDING_PAYMENT: "*** NOT PAID ***",
    SaleStatus.CANCELLED: "*** CANCELLED ***",
    SaleStatus.OPEN: "*** NOT CONFIRMED ***",
}


@dataclass
class Receipt:
    sale: Sale
    shop: dict
    when: str
    cashier: str
    lines: list
    vat: list
    payments: list
    tendered: Decimal
    change: Decimal
    returns: list = field(default_factory=list)
    change_label: str = "Change"
    tendered_label: str = "Cash tendered"

    @property
    def banner(self):
        return STATUS_BANNERS.get(self.sale.status, "")


def _money(value) -> str:
    return f"{value:,.2f}"


def _qty(value) -> str:
    return f"{value.normalize():f}"


def receipt_data(sale) -> Receipt:
    """Everything a receipt shows, read in a constant number of queries."""
    from pos.payments.models import PaymentStatus

    sale = (Sale.objects.select_related("cashier")
            .prefetch_related("items", "payments",
                              Prefetch("returns", SaleReturn.objects.prefetch_related("lines__sale_item")))
            .get(pk=sale.pk))
    items = list(sale.items.all())
    vat = defaultdict(lambda: [ZERO, ZERO])
    for item in items:
        vat[item.tax_rate][0] += item.total
        vat[item.tax_rate][1] += item.tax
    by_method = defaultdict(lambda: ZERO)
    cash = []
    for payment in sale.payments.all():
        if payment.status == PaymentStatus.COMPLETED:
            by_method[payment.get_method_display()] += payment.amount
            if payment.method == "cash":
                cash.append(payment)
    # The change of the LAST cash tender: change of earlier tenders was handed over when they were taken.
    last = max(cash, key=lambda p: (p.completed_at or p.created_at, p.pk), default=None)
    tendered = (last.amount_tendered or last.amount) if last else ZERO
    several = len(cash) > 1
    return Receipt(
        sale=sale,
        shop={"name": settings.SHOP_NAME, "address": settings.SHOP_ADDRESS, "phone": settings.SHOP_PHONE,
              "kra_pin": settings.SHOP_KRA_PIN, "vat_number": settings.SHOP_VAT_NUMBER},
        when=timezone.localtime(sale.created_at).strftime("%d/%m/%Y %H:%M"),
        cashier=sale.cashier.get_full_name() or sale.cashier.username,
        lines=items,
        vat=[(rate, total - tax, tax, total) for rate, (total, tax) in sorted(vat.items(), reverse=True)],
        payments=sorted(by_method.items()),
        tendered=tendered,
        change=last.change_given if last else ZERO,
        returns=list(sale.returns.all()),
        change_label="Change (last cash tender)" if several else "Change",
        tendered_label="Cash tendered (last)" if several else "Cash tendered",
    )


# --- 80 mm thermal text ------------------------------------------------------------------------------

def _row(left, right="", width=WIDTH) -> str:
    """`left` and `right` on one line of `width`, right-aligned amount; `left` is cut to fit."""
    room = width - len(right) - 1 if right else width
    return f"{left[:room]:<{room}}{' ' if right else ''}{right}"


def _wrap(text, width=WIDTH) -> list[str]:
    words, lines, current = text.split(), [], ""
    for word in words:
        while len(word) > width:
            if current:
                lines.append(current)
                current = ""
            lines.append(word[:width])
            word = word[width:]
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    if current:
        lines.append(current)
    return lines or [""]


def text_lines(receipt: Receipt) -> list[str]:
    sale, shop, rule = receipt.sale, receipt.shop, "-" * WIDTH
    out = [line.center(WIDTH).rstrip() for line in _wrap(shop["name"].upper())]
    out += [line.center(WIDTH).rstrip() for line in _wrap(shop["address"])]
    out += [f"Tel {shop['phone']}".center(WIDTH).rstrip(),
            f"KRA PIN {shop['kra_pin']}  VAT No {shop['vat_number']}".center(WIDTH).rstrip(), rule,
            _row(f"Receipt {sale.receipt_number}", receipt.when), _row(f"Cashier: {receipt.cashier}")]
    if sale.customer_name or sale.customer_phone:
        out.append(_row(f"Customer: {sale.customer_name} {sale.customer_phone}".strip()))
    if receipt.banner:
        out.append(receipt.banner.center(WIDTH).rstrip())
    out.append(rule)
    for item in receipt.lines:
        out += _wrap(item.name)
        out.append(_row(f"  {_qty(item.quantity)} x {_money(item.unit_price)}  VAT {item.tax_rate.normalize():f}%",
                        _money(item.gross)))
        if item.discount:
            out.append(_row("  Discount", f"-{_money(item.discount)}"))
        if item.returned_quantity:
            out.append(_row(f"  Returned: {_qty(item.returned_quantity)}"))
    out += [rule, _row("Subtotal", _money(sale.subtotal))]
    if sale.discount:
        out.append(_row("Discount", f"-{_money(sale.discount)}"))
    if sale.rounding:
        out.append(_row("Rounding", _money(sale.rounding)))
    out += [_row(f"TOTAL {sale.currency}", _money(sale.total)), rule,
            f"{'VAT rate':<9}{'Net':>13}{'VAT':>13}{'Total':>13}"]
    for rate, net, tax, total in receipt.vat:
        out.append(f"{rate.normalize():f}%".ljust(9) + f"{_money(net):>13}{_money(tax):>13}{_money(total):>13}")
    out.append(_row("Total VAT", _money(sale.tax)))
    if receipt.payments:
        out.append(rule)
        out += [_row(label, _money(amount)) for label, amount in receipt.payments]
        if receipt.tendered:
            out.append(_row(receipt.tendered_label, _money(receipt.tendered)))
        out.append(_row(receipt.change_label, _money(receipt.change)))
    if sale.balance_due and sale.status != SaleStatus.CANCELLED:
        out.append(_row("Balance due", _money(sale.balance_due)))
    for sale_return in receipt.returns:
        out += [rule, _row(f"Return #{sale_return.pk}",
                           timezone.localtime(sale_return.created_at).strftime("%d/%m/%Y %H:%M"))]
        out += [_row(f"  {_qty(line.quantity)} x {line.sale_item.name}", f"-{_money(line.amount)}")
                for line in sale_return.lines.all()]
        out.append(_row("Refund owed", f"-{_money(sale_return.amount)}"))
    out += [rule, "Prices include VAT. Thank you!".center(WIDTH).rstrip(), sale.receipt_number.center(WIDTH).rstrip()]
    return out


def receipt_text(sale) -> str:
    return "\n".join(text_lines(receipt_data(sale))) + "\n"


def receipt_html(sale, autoprint=False) -> str:
    receipt = receipt_data(sale)
    return render_to_string("sales/receipt_80mm.html", {
        "receipt": receipt, "text": "\n".join(text_lines(receipt)), "autoprint": autoprint,
    })


def receipt_escpos(sale) -> bytes:
    """ESC/POS bytes: bold centred shop name, the 48-column body, a Code128 barcode, a cut."""
    from escpos.printer import Dummy

    receipt = receipt_data(sale)
    lines = text_lines(receipt)
    header = len(_wrap(receipt.shop["name"].upper()))
    printer = Dummy()
    printer.set(align="center", bold=True, double_height=True)
    printer.text("\n".join(line.strip() for line in lines[:header]) + "\n")
    printer.set(align="left", bold=False, normal_textsize=True)
    printer.text("\n".join(lines[header:]) + "\n")
    printer.barcode("{B" + receipt.sale.receipt_number, "CODE128", function_type="B", height=60, width=2)
    printer.cut()
    return printer.output


# --- PDF -----------------------------------------------------------------------------------------------

def receipt_pdf(sale) -> bytes:
    """An 80 mm wide PDF, as tall as the receipt, with a Code128 barcode of the receipt number."""
    from reportlab.graphics.barcode.code128 import Code128
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas

    receipt = receipt_data(sale)
    ops = _pdf_ops(receipt)
    width, margin = 80 * mm, 4 * mm
    barcode = Code128(receipt.sale.receipt_number, barHeight=12 * mm, barWidth=0.9)
    height = sum(op[0] for op in ops) + barcode.height + 2 * margin + 6 * mm
    buffer = BytesIO()
    canvas = Canvas(buffer, pagesize=(width, height))
    canvas.setTitle(f"Receipt {receipt.sale.receipt_number}")
    canvas.setAuthor(receipt.shop["name"])
    y = height - margin
    for step, font, size, left, right, align in ops:
        y -= step
        if font:
            canvas.setFont(font, size)
        if align == "center":
            canvas.drawCentredString(width / 2, y, left)
        elif align == "rule":
            canvas.setLineWidth(0.4)
            canvas.line(margin, y + 2, width - margin, y + 2)
        elif align == "columns":
            for x, text in zip((margin, width * 0.45, width * 0.70, width - margin), left):
                (canvas.drawString if x == margin else canvas.drawRightString)(x, y, text)
        else:
            canvas.drawString(margin, y, left)
            if right:
                canvas.drawRightString(width - margin, y, right)
    barcode.drawOn(canvas, (width - barcode.width) / 2, margin + 4 * mm)
    canvas.setFont("Helvetica", 7)
    canvas.drawCentredString(width / 2, margin, receipt.sale.receipt_number)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _pdf_ops(receipt) -> list[tuple]:
    """(height, font, size, left, right, align) per printed row."""
    sale, shop = receipt.sale, receipt.shop
    body, bold = ("Helvetica", 8), ("Helvetica-Bold", 8)

    def row(left, right="", font=body):
        return (11, *font, left, right, "left")

    def centre(text, font=body, step=11):
        return (step, *font, text, "", "center")

    rule = (6, None, 0, "", "", "rule")
    ops = [centre(shop["name"], ("Helvetica-Bold", 12), 14), centre(shop["address"]), centre(f"Tel {shop['phone']}"),
           centre(f"KRA PIN {shop['kra_pin']}   VAT No {shop['vat_number']}"), rule,
           row(f"Receipt {sale.receipt_number}", receipt.when, bold), row(f"Cashier: {receipt.cashier}")]
    if sale.customer_name or sale.customer_phone:
        ops.append(row(f"Customer: {sale.customer_name} {sale.customer_phone}".strip()))
    if receipt.banner:
        ops.append(centre(receipt.banner, bold))
    ops.append(rule)
    for item in receipt.lines:
        ops.append(row(item.name[:45], "", bold))
        ops.append(row(f"   {_qty(item.quantity)} x {_money(item.unit_price)}   VAT {item.tax_rate.normalize():f}%",
                       _money(item.gross)))
        if item.discount:
            ops.append(row("   Discount", f"-{_money(item.discount)}"))
        if item.returned_quantity:
            ops.append(row(f"   Returned: {_qty(item.returned_quantity)}"))
    ops += [rule, row("Subtotal", _money(sale.subtotal))]
    if sale.discount:
        ops.append(row("Discount", f"-{_money(sale.discount)}"))
    if sale.rounding:
        ops.append(row("Rounding", _money(sale.rounding)))
    ops += [(15, "Helvetica-Bold", 11, f"TOTAL {sale.currency}", _money(sale.total), "left"), rule,
            (11, *bold, ("VAT rate", "Net", "VAT", "Total"), "", "columns")]
    ops += [(11, *body, (f"{rate.normalize():f}%", _money(net), _money(tax), _money(total)), "", "columns")
            for rate, net, tax, total in receipt.vat]
    ops.append(row("Total VAT", _money(sale.tax)))
    if receipt.payments:
        ops.append(rule)
        ops += [row(label, _money(amount)) for label, amount in receipt.payments]
        if receipt.tendered:
            ops.append(row(receipt.tendered_label, _money(receipt.tendered)))
        ops.append(row(receipt.change_label, _money(receipt.change), bold))
    if sale.balance_due and sale.status != SaleStatus.CANCELLED:
        ops.append(row("Balance due", _money(sale.balance_due), bold))
    for sale_return in receipt.returns:
        ops += [rule, row(f"Return #{sale_return.pk}",
                          timezone.localtime(sale_return.created_at).strftime("%d/%m/%Y %H:%M"), bold)]
        ops += [row(f"   {_qty(line.quantity)} x {line.sale_item.name[:35]}", f"-{_money(line.amount)}")
                for line in sale_return.lines.all()]
        ops.append(row("Refund owed", f"-{_money(sale_return.amount)}", bold))
    ops += [rule, centre("Prices include VAT. Thank you!")]
    return ops
