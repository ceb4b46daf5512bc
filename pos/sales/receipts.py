"""Receipts of a sale: one set of figures (`receipt_data`), four renderings.

- `receipt_pdf(sale)`: a PDF as wide as the paper (RECEIPT_PAPER_MM, 80 or 58) with the eTIMS QR code and a
  Code128 barcode of the receipt number;
- `receipt_text(sale)`: the thermal layout in plain text, 48 columns on 80 mm paper (32 on 58 mm);
- `receipt_html(sale)`: that text on one complete page of the paper's width, with the QR code;
- `receipt_escpos(sale)`: ESC/POS bytes for a thermal printer (text, QR, barcode, cut, optionally the
  cash-drawer kick: RECEIPT_KICK_DRAWER).

Every receipt is in the language of the sale's cashier (User.language), else the shop's (SHOP_LANGUAGE):
English or Kiswahili, labels, banners and the KRA block alike.

Amounts are the stored ones (rounded once, at the line): receipt, reports and refunds agree to the cent.
Every line's total carries its eTIMS tax letter (`240.00B`) and the tax table lists bands A to E. When
eTIMS is on, the KRA block (SCU date/time, CU id, CU invoice number, counters, internal data and signature
in groups of four, the verification QR) comes from the stored answer of the control unit: a reprint
(`copy=True`) says COPY and is never signed again; a receipt printed before KRA answered says so.
"""

from dataclasses import dataclass, field
from decimal import Decimal
from io import BytesIO

from django.conf import settings
from django.db.models import Prefetch
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from pos.core.money import ZERO
from pos.sales.models import SOLD_STATUSES, Sale, SaleItem, SaleReturn, SaleStatus

STATUS_BANNERS = {
    SaleStatus.PENDING_PAYMENT: gettext_lazy("*** NOT PAID ***"),
    SaleStatus.CANCELLED: gettext_lazy("*** CANCELLED ***"),
    SaleStatus.OPEN: gettext_lazy("*** NOT CONFIRMED ***"),
}
# (letter, label of at most 7 characters, rate)
BANDS = [("A", pgettext_lazy("tax band", "Ex"), Decimal("0")), ("B", "16%", Decimal("16")), ("C", "0%", Decimal("0")),
         ("D", pgettext_lazy("tax band", "Non-VAT"), None), ("E", "8%", Decimal("8"))]
AWAITING = gettext_lazy("AWAITING KRA SIGNATURE")
# Payment methods whose name is a word (M-Pesa, Airtel Money are names in every language).
METHODS = {"cash": gettext_lazy("Cash"), "card": gettext_lazy("Card")}
UNITS = {"pack": pgettext_lazy("unit", "pack")}  # kg, g, l, m are the same in English and Kiswahili


def receipt_language(sale) -> str:
    """The language of `sale`'s receipts: its cashier's, else the shop's."""
    from pos.core.i18n import user_language

    return user_language(sale.cashier)


def columns() -> int:
    """Characters per line: 48 on 80 mm paper, 32 on 58 mm."""
    return 32 if paper_mm() == 58 else 48


def paper_mm() -> int:
    return 58 if int(getattr(settings, "RECEIPT_PAPER_MM", 80)) == 58 else 80


@dataclass
class Payment:
    label: str
    amount: Decimal
    references: list


@dataclass
class Receipt:
    sale: Sale
    shop: dict
    when: str
    cashier: str
    lines: list
    letters: dict
    bands: list
    payments: list
    tendered: Decimal
    change: Decimal
    returns: list = field(default_factory=list)
    fiscal: object = None  # pos.fiscal SignedBlock of the sale (None: eTIMS off)
    credit_notes: dict = field(default_factory=dict)  # sale_return pk -> SignedBlock
    copy: bool = False
    width: int = 48
    several_cash: bool = False  # several cash tenders: the change shown is the last one's

    @property
    def language(self):
        return receipt_language(self.sale)

    @property
    def banner(self):
        return str(STATUS_BANNERS.get(self.sale.status, ""))

    @property
    def change_label(self):
        return _("Change (last cash tender)") if self.several_cash else _("Change")

    @property
    def tendered_label(self):
        return _("Cash tendered (last)") if self.several_cash else _("Cash tendered")

    @property
    def item_count(self):
        return len(self.lines)


