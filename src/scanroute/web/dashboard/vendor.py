"""Copy the dashboard's front-end assets from ``node_modules`` into ``static/vendor``.

Run by ``make`` after ``npm ci`` (``python src/scanroute/web/dashboard/vendor.py``): the files to
copy are named in the ``vendorFiles`` map of the repository's ``package.json`` (target name →
path under the repository). Only the standard library is used, so it runs before the package is
installed. Exits non-zero, naming the file, when something is missing.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENDOR = HERE / "static" / "vendor"
ROOT = HERE.parents[3]


def copy_assets(root: Path = ROOT, target: Path = VENDOR) -> list[Path]:
    """Copy every ``vendorFiles`` entry of ``root/package.json`` into ``target``; answer the copies."""
    manifest = json.loads((root / "package.json").read_text(encoding="utf-8"))
    files: dict[str, str] = manifest["vendorFiles"]
    missing = [src for src in files.values() if not (root / src).is_file()]
    if missing:
        raise FileNotFoundError(f"missing {', '.join(missing)}: run `npm ci` in {root} first")
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    copies = []
    for name, src in files.items():
        dest = target / name
        shutil.copyfile(root / src, dest)
        copies.append(dest)
    return copies


def main() -> int:
    """Command-line entry point."""
    try:
        copies = copy_assets()
    except (OSError, KeyError, ValueError) as exc:
        print(f"dashboard assets: {exc}", file=sys.stderr)
        return 1
    print(f"dashboard assets: {len(copies)} files in {VENDOR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
