"""OpenAPI (drf-spectacular) descriptions of our own authentication classes."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object


class ScannerTokenScheme(OpenApiAuthenticationExtension):
    """The barcode lookup's token check (pos.catalog.lookup): the same `Authorization: Token <key>` header,
    described under its own name because drf-spectacular names one scheme per class."""

    target_class = "pos.catalog.lookup.CachedTokenAuthentication"
    name = "scannerTokenAuth"
    priority = 1

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(header_name="Authorization", token_prefix="Token")
