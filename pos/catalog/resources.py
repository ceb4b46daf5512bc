"""Spreadsheet import/export (xlsx, csv) of categories and products.

Rules of an import:
- Products are matched by SKU, categories by name; a category is given by its NAME.
- Every row is checked (numbers, negative money, tax rate, unit, unknown category, barcode check digit,
  a barcode or SKU used twice in the file or already used by another product) and each bad row is
  reported with its spreadsheet row number (the header is row 1, the first product row 2), as Excel
  shows it. (import-export's own `number` of a row result stays its data-row index, from 1.)
- One bad row and the whole file imports nothing: the import runs in one transaction that is rolled
  back when any row has an error.
- Stock is never imported: the stock column is exported for reading only; stock changes go through
  pos.inventory.services.
- Rows are saved through pos.catalog.services, like the admin and the API: categories one by one,
  products all together (services.save_products) once every row is known to be fine.
- A 10,000-product file is checked and saved in about 30 queries (see ProductResource), not per row.
"""

from collections import defaultdict
from copy import copy
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import connection
from django.utils.html import format_html
from import_export import fields, resources, widgets

from pos.catalog import services
from pos.catalog.barcodes import clean_barcode
from pos.catalog.models import Category, Product, Unit, default_tax_rate
from pos.core.cells import SafeExportMixin
from pos.core.errors import ServiceError

# Rows listed in the admin's preview table (a 10,000-row file made a 46 MB page); the import takes them all.
PREVIEW_ROWS = 100


def code_text(value) -> str:
    """A code cell as text: spreadsheets turn 6161234567890 into a number (sometimes 6161234567890.0)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


class CodeWidget(widgets.CharWidget):
    def clean(self, value, row=None, **kwargs):
        return code_text(value)


class BarcodeWidget(widgets.CharWidget):
    def clean(self, value, row=None, **kwargs):
        try:
            return clean_barcode(code_text(value))
        except ServiceError as exc:
            raise ValueError(exc.message) from exc


class NumberWidget(widgets.DecimalWidget):
    """A decimal number; text that is not a number is a clear row error, not a crash."""

    def clean(self, value, row=None, **kwargs):
        if self.is_empty(value):
            return None
        try:
            number = Decimal(str(value).strip().replace(",", ""))
        except InvalidOperation:
            raise ValueError(f"'{value}' is not a number.") from None
        if not number.is_finite():
            raise ValueError(f"'{value}' is not a number.")
        return number


class YesNoWidget(widgets.BooleanWidget):
    YES = {"1", "true", "yes", "y"}
    NO = {"0", "false", "no", "n"}

    def clean(self, value, row=None, **kwargs):
        text = code_text(value).lower()
        if value is True or text in self.YES:
            return True
        if value is False or text in self.NO:
            return False
        if not text:
            return None
        raise ValueError(f"'{value}' is not yes or no.")


class UnitWidget(widgets.CharWidget):
    def clean(self, value, row=None, **kwargs):
        text = code_text(value).lower()
        if not text:
            return None
        for code, label in Unit.choices:
            if text in (code, label.lower()):
                return code
        raise ValueError(f"Unknown unit '{value}'. Use one of: {', '.join(Unit.values)}.")


class CategoryNameWidget(widgets.ForeignKeyWidget):
    """A category given by name (case does not matter); an unknown name is a row error.

    After remember(categories) names are answered from that list, without a query per row.
    """

    def __init__(self):
        super().__init__(Category, field="name")
        self.by_name = None

    def remember(self, categories):
        self.by_name = {category.name.lower(): category for category in categories}

    def clean(self, value, row=None, **kwargs):
        name = code_text(value)
        if not name:
            return None
        if self.by_name is None:
            category = Category.objects.filter(name__iexact=name).first()
        else:
            category = self.by_name.get(name.lower())
        if category is None:
            raise ValueError(f"Unknown category '{name}'. Create it first or correct the name.")
        return category


HEADER_ROWS = 1  # spreadsheet row of a data row = its index (from 1) + the header row


def sheet_row(number):
    """The spreadsheet's row number of the `number`-th data row (from 1)."""
    return number + HEADER_ROWS


def _cell(value):
    return "" if value is None else str(value)


