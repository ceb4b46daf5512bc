"""Backups: the documented pg_dump / pg_restore procedure restores the demo shop whole."""

import os
import shutil
import subprocess

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection

TABLES = ["accounts_user", "catalog_category", "catalog_product", "inventory_stockmovement", "auth_group"]


def _count(dsn, table):
    with psycopg.connect(dsn) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_pg_dump_of_the_demo_shop_restores_into_a_fresh_database(needs_postgres, tmp_path):
    if not shutil.which("pg_dump"):
        pytest.skip("pg_dump is not installed")
    call_command("load_demo")
    s = connection.settings_dict
    server = f"host={s['HOST'] or '127.0.0.1'} port={s['PORT'] or 5432} user={s['USER'] or 'postgres'}"
    source, target = f"{server} dbname={s['NAME']}", f"{server} dbname={s['NAME']}_restore"
    env = {**os.environ, "PGHOST": s["HOST"] or "127.0.0.1", "PGUSER": s["USER"] or "postgres"}
    dump = tmp_path / "shop.dump"
    subprocess.run(["pg_dump", "-Fc", "-f", str(dump), s["NAME"]], env=env, check=True)
    subprocess.run(["dropdb", "--if-exists", f"{s['NAME']}_restore"], env=env, check=True)
    subprocess.run(["createdb", f"{s['NAME']}_restore"], env=env, check=True)
    try:
        subprocess.run(["pg_restore", "--no-owner", "-d", f"{s['NAME']}_restore", str(dump)], env=env, check=True)
        for table in TABLES:
            assert _count(target, table) == _count(source, table) > 0, table
        with psycopg.connect(target) as conn:
            mismatched = conn.execute(
                "SELECT count(*) FROM catalog_product p WHERE p.stock_quantity <> "
                "(SELECT COALESCE(SUM(m.quantity), 0) FROM inventory_stockmovement m WHERE m.product_id = p.id)"
            ).fetchone()[0]
        assert mismatched == 0
    finally:
        subprocess.run(["dropdb", "--if-exists", f"{s['NAME']}_restore"], env=env, check=True)
