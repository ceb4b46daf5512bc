from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "pos.inventory"
    label = "inventory"
    verbose_name = "Inventory"
