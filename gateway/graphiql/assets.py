"""GraphiQL's browser files: which the page needs, where each comes from, and how they are
held for serving.

The vendored files are copied from the npm packages pinned in package-lock.json (by
``make graphiql``: ``npm ci`` then ``python -m gateway.graphiql.build``) into ``static/``,
which git ignores: the repository carries no hand-copied blob. Our own two files (the page's
bootstrap script and style) live beside this module. Every file is served under a URL that
holds a digest of its content, so a browser may keep it for a year and an upgrade can never
be mixed with a stale copy.

Standard library only: ``build.py`` imports this before the project's dependencies exist.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
MANIFEST = "manifest.json"


@dataclass(frozen=True, slots=True)
class VendoredFile:
    """One file the page loads, copied from an npm package (its UMD build: no bundler)."""

    name: str  # as served and as stored in static/
    package: str
    path: str  # inside node_modules/<package>/


VENDORED = (
    VendoredFile("react.production.min.js", "react", "umd/react.production.min.js"),
    VendoredFile("react-dom.production.min.js", "react-dom", "umd/react-dom.production.min.js"),
    VendoredFile("graphiql.min.js", "graphiql", "graphiql.min.js"),
    VendoredFile("graphiql.min.css", "graphiql", "graphiql.min.css"),
    VendoredFile("plugin-explorer.umd.js", "@graphiql/plugin-explorer", "dist/index.umd.js"),
    VendoredFile("plugin-explorer.css", "@graphiql/plugin-explorer", "dist/style.css"),
)
# Ours, in this folder: the page holds no inline script or style (the CSP forbids both).
OWN_FILES = ("gateway-graphiql.js", "gateway-graphiql.css")
# In the order the page must load them: React, then GraphiQL, then its plugin, then ours.
SCRIPTS = (
    "react.production.min.js",
    "react-dom.production.min.js",
    "graphiql.min.js",
    "plugin-explorer.umd.js",
    "gateway-graphiql.js",
)
STYLES = ("graphiql.min.css", "plugin-explorer.css", "gateway-graphiql.css")

_MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


@dataclass(frozen=True, slots=True)
class Asset:
    """One file held in memory (about 1.6 MB in all), with its gzip form computed once."""

    name: str
    body: bytes
    gzipped: bytes
    media_type: str
    digest: str  # 16 hex digits of the SHA-256: the URL's version
    integrity: str  # Subresource Integrity: the page pins exactly these bytes

    @property
    def url_path(self) -> str:
        return f"/graphiql/{self.digest}/{self.name}"


@dataclass(frozen=True, slots=True)
class PackageInfo:
    name: str
    version: str
    license: str


@dataclass(frozen=True, slots=True)
class AssetBundle:
    assets: dict[str, Asset]
    packages: tuple[PackageInfo, ...]


class AssetsMissing(Exception):
    """static/ has not been built (npm was not run): the page explains how to build it."""


def _asset(name: str, body: bytes) -> Asset:
    return Asset(
        name=name,
        body=body,
        gzipped=gzip.compress(body, compresslevel=9, mtime=0),
        media_type=_MEDIA_TYPES[Path(name).suffix],
        digest=hashlib.sha256(body).hexdigest()[:16],
        integrity="sha384-" + base64.b64encode(hashlib.sha384(body).digest()).decode(),
    )


@cache
def load_bundle(static_dir: Path = STATIC_DIR) -> AssetBundle:
    """Read the built files once per process (lazily: apps that never serve GraphiQL, like
    most tests, pay nothing). Raises AssetsMissing when a file is absent."""
    manifest_path = static_dir / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text())
        vendored = {f.name: (static_dir / f.name).read_bytes() for f in VENDORED}
    except (OSError, ValueError) as exc:
        raise AssetsMissing(f"{manifest_path.parent}: {exc}") from None
    own = {name: (HERE / name).read_bytes() for name in OWN_FILES}
    packages = tuple(
        PackageInfo(name, str(info["version"]), str(info["license"]))
        for name, info in manifest["packages"].items()
    )
    assets = {name: _asset(name, body) for name, body in {**vendored, **own}.items()}
    return AssetBundle(assets=assets, packages=packages)
