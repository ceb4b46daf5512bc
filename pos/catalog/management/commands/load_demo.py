"""Build the demo shop: a user per role, categories, a supplier, 121 products with opening stock.

Idempotent: only what is missing is created (users by username, categories by name, products by SKU),
and opening stock is put in only for products created by this run, so a second run changes nothing.
Everything goes through the services, in one transaction.
"""

import csv
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from pos.accounts.models import Role
from pos.accounts.services import create_user
from pos.catalog import services
from pos.catalog.models import Category, Product, default_tax_rate
from pos.inventory.models import Supplier
from pos.inventory.services import adjust_stock

PRODUCTS_FILE = Path(settings.BASE_DIR) / "fixtures" / "demo_products.csv"

# username, role, password, first name, last name: documented in the README.
DEMO_USERS = [
    ("admin", Role.ADMIN, "admin-demo-2026", "Amina", "Otieno"),
    ("manager", Role.MANAGER, "manager-demo-2026", "Peter", "Kamau"),
    ("cashier", Role.CASHIER, "cashier-demo-2026", "Faith", "Wanjiru"),
    ("bookkeeper", Role.BOOKKEEPER, "bookkeeper-demo-2026", "James", "Mwangi"),
]
CATEGORIES = ["Beverages", "Dairy", "Bakery", "Cereals & Flour", "Cooking Oil", "Household", "Personal Care",
              "Snacks", "Fresh Produce"]
SUPPLIER = {
    "name": "Nairobi Wholesale Distributors Ltd", "contact_name": "Grace Njeri", "phone": "+254 722 000 111",
    "email": "orders@nairobiwholesale.example", "kra_pin": "P051111111A", "address": "Industrial Area, Nairobi",
}


def read_products(path=PRODUCTS_FILE):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


class Command(BaseCommand):
    help = "Load the demo shop (users per role, categories, products, opening stock). Safe to run again."

    def handle(self, *args, **options):
        with transaction.atomic():
            counts = {"users": self.load_users(), "categories": self.load_categories()}
            counts["suppliers"] = int(Supplier.objects.get_or_create(name=SUPPLIER["name"], defaults=SUPPLIER)[1])
            counts["products"] = self.load_products()
            counts["scale label rules"], counts["quick keys"] = self.load_shop_floor()
        if not any(counts.values()):
            self.stdout.write("Demo data already exists: nothing changed.")
            return
        made = ", ".join(f"{n} {what}" for what, n in counts.items())
        self.stdout.write(self.style.SUCCESS(f"Demo data loaded: {made}."))
        self.stdout.write("Logins: " + ", ".join(f"{u} / {p}" for u, _, p, _, _ in DEMO_USERS))

    def load_users(self):
        User = get_user_model()
        created = 0
        for username, role, password, first, last in DEMO_USERS:
            if not User.objects.filter(username__iexact=username).exists():
                create_user(username=username, password=password, role=role, first_name=first, last_name=last,
                            email=f"{username}@duka.example")
                created += 1
        return created

    def load_categories(self):
        created = 0
        for name in CATEGORIES:
            if not Category.objects.filter(name__iexact=name).exists():
                services.create_category(name=name)
                created += 1
        return created

    def load_products(self):
        stocker = get_user_model().objects.get(username="manager")
        categories = {c.name: c for c in Category.objects.all()}
        existing = set(Product.objects.values_list("sku", flat=True))
        created = 0
        for row in read_products():
            if row["sku"] in existing:
                continue
            product = services.create_product(
                user=stocker, sku=row["sku"], barcode=row["barcode"], name=row["name"],
                category=categories[row["category"]], price=Decimal(row["price"]),
                cost_price=Decimal(row["cost_price"]), unit=row["unit"],
                # a blank rate is the standard rate: the shop's DEFAULT_TAX_RATE
                tax_rate=Decimal(row["tax_rate"]) if row["tax_rate"] else default_tax_rate(),
                reorder_level=Decimal(row["reorder_level"]), is_active=row["is_active"] == "yes",
            )
            opening = Decimal(row["opening_stock"])
            if opening:
                adjust_stock(product, opening, user=stocker, reason="Opening stock")
            created += 1
        return created

    def load_shop_floor(self):
        """The common scale label layouts (20: weight in grams, 21: price in cents, 5-digit PLU), PLUs for the
        fresh produce (the item code in their in-store barcode, 20 PPPPP 00000 C) and a quick keys grid of
        produce and bread. Only what is missing is added."""
        from pos.catalog.models import QuickKey, ScaleBarcodeRule

        rules = 0
        for name, prefix, kind, decimals in [("Scale: weight in grams", "20", "weight", 3),
                                             ("Scale: price in cents", "21", "price", 2)]:
            if not ScaleBarcodeRule.objects.filter(prefix=prefix).exists():
                services.save_scale_rule(ScaleBarcodeRule(name=name, prefix=prefix, item_digits=5, value_kind=kind,
                                                          value_digits=5, value_decimals=decimals))
                rules += 1
        produce = Product.objects.filter(category__name="Fresh Produce", barcode__startswith="20", plu__isnull=True)
        for product in produce:
            services.update_product(product, plu=product.barcode[2:7])
        keys = 0
        if not QuickKey.objects.exists():
            colours = ["red", "orange", "yellow", "green", "purple", "brown", "blue", "grey"]
            favourites = list(Product.objects.filter(category__name__in=["Fresh Produce", "Bakery"], is_active=True)
                              .order_by("-category__name", "sku")[:16])
            for position, product in enumerate(favourites, start=1):
                services.save_quick_key(QuickKey(product=product, position=position,
                                                 colour=colours[position % len(colours)]))
                keys += 1
        return rules, keys