def _money(value) -> str:
    return f"{value:,.2f}"


def _qty(value) -> str:
    return f"{value.normalize():f}"


def quantity_label(item) -> str:
    """2 (pieces: no needless decimals), 1.25 kg, 0.5 l ..."""
    unit = getattr(item.product, "unit", "pcs")
    number = _qty(item.quantity)
    return number if unit == "pcs" else f"{number} {UNITS.get(unit, unit)}"


def tax_letter(rate, zero_rate_as="A") -> str:
    rate = Decimal(rate)
    if rate == 16:
        return "B"
    if rate == 8:
        return "E"
    return (zero_rate_as or "A") if rate == 0 else "?"


def _fiscal(sale, just_written=False):
    """(sale's signed block, {return pk: block}, the document) or (None, {}, None) when eTIMS is off.
    `just_written`: the sale was written by this request, so it has a document only if eTIMS was on."""
    from pos.fiscal.services import active_device_id, blocks_for_sale

    if just_written and not active_device_id():
        return None, {}, None
    block, notes, document = blocks_for_sale(sale)
    if document is None and sale.status in SOLD_STATUSES and active_device_id():
        from pos.fiscal.services.receipts import FOLLOWS, TAX_INVOICE, SignedBlock

        block = SignedBlock(document=None, title=TAX_INVOICE, signed=False, status_note=FOLLOWS)
    return block, notes, document


def receipt_data(sale, copy=False) -> Receipt:
    """Everything a receipt shows, read in a constant number of queries."""
    from pos.payments.models import PaymentStatus

    just_written = {"items", "payments", "returns"} <= set(getattr(sale, "_prefetched_objects_cache", {}))
    if not just_written:  # a sale just written comes with all of these (pos.sales.services.remember)
        sale = (Sale.objects.select_related("cashier")
                .prefetch_related(Prefetch("items", SaleItem.objects.select_related("product__fiscal_item")),
                                  "payments", Prefetch("returns", SaleReturn.objects.prefetch_related("lines__sale_item")))
                .get(pk=sale.pk))
    items = list(sale.items.all())
    block, notes, document = _fiscal(sale, just_written)
    signed_letters = [line.get("taxTyCd") for line in (document.request.get("itemList") or [])] if document else []
    letters = {}
    for n, item in enumerate(items):
        fiscal_item = getattr(item.product, "fiscal_item", None)
        letters[item.pk] = (signed_letters[n] if n < len(signed_letters) and signed_letters[n]
                            else tax_letter(item.tax_rate, fiscal_item.zero_rate_as if fiscal_item else "A"))
    bands = {letter: [ZERO, ZERO] for letter, _, _ in BANDS}
    for item in items:
        bands.setdefault(letters[item.pk], [ZERO, ZERO])
        bands[letters[item.pk]][0] += item.total - item.tax
        bands[letters[item.pk]][1] += item.tax
    payments, cash = {}, []
    for payment in sale.payments.all():
        if payment.status == PaymentStatus.COMPLETED:
            entry = payments.setdefault(payment.method, Payment(METHODS.get(payment.method)
                                                                or payment.get_method_display(), ZERO, []))
            entry.amount += payment.amount
            if payment.receipt:
                entry.references.append(payment.receipt)
            if payment.method == "cash":
                cash.append(payment)
    # The change of the LAST cash tender: the change of earlier tenders was handed over when each was taken.
    last = max(cash, key=lambda p: (p.completed_at or p.created_at, p.pk), default=None)
    several = len(cash) > 1
    return Receipt(
        sale=sale,
        shop={"name": settings.SHOP_NAME, "address": settings.SHOP_ADDRESS, "phone": settings.SHOP_PHONE,
              "kra_pin": settings.SHOP_KRA_PIN, "vat_number": settings.SHOP_VAT_NUMBER},
        when=timezone.localtime(sale.created_at).strftime("%d/%m/%Y %H:%M"),
        cashier=sale.cashier.get_full_name() or sale.cashier.username,
        lines=items, letters=letters,
        bands=[(letter, label, bands[letter][0], bands[letter][1]) for letter, label, _ in BANDS],
        payments=[payments[method] for method in sorted(payments)],  # airtel, card, cash, mpesa: any language
        tendered=(last.amount_tendered or last.amount) if last else ZERO,
        change=last.change_given if last else ZERO, returns=list(sale.returns.all()),
        several_cash=several,
        fiscal=block, credit_notes=notes, copy=copy, width=columns(),
    )


