"""The examples' browser files: which exist, where each comes from, and how they are held.

Two libraries (Preact and htm) are copied from the npm packages pinned in
examples/package-lock.json into examples/static/vendor/ by ``make examples`` (``npm ci``
then ``python -m gateway.examples.build``); git ignores that folder. Our own modules are
plain ES modules in examples/{shared,storefront,backoffice}/, loaded by the browser as they
are (an import map names the libraries): no bundler. Every file is served under one digest
of the whole set, so modules import each other by relative URL and a browser may keep them
for a year without ever mixing an upgrade with a stale copy.

Standard library only: ``build.py`` imports this before the project's dependencies exist.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from .operations import OPERATIONS_ASSET, load_operations

ROOT = Path(__file__).resolve().parents[2] / "examples"
STATIC_DIR = ROOT / "static"
MANIFEST = "manifest.json"
OWN_FOLDERS = ("shared", "storefront", "backoffice")


@dataclass(frozen=True, slots=True)
class VendoredFile:
    """One ES module copied from an npm package (its own module build: no bundler)."""

    name: str  # as served: vendor/<name>
    package: str
    path: str  # inside node_modules/<package>/
    specifier: str  # what our modules import it as (the import map's key)


VENDORED = (
    VendoredFile("preact.module.js", "preact", "dist/preact.module.js", "preact"),
    VendoredFile("hooks.module.js", "preact", "hooks/dist/hooks.module.js", "preact/hooks"),
    VendoredFile("htm.module.js", "htm", "dist/htm.module.js", "htm"),
)

_MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
}


@dataclass(frozen=True, slots=True)
class Asset:
    path: str  # relative to the bundle's root, e.g. "storefront/app.js"
    body: bytes
    gzipped: bytes
    media_type: str


@dataclass(frozen=True, slots=True)
class ExampleBundle:
    assets: dict[str, Asset]
    digest: str  # 16 hex digits over every file: the URLs' version
    packages: dict[str, str]  # npm package -> version copied

    def url(self, path: str, root_path: str = "") -> str:
        return f"{root_path}/examples/{self.digest}/{path}"

    def import_map(self, root_path: str = "") -> dict[str, dict[str, str]]:
        return {"imports": {f.specifier: self.url(f"vendor/{f.name}", root_path) for f in VENDORED}}


class AssetsMissing(Exception):
    """examples/static/ has not been built (npm was not run)."""


def _asset(path: str, body: bytes) -> Asset:
    return Asset(
        path=path,
        body=body,
        gzipped=gzip.compress(body, compresslevel=9, mtime=0),
        media_type=_MEDIA_TYPES[Path(path).suffix],
    )


def own_files(root: Path = ROOT) -> dict[str, bytes]:
    """Our modules and styles, by served path."""
    found: dict[str, bytes] = {}
    for folder in OWN_FOLDERS:
        for file in sorted((root / folder).rglob("*")):
            if file.suffix in (".js", ".css"):
                found[file.relative_to(root).as_posix()] = file.read_bytes()
    return found


@cache
def load_bundle(root: Path = ROOT) -> ExampleBundle:
    """Read every file once per process (lazily: an app that never serves the examples pays
    nothing). Raises AssetsMissing when the vendored libraries are absent."""
    static_dir = root / "static"
    try:
        manifest = json.loads((static_dir / MANIFEST).read_text())
        vendored = {
            f"vendor/{f.name}": (static_dir / "vendor" / f.name).read_bytes() for f in VENDORED
        }
    except (OSError, ValueError) as exc:
        raise AssetsMissing(f"{static_dir}: {exc}") from None
    operations = json.dumps(
        {op.name: {"hash": op.sha256, "query": op.text} for op in load_operations(root)},
        indent=1,
        sort_keys=True,
    ).encode()
    files = {**vendored, **own_files(root), OPERATIONS_ASSET: operations}
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(path.encode() + b"\0" + hashlib.sha256(files[path]).digest())
    return ExampleBundle(
        assets={path: _asset(path, body) for path, body in files.items()},
        digest=digest.hexdigest()[:16],
        packages={name: str(info["version"]) for name, info in manifest["packages"].items()},
    )
