from django.contrib.auth.models import AbstractUser
from django.db import models
from simple_history.models import HistoricalRecords


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MANAGER = "manager", "Store manager"
    CASHIER = "cashier", "Cashier"
    BOOKKEEPER = "bookkeeper", "Bookkeeper"


class User(AbstractUser):
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.CASHIER, db_index=True)
    phone = models.CharField(max_length=20, blank=True)
    history = HistoricalRecords()

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
