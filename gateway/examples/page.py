"""The storefront's and back office's pages, their files, and the development-token
endpoint, all present only while GATEWAY_EXAMPLES is on.

Each page is one HTML shell: a stylesheet, an import map naming the two libraries, a JSON
data block with the URLs the app needs, and one module script; the app routes by the URL's
fragment. The Content-Security-Policy allows scripts, styles and requests only from this
origin, plus the import map by its own hash (an inline script the browser may not skip).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from .assets import AssetsMissing, ExampleBundle, load_bundle
from .operations import OPERATIONS_ASSET
from .tokens import DevTokens

ASSET_CACHE_CONTROL = "public, max-age=31536000, immutable"


@dataclass(frozen=True, slots=True)
class App:
    name: str  # the folder in examples/
    title: str
    path: str  # where the gateway serves it


APPS = (
    App("storefront", "Storefront · commerce gateway", "/shop"),
    App("backoffice", "Back office · commerce gateway", "/backoffice"),
)

_PAGE = """<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>{title}</title>
    <link rel="icon" href="data:,">
    <link rel="stylesheet" href="{style}">
    <script type="importmap">{import_map}</script>
    <script type="application/json" id="example-config">{config}</script>
    <script type="module" src="{script}"></script>
  </head>
  <body>
    <div id="app"><p class="loading">Loading…</p></div>
    <noscript>This example page is a JavaScript application over the GraphQL API.</noscript>
  </body>
</html>
"""

_MISSING = """<!doctype html>
<html lang="en">
  <head><meta charset="utf-8"><title>The examples are not built</title></head>
  <body>
    <h1>The example pages' files are not built</h1>
    <p>The storefront and back office load Preact and htm from the gateway itself (no CDN),
    copied from the npm packages pinned in <code>examples/package-lock.json</code>: run
    <code>make examples</code> (needs Node.js and npm), then restart the gateway.</p>
    <pre>{detail}</pre>
  </body>
</html>
"""


def _json_for_html(value: object) -> str:
    """JSON safe inside a <script> element: no '<' can close it."""
    return json.dumps(value, separators=(",", ":")).replace("<", "\\u003c")


def _script_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def content_security_policy(import_map: str) -> str:
    return "; ".join(
        (
            "default-src 'none'",
            f"script-src 'self' {_script_hash(import_map)}",
            "style-src 'self'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        )
    )


def _headers(csp: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": csp,
        "Cache-Control": "no-cache",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }


def render_page(app: App, bundle: ExampleBundle, root_path: str = "") -> tuple[str, str]:
    """The page and its Content-Security-Policy."""
    import_map = _json_for_html(bundle.import_map(root_path))
    config = {
        "app": app.name,
        "graphql": f"{root_path}/graphql",
        "operations": bundle.url(OPERATIONS_ASSET, root_path),
        "token": f"{root_path}/examples/token",
        "shop": f"{root_path}/shop",
        "backoffice": f"{root_path}/backoffice",
    }
    page = _PAGE.format(
        title=html.escape(app.title),
        style=html.escape(bundle.url("shared/style.css", root_path)),
        import_map=import_map,
        config=_json_for_html(config),
        script=html.escape(bundle.url(f"{app.name}/app.js", root_path)),
    )
    return page, content_security_policy(import_map)


def _page_endpoint(app: App) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            bundle = load_bundle()
        except AssetsMissing as exc:
            body = _MISSING.format(detail=html.escape(str(exc)))
            return HTMLResponse(body, status_code=503, headers=_headers("default-src 'none'"))
        page, csp = render_page(app, bundle, request.scope.get("root_path", ""))
        return HTMLResponse(page, headers=_headers(csp))

    return endpoint


async def asset(request: Request) -> Response:
    """One file, only under the current digest (an old URL must not get new bytes that a
    browser would then keep for a year)."""
    try:
        bundle = load_bundle()
    except AssetsMissing:
        return PlainTextResponse("the examples' files are not built", status_code=404)
    found = bundle.assets.get(request.path_params["path"])
    if found is None or request.path_params["digest"] != bundle.digest:
        return PlainTextResponse("not found", status_code=404)
    headers = {
        "Cache-Control": ASSET_CACHE_CONTROL,
        "ETag": f'"{bundle.digest}"',
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
    }
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(found.gzipped, media_type=found.media_type, headers=headers)
    return Response(found.body, media_type=found.media_type, headers=headers)


def example_routes(enabled: bool, tokens: DevTokens) -> list[Route]:
    """The pages, their files and the development token: none of them unless enabled."""
    if not enabled:
        return []
    return [
        *(Route(app.path, _page_endpoint(app)) for app in APPS),
        Route("/examples/{digest}/{path:path}", asset),
        Route("/examples/token", tokens.accounts, methods=["GET"]),
        Route("/examples/token", tokens.issue, methods=["POST"]),
    ]