# --- thermal text ------------------------------------------------------------------------------------

def _row(left, right="", width=48) -> str:
    """`left` and `right` on one line of `width`, right-aligned amount; `left` is cut to fit."""
    room = width - len(right) - 1 if right else width
    return f"{left[:room]:<{room}}{' ' if right else ''}{right}"


def _wrap(text, width=48) -> list[str]:
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


def _band_rows(receipt, width) -> list[str]:
    """The A-E tax table in `width` columns: band, rate, taxable amount, VAT."""
    amount = (width - 11) // 2
    head = f"{_('Tax'):<3} {_('Rate'):<6} "
    rows = [f"{head}{_('Taxable'):>{width - len(head) - (width - 11 - amount)}}{_('VAT'):>{width - 11 - amount}}"]
    for letter, label, taxable, tax in receipt.bands:
        rows.append(f"{letter:<4}{label:<7}{_money(taxable):>{amount}}{_money(tax):>{width - 11 - amount}}")
    return rows


def fiscal_lines(block, width) -> list[str]:
    """The KRA block of a signed document, or the line saying it awaits KRA."""
    if block is None:
        return []
    if not block.signed:
        awaiting = f"*** {AWAITING} ***"
        return [*[line.center(width).rstrip() for line in _wrap(awaiting if len(awaiting) <= width else str(AWAITING),
                                                                 width)],
                *[line.center(width).rstrip() for line in _wrap(later(block), width)]]
    out = [_("SCU INFORMATION").center(width).rstrip()]
    for label, value in block.rows():
        if len(label) + len(value) + 2 <= width:
            out.append(_row(f"{label}:", value, width))
        else:
            out.append(f"{label}:")
            out += [f"  {line}" for line in _wrap(value, width - 2)]
    return out


def later(block) -> str:
    return _("%(note)s; ask for a copy later.") % {"note": block.status_note}


