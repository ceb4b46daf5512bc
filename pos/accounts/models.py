from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.db import models
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
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.CASHIER, db_index=True)
    phone = models.CharField(max_length=20, blank=True)
    history = HistoricalRecords()

    objects = UserManager()

    class Meta:
        ordering = ["username"]

    def __str__(self):
        full = self.get_full_name()
        return f"{full} ({self.username})" if full else self.username

    @property
    def is_manager(self):
        return self.is_superuser or self.role in (Role.ADMIN, Role.MANAGER)

    @property
    def is_cashier(self):
        return self.role == Role.CASHIER and not self.is_superuser


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
