"""How the drainer batches a live spool: it stores what the spool holds, without chasing the writer.

A worker keeps appending while the drainer stores. Before, ``drain_all`` looped until a read
came back empty, so under a steady trickle it stored a few scans per transaction, back to back
(at 1 000 scans/s the drainer process took 58 % of a core); now a short batch ends the pass and
what arrived meanwhile waits for the next tick. A dead writer's spool is still drained to its end.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import func, select

from scanroute.bootstrap import Container
from scanroute.capture.drainer import Drainer
from scanroute.capture.event import ScanEvent
from scanroute.capture.spool import Spool
from scanroute.capture.stream import StoreSink
from scanroute.storage.scans import ScanWriter
from scanroute.storage.schema import scans


def _record(i: int) -> bytes:
    ts = 1_700_000_000_000_000 + i
    return b'{"id":"live%05d","ws":1,"slug":"s","ts":%d,"outcome":"not_found"}' % (i, ts)


class WriterMeanwhile:
    """The real store sink, with a worker appending ``per_batch`` scans while each batch is stored."""

    def __init__(self, ctr: Container, spool: Spool, per_batch: int, budget: int = 10_000) -> None:
        self.store = StoreSink(ScanWriter(ctr.db))
        self.spool = spool
        self.per_batch = per_batch
        self.budget = budget  # scans the worker appends in all
        self.batches: list[int] = []
        self.next = 1000

    def deliver(self, lines: Sequence[bytes], events: list[ScanEvent]) -> int:
        self.batches.append(len(lines))
        stored = self.store.deliver(lines, events)
        for _ in range(min(self.per_batch, self.budget)):
            self.spool.append(_record(self.next))
            self.next += 1
            self.budget -= 1
        return stored


def _stored(ctr: Container) -> int:
    with ctr.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(scans)).scalar_one())


def test_a_pass_stores_what_the_spool_held_and_leaves_later_scans_for_the_next_tick(
    ctr: Container, tmp_path: Path
) -> None:
    spool = Spool(tmp_path / "spool" / "w", fsync_interval=0)
    sink = WriterMeanwhile(ctr, spool, per_batch=3)
    drainer = Drainer(spool, sink, root=tmp_path / "spool", batch=10)
    for i in range(25):
        spool.append(_record(i))
    # full batches follow one another; the first short one (caught up) ends the pass
    assert drainer.drain_all() == 25 + 3 * 3
    assert sink.batches == [10, 10, 10, 4]
    assert _stored(ctr) == 34
    # the scans appended while the last batch was stored wait in the spool for the next tick
    assert spool.pending_bytes() == 3 * len(_record(0)) + 3
    sink.per_batch = 0
    assert drainer.drain_all() == 3
    assert _stored(ctr) == 37
    assert spool.pending_bytes() == 0
    spool.close()


def test_a_steady_trickle_is_not_chased_one_small_transaction_after_another(
    ctr: Container, tmp_path: Path
) -> None:
    spool = Spool(tmp_path / "spool" / "w", fsync_interval=0)
    sink = WriterMeanwhile(ctr, spool, per_batch=2)  # the worker never stops writing
    drainer = Drainer(spool, sink, root=tmp_path / "spool", batch=5000)
    for i in range(40):
        spool.append(_record(i))
    assert drainer.drain_all() == 40  # one transaction, then back to the interval
    assert sink.batches == [40]
    spool.close()


def test_a_final_drain_goes_on_past_short_batches_to_the_end(ctr: Container, tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool" / "w", fsync_interval=0)
    sink = WriterMeanwhile(ctr, spool, per_batch=3, budget=6)
    drainer = Drainer(spool, sink, root=tmp_path / "spool", batch=10)
    for i in range(15):
        spool.append(_record(i))
    # final (the writer is gone, e.g. the shutdown sweep): a short batch does not end it
    assert drainer.drain_all(final=True) == 15 + 6
    assert sink.batches == [10, 8, 3]
    assert _stored(ctr) == 21
    assert spool.pending_bytes() == 0
    spool.close()
