"""A streamed xlsx writer: the workbook is produced as a sequence of byte chunks while the rows are read,
so the first bytes leave at once and memory stays flat whatever the number of rows.

An xlsx file is a zip of XML parts. The zip is written with the standard library's zipfile to a sink
that is emptied after every few hundred rows (zipfile writes entries of an unknown size with a data
descriptor when its file cannot seek); each sheet's XML is written row by row into its zip entry.
Cells: numbers are number cells with the column's number format, dates and times are date cells
(Excel serial numbers with a date format), text is an inline string (never a formula; the shop's
rule for formula-like text, pos.core.cells.safe_cell, is applied by the caller as for csv).
"""

import re
import zipfile
from datetime import date, datetime
from decimal import Decimal
from xml.sax.saxutils import escape

EPOCH = datetime(1899, 12, 30)
ROWS_PER_CHUNK = 500
# Number formats: id 164+ (custom); the style index of a kind is its position + 1 (0 = default),
# bold variants after them.
FORMATS = ["#,##0.00", "#,##0.000", "#,##0", '0.00"%"', "yyyy-mm-dd", "yyyy-mm-dd hh:mm"]
KINDS = {"money": 0, "quantity": 1, "integer": 2, "percent": 3, "date": 4, "datetime": 5}
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
REL_NS = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'


def style(kind, bold=False):
    """The cellXfs index of a kind of cell (None/"text": general)."""
    base = 1 + KINDS[kind] if kind in KINDS else 0
    return base + (len(FORMATS) + 1 if bold else 0)


def column_letter(n):
    """1 -> A, 27 -> AA."""
    letters = ""
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _serial(value):
    if isinstance(value, datetime):
        delta = value.replace(tzinfo=None) - EPOCH
        return delta.days + delta.seconds / 86400 + delta.microseconds / 86_400_000_000
    return (value - EPOCH.date()).days


def cell(ref, value, kind=None, bold=False):
    """One <c> element (`ref` "" for none); `kind` picks the number format of numbers and dates."""
    if value is None or value == "":
        s = style(None, bold)
        return f'<c r="{ref}" s="{s}"/>' if s else ""
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, (int, float, Decimal)):
        return f'<c r="{ref}" s="{style(kind if kind in KINDS else None, bold)}"><v>{value}</v></c>'
    if isinstance(value, (date, datetime)):
        kind = kind if kind in ("date", "datetime") else ("datetime" if isinstance(value, datetime) else "date")
        return f'<c r="{ref}" s="{style(kind, bold)}"><v>{_serial(value)}</v></c>'
    text = escape(_ILLEGAL.sub("", str(value)))
    space = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() else ""
    return f'<c r="{ref}" t="inlineStr" s="{style(None, bold)}"><is><t{space}>{text}</t></is></c>'


def _text_cell(value, ref):
    if value is None or value == "":
        return ""
    if not isinstance(value, str):
        return cell(ref, value)
    text = escape(_ILLEGAL.sub("", value)) if _NEEDS_CARE.search(value) else value
    space = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() else ""
    return f'<c r="{ref}" t="inlineStr"><is><t{space}>{text}</t></is></c>'


_NEEDS_CARE = re.compile("[<>&\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


_NUMBERS = frozenset({int, float, Decimal})
_MOMENTS = frozenset({date, datetime})


def row_writer(kinds, letters, text=None):
    """A function (row number, values) -> the <row> of data cells for columns of `kinds` (numbers with
    their column's number format, dates as serials, text inline), built by one generated expression per
    row instead of a call per cell (a year's export is millions of cells). `text` (e.g. the formula
    rule) is applied to every value of a text column first. An empty value writes no cell; a value of
    another type than its column's (a text in a money column) is written as `cell` would."""
    parts = []
    for i, (kind, letter) in enumerate(zip(kinds, letters, strict=False)):
        ref = f"'{letter}' + n"
        if kind in ("money", "quantity", "integer", "percent"):
            head = f'<c r="{letter}'
            tail = f'" s="{style(kind)}"><v>'
            parts.append(f"('' if v{i} is None else ('{head}' + n + '{tail}' + str(v{i}) + '</v></c>') "
                         f"if v{i}.__class__ in NUMBERS else text_cell(v{i}, {ref}))")
        elif kind in ("date", "datetime"):
            head = f'<c r="{letter}'
            tail = f'" s="{style(kind)}"><v>'
            parts.append(f"('{head}' + n + '{tail}' + str(serial(v{i})) + '</v></c>' "
                         f"if v{i}.__class__ in MOMENTS else text_cell(v{i}, {ref}))")
        else:
            value = f"fix(v{i})" if text else f"v{i}"
            parts.append(f"text_cell({value}, {ref})")
    names = ", ".join(f"v{i}" for i in range(len(parts))) + ("," if len(parts) == 1 else "")
    source = (f"def write(number, values):\n    n = str(number)\n    {names} = values\n"
              f"    return ''.join(('<row r=\"', n, '\">', {', '.join(parts)}, '</row>'))\n")
    scope = {"NUMBERS": _NUMBERS, "MOMENTS": _MOMENTS, "text_cell": _text_cell, "serial": _serial, "fix": text}
    exec(compile(source, "<xlsx row writer>", "exec"), scope)  # noqa: S102 - code generated above from kinds only
    return scope["write"]


class SheetWriter:
    """Rows of one worksheet as XML text: `head(widths)`, `row(values, kinds, bold)`, `tail()`."""

    def __init__(self, columns):
        self.letters = [column_letter(n) for n in range(1, columns + 1)]
        self.number = 0

    def head(self, widths, freeze_header=True):
        cols = "".join(f'<col min="{n}" max="{n}" width="{w}" customWidth="1"/>' for n, w in enumerate(widths, 1))
        pane = ('<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" '
                'state="frozen"/></sheetView></sheetViews>') if freeze_header else ""
        return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet {NS} {REL_NS}>{pane}'
                f'{"<cols>" + cols + "</cols>" if cols else ""}<sheetData>')

    def fast_row(self, write, values):
        """A row of data cells through a row_writer."""
        self.number += 1
        return write(self.number, values)

    def row(self, values, kinds=None, bold=False):
        self.number += 1
        n = self.number
        kinds = kinds or [None] * len(values)
        cells = "".join(cell(f"{letter}{n}", value, kind, bold)
                        for letter, value, kind in zip(self.letters, values, kinds, strict=False))
        return f'<row r="{n}">{cells}</row>'

    @staticmethod
    def tail():
        return "</sheetData></worksheet>"


