import pytest
from schemathesis.specs.openapi.definitions import OPENAPI_30_VALIDATOR

CATALOGUE_PATHS = {
    "/api/products/": {"get", "post"},
    "/api/products/{id}/": {"get", "put", "patch", "delete"},
    "/api/products/barcode/{code}/": {"get"},
    "/api/products/low_stock/": {"get"},
    "/api/products/categories/": {"get", "post"},
    "/api/products/categories/{id}/": {"get", "put", "patch"},
    "/api/auth/login/": {"post"},
    "/api/auth/logout/": {"post"},
    "/api/auth/register/": {"post"},
}


@pytest.fixture
def schema(db, client, manager):
    client.force_login(manager)  # the schema needs a login when DEBUG is off
    answer = client.get("/api/schema/", {"format": "json"})
    assert answer.status_code == 200
    return answer.json()


def test_schema_is_valid_openapi_3(schema):
    assert schema["openapi"].startswith("3.")
    errors = [f"{'/'.join(map(str, e.instance_path))}: {e.message}" for e in OPENAPI_30_VALIDATOR.iter_errors(schema)]
    assert errors == []


def test_schema_documents_every_catalogue_and_auth_endpoint(schema):
    for path, methods in CATALOGUE_PATHS.items():
        assert path in schema["paths"], path
        assert set(schema["paths"][path]) - {"parameters"} == methods, path


def test_product_schema_matches_the_json_contract(schema):
    components = schema["components"]["schemas"]
    product = components["Product"]
    assert set(product["properties"]) == {"id", "name", "sku", "barcode", "category", "category_name", "price",
                                          "cost_price", "tax_rate", "unit", "stock_quantity", "reorder_level",
                                          "is_active"}
    assert product["properties"]["stock_quantity"]["readOnly"] is True
    assert product["properties"]["price"]["type"] == "string" and product["properties"]["price"]["format"] == "decimal"
    assert "check digit" in product["properties"]["barcode"]["description"]
    assert "stock_quantity" not in components["ProductRequest"]["properties"]
    assert set(components["Category"]["properties"]) == {"id", "name", "parent", "is_active"}


def test_lists_are_documented_as_paginated(schema):
    for path in ("/api/products/", "/api/products/low_stock/", "/api/products/categories/"):
        ref = schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        page = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
        assert {"count", "next", "previous", "results"} <= set(page["properties"]), path
    barcode = schema["paths"]["/api/products/barcode/{code}/"]["get"]
    assert set(barcode["responses"]) >= {"200", "404"}
    assert barcode["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/Product")
    list_params = {p["name"] for p in schema["paths"]["/api/products/"]["get"]["parameters"]}
    assert {"category", "is_active", "low_stock", "min_price", "max_price", "search", "ordering", "page"} <= list_params


@pytest.mark.django_db
@pytest.mark.parametrize("url, marker", [("/swagger/", "swagger-ui"), ("/redoc/", "redoc")])
def test_api_docs_pages_answer_html(url, marker, client, manager):
    client.force_login(manager)  # the docs need a login when DEBUG is off
    answer = client.get(url)
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/html") and marker in answer.content.decode().lower()
