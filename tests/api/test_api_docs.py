"""The interactive docs page works offline, and the description has examples."""

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api import privacy_schemas, schemas
from tests.api.conftest import Caller

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
REFERENCE = re.compile(r'(?:src|href)="([^"]*)"')


def test_the_docs_page_references_no_other_host(client: TestClient) -> None:
    response = client.get("/docs")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    references = REFERENCE.findall(response.text)
    assert references, "the page loads its assets"
    assert all(ref.startswith("/") and not ref.startswith("//") for ref in references)
    assert "http://" not in response.text and "https://" not in response.text


def test_every_asset_of_the_docs_page_loads_from_this_server(
    client: TestClient,
) -> None:
    page = client.get("/docs").text

    for reference in REFERENCE.findall(page):
        asset = client.get(reference)

        assert asset.status_code == 200, reference
        assert len(asset.content) > 1_000, reference
    bundle = client.get("/docs/assets/swagger-ui-bundle.js").text
    assert "OpenAPI31" in bundle  # Swagger UI 5 renders FastAPI's OpenAPI 3.1


def test_an_unknown_docs_asset_answers_404(client: TestClient) -> None:
    response = client.get("/docs/assets/..%2Fcore.py")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_the_description_the_page_shows_still_needs_a_token(
    client: TestClient, callers: dict[str, Caller]
) -> None:
    anonymous = client.get("/openapi.json")
    with_token = callers["manager"].get("/openapi.json")

    assert anonymous.status_code == 401
    assert with_token.json()["openapi"].startswith("3.1")


def request_bodies(client: TestClient) -> list[str]:
    spec: dict[str, Any] = client.app.openapi()  # type: ignore[attr-defined]
    return sorted(
        {
            op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            for path in spec["paths"].values()
            for op in path.values()
            if "requestBody" in op
        }
    )


def test_every_request_body_has_an_example_that_the_api_accepts(
    client: TestClient,
) -> None:
    spec: dict[str, Any] = client.app.openapi()  # type: ignore[attr-defined]

    for reference in request_bodies(client):
        name = reference.rsplit("/", 1)[-1]
        [example] = spec["components"]["schemas"][name]["examples"]

        model = getattr(schemas, name, None) or getattr(privacy_schemas, name)
        model.model_validate(example)
