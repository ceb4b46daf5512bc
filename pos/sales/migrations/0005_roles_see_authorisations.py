"""Managers and bookkeepers see the manager authorisations (the roles' defaults said nothing of them, so
`migrate` never gave them: pos.accounts.roles adds only permissions new since the last migrate)."""

from django.db import migrations

GIVEN = {"Store manager": "view_authorisation", "Bookkeeper": "view_authorisation"}


def give(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group_name, codename in GIVEN.items():
        group = Group.objects.filter(name=group_name).first()
        permission = Permission.objects.filter(content_type__app_label="sales", codename=codename).first()
        if group is not None and permission is not None:  # a fresh install: the role sync gives it
            group.permissions.add(permission)


class Migration(migrations.Migration):
    dependencies = [("sales", "0004_cash_movements"), ("accounts", "0002_role_groups")]
    operations = [migrations.RunPython(give, migrations.RunPython.noop)]
