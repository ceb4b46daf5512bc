"""One rule for every spreadsheet cell we write (csv and xlsx): text that a spreadsheet would run as a
formula is neutralised.

A product, category, supplier or cashier name starting with `=`, `+`, `-`, `@`, a tab or a carriage
return is read by Excel, LibreOffice and Google Sheets as a formula (CSV injection: `=HYPERLINK(...)`,
`=cmd|...`). Such text gets a leading apostrophe, which every spreadsheet shows as plain text. Numbers
are never touched (a Decimal stays a number cell), and neither is text that is only a number
("-12.50", "+254700000000"), which a spreadsheet cannot run.

Used by the report writers (pos.reports.exports), every django-import-export resource (through
`SafeExportMixin`) and the stock valuation export.
"""

import re

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d[\d,]*)?(\.\d+)?")


def safe_cell(value):
    """`value` as it may go into a csv/xlsx cell: text a spreadsheet would evaluate gets a leading "'"."""
    if not isinstance(value, str) or not value.startswith(FORMULA_START):
        return value
    if value[0] in "+-" and len(value) > 1 and _PLAIN_NUMBER.fullmatch(value):
        return value
    return "'" + value


class SafeExportMixin:
    """For django-import-export resources: every exported field value goes through `safe_cell`.

    Put it first in the bases of every Resource (tests/security/test_formula_injection.py checks that
    each resource in the project has it)."""

    def export_field(self, field, instance, **kwargs):
        return safe_cell(super().export_field(field, instance, **kwargs))