def text_lines(receipt: Receipt) -> list[str]:
    sale, shop, width = receipt.sale, receipt.shop, receipt.width
    rule = "-" * width

    def row(left, right=""):
        return _row(left, right, width)

    def centre(text):
        return [line.center(width).rstrip() for line in _wrap(text, width)]

    out = centre(shop["name"].upper()) + centre(shop["address"]) + centre(_("Tel %(phone)s") % {"phone": shop["phone"]})
    out += centre(_("KRA PIN %(pin)s  VAT No %(vat)s") % {"pin": shop["kra_pin"], "vat": shop["vat_number"]}) + [rule]
    if receipt.fiscal is not None:
        out += centre(str(receipt.fiscal.title))
    if receipt.copy:
        out += centre(_("*** COPY ***"))
    out += [row(_("Receipt %(number)s") % {"number": sale.receipt_number}, receipt.when),
            row(_("Cashier: %(name)s") % {"name": receipt.cashier})]
    if sale.customer_name or sale.customer_phone:
        out.append(row(_("Customer: %(customer)s")
                       % {"customer": f"{sale.customer_name} {sale.customer_phone}".strip()}))
    if receipt.banner:
        out += centre(receipt.banner)
    out.append(rule)
    for item in receipt.lines:
        out += _wrap(item.name, width)
        out.append(row(f"  {quantity_label(item)} x {_money(item.unit_price)}",
                       f"{_money(item.gross)}{receipt.letters[item.pk]}"))
        if item.discount:
            out.append(row("  " + _("Discount"), f"-{_money(item.discount)}"))
        if item.returned_quantity:
            out.append(row("  " + _("Returned: %(quantity)s") % {"quantity": _qty(item.returned_quantity)}))
    out += [rule, row(_("Subtotal"), _money(sale.subtotal))]
    if sale.discount:
        out.append(row(_("Discount"), f"-{_money(sale.discount)}"))
    if sale.rounding:
        out.append(row(_("Rounding"), _money(sale.rounding)))
    out += [row(_("TOTAL %(currency)s") % {"currency": sale.currency}, _money(sale.total)), rule,
            *_band_rows(receipt, width), row(_("Total VAT"), _money(sale.tax)),
            row(_("Items"), str(receipt.item_count))]
    if receipt.payments:
        out.append(rule)
        for payment in receipt.payments:
            out.append(row(str(payment.label), _money(payment.amount)))
            out += [row("  " + _("Ref %(reference)s") % {"reference": reference}) for reference in payment.references]
        if receipt.tendered:
            out.append(row(receipt.tendered_label, _money(receipt.tendered)))
        out.append(row(receipt.change_label, _money(receipt.change)))
    if sale.balance_due and sale.status != SaleStatus.CANCELLED:
        out.append(row(_("Balance due"), _money(sale.balance_due)))
    for sale_return in receipt.returns:
        note = receipt.credit_notes.get(sale_return.pk)
        out += [rule, row(_("Return #%(number)s") % {"number": sale_return.pk},
                          timezone.localtime(sale_return.created_at).strftime("%d/%m/%Y %H:%M"))]
        out += [row(f"  {_qty(line.quantity)} x {line.sale_item.name}", f"-{_money(line.amount)}")
                for line in sale_return.lines.all()]
        out.append(row(_("Refund owed"), f"-{_money(sale_return.amount)}"))
        if note is not None:
            out += centre(str(note.title)) + fiscal_lines(note, width)
    if receipt.fiscal is not None:
        out += [rule, *fiscal_lines(receipt.fiscal, width)]
    out += [rule, *centre(_("Prices include VAT. Thank you!")), *centre(sale.receipt_number)]
    return out


def receipt_text(sale, copy=False) -> str:
    receipt = receipt_data(sale, copy)
    with translation.override(receipt.language):
        return "\n".join(text_lines(receipt)) + "\n"


# --- QR ----------------------------------------------------------------------------------------------

def qr_svg(url) -> str:
    """An inline SVG of the QR code of `url` (no image files, no network)."""
    import qrcode
    from qrcode.image.svg import SvgPathImage

    image = qrcode.make(url, image_factory=SvgPathImage, box_size=10, border=2)
    svg = image.to_string(encoding="unicode")
    return svg[svg.index("<svg"):]


# --- HTML --------------------------------------------------------------------------------------------

FONT_MM = Decimal("2.4")  # a monospace character is ~0.6 em: 48 columns take 69 mm of the 72 mm printable
LINE_MM = Decimal("3.0")
QR_MM = 30


def receipt_html(sale, autoprint=False, copy=False) -> str:
    """One complete page of the paper's width: the page is exactly as tall as the receipt, so the
    browser prints it in one piece (a fixed A4-like height would cut it or feed blank paper)."""
    receipt = receipt_data(sale, copy)
    with translation.override(receipt.language):
        lines = text_lines(receipt)
        url = receipt.fiscal.url if receipt.fiscal is not None and receipt.fiscal.signed else ""
        paper = paper_mm()
        height = 8 + len(lines) * LINE_MM + (QR_MM + 4 if url else 0)
        return render_to_string("sales/receipt_80mm.html", {
            "receipt": receipt, "text": "\n".join(lines), "autoprint": autoprint,
            "qr": mark_safe(qr_svg(url)) if url else "", "qr_url": url, "paper_mm": paper,
            "page_height_mm": f"{height:.1f}", "body_mm": paper - 8, "font_mm": FONT_MM, "line_mm": LINE_MM,
            "qr_mm": QR_MM, "language": receipt.language,
        })


# --- ESC/POS -----------------------------------------------------------------------------------------

