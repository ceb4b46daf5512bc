from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MANAGER = "manager", "Store manager"
    CASHIER = "cashier", "Cashier"
    BOOKKEEPER = "bookkeeper", "Bookkeeper"


class UserManager(DjangoUserManager):
    def create_superuser(self, username, email=None, password=None, **extra_fields):
        # `createsuperuser` makes an admin: without this the role would be the default (cashier), and the
        # first save in the user admin (which applies the role) would take the superuser flag away.
        extra_fields.setdefault("role", Role.ADMIN)
        return super().create_superuser(username, email, password, **extra_fields)


class User(AbstractUser):
    """`role` names the user's group (pos.accounts.roles); what a user may do is only ever asked with
    has_perm (pos.core.permissions), so the admin's Groups screen is what holds."""

    role = models.CharField(max_length=20, choices=Role.choices, default=Role.CASHIER, db_index=True)
    phone = models.CharField(max_length=20, blank=True)
    # API tokens made before this moment no longer log in: set when the password changes and when the
    # user is deactivated (pos.accounts.auth.ExpiringTokenAuthentication).
    credentials_changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    history = HistoricalRecords()

    objects = UserManager()

    class Meta:
        ordering = ["username"]

    def set_password(self, raw_password):
        super().set_password(raw_password)
        self.credentials_changed_at = timezone.now()

    def __str__(self):
        full = self.get_full_name()
        return f"{full} ({self.username})" if full else self.username



class Access(models.Model):
    """No table: carries permissions that belong to no one model (pos.core.permissions)."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("all_cashiers", "Can see and handle every cashier's sales, shifts and payments"),
            ("any_discount", "Can give discounts beyond the cashier cap"),
        ]
