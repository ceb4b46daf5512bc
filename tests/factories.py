"""Test data builders (factory_boy). Stock is never set directly: use `stock()` which goes through
pos.inventory.services like everything else."""

from decimal import Decimal

import factory

from pos.accounts.models import Role, User
from pos.catalog.models import Category, Product


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    role = Role.CASHIER
    is_staff = True
    password = factory.PostGenerationMethodCall("set_password", "pass12345")

    @factory.post_generation
    def groups(self, create, extracted, **kwargs):
        if create:
            from pos.accounts.services import assign_role

            self.save(update_fields=["password"])
            assign_role(self, self.role)


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Category {n}")


def ean13(n: int) -> str:
    """A valid EAN-13 barcode from a number (Kenyan prefix 616), by the product's own rule."""
    from pos.catalog.barcodes import make_ean13

    return make_ean13(f"616{n:09d}"[:12])


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    name = factory.Sequence(lambda n: f"Product {n}")
    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    barcode = factory.Sequence(lambda n: ean13(n + 1))
    category = factory.SubFactory(CategoryFactory)
    price = Decimal("100.00")
    cost_price = Decimal("60.00")
    tax_rate = Decimal("16.00")
    reorder_level = Decimal("0")