class CleanDiff(resources.Diff):
    """The preview's cells: the value as it will be; a changed value as "old → new" (never a character
    diff, which showed 80 -> 85 as "805.00"); an empty cell blank (not "None")."""

    def as_html(self):
        cells = []
        for old, new in zip(self.left, self.right):
            old, new = _cell(old), _cell(new)
            if self.new or old == new:
                cells.append(format_html("{}", new))
            else:
                cells.append(format_html('<del class="text-red-600">{}</del> → <ins class="text-green-700 '
                                         'no-underline">{}</ins>', old or "(empty)", new or "(empty)"))
        return cells


ACRONYMS = {"sku": "SKU", "vat": "VAT", "plu": "PLU"}


def header_label(column):
    """'cost_price' -> 'Cost price', 'sku' -> 'SKU': the preview's column headers (templates/admin/
    import_export, filter `sheet_header`; the result's diff_headers stay the columns, they key the rows)."""
    words = column.replace("_", " ").split()
    text = " ".join(ACRONYMS.get(word.lower(), word) for word in words)
    return text[:1].upper() + text[1:]


class ServiceResource(SafeExportMixin, resources.ModelResource):
    """Saves rows through the catalogue services, validates every row and rolls back on any error."""

    def get_diff_class(self):
        return CleanDiff

    def before_import(self, dataset, **kwargs):
        self.user = kwargs.get("user")
        self.row_number = 0

    def before_import_row(self, row, **kwargs):
        self.row_number = kwargs.get("row_number", self.row_number + 1)

    def get_import_fields(self):
        # Read-only columns (stock) are exported for reading, never imported. Asked twice per row: kept.
        if not hasattr(self, "import_fields"):
            self.import_fields = [field for field in super().get_import_fields() if not field.readonly]
        return self.import_fields

    def import_data(self, dataset, dry_run=False, *args, **kwargs):
        # A file with any bad row (errors or validation errors) must change nothing.
        kwargs["rollback_on_validation_errors"] = True
        # The per-row diff (a third of the work) only feeds the admin preview's table of the first
        # PREVIEW_ROWS rows: the confirmed import skips it, the dry run stops it after those rows.
        self._meta = copy(self._meta)
        self._meta.skip_diff = not dry_run
        return super().import_data(dataset, dry_run, *args, **kwargs)

    def after_import_row(self, row, row_result, **kwargs):
        if kwargs.get("row_number", 0) >= PREVIEW_ROWS:
            self._meta.skip_diff = True

    def after_init_instance(self, instance, new, row, **kwargs):
        self.values_before = None if new else [field.get_value(instance) for field in self.get_import_fields()]

    def skip_row(self, instance, original, row, import_validation_errors=None):
        """An existing row whose imported columns all keep their value is skipped (not saved, no history).
        Compared with the values read before the row was applied, so it works without the diff."""
        if import_validation_errors or self.values_before is None:
            return False
        return self.values_before == [field.get_value(instance) for field in self.get_import_fields()]


class CategoryResource(ServiceResource):
    name = fields.Field("name", "name", widget=CodeWidget())
    parent = fields.Field("parent", "parent", widget=CategoryNameWidget())
    is_active = fields.Field("is_active", "is_active", widget=YesNoWidget(), default=True)

    class Meta:
        model = Category
        fields = ["name", "parent", "is_active"]
        import_id_fields = ["name"]
        use_transactions = True
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True

    def get_queryset(self):
        return Category.objects.select_related("parent")

    def do_instance_save(self, instance, is_create):
        # Row by row: a category may be the parent of one further down the same file.
        try:
            services.save_category(instance, user=self.user)
        except ServiceError as exc:
            raise ValidationError({exc.field or "__all__": [exc.message]}) from exc


def fetch_in_chunks(queryset, column, values):
    """queryset rows whose `column` is one of `values`, in as few queries as the database's parameter limit allows."""
    values = sorted(values)
    size = connection.features.max_query_params or len(values) or 1
    for start in range(0, len(values), size):
        yield from queryset.filter(**{f"{column}__in": values[start:start + size]})


