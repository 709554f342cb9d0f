"""ZIP bundles of many codes: one SVG and/or PNG per code plus a ``manifest.csv``.

Owns :class:`BundleItem`, :func:`safe_name` and :func:`zip_bundle`. File names are built from the
placement name and the slug (``poster-lobby--spring24.svg``), reduced to ASCII letters, digits
and hyphens so no archive entry can escape its folder or clash on case-insensitive disks;
duplicates get ``-2``, ``-3`` suffixes. The manifest lists slug, short URL, placement, encoded
content and the file names; cells that a spreadsheet would run as a formula (starting with
``= + - @``, tab or CR) are prefixed with an apostrophe.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO

from scanroute.qr.design import QrDesign
from scanroute.qr.render import Format, RenderCache, render

__all__ = ["MANIFEST_FIELDS", "BundleItem", "safe_name", "zip_bundle"]

MANIFEST_FIELDS = ("slug", "short_url", "placement", "content", "svg", "png")
_UNSAFE = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class BundleItem:
    """One code in a bundle; ``content`` defaults to ``short_url`` (a dynamic code)."""

    slug: str
    short_url: str
    placement: str | None = None
    content: str | None = None
    design: QrDesign | None = None

    @property
    def encoded(self) -> str:
        """The text the QR code carries."""
        return self.content or self.short_url


def safe_name(text: str, *, max_len: int = 60, fallback: str = "code") -> str:
    """ASCII, lower-case, hyphen-separated version of ``text`` for use in a file name."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    name = _UNSAFE.sub("-", ascii_text.lower()).strip("-")
    return name[:max_len].rstrip("-") or fallback


def _cell(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def zip_bundle(
    items: Iterable[BundleItem],
    *,
    design: QrDesign | None = None,
    formats: Sequence[Format] = ("svg", "png"),
    out: BinaryIO | None = None,
    cache: RenderCache | None = None,
    timestamp: datetime | None = None,
) -> bytes | None:
    """Write the bundle to ``out`` (streamed, returns None) or return it as bytes.

    ``design`` applies to items without their own. ``formats`` may name svg, png, pdf, eps.
    """
    if not formats or any(f not in ("svg", "png", "pdf", "eps") for f in formats):
        raise ValueError("formats must be a non-empty subset of svg, png, pdf, eps")
    when = (timestamp or datetime.now(UTC)).timetuple()[:6]
    target: BinaryIO = out if out is not None else io.BytesIO()
    default = design or QrDesign()
    used: set[str] = set()
    manifest = io.StringIO()
    writer = csv.writer(manifest, lineterminator="\r\n")
    columns = [*MANIFEST_FIELDS, *(f for f in formats if f not in MANIFEST_FIELDS)]
    writer.writerow(columns)
    with zipfile.ZipFile(target, "w") as zf:
        for item in items:
            stem = safe_name(item.slug)
            if item.placement:
                stem = f"{safe_name(item.placement, max_len=40)}--{stem}"
            base, n = stem, 2
            while base in used:
                base = f"{stem}-{n}"
                n += 1
            used.add(base)
            d = item.design or default
            files: dict[str, str] = {}
            for fmt in formats:
                data = (cache.render if cache is not None else render)(item.encoded, d, fmt)
                name = f"{base}.{fmt}"
                info = zipfile.ZipInfo(name, date_time=when)
                info.compress_type = zipfile.ZIP_STORED if fmt == "png" else zipfile.ZIP_DEFLATED
                zf.writestr(info, data)
                files[fmt] = name
            row = {
                "slug": item.slug,
                "short_url": item.short_url,
                "placement": item.placement or "",
                "content": item.encoded,
                **files,
            }
            writer.writerow([_cell(row.get(col, "")) for col in columns])
        info = zipfile.ZipInfo("manifest.csv", date_time=when)
        info.compress_type = zipfile.ZIP_DEFLATED
        zf.writestr(info, manifest.getvalue().encode("utf-8"))
    if out is None:
        assert isinstance(target, io.BytesIO)
        return target.getvalue()
    return None