def receipt_escpos(sale, copy=False) -> bytes:
    """ESC/POS bytes: bold centred shop name, the body, the eTIMS QR code, a Code128 barcode, a cut; and
    the cash-drawer kick first when RECEIPT_KICK_DRAWER is on."""
    from escpos.printer import Dummy

    receipt = receipt_data(sale, copy)
    with translation.override(receipt.language):
        lines = text_lines(receipt)
    header = len(_wrap(receipt.shop["name"].upper(), receipt.width))
    printer = Dummy()
    if getattr(settings, "RECEIPT_KICK_DRAWER", False) and sale.status in SOLD_STATUSES and not copy:
        printer.cashdraw(2)
    printer.set(align="center", bold=True, double_height=True)
    printer.text("\n".join(line.strip() for line in lines[:header]) + "\n")
    printer.set(align="left", bold=False, normal_textsize=True)
    printer.text("\n".join(lines[header:]) + "\n")
    if receipt.fiscal is not None and receipt.fiscal.signed and receipt.fiscal.url:
        printer.set(align="center")
        printer.qr(receipt.fiscal.url, size=5, native=True)  # the printer draws it (GS ( k): crisp, small
    printer.barcode("{B" + receipt.sale.receipt_number, "CODE128", function_type="B", height=60, width=2)
    printer.cut()
    return printer.output


# --- PDF ---------------------------------------------------------------------------------------------