class ProductResource(ServiceResource):
    """Products by SKU. The file is read once up front: its categories, the products its SKUs name and the
    owners of its barcodes are fetched in a few queries; each row is then checked in Python
    (services.check_product plus the uniqueness checks below) and, when every row is fine, all rows are
    written at once by services.save_products. The database's unique constraints stay the last guard.
    """

    sku = fields.Field("sku", "sku", widget=CodeWidget())
    barcode = fields.Field("barcode", "barcode", widget=BarcodeWidget())
    name = fields.Field("name", "name", widget=CodeWidget())
    category = fields.Field("category", "category", widget=CategoryNameWidget())
    price = fields.Field("price", "price", widget=NumberWidget())
    cost_price = fields.Field("cost_price", "cost_price", widget=NumberWidget(), default=Decimal("0.00"))
    tax_rate = fields.Field("tax_rate", "tax_rate", widget=NumberWidget(), default=default_tax_rate)
    unit = fields.Field("unit", "unit", widget=UnitWidget(), default=Unit.PIECE)
    reorder_level = fields.Field("reorder_level", "reorder_level", widget=NumberWidget(), default=Decimal(0))
    is_active = fields.Field("is_active", "is_active", widget=YesNoWidget(), default=True)
    stock_quantity = fields.Field("stock_quantity", "stock_quantity", widget=widgets.DecimalWidget(), readonly=True)

    class Meta:
        model = Product
        fields = ["sku", "barcode", "name", "category", "price", "cost_price", "tax_rate", "unit",
                  "reorder_level", "is_active", "stock_quantity"]
        import_id_fields = ["sku"]
        use_transactions = True
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True
        # No savepoint per row: rows are collected and written together in after_import.
        use_bulk = True

    def get_queryset(self):
        return Product.objects.select_related("category")

    def before_import(self, dataset, **kwargs):
        super().before_import(dataset, **kwargs)
        self.rows_by_code = {"sku": defaultdict(list), "barcode": defaultdict(list)}
        for number, row in enumerate(dataset.dict, 1):
            for column, seen in self.rows_by_code.items():
                code = code_text(row.get(column))
                if code:
                    seen[code].append(number)
        self.fields["category"].widget.remember(Category.objects.all())
        self.by_sku = {product.sku: product
                       for product in fetch_in_chunks(self.get_queryset(), "sku", self.rows_by_code["sku"])}
        owners = Product.objects.values_list("barcode", "pk", "name", "sku")
        self.barcode_owners = {barcode: (pk, name, sku)
                               for barcode, pk, name, sku in fetch_in_chunks(owners, "barcode",
                                                                             self.rows_by_code["barcode"])}
        self.to_save = []

    def get_instance(self, instance_loader, row):
        return self.by_sku.get(self.fields["sku"].clean(row))

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        errors = dict(import_validation_errors or {})
        if instance.price is not None and instance.price < 0:
            errors.setdefault("price", []).append(ValidationError("Price cannot be negative."))
        if instance.cost_price is not None and instance.cost_price < 0:
            errors.setdefault("cost_price", []).append(ValidationError("Cost price cannot be negative."))
        for field, messages in services.check_product(instance, exclude=errors).items():
            errors.setdefault(field, [ValidationError(message) for message in messages])
        # A product is found by its SKU, so only a barcode can belong to another product already.
        for column, label in (("sku", "SKU"), ("barcode", "Barcode")):
            code = getattr(instance, column)
            if not code or column in errors:
                continue
            others = [n for n in self.rows_by_code[column].get(code, []) if n != self.row_number]
            owner = self.barcode_owners.get(code) if column == "barcode" else None
            if others:
                rows = ", ".join(str(sheet_row(n)) for n in others)
                errors[column] = [ValidationError(f"{label} {code} is used again on row {rows} of this file.")]
            elif owner is not None and owner[0] != instance.pk:
                errors[column] = [ValidationError(f"{label} {code} already belongs to {owner[1]} (SKU {owner[2]}).")]
        if errors:
            raise ValidationError(errors)

    def save_instance(self, instance, is_create, row, **kwargs):
        self.to_save.append(instance)

    def after_import(self, dataset, result, **kwargs):
        if result.has_errors() or result.has_validation_errors():
            return  # the whole import is rolled back: nothing to write
        if kwargs.get("dry_run") and not kwargs.get("using_transactions"):
            return
        # A failure here (a SKU or barcode taken meanwhile) is an import error: the whole file rolls back.
        services.save_products(self.to_save, user=self.user)
