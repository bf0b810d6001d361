"""Copy GraphiQL's browser files out of node_modules into static/ (``make graphiql`` runs it
after ``npm ci``), with each package's license and a manifest of the versions copied.

Only the few files the page loads are kept, so a deployment can ship static/ without
node_modules. The new static/ replaces the old one whole: a half-copied set never serves.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

from .assets import HERE, MANIFEST, STATIC_DIR, VENDORED

NODE_MODULES = HERE / "node_modules"
LICENSE_NAMES = ("LICENSE", "LICENSE.md", "LICENSE.txt", "license")
# @graphiql/plugin-explorer ships no license file of its own (MIT, the GraphiQL monorepo's,
# as in graphiql's); its UMD build bundles graphiql-explorer, whose MIT license we keep too.
BUNDLED_LICENSES = {
    "graphiql-explorer": (
        "@graphiql/plugin-explorer/node_modules/graphiql-explorer/LICENSE",
        "graphiql-explorer/LICENSE",
    ),
}


def _package_json(package: str) -> dict[str, object]:
    data = json.loads((NODE_MODULES / package / "package.json").read_text())
    assert isinstance(data, dict)
    return data


def _copy_license(package: str, candidates: tuple[str, ...], into: Path) -> str | None:
    """The first candidate license file that exists, as licenses/<package>.txt."""
    for candidate in candidates:
        source = NODE_MODULES / candidate
        if source.is_file():
            target = into / "licenses" / f"{package.replace('/', '__')}.txt"
            target.parent.mkdir(exist_ok=True)
            shutil.copyfile(source, target)
            return target.name
    return None


def build(static_dir: Path = STATIC_DIR) -> list[str]:
    """Rebuild static_dir; the names of the files copied."""
    missing = [
        f"{f.package}/{f.path}"
        for f in VENDORED
        if not (NODE_MODULES / f.package / f.path).is_file()
    ]
    if missing:
        raise SystemExit(
            f"graphiql: missing in {NODE_MODULES}: {', '.join(missing)}\n"
            f"run `npm ci` in {HERE} first (or `make graphiql`)"
        )
    staging = Path(tempfile.mkdtemp(prefix=".static-", dir=static_dir.parent))
    staging.chmod(0o755)  # mkdtemp's 0700 would hide the files from a server's own user
    packages: dict[str, dict[str, object]] = {}
    for file in VENDORED:
        shutil.copyfile(NODE_MODULES / file.package / file.path, staging / file.name)
        if file.package not in packages:
            info = _package_json(file.package)
            packages[file.package] = {
                "version": info["version"],
                "license": info.get("license", "UNKNOWN"),
                "license_file": _copy_license(
                    file.package, tuple(f"{file.package}/{n}" for n in LICENSE_NAMES), staging
                ),
            }
    bundled = {
        name: _copy_license(name, candidates, staging)
        for name, candidates in BUNDLED_LICENSES.items()
    }
    manifest = {
        "about": "Copied from node_modules by gateway/graphiql/build.py; do not edit.",
        "packages": packages,
        "files": {f.name: f"{f.package}/{f.path}" for f in VENDORED},
        "bundled_license_files": bundled,
    }
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    if static_dir.exists():
        shutil.rmtree(static_dir)
    staging.rename(static_dir)
    return [f.name for f in VENDORED]


def main() -> int:
    names = build()
    manifest = json.loads((STATIC_DIR / MANIFEST).read_text())
    versions = ", ".join(f"{name} {p['version']}" for name, p in manifest["packages"].items())
    print(f"graphiql: {len(names)} files in {STATIC_DIR} ({versions})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
