from django.conf import settings
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
    # The language of the user's screens, API answers and the receipts of their sales; empty: the shop's
    # (SHOP_LANGUAGE). pos.core.i18n.
    language = models.CharField(max_length=5, blank=True, choices=settings.LANGUAGES,
                                help_text="Empty: the shop's language.")
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


class ManagerPin(models.Model):
    """A manager's (or admin's) PIN, typed at a cashier's till to authorise what the cashier may not do.
    Hashed like a password; locked for MANAGER_PIN_LOCK_SECONDS after MANAGER_PIN_MAX_FAILURES wrong tries."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="manager_pin")
    pin_hash = models.CharField(max_length=128)
    failures = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"PIN of {self.user}"


class PinAttempt(models.Model):
    """Each PIN typed at a till (never the PIN): who typed it at whose till, and whether it was right.
    Rate limit: a till whose cashier keeps typing wrong PINs is refused for a while, whatever manager."""

    requested_by = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    manager = models.ForeignKey(User, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    ok = models.BooleanField(default=False)
    action = models.CharField(max_length=20, blank=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-at"]