def _styles():
    fmts = "".join(f'<numFmt numFmtId="{164 + n}" formatCode="{escape(code, {chr(34): "&quot;"})}"/>'
                   for n, code in enumerate(FORMATS))
    xfs = ['<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>']
    xfs += [f'<xf numFmtId="{164 + n}" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
            for n in range(len(FORMATS))]
    xfs += ['<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>']
    xfs += [f'<xf numFmtId="{164 + n}" fontId="1" fillId="0" borderId="0" xfId="0" applyNumberFormat="1" '
            f'applyFont="1"/>' for n in range(len(FORMATS))]
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet {NS}>'
            f'<numFmts count="{len(FORMATS)}">{fmts}</numFmts>'
            '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
            '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
            '<fills count="2"><fill><patternFill patternType="none"/></fill>'
            '<fill><patternFill patternType="gray125"/></fill></fills>'
            '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
            f'<cellXfs count="{len(xfs)}">{"".join(xfs)}</cellXfs>'
            '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>')


def _safe_title(title, used):
    title = re.sub(r"[\[\]\*\?/\\:]", " ", title)[:31] or "Sheet"
    base, n = title, 2
    while title.lower() in used:
        suffix = f" ({n})"
        title, n = base[:31 - len(suffix)] + suffix, n + 1
    used.add(title.lower())
    return title


def _workbook(titles):
    sheets = "".join(f'<sheet name="{escape(t, {chr(34): "&quot;"})}" sheetId="{n}" r:id="rId{n}"/>'
                     for n, t in enumerate(titles, 1))
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook {NS} {REL_NS}>'
            f'<sheets>{sheets}</sheets></workbook>')


def _workbook_rels(count):
    rels = "".join(f'<Relationship Id="rId{n}" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                   f'relationships/worksheet" Target="worksheets/sheet{n}.xml"/>' for n in range(1, count + 1))
    rels += (f'<Relationship Id="rId{count + 1}" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
             'relationships/styles" Target="styles.xml"/>')
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships '
            f'xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}</Relationships>')


def _content_types(count):
    sheets = "".join(f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="application/'
                     'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>' for n in range(1, count + 1))
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns="http://schemas.openxmlformats.org/'
            'package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-'
            'package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            f'spreadsheetml.sheet.main+xml"/>{sheets}<Override PartName="/xl/styles.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>')


ROOT_RELS = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://schemas.'
             'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
             'openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
             '</Relationships>')


class _Sink:
    """A write-only file for zipfile whose bytes are taken out as they come (no seek: data descriptors)."""

    def __init__(self):
        self.parts = []

    def write(self, data):
        self.parts.append(bytes(data))
        return len(data)

    def flush(self):
        pass

    def take(self):
        data = b"".join(self.parts)
        self.parts.clear()
        return data


def stream(sheets):
    """Yield the bytes of an xlsx file. `sheets` is a list of (title, write) where `write(writer, emit)`
    calls `emit(xml_text)` for the sheet's parts (head, rows, tail) using a SheetWriter; the rows are
    produced only as the file is read."""
    sink = _Sink()
    titles, used = [], set()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", _content_types(len(sheets)))
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/styles.xml", _styles())
        yield sink.take()
        for n, (title, write) in enumerate(sheets, 1):
            titles.append(_safe_title(title, used))
            with archive.open(f"xl/worksheets/sheet{n}.xml", "w", force_zip64=True) as entry:
                pending = []

                def emit(text, pending=pending, entry=entry):
                    pending.append(text)
                    if len(pending) >= ROWS_PER_CHUNK:
                        entry.write("".join(pending).encode())
                        pending.clear()
                        return True
                    return False

                for flushed in write(emit):
                    if flushed:
                        data = sink.take()
                        if data:
                            yield data
                if pending:
                    entry.write("".join(pending).encode())
            yield sink.take()
        archive.writestr("xl/workbook.xml", _workbook(titles))
        archive.writestr("xl/_rels/workbook.xml.rels", _workbook_rels(len(sheets)))
    yield sink.take()
