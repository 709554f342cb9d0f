"""Bulk print runs, part 2: render the created codes to a ZIP and a print-ready PDF label sheet.

* **ZIP** (``qr.zip_bundle``): SVG + PNG (or the formats asked for) per code, file names from
  placement and slug, ``manifest.csv``. Each code is encoded once and its formats rendered from
  that symbol into a small private cache that ``zip_bundle`` reads, one code at a time. Every
  code's PNG is decoded (``check_image``) on the way, and its stored QA report becomes a
  ``"code"``-scope report.
* **PDF** (``qr.label_sheet``): A4 or Letter, grid, a caption per label, crop marks. Labels use
  the code's design without its own frame and caption (the label has its caption).
* **Parallelism:** with two or more CPUs the sheet is built in a child process while
  this thread renders the ZIP (the work is CPU-bound Python; threads would share one core).
  Progress from both is summed: ``total`` = 2 × codes.
* **Failure:** the codes stay (their creation committed before rendering started and is
  consistent on its own); the run raises, the job is marked failed, and a new run can render the
  same codes again. A code whose image does not decode fails the run unless ``force``.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scanroute.qr import BundleItem, Label, QrDesign, RenderCache, label_sheet, zip_bundle
from scanroute.qr.render import Symbol, encode, render_symbol
from scanroute.services.qr_qa import decode_png, with_decode

__all__ = ["RenderItem", "SheetLayout", "render_run"]

Progress = Callable[[int], None]
ZIP_NAME = "codes.zip"
PDF_NAME = "labels.pdf"


@dataclass(frozen=True)
class RenderItem:
    """One code to print: its id, slug, short URL, encoded content, design and label."""

    code_id: int
    slug: str
    short_url: str
    content: str
    design: QrDesign
    placement: str | None
    caption: str
    qa: dict[str, Any] | None = None


@dataclass(frozen=True)
class SheetLayout:
    """Label-sheet options (see ``qr.label_sheet``)."""

    paper: str = "A4"
    columns: int = 3
    rows: int = 8
    margin_mm: float = 10.0
    gutter_mm: float = 4.0
    crop_marks: bool = True
    title: str = "scanroute print run"

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``label_sheet``."""
        return dataclasses.asdict(self)


def sheet_design(design: QrDesign) -> QrDesign:
    """The design used on a label: no frame or caption of its own."""
    if design.frame == "none" and design.caption is None:
        return design
    return dataclasses.replace(design, frame="none", caption=None)


class _Counting(Sequence[Label]):
    """A label list that reports how far ``label_sheet`` has come while it iterates."""

    def __init__(self, labels: list[Label], tick: Callable[[int], None]) -> None:
        self._labels = labels
        self._tick = tick

    def __len__(self) -> int:
        return len(self._labels)

    def __getitem__(self, i: Any) -> Any:
        return self._labels[i]

    def __iter__(self) -> Iterator[Label]:
        for i, label in enumerate(self._labels):
            if i % 25 == 0:
                self._tick(i)
            yield label


def _write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(tmp, path)


class _SheetProcess:
    """The label sheet built by ``python -m scanroute.services.sheet_worker`` in a child process.

    A plain subprocess rather than ``multiprocessing``: spawn would re-import the parent's
    ``__main__`` (whatever started the server or the CLI) and fork is unsafe in a threaded server.
    Labels go over a pickle file in the job folder. The child encodes every label first and
    streams the symbols back (length-prefixed pickles on stdout), so each code is encoded once
    for both outputs; then it lays out the sheet and streams progress ticks.
    """

    def __init__(self, labels: list[Label], layout: SheetLayout, path: Path) -> None:
        self.path = path
        self.job_file = path.with_name(f".{path.name}.labels")
        self.err_file = path.with_name(f".{path.name}.err")
        with open(self.job_file, "wb") as out:
            pickle.dump({"labels": labels, "layout": layout.kwargs(), "path": str(path)}, out)
        with open(self.err_file, "wb") as err:
            self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "scanroute.services.sheet_worker", str(self.job_file)],
                stdout=subprocess.PIPE,
                stderr=err,
            )
        self.done = 0
        self.error: str | None = None
        self._symbols: dict[int, Symbol] = {}
        self._eof = False
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        stream = self.proc.stdout
        assert stream is not None
        try:
            while head := stream.read(4):
                msg = pickle.loads(stream.read(int.from_bytes(head, "big")))  # noqa: S301 - our child
                kind, value = msg
                if kind == "sym":
                    with self._cond:
                        self._symbols.update(value)
                        self._cond.notify_all()
                elif kind in ("tick", "done"):
                    self.done = max(self.done, int(value))
        except (EOFError, OSError, pickle.UnpicklingError):
            pass
        finally:
            with self._cond:
                self._eof = True
                self._cond.notify_all()

    def symbol(self, index: int, timeout: float = 300.0) -> Symbol | None:
        """The child's encoding of label ``index`` (``None`` if the child cannot give it)."""
        with self._cond:
            self._cond.wait_for(lambda: index in self._symbols or self._eof, timeout)
            return self._symbols.pop(index, None)

    def poll(self) -> int:
        return self.done

    def join(self, progress: Callable[[], None]) -> None:
        while self.proc.poll() is None:
            time.sleep(0.2)
            progress()
        self._reader.join(5)
        stderr = self.err_file.read_text(errors="replace") if self.err_file.exists() else ""
        self._cleanup()
        if self.proc.returncode != 0 or not self.path.is_file():
            last = (stderr.strip().splitlines() or ["no output"])[-1]
            self.error = f"exit status {self.proc.returncode}: {last}"

    def _cleanup(self) -> None:
        self.job_file.unlink(missing_ok=True)
        self.err_file.unlink(missing_ok=True)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)
        self._cleanup()


