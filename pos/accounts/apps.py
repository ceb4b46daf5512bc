from django.apps import AppConfig
from django.db.models.signals import m2m_changed, post_migrate, pre_migrate


class AccountsConfig(AppConfig):
    name = "pos.accounts"
    label = "accounts"
    verbose_name = "Users and roles"

    def ready(self):
        from pos.accounts.roles import remember_permissions_before_migrate, sync_role_groups_after_migrate

        pre_migrate.connect(remember_permissions_before_migrate, dispatch_uid="pos.accounts.remember_permissions")
        post_migrate.connect(sync_role_groups_after_migrate, dispatch_uid="pos.accounts.sync_roles")
        from django.contrib.auth.models import Group

        from pos.accounts.models import User

        # Cache invalidation only: a group's permissions or a user's groups changed, so users kept in memory
        # by the scanner's token cache (pos.catalog.lookup) are read again with their new permissions.
        m2m_changed.connect(_group_permissions_changed, sender=Group.permissions.through,
                            dispatch_uid="pos.accounts.group_permissions_changed")
        m2m_changed.connect(_user_groups_changed, sender=User.groups.through,
                            dispatch_uid="pos.accounts.user_groups_changed")


def _forget_users(user_ids):
    from pos.catalog import lookup

    for pk in user_ids:
        lookup.user_changed(pk)


def _group_permissions_changed(sender, instance, action, reverse, pk_set, **kwargs):
    if not action.startswith("post_"):
        return
    from pos.accounts.models import User

    groups = list(pk_set or []) if reverse else [instance.pk]  # reverse: a permission's groups changed
    _forget_users(User.objects.filter(groups__in=groups).values_list("pk", flat=True).distinct())


def _user_groups_changed(sender, instance, action, reverse, pk_set, **kwargs):
    if not action.startswith("post_"):
        return
    _forget_users((pk_set or []) if reverse else [instance.pk])
