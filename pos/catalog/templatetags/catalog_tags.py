from django import template

from pos.catalog.resources import header_label

register = template.Library()


@register.filter
def sheet_header(column):
    """A spreadsheet column as the import preview's header: 'cost_price' -> 'Cost price'."""
    return header_label(str(column))
