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
