"""The OpenAPI document is generated from the code and valid; the docs page loads nothing from elsewhere."""

from __future__ import annotations

import re

from django.test import Client
from openapi_spec_validator import validate

BUILT = {
    "/api/v1/instances/": {"get", "post"},
    "/api/v1/instances/{session}/": {"get", "patch", "delete"},
    "/api/v1/instances/{session}/health/": {"get"},
    "/api/v1/instances/{session}/check/": {"post"},
    "/api/v1/instances/{session}/import/": {"post"},
    "/api/v1/instances/{session}/verify/": {"post"},
    "/api/v1/instances/{session}/authorizations/": {"get"},
    "/api/v1/instances/{session}/authorizations/{hash}/terminate/": {"post"},
    "/api/v1/instances/{session}/archive/runs/": {"post"},
    "/api/v1/instances/{session}/archive/runs/{run_id}/": {"get"},
    "/api/v1/instances/{session}/archive/search/": {"get"},
    "/api/v1/audit/": {"get"},
    "/api/v1/alerts/": {"get"},
}


def test_the_openapi_document_validates_and_lists_every_endpoint(db):
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    validate(document)  # openapi-spec-validator: raises on an invalid document
    assert document["openapi"].startswith("3.")
    assert {path: set(ops) for path, ops in document["paths"].items()} == BUILT
    assert document["components"]["securitySchemes"]["BearerToken"] == {"type": "http", "scheme": "bearer"}


def test_the_document_says_the_error_shape_and_never_a_secret_in_an_answer(db):
    document = Client().get("/api/v1/openapi.json").json()
    schemas = document["components"]["schemas"]
    assert set(schemas["ErrorOut"]["properties"]) == {"error", "field"}
    answers = {name for name in schemas if name.endswith("Out") or name.endswith("Page")}
    for name in answers:
        assert not {"session_string", "password"} & set(schemas[name].get("properties", {})), name


def test_the_docs_page_loads_only_this_sites_files(db):
    response = Client().get("/api/v1/docs")
    assert response.status_code == 200
    page = response.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources and all(s.startswith("/static/") for s in sources), sources
    for source in sources:
        assert Client().get(source).status_code == 200, source
    assert "<script>" not in page.replace('<script type="application/json"', "")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
