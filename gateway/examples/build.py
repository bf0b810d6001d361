"""Copy the examples' two libraries out of examples/node_modules into examples/static/
(``make examples`` runs it after ``npm ci``), with their licenses and a manifest.

Only the few module files the pages import are kept, so a deployment can ship static/
without node_modules. The new static/ replaces the old one whole: a half-copied set never
serves.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

from .assets import MANIFEST, ROOT, STATIC_DIR, VENDORED
from .operations import allow_list, load_operations

NODE_MODULES = ROOT / "node_modules"
PERSISTED_FILE = "persisted-queries.json"
LICENSE_NAMES = ("LICENSE", "LICENSE.md", "LICENSE.txt", "license")


def build(static_dir: Path = STATIC_DIR) -> list[str]:
    """Rebuild static_dir; the names of the files copied."""
    missing = [
        f"{f.package}/{f.path}"
        for f in VENDORED
        if not (NODE_MODULES / f.package / f.path).is_file()
    ]
    if missing:
        raise SystemExit(
            f"examples: missing in {NODE_MODULES}: {', '.join(missing)}\n"
            f"run `npm ci` in {ROOT} first (or `make examples`)"
        )
    load_operations(ROOT)  # a broken operation file fails the build, not a page view
    staging = Path(tempfile.mkdtemp(prefix=".static-", dir=static_dir.parent))
    staging.chmod(0o755)  # mkdtemp's 0700 would hide the files from a server's own user
    (staging / "vendor").mkdir()
    (staging / "licenses").mkdir()
    packages: dict[str, dict[str, object]] = {}
    for file in VENDORED:
        shutil.copyfile(NODE_MODULES / file.package / file.path, staging / "vendor" / file.name)
        if file.package in packages:
            continue
        info = json.loads((NODE_MODULES / file.package / "package.json").read_text())
        license_file = None
        for name in LICENSE_NAMES:
            source = NODE_MODULES / file.package / name
            if source.is_file():
                license_file = f"licenses/{file.package}.txt"
                shutil.copyfile(source, staging / license_file)
                break
        packages[file.package] = {
            "version": info["version"],
            "license": info.get("license", "UNKNOWN"),
            "license_file": license_file,
        }
    manifest = {
        "about": "Copied from node_modules by gateway/examples/build.py; do not edit.",
        "packages": packages,
        "files": {f"vendor/{f.name}": f"{f.package}/{f.path}" for f in VENDORED},
    }
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    # For `gateway persisted add`: a gateway that serves the pages from elsewhere.
    (staging / PERSISTED_FILE).write_text(
        json.dumps(allow_list(ROOT), indent=2, sort_keys=True) + "\n"
    )
    if static_dir.exists():
        shutil.rmtree(static_dir)
    staging.rename(static_dir)
    return [f.name for f in VENDORED]


def main() -> int:
    names = build()
    manifest = json.loads((STATIC_DIR / MANIFEST).read_text())
    versions = ", ".join(f"{name} {p['version']}" for name, p in manifest["packages"].items())
    print(f"examples: {len(names)} files in {STATIC_DIR} ({versions})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
