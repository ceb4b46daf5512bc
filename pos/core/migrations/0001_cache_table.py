"""The database cache table (`pos_cache`) comes with `migrate`, so `migrate` + gunicorn + qcluster is a
working shop without Redis (before, login answered 500 until `createcachetable` was run). It is
created whatever CACHES says, so a shop that moves from Redis to the database cache has it too."""

from django.db import migrations

TABLE = "pos_cache"


def create_cache_table(apps, schema_editor):
    from django.core.management.commands.createcachetable import Command

    if TABLE not in schema_editor.connection.introspection.table_names():
        command = Command()
        command.verbosity = 0
        command.create_table(schema_editor.connection.alias, TABLE, dry_run=False)


def drop_cache_table(apps, schema_editor):
    if TABLE in schema_editor.connection.introspection.table_names():
        schema_editor.execute(f"DROP TABLE {schema_editor.quote_name(TABLE)}")


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [migrations.RunPython(create_cache_table, drop_cache_table)]
