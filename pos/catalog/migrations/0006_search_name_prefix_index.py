"""Product search on PostgreSQL: a b-tree over upper(name) for LIKE 'TEXT%' (Django's istartswith), so a
name prefix is found from an index whatever the text's length (pos.catalog.search: a text shorter than a
trigram is searched only as a prefix). Nothing to do on SQLite."""

from django.db import migrations

INDEX = "catalog_product_name_upper_prefix"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON catalog_product ((upper(name::text)) text_pattern_ops)")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("catalog", "0005_scale_value_check_digit")]
    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
