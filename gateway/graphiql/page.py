"""The GraphiQL page and its files, served from the gateway's own origin.

The page loads nothing from anywhere else, so it works offline and behind a network that
blocks CDNs, and it says so to the browser: a Content-Security-Policy that allows scripts,
styles and requests only from this origin, with no inline script or style (the bootstrap
is a file of its own; its settings travel in a JSON data block, which is never executed).
Each file is pinned by Subresource Integrity and served under a digest of its content with
a year of caching; the page itself is revalidated every time, so an upgrade shows at once.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from .assets import SCRIPTS, STATIC_DIR, STYLES, AssetBundle, AssetsMissing, load_bundle
from .examples import NOTES_KEY, default_tabs

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "font-src 'self' data:",  # GraphiQL's CSS embeds its fonts as data: URLs
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
ASSET_CACHE_CONTROL = "public, max-age=31536000, immutable"

_PAGE = """<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>GraphiQL · commerce gateway</title>
    <link rel="icon" href="data:,">
{styles}
  </head>
  <body>
    <div id="graphiql">Loading GraphiQL…</div>
    <script type="application/json" id="graphiql-config">{config}</script>
{scripts}
  </body>
</html>
"""

_MISSING = """<!doctype html>
<html lang="en">
  <head><meta charset="utf-8"><title>GraphiQL is not built</title></head>
  <body>
    <h1>GraphiQL's files are not built</h1>
    <p>The gateway serves GraphiQL's JavaScript and CSS itself (no CDN). They come from the
    npm packages pinned in <code>gateway/graphiql/package-lock.json</code>; build them with
    <code>make graphiql</code> (needs Node.js and npm), then restart the gateway.</p>
    <p>The GraphQL endpoint itself works without them: POST queries to this URL.</p>
    <pre>{detail}</pre>
  </body>
</html>
"""


def _json_for_html(value: object) -> str:
    """JSON safe inside a <script> data block: no '<' can close the element."""
    return json.dumps(value, separators=(",", ":")).replace("<", "\\u003c")


def render_page(bundle: AssetBundle, root_path: str = "") -> str:
    def url(name: str) -> str:
        return html.escape(root_path + bundle.assets[name].url_path)

    def integrity(name: str) -> str:
        return html.escape(bundle.assets[name].integrity)

    styles = "\n".join(
        f'    <link rel="stylesheet" href="{url(n)}" integrity="{integrity(n)}">' for n in STYLES
    )
    scripts = "\n".join(
        f'    <script src="{url(n)}" integrity="{integrity(n)}"></script>' for n in SCRIPTS
    )
    config = {"tabs": default_tabs(), "notesPrefix": NOTES_KEY}
    return _PAGE.format(styles=styles, scripts=scripts, config=_json_for_html(config))


def graphiql_page(request: Request, static_dir: Path = STATIC_DIR) -> Response:
    """What a browser gets on GET /graphql; a page that says how to build the files when
    they are missing, never one that fetches them from elsewhere."""
    try:
        bundle = load_bundle(static_dir)
    except AssetsMissing as exc:
        body = _MISSING.format(detail=html.escape(str(exc)))
        return HTMLResponse(body, status_code=503, headers=PAGE_HEADERS)
    page = render_page(bundle, request.scope.get("root_path", ""))
    return HTMLResponse(page, headers=PAGE_HEADERS)


async def asset(request: Request) -> Response:
    """One file, only under its current digest (an old URL must not get new bytes that a
    browser would then keep for a year)."""
    try:
        bundle = load_bundle(STATIC_DIR)
    except AssetsMissing:
        return PlainTextResponse("GraphiQL's files are not built", status_code=404)
    found = bundle.assets.get(request.path_params["name"])
    if found is None or found.digest != request.path_params["digest"]:
        return PlainTextResponse("not found", status_code=404)
    headers = {
        "Cache-Control": ASSET_CACHE_CONTROL,
        "ETag": f'"{found.digest}"',
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
    }
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(found.gzipped, media_type=found.media_type, headers=headers)
    return Response(found.body, media_type=found.media_type, headers=headers)


def graphiql_routes(enabled: bool) -> list[Route]:
    """The files' route, present only when GraphiQL is served (GATEWAY_GRAPHIQL)."""
    return [Route("/graphiql/{digest}/{name}", asset)] if enabled else []  # GET and HEAD
