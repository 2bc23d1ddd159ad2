"""The interactive API documentation, served with its assets from this server.

The page and its scripts hold no data and are public, so that a browser can load
them; the API description they show is fetched with the token the reader enters,
like every other request. Nothing is loaded from another host, so the page works
on a network with no way out.
"""

from importlib.resources import files
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from api.errors import ApiError

router = APIRouter(include_in_schema=False)
# Swagger UI 5, as shipped (pinned) in the fastapi-offline package.
ASSETS = files("fastapi_offline") / "static"
ASSET_TYPES = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon.png": "image/png",
}

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>LedgerCRM API</title>
<link rel="icon" type="image/png" href="/docs/assets/favicon.png">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<style>
  body { margin: 0; font-family: sans-serif; }
  form { padding: 12px 20px; background: #f4f4f4; border-bottom: 1px solid #ddd; }
  input { width: 32em; font-family: monospace; }
</style>
</head>
<body>
<form id="token-form">
  <label for="token">Access token (from <code>ledgercrm token create</code>):</label>
  <input id="token" type="password" autocomplete="off" placeholder="lcrm_...">
  <button type="submit">Load the API description</button>
</form>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script>
  // The token stays in this page's memory only, and goes only to this server.
  document.getElementById("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = document.getElementById("token").value.trim();
    SwaggerUIBundle({
      url: "/openapi.json",
      dom_id: "#swagger-ui",
      validatorUrl: null,
      deepLinking: true,
      requestInterceptor: (request) => {
        request.headers.Authorization = "Bearer " + token;
        return request;
      },
    });
  });
</script>
</body>
</html>
"""


@router.get("/docs", response_class=HTMLResponse)
def docs_page() -> Any:
    """The Swagger UI page; public, as it holds no data."""
    return HTMLResponse(PAGE, headers={"Cache-Control": "no-cache"})


@router.get("/docs/assets/{name}")
def docs_asset(name: str) -> Any:
    """One of the page's scripts, style sheet or icon, from the installed package."""
    if name not in ASSET_TYPES:
        raise ApiError(
            404, "not_found", f"no documentation asset {name!r}; open /docs instead"
        )
    content = (ASSETS / name).read_bytes()
    headers = {"Cache-Control": "public, max-age=86400"}
    return Response(content, media_type=ASSET_TYPES[name], headers=headers)
