from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "pos.catalog"
    label = "catalog"
    verbose_name = "Catalogue"

    def ready(self):
        from pos.catalog import lookup

        lookup.connect_signals()