def receipt_pdf(sale, copy=False) -> bytes:
    """A PDF as wide as the paper, as tall as the receipt, with the eTIMS QR code and a Code128 barcode."""
    from reportlab.graphics import renderPDF
    from reportlab.graphics.barcode.code128 import Code128
    from reportlab.graphics.barcode.qr import QrCodeWidget
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas

    receipt = receipt_data(sale, copy)
    with translation.override(receipt.language):
        ops = _pdf_ops(receipt)
        title = _("Receipt %(number)s") % {"number": receipt.sale.receipt_number}
    width, margin = paper_mm() * mm, 4 * mm
    barcode = Code128(receipt.sale.receipt_number, barHeight=12 * mm, barWidth=0.9)
    url = receipt.fiscal.url if receipt.fiscal is not None and receipt.fiscal.signed else ""
    qr_size = QR_MM * mm if url else 0
    height = sum(op[0] for op in ops) + barcode.height + 2 * margin + 6 * mm + (qr_size + 4 * mm if url else 0)
    buffer = BytesIO()
    canvas = Canvas(buffer, pagesize=(width, height))
    canvas.setTitle(title)
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
            for x, text in zip((margin, width * 0.22, width * 0.68, width - margin), left):
                (canvas.drawString if x in (margin, width * 0.22) else canvas.drawRightString)(x, y, text)
        else:
            canvas.drawString(margin, y, left)
            if right:
                canvas.drawRightString(width - margin, y, right)
    if url:
        widget = QrCodeWidget(url, barLevel="M")
        x0, y0, x1, y1 = widget.getBounds()
        drawing = Drawing(qr_size, qr_size, transform=[qr_size / (x1 - x0), 0, 0, qr_size / (y1 - y0), 0, 0])
        drawing.add(widget)
        renderPDF.draw(drawing, canvas, (width - qr_size) / 2, y - qr_size - 2 * mm)
    barcode.drawOn(canvas, (width - barcode.width) / 2, margin + 4 * mm)
    canvas.setFont("Helvetica", 7)
    canvas.drawCentredString(width / 2, margin, receipt.sale.receipt_number)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _pdf_ops(receipt) -> list[tuple]:
    """(height, font, size, left, right, align) per printed row."""
    sale, shop = receipt.sale, receipt.shop
    body, bold, mono = ("Helvetica", 8), ("Helvetica-Bold", 8), ("Courier", 7.5)

    def row(left, right="", font=body):
        return (11, *font, left, right, "left")

    def centre(text, font=body, step=11):
        return (step, *font, text, "", "center")

    def fiscal_rows(block):
        if block is None:
            return []
        if not block.signed:
            return [centre(f"*** {AWAITING} ***", bold), centre(later(block))]
        rows = [centre(_("SCU INFORMATION"), bold)]
        for label, value in block.rows():
            if len(value) > 24:
                rows += [row(f"{label}:"), (10, *mono, value, "", "center")]
            else:
                rows.append(row(f"{label}:", value))
        return rows

    rule = (6, None, 0, "", "", "rule")
    ops = [centre(shop["name"], ("Helvetica-Bold", 12), 14), centre(shop["address"]),
           centre(_("Tel %(phone)s") % {"phone": shop["phone"]}),
           *([centre(_("KRA PIN %(pin)s  VAT No %(vat)s") % {"pin": shop["kra_pin"], "vat": shop["vat_number"]})]
             if paper_mm() == 80 else  # 58 mm: one per line, or the line runs off the paper
             [centre(_("KRA PIN %(pin)s") % {"pin": shop["kra_pin"]}),
              centre(_("VAT No %(vat)s") % {"vat": shop["vat_number"]})]), rule]
    if receipt.fiscal is not None:
        ops.append(centre(str(receipt.fiscal.title), ("Helvetica-Bold", 10), 13))
    if receipt.copy:
        ops.append(centre(_("*** COPY ***"), ("Helvetica-Bold", 10), 13))
    ops += [row(_("Receipt %(number)s") % {"number": sale.receipt_number}, receipt.when, bold),
            row(_("Cashier: %(name)s") % {"name": receipt.cashier})]
    if sale.customer_name or sale.customer_phone:
        ops.append(row(_("Customer: %(customer)s")
                       % {"customer": f"{sale.customer_name} {sale.customer_phone}".strip()}))
    if receipt.banner:
        ops.append(centre(receipt.banner, bold))
    ops.append(rule)
    for item in receipt.lines:
        ops.append(row(item.name[:45], "", bold))
        ops.append(row(f"   {quantity_label(item)} x {_money(item.unit_price)}",
                       f"{_money(item.gross)}{receipt.letters[item.pk]}"))
        if item.discount:
            ops.append(row("   " + _("Discount"), f"-{_money(item.discount)}"))
        if item.returned_quantity:
            ops.append(row("   " + _("Returned: %(quantity)s") % {"quantity": _qty(item.returned_quantity)}))
    ops += [rule, row(_("Subtotal"), _money(sale.subtotal))]
    if sale.discount:
        ops.append(row(_("Discount"), f"-{_money(sale.discount)}"))
    if sale.rounding:
        ops.append(row(_("Rounding"), _money(sale.rounding)))
    ops += [(15, "Helvetica-Bold", 11, _("TOTAL %(currency)s") % {"currency": sale.currency}, _money(sale.total),
             "left"), rule, (11, *bold, (_("Tax"), _("Rate"), _("Taxable"), _("VAT")), "", "columns")]
    ops += [(11, *body, (letter, str(label), _money(taxable), _money(tax)), "", "columns")
            for letter, label, taxable, tax in receipt.bands]
    ops += [row(_("Total VAT"), _money(sale.tax)), row(_("Items"), str(receipt.item_count))]
    if receipt.payments:
        ops.append(rule)
        for payment in receipt.payments:
            ops.append(row(str(payment.label), _money(payment.amount)))
            ops += [row("   " + _("Ref %(reference)s") % {"reference": reference})
                    for reference in payment.references]
        if receipt.tendered:
            ops.append(row(receipt.tendered_label, _money(receipt.tendered)))
        ops.append(row(receipt.change_label, _money(receipt.change), bold))
    if sale.balance_due and sale.status != SaleStatus.CANCELLED:
        ops.append(row(_("Balance due"), _money(sale.balance_due), bold))
    for sale_return in receipt.returns:
        note = receipt.credit_notes.get(sale_return.pk)
        ops += [rule, row(_("Return #%(number)s") % {"number": sale_return.pk},
                          timezone.localtime(sale_return.created_at).strftime("%d/%m/%Y %H:%M"), bold)]
        ops += [row(f"   {_qty(line.quantity)} x {line.sale_item.name[:35]}", f"-{_money(line.amount)}")
                for line in sale_return.lines.all()]
        ops.append(row(_("Refund owed"), f"-{_money(sale_return.amount)}", bold))
        if note is not None:
            ops += [centre(str(note.title), bold), *fiscal_rows(note)]
    if receipt.fiscal is not None:
        ops += [rule, *fiscal_rows(receipt.fiscal)]
    ops += [rule, centre(_("Prices include VAT. Thank you!"))]
    return ops
