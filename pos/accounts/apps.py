from django.apps import AppConfig
from django.db.models.signals import post_migrate, pre_migrate


class AccountsConfig(AppConfig):
    name = "pos.accounts"
    label = "accounts"
    verbose_name = "Users and roles"

    def ready(self):
        from pos.accounts.roles import remember_permissions_before_migrate, sync_role_groups_after_migrate

        pre_migrate.connect(remember_permissions_before_migrate, dispatch_uid="pos.accounts.remember_permissions")
        post_migrate.connect(sync_role_groups_after_migrate, dispatch_uid="pos.accounts.sync_roles")
