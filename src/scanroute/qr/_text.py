"""Text helpers shared by the vCard and iCalendar payloads: escaping, folding, line parsing.

Escaping follows RFC 6350 §3.4 / RFC 2426 §4 / RFC 5545 §3.3.11 (``\\``, ``;``, ``,`` and line
breaks as ``\\n``); folding follows RFC 6350 §3.2 / RFC 5545 §3.1 (lines longer than 75 octets are
split with CRLF + one space, never inside a UTF-8 sequence).
"""

from __future__ import annotations

from dataclasses import dataclass

from scanroute.qr.errors import PayloadError

__all__ = [
    "CRLF",
    "ContentLine",
    "PayloadError",
    "escape_text",
    "fold",
    "parse_content_lines",
    "split_escaped",
    "unescape_text",
]

CRLF = "\r\n"


def escape_text(value: str) -> str:
    """Escape a TEXT value: backslash, semicolon, comma and any line break."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def unescape_text(value: str) -> str:
    """Undo :func:`escape_text` (also accepts ``\\N`` and a stray ``\\:``)."""
    out: list[str] = []
    i = 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            nxt = value[i + 1]
            out.append("\n" if nxt in "nN" else nxt)
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def split_escaped(value: str, sep: str) -> list[str]:
    """Split on ``sep`` where it is not backslash-escaped; components stay escaped."""
    parts: list[str] = []
    cur: list[str] = []
    i = 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            cur.append(value[i : i + 2])
            i += 2
            continue
        if ch == sep:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    parts.append("".join(cur))
    return parts


def fold(line: str, limit: int = 75) -> str:
    """Fold one content line to ``limit`` octets per physical line (CRLF + space)."""
    data = line.encode("utf-8")
    if len(data) <= limit:
        return line
    pieces: list[str] = []
    start = 0
    budget = limit
    while start < len(data):
        end = min(start + budget, len(data))
        while end < len(data) and (data[end] & 0xC0) == 0x80:  # do not split a UTF-8 sequence
            end -= 1
        pieces.append(data[start:end].decode("utf-8"))
        start = end
        budget = limit - 1  # continuation lines start with one space
    return (CRLF + " ").join(pieces)


@dataclass(frozen=True)
class ContentLine:
    """One unfolded ``NAME;PARAM=V:value`` line (name upper-cased, group dropped)."""

    name: str
    params: dict[str, list[str]]
    value: str


def parse_content_lines(text: str) -> list[ContentLine]:
    """Unfold and split vCard/iCalendar text into content lines."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    unfolded = text.replace("\n ", "").replace("\n\t", "")
    lines: list[ContentLine] = []
    for raw in unfolded.split("\n"):
        if not raw.strip():
            continue
        in_quote = False
        colon = -1
        for i, ch in enumerate(raw):
            if ch == '"':
                in_quote = not in_quote
            elif ch == ":" and not in_quote:
                colon = i
                break
        if colon < 0:
            raise PayloadError("payload", f"line without a colon: {raw[:40]!r}")
        head, value = raw[:colon], raw[colon + 1 :]
        name, *param_parts = head.split(";")
        name = name.rsplit(".", 1)[-1].upper()
        params: dict[str, list[str]] = {}
        for part in param_parts:
            key, _, pval = part.partition("=")
            vals = [v.strip('"') for v in pval.split(",")] if pval else [key]
            params.setdefault(key.upper() if pval else "TYPE", []).extend(vals)
        lines.append(ContentLine(name, params, value))
    return lines
