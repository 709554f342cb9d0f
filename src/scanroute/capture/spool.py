"""The local scan spool: a durable append-only log per worker process.

The hot path appends through ``capture.coalesce`` (the lines of one event-loop iteration in one
plain ``write()``, before any of their redirects is sent); ``append`` writes one line at once. A
background thread ``fsync``s on an interval. The drainer reads complete lines from a
checkpointed position, writes them to the store, then ``commit``s the new position. Segments
roll at a size limit and are deleted once drained. A worker holds an exclusive ``flock`` on its
spool directory while alive; any worker that can take the lock of another directory knows its
owner is gone and drains what it left (SIGKILL loses nothing that ``write()`` accepted).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import secrets
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

log = logging.getLogger("scanroute.spool")
SEGMENT_BYTES = 64 << 20
SUFFIX = ".jsonl"


@dataclass(frozen=True, slots=True, order=True)
class Position:
    """A point in the spool: segment number and byte offset inside it."""

    segment: int
    offset: int


@dataclass(frozen=True, slots=True)
class Batch:
    """Complete lines read from the spool and the position just after the last one."""

    lines: list[bytes]
    end: Position


class Spool:
    """One directory of numbered segments plus a checkpoint file."""

    def __init__(
        self,
        directory: Path,
        *,
        fsync_interval: float = 0.2,
        segment_bytes: int = SEGMENT_BYTES,
        owner: bool = True,
    ) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.segment_bytes = segment_bytes
        self.fsync_interval = fsync_interval
        self._lock_fd: int | None = None
        self._fd: int | None = None
        self._segment = 0
        self._size = 0
        self._dirty = False
        self._io = threading.Lock()
        self._stop = threading.Event()
        self._syncer: threading.Thread | None = None
        if owner:
            self._lock_fd = os.open(self.dir / "lock", os.O_CREAT | os.O_RDWR, 0o600)
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            segments = self.segments()
            self._open(segments[-1] + 1 if segments else 1)
            if fsync_interval > 0:
                self._syncer = threading.Thread(target=self._sync_loop, name="spool-fsync", daemon=True)
                self._syncer.start()

    # -- writing (hot path) -----------------------------------------------------------------

    def append(self, record: bytes) -> None:
        """Append one record (no newline inside) durably enough to survive a process kill."""
        self._write(record + b"\n")

    def append_many(self, records: list[bytes]) -> None:
        """Append several records (no newline inside any) with one ``write()``, in order."""
        if records:
            self._write(b"\n".join(records) + b"\n")

    def _write(self, data: bytes) -> None:
        with self._io:
            if self._size + len(data) > self.segment_bytes and self._size:
                self._roll()
            assert self._fd is not None
            view = memoryview(data)
            while view:  # a regular file takes it all at once; a short write only on a full disk
                written = os.write(self._fd, view)
                if written <= 0:
                    raise OSError(errno.ENOSPC, "the spool took no bytes")
                self._size += written
                view = view[written:]
            if self.fsync_interval <= 0:
                os.fdatasync(self._fd)
            else:
                self._dirty = True

    def _open(self, segment: int) -> None:
        self._segment = segment
        path = self.path(segment)
        self._fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o600)
        self._size = os.fstat(self._fd).st_size

    def _roll(self) -> None:
        assert self._fd is not None
        os.fdatasync(self._fd)
        os.close(self._fd)
        self._open(self._segment + 1)

    def _sync_loop(self) -> None:
        while not self._stop.wait(self.fsync_interval):
            self.sync()

    def sync(self) -> None:
        """fsync the active segment if anything was written since the last sync."""
        with self._io:
            fd, dirty = self._fd, self._dirty
            self._dirty = False
        if fd is not None and dirty:
            with contextlib.suppress(OSError):
                os.fdatasync(fd)

    def close(self) -> None:
        """Sync, close the segment and release the directory lock."""
        self._stop.set()
        if self._syncer is not None:
            self._syncer.join(timeout=2)
        with self._io:
            if self._fd is not None:
                with contextlib.suppress(OSError):
                    os.fdatasync(self._fd)
                os.close(self._fd)
                self._fd = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    # -- reading (drainer) --------------------------------------------------------------------

    def path(self, segment: int) -> Path:
        """File of a segment."""
        return self.dir / f"{segment:010d}{SUFFIX}"

    def segments(self) -> list[int]:
        """Segment numbers present, oldest first."""
        return sorted(
            int(p.name[: -len(SUFFIX)])
            for p in self.dir.glob(f"*{SUFFIX}")
            if p.name[: -len(SUFFIX)].isascii() and p.name[: -len(SUFFIX)].isdigit()
        )

    def checkpoint(self) -> Position:
        """Where draining resumes."""
        try:
            seg, off = orjson.loads((self.dir / "checkpoint").read_bytes())
            return Position(int(seg), int(off))
        except (OSError, ValueError, TypeError):
            segments = self.segments()
            return Position(segments[0] if segments else 1, 0)

    def read(self, start: Position, max_lines: int, *, final: bool = False) -> Batch:
        """Up to ``max_lines`` complete lines from ``start``, across segments.

        A trailing partial line is left for later, unless ``final`` (the writer is gone): then
        it is a torn write that was never acknowledged, and it is skipped.
        """
        lines: list[bytes] = []
        pos = start
        segments = [s for s in self.segments() if s >= start.segment]
        for i, seg in enumerate(segments):
            offset = pos.offset if seg == pos.segment else 0
            try:
                with open(self.path(seg), "rb") as fh:
                    size = os.fstat(fh.fileno()).st_size
                    fh.seek(offset)
                    data = fh.read(max(1, max_lines - len(lines)) * 4096)
            except FileNotFoundError:
                continue
            chunk = data[: data.rfind(b"\n") + 1].split(b"\n")[:-1]
            chunk = chunk[: max_lines - len(lines)]
            consumed = sum(len(c) + 1 for c in chunk)
            lines.extend(chunk)
            pos = Position(seg, offset + consumed)
            if offset + consumed < size:
                if final and len(lines) < max_lines and offset + len(data) >= size:
                    log.warning("skipping a torn final record in %s", self.path(seg).name)
                    pos = Position(seg, size)
                else:
                    break  # more to read here later
            if len(lines) >= max_lines or i == len(segments) - 1:
                break
            pos = Position(segments[i + 1], 0)
        return Batch(lines, pos)

    def read_range(self, start: Position, stop: Position, max_bytes: int = 8 << 20) -> list[bytes]:
        """The complete lines between two positions (e.g. two checkpoints), at most ``max_bytes``.

        Segments already deleted are skipped: callers use this for best-effort work only.
        """
        lines: list[bytes] = []
        budget = max_bytes
        for seg in self.segments():
            if seg < start.segment or seg > stop.segment or budget <= 0:
                continue
            begin = start.offset if seg == start.segment else 0
            try:
                with open(self.path(seg), "rb") as fh:
                    end = stop.offset if seg == stop.segment else os.fstat(fh.fileno()).st_size
                    fh.seek(begin)
                    data = fh.read(min(max(end - begin, 0), budget))
            except FileNotFoundError:
                continue
            budget -= len(data)
            lines.extend(data[: data.rfind(b"\n") + 1].split(b"\n")[:-1])
        return lines

    def commit(self, pos: Position) -> None:
        """Record that everything before ``pos`` is in the store; delete drained segments."""
        tmp = self.dir / f"checkpoint.{os.getpid()}.{threading.get_ident()}.tmp"
        tmp.write_bytes(orjson.dumps([pos.segment, pos.offset]))
        os.replace(tmp, self.dir / "checkpoint")
        for seg in self.segments():
            if seg < pos.segment and seg != self._segment:
                with contextlib.suppress(FileNotFoundError):
                    self.path(seg).unlink()

    def pending_bytes(self) -> int:
        """Bytes written but not yet drained (the spool-depth metric)."""
        cp = self.checkpoint()
        total = 0
        for seg in self.segments():
            if seg < cp.segment:
                continue
            with contextlib.suppress(FileNotFoundError):
                total += self.path(seg).stat().st_size - (cp.offset if seg == cp.segment else 0)
        return max(total, 0)


def worker_spool_dir(root: Path) -> Path:
    """A fresh spool directory for this process."""
    return root / f"w-{os.getpid()}-{secrets.token_hex(3)}"


def spool_dirs(
    root: Path, own: Path | None = None, *, min_orphan_age: float = 0.0
) -> Iterator[tuple[Path, bool]]:
    """Every spool directory under ``root`` (except ``own``) as ``(path, orphaned)``.

    An orphan's lock is held while the caller handles it. A directory whose lock is free but
    that is younger than ``min_orphan_age`` seconds is skipped: its worker may be about to take
    the lock (a new worker creates the directory first).
    """
    if not root.exists():
        return
    now = time.time()
    for path in sorted(root.iterdir()):
        if path == own or not path.is_dir():
            continue
        try:
            fd = os.open(path / "lock", os.O_CREAT | os.O_RDWR, 0o600)
        except OSError:
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                yield path, False  # its worker is alive
                continue
            with contextlib.suppress(OSError):
                if min_orphan_age and now - path.stat().st_ctime < min_orphan_age:
                    continue
            yield path, True
        finally:
            os.close(fd)


def orphaned(root: Path, own: Path) -> Iterator[Path]:
    """Spool directories whose owner is gone (their lock can be taken). Yields with the lock held."""
    for path, orphan in spool_dirs(root, own):
        if orphan:
            yield path


def remove_spool(path: Path) -> None:
    """Delete a fully drained orphan spool directory."""
    shutil.rmtree(path, ignore_errors=True)
    log.info("removed drained spool %s", path.name)
