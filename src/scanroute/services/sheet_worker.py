"""Child process of a bulk print run: encode the labels, then build the label-sheet PDF.

Usage (by ``bulk_render`` only): ``python -m scanroute.services.sheet_worker JOBFILE`` where
JOBFILE is a pickle ``{"labels": [...], "layout": {...}, "path": "..."}`` written by the parent
into its own job folder. Writes length-prefixed pickles to stdout: ``("sym", {index: Symbol})``
batches while encoding (the parent renders the ZIP from them, so each code is encoded once),
then ``("tick", n)`` while laying out the sheet and ``("done", n)``; the PDF goes atomically to
``path``. Exit status 0 on success.

``label_sheet`` encodes each label itself; in this process its module-level ``encode`` is
pointed at the symbols already made (falling back to encoding anything it does not know), which
changes nothing in the output and halves the CPU the sheet costs.
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path
from typing import Any, BinaryIO

from scanroute.services.bulk_render import _Counting, _write

BATCH = 10


def _send(out: BinaryIO, msg: tuple[str, Any]) -> None:
    data = pickle.dumps(msg, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(len(data).to_bytes(4, "big") + data)
    out.flush()


def main(argv: list[str]) -> int:
    """Run one sheet job; returns the exit status."""
    if len(argv) != 1:
        print("usage: python -m scanroute.services.sheet_worker JOBFILE", file=sys.stderr)
        return 2
    with open(argv[0], "rb") as fh:
        job = pickle.load(fh)  # noqa: S301 - written by our parent process into its job folder
    from scanroute.qr import QrDesign, label_sheet
    from scanroute.qr import sheet as sheet_module
    from scanroute.qr.render import Symbol, encode

    out = sys.stdout.buffer
    memo: dict[tuple[str, str], Symbol] = {}
    batch: dict[int, Symbol] = {}
    default = QrDesign()
    for i, label in enumerate(job["labels"]):
        key = (label.content, (label.design or default).effective_ecc)
        symbol = memo.get(key) or encode(*key)
        memo[key] = batch[i] = symbol
        if len(batch) >= BATCH:
            _send(out, ("sym", batch))
            batch = {}
    if batch:
        _send(out, ("sym", batch))

    def known(content: str, ecc: Any) -> Symbol:
        return memo.get((content, ecc)) or encode(content, ecc)

    sheet_module.encode = known  # type: ignore[attr-defined]  # this process only (module notes)

    def tick(i: int) -> None:
        _send(out, ("tick", i))

    pdf = label_sheet(_Counting(job["labels"], tick), **job["layout"])
    _write(Path(job["path"]), pdf)
    _send(out, ("done", len(job["labels"])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