def render_run(
    items: Sequence[RenderItem],
    folder: Path,
    *,
    formats: Sequence[str] = ("svg", "png"),
    layout: SheetLayout | None = None,
    progress: Callable[[int, int], None] | None = None,
    parallel: bool | None = None,
) -> dict[str, Any]:
    """Write ``codes.zip`` and ``labels.pdf`` into ``folder``; returns the job result.

    ``result["qa"]`` maps code id → its new code-scope QA report and ``result["not_decoding"]``
    lists the slugs whose image did not decode (the caller stores the one, judges the other).
    """
    layout = layout or SheetLayout()
    folder.mkdir(parents=True, exist_ok=True)
    n = len(items)
    labels = [Label(i.content, i.caption or None, sheet_design(i.design)) for i in items]
    zip_done = 0
    sheet: _SheetProcess | None = None
    use_process = parallel if parallel is not None else (os.cpu_count() or 1) > 1 and n >= 50
    if use_process:
        sheet = _SheetProcess(labels, layout, folder / PDF_NAME)

    def report() -> None:
        if progress is not None:
            progress(zip_done + (sheet.poll() if sheet is not None else 0), 2 * n)

    cache = RenderCache(max_entries=4 * len(formats) + 8, max_bytes=1 << 30)
    reports: dict[int, dict[str, Any]] = {}
    failed: list[str] = []

    def bundle_items() -> Iterator[BundleItem]:
        nonlocal zip_done
        for index, item in enumerate(items):
            # the sheet process encodes every label (same content and ECC) and hands it over
            symbol = sheet.symbol(index) if sheet is not None else None
            if symbol is None:
                symbol = encode(item.content, item.design.effective_ecc)
            key = item.design.cache_key(item.content)
            for fmt in formats:
                cache.put(key, fmt, render_symbol(symbol, item.design, fmt))  # type: ignore[arg-type]
            png = cache.get(key, "png") if "png" in formats else None
            if png is None:
                png = render_symbol(symbol, item.design, "png")
            text = decode_png(png)
            reports[item.code_id] = with_decode(item.qa or {}, text, item.content)
            if text != item.content:
                failed.append(item.slug)
            yield BundleItem(item.slug, item.short_url, item.placement, item.content, item.design)
            zip_done += 1
            report()

    try:
        with open(folder / f".{ZIP_NAME}.part", "wb") as out:
            zip_bundle(bundle_items(), formats=tuple(formats), out=out, cache=cache)  # type: ignore[arg-type]
        os.replace(folder / f".{ZIP_NAME}.part", folder / ZIP_NAME)
        if sheet is None:
            pdf = label_sheet(
                _Counting(labels, lambda i: progress(n + i, 2 * n) if progress else None), **layout.kwargs()
            )
            _write(folder / PDF_NAME, pdf)
        else:
            sheet.join(report)
            if sheet.error:
                raise RuntimeError(f"the label sheet failed: {sheet.error}")
    finally:
        if sheet is not None:
            sheet.stop()
    if progress is not None:
        progress(2 * n, 2 * n)
    return {
        "codes": n,
        "files": {"zip": ZIP_NAME, "pdf": PDF_NAME},
        "not_decoding": failed,
        "qa": reports,
    }
