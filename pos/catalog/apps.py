from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "pos.catalog"
    label = "catalog"
    verbose_name = "Catalogue"
