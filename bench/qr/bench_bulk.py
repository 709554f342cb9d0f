"""A bulk print run of 1 000 codes: CSV → codes (one transaction) → ZIP (SVG + PNG) + label PDF.

Usage: ``.venv/bin/python bench/qr/bench_bulk.py [--rows 1000] [--repeat 3] [--styled]``

Runs exactly what ``POST /api/v1/bulk`` runs, in-process on a fresh SQLite file: the request
part (parse + validate the CSV, create placements and codes in one transaction with design-level
QA) and then the background job (``JobService`` thread: every code encoded once, SVG + PNG
rendered into the ZIP and its PNG decoded with zxing-cpp, the A4 3 × 8 label sheet built in a
child process in parallel, QA reports stored). Target: ≤ 10 s for 1 000 codes.

Reported per run: wall time of each part, CPU seconds of this process and of the sheet child,
and the machine's load average (the benchmark machine is shared: compare runs, not machines).
``--styled`` gives every code a brand template (rounded modules, logo, frame + caption), which
puts 600-dpi raster images on the label sheet instead of vector modules.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

from bench_http import logo_png  # noqa: E402 - sibling module of this script


def csv_text(rows: int) -> str:
    """A realistic placements CSV: tables, posters and window stickers in a few cities."""
    media = ("table_tent", "poster", "window")
    cities = ("Lyon", "Paris", "Lille", "Nantes")
    lines = ["name,medium,city,address,campaign,destination,variant,caption"]
    for i in range(1, rows + 1):
        city = cities[i % len(cities)]
        lines.append(
            f"Spot {i},{media[i % 3]},{city},{i} Rue Centrale,Spring,https://example.com/spring?spot={i},"
            f"{'A' if i % 2 else 'B'},Spot {i} · {city}"
        )
    return "\n".join(lines) + "\n"


def child_cpu() -> float:
    """CPU seconds of finished child processes."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_once(rows: int, styled: bool) -> dict[str, float]:
    """One full run on a fresh database; returns timings."""
    from scanroute.bootstrap import build
    from scanroute.domain.workspace import Principal, Role
    from scanroute.services.bulk import PrintOptions
    from scanroute.services.printrun import PrintRunService
    from scanroute.services.templates import TemplateCreate
    from scanroute.services.tenants import WorkspaceCreate
    from scanroute.settings import Settings

    tmp = Path(tempfile.mkdtemp(prefix="scanroute-bulk-bench-"))
    ctr = build(
        Settings(
            database_url=f"sqlite:///{tmp / 'db.sqlite'}", data_dir=tmp / "data", base_url="https://qr.bench"
        ),
        apply_migrations=True,
    )
    try:
        ws = ctr.workspaces.create(WorkspaceCreate(slug="bench"))
        who = Principal(workspace_id=ws.id, role=Role.OWNER)
        options = PrintOptions()
        if styled:
            logo, _ = ctr.qr.logos.upload(who, logo_png())
            design = {
                "module_shape": "rounded",
                "logo": {"ref": str(logo.id)},
                "frame": "box",
                "caption": "Scan",
            }
            ctr.qr.templates.create(who, TemplateCreate(name="brand", design=design))
            options = PrintOptions(template="brand")
        text = csv_text(rows)
        runs = PrintRunService(ctr.codes, ctr.qr)
        cpu0, child0, t0 = time.process_time(), child_cpu(), time.perf_counter()
        job, created = runs.start(who, text, options)
        t1 = time.perf_counter()
        ctr.qr.jobs.wait(job.id)
        t2 = time.perf_counter()
        cpu1, child1 = time.process_time(), child_cpu()
        done = ctr.qr.jobs.get(who, job.id)
        assert done.status == "succeeded", done.error
        assert len(created) == rows
        folder = Path(done.file_path or "")
        with zipfile.ZipFile(folder / "codes.zip") as zf:
            names = zf.namelist()
            assert sum(n.endswith(".png") for n in names) == rows
            assert sum(n.endswith(".svg") for n in names) == rows
        pdf = (folder / "labels.pdf").read_bytes()
        return {
            "request": t1 - t0,
            "job": t2 - t1,
            "total": t2 - t0,
            "cpu_self": cpu1 - cpu0,
            "cpu_child": child1 - child0,
            "zip_mb": (folder / "codes.zip").stat().st_size / 1e6,
            "pdf_mb": len(pdf) / 1e6,
            "pages": pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages"),
        }
    finally:
        ctr.close()
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--styled", action="store_true")
    args = parser.parse_args()
    print(f"bulk print run: {args.rows} rows, {'styled (template)' if args.styled else 'default design'}, "
          f"{os.cpu_count()} CPUs\n")  # fmt: skip
    print(f"{'run':>3} {'load':>5} {'request s':>10} {'job s':>7} {'total s':>8} {'cpu self':>9} "
          f"{'cpu sheet':>10} {'zip MB':>7} {'pdf MB':>7} {'pages':>6}")  # fmt: skip
    best = float("inf")
    for i in range(args.repeat):
        load = os.getloadavg()[0]
        r = run_once(args.rows, args.styled)
        best = min(best, r["total"])
        print(
            f"{i + 1:>3} {load:5.2f} {r['request']:10.2f} {r['job']:7.2f} {r['total']:8.2f} "
            f"{r['cpu_self']:9.2f} {r['cpu_child']:10.2f} {r['zip_mb']:7.1f} {r['pdf_mb']:7.2f} "
            f"{int(r['pages']):6d}"
        )
    print(
        f"\nbest total: {best:.2f} s (target ≤ 10 s for 1 000 codes) — {'met' if best <= 10 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
