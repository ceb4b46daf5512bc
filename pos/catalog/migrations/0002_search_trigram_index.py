"""Product search on PostgreSQL: the pg_trgm extension and a trigram GIN index over the searched text
(name, SKU and barcode, lower case). pos.catalog.search.HAYSTACK must stay the indexed expression.
Nothing to do on SQLite (its search is a plain contains search)."""

from django.db import migrations

INDEX = "catalog_product_search_trgm"
EXPRESSION = "lower(name || ' ' || sku || ' ' || coalesce(barcode, ''))"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON catalog_product USING gin (({EXPRESSION}) gin_trgm_ops)")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
