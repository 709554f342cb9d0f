"""The spool: appends survive, reads resume from the checkpoint, segments roll and are deleted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from scanroute.capture.spool import Position, Spool, orphaned, remove_spool


def drain_all(spool: Spool, *, final: bool = False, batch: int = 7) -> list[bytes]:
    out: list[bytes] = []
    while True:
        start = spool.checkpoint()
        got = spool.read(start, batch, final=final)
        if not got.lines and got.end == start:
            return out
        out += got.lines
        spool.commit(got.end)


def test_append_read_commit_resume(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s", fsync_interval=0)
    for i in range(20):
        spool.append(f'{{"n":{i}}}'.encode())
    first = spool.read(spool.checkpoint(), 5)
    assert first.lines == [f'{{"n":{i}}}'.encode() for i in range(5)]
    spool.commit(first.end)
    rest = drain_all(spool)
    assert rest == [f'{{"n":{i}}}'.encode() for i in range(5, 20)]
    assert spool.pending_bytes() == 0
    spool.append(b'{"n":20}')
    assert drain_all(spool) == [b'{"n":20}']
    spool.close()


def test_segments_roll_and_drained_ones_are_deleted(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s", fsync_interval=0, segment_bytes=100)
    records = [f"record-{i:04d}".encode() for i in range(40)]
    for r in records:
        spool.append(r)
    assert len(spool.segments()) > 3
    assert drain_all(spool, batch=3) == records
    assert len(spool.segments()) == 1  # only the live one remains
    spool.close()


def test_partial_tail_waits_until_final(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s", fsync_interval=0)
    spool.append(b"complete")
    with open(spool.path(spool.segments()[-1]), "ab") as fh:
        fh.write(b'{"torn":')
    got = spool.read(spool.checkpoint(), 10)
    assert got.lines == [b"complete"]
    spool.commit(got.end)
    assert spool.read(spool.checkpoint(), 10).lines == []
    final = spool.read(spool.checkpoint(), 10, final=True)
    assert final.lines == []
    assert final.end.offset > got.end.offset  # the torn bytes are skipped
    spool.close()


def test_second_owner_refused_and_orphans_found(tmp_path: Path) -> None:
    root = tmp_path / "spool"
    live = Spool(root / "live", fsync_interval=0)
    with pytest.raises(BlockingIOError):
        Spool(root / "live", fsync_interval=0)
    # a process that appends then dies without closing (SIGKILL) leaves an orphan
    code = (
        "import os, sys; from pathlib import Path; from scanroute.capture.spool import Spool;"
        f"s = Spool(Path({str(root / 'dead')!r}), fsync_interval=0.05);"
        "[s.append(b'x%d' % i) for i in range(50)];"
        "os.kill(os.getpid(), 9)"
    )
    proc = subprocess.run([sys.executable, "-c", code], check=False)
    assert proc.returncode == -9
    found = []
    for path in orphaned(root, own=root / "live"):
        adopted = Spool(path, owner=False)
        found.append(drain_all(adopted, final=True))
        remove_spool(path)
    assert found == [[b"x%d" % i for i in range(50)]]
    assert not (root / "dead").exists()
    assert list(orphaned(root, own=root / "other")) == []  # the live one stays locked
    live.close()
    assert [p.name for p in orphaned(root, own=root / "other")] == ["live"]


def test_checkpoint_garbage_restarts_from_oldest(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s", fsync_interval=0)
    spool.append(b"a")
    (spool.dir / "checkpoint").write_bytes(b"not json")
    assert spool.checkpoint() == Position(1, 0)
    assert drain_all(spool) == [b"a"]
    spool.close()
    assert os.path.exists(tmp_path / "s" / "checkpoint")
