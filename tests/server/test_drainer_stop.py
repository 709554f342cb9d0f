"""How ``serve`` stops its drainer process (``DrainerSupervisor.stop``) with a backlog to store:
it waits while the final sweep advances, however long that takes within the limit, and stops it
when it stalls, at the limit or on a second interrupt — and what it did not store is stored by
the next drainer, each scan once."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from scanroute.capture.drain_process import read_status
from scanroute.capture.event import ScanEvent, encode_event, new_scan_id
from scanroute.capture.spool import Spool
from scanroute.capture.supervisor import DrainerSupervisor
from scanroute.storage.db import Database
from scanroute.storage.schema import codes
from tests.server.conftest import Server
from tests.server.test_durability import make_code, stored_ids

pytestmark = pytest.mark.server
BACKLOG = 50_000  # some 5 s of storing here
BATCH = 100  # small batches: the final sweep takes several seconds and reports as it goes
STALL = 2.0  # > the drainer's status interval (1 s) + serve's poll (0.5 s) + one batch


def spool_backlog(db_url: str, tmp_path: Path, root: Path, n: int) -> set[str]:
    """A dead worker's spool under ``root`` holding ``n`` scans of a real code; their ids."""
    make_code(db_url, tmp_path, "backlog")
    db = Database(db_url)
    with db.read() as conn:
        code_id, ws_id = conn.execute(select(codes.c.id, codes.c.workspace_id)).one()
    db.dispose()
    spool = Spool(root / "w-gone", fsync_interval=0)
    now_us = time.time_ns() // 1000
    ids = [new_scan_id() for _ in range(n)]
    spool.append_many(
        [
            encode_event(
                ScanEvent(
                    id=scan_id, ws=ws_id, slug="backlog", ts=now_us + i, outcome="redirect",
                    code=code_id, dest="https://example.com/menu", device="mobile", os="iOS",
                )
            )
            for i, scan_id in enumerate(ids)
        ]
    )  # fmt: skip
    spool.close()  # its lock is free: an orphan, which only the final sweep takes at once
    return set(ids)


def start_drainer(db_url: str, data_dir: Path) -> DrainerSupervisor:
    """A supervised drainer process that sweeps once at start and then only when stopped."""
    env = {
        **os.environ,
        "SCANROUTE_DATABASE_URL": db_url,
        "SCANROUTE_DATA_DIR": str(data_dir),
        "SCANROUTE_DRAIN_INTERVAL": "3600",
        "SCANROUTE_DRAIN_BATCH": str(BATCH),
        "SCANROUTE_LOG_LEVEL": "WARNING",
    }
    root = data_dir / "spool"
    supervisor = DrainerSupervisor(env, status=lambda: read_status(root))
    supervisor.start()
    deadline = time.monotonic() + 60
    while (read_status(root) or {}).get("pid") != supervisor.pid:  # its first sweep is done
        assert time.monotonic() < deadline, "the drainer process did not start"
        time.sleep(0.1)
    return supervisor


def test_stop_waits_for_a_final_sweep_longer_than_the_stall_timeout(sqlite_url: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    supervisor = start_drainer(sqlite_url, data_dir)
    want = spool_backlog(sqlite_url, tmp_path, data_dir / "spool", BACKLOG)
    started = time.monotonic()
    code = supervisor.stop(limit=120, stall=STALL)
    took = time.monotonic() - started
    assert code == 0  # it finished: not killed
    assert took > STALL, f"the backlog took {took:.1f} s: too little to outlast the stall timeout"
    assert stored_ids(sqlite_url) == want
    assert not (data_dir / "spool" / "w-gone").exists()  # drained to its end and removed


@pytest.mark.parametrize("how", ["interrupt", "limit", "stalled"])
def test_stop_cut_short_keeps_the_rest_for_the_next_drainer(
    sqlite_url: str, tmp_path: Path, how: str
) -> None:
    data_dir = tmp_path / "data"
    supervisor = start_drainer(sqlite_url, data_dir)
    want = spool_backlog(sqlite_url, tmp_path, data_dir / "spool", BACKLOG)
    limit, stall = 120.0, 60.0
    if how == "interrupt":  # a second Ctrl-C during the final sweep
        threading.Timer(0.5, supervisor.interrupt).start()
    elif how == "limit":
        limit = 0.5
    else:  # a drainer that no longer advances (here: stopped by a signal)
        pid = supervisor.pid
        assert pid is not None
        stall = STALL
        os.kill(pid, signal.SIGSTOP)
    started = time.monotonic()
    code = supervisor.stop(limit=limit, stall=stall)
    took = time.monotonic() - started
    assert code == -signal.SIGKILL
    assert took < 15, f"stop took {took:.1f} s"
    stored = stored_ids(sqlite_url)
    assert stored < want  # a part, none of it invented
    assert (data_dir / "spool" / "w-gone").exists()

    nxt = start_drainer(sqlite_url, data_dir)  # its first sweep adopts the orphan again
    assert nxt.stop(limit=120) == 0
    assert stored_ids(sqlite_url) == want  # the rest, and nothing twice (ids are unique)


def test_serve_waits_for_the_backlog_and_a_second_signal_cuts_it_short(
    sqlite_url: str, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    env = {
        "SCANROUTE_DATABASE_URL": sqlite_url,
        "SCANROUTE_DATA_DIR": str(data_dir),
        "SCANROUTE_DRAIN_INTERVAL": "3600",
        "SCANROUTE_DRAIN_BATCH": str(BATCH),
        "SCANROUTE_LOG_LEVEL": "WARNING",
    }
    server = Server(env, tmp_path / "server.log")
    server.start()
    try:
        want = spool_backlog(sqlite_url, tmp_path, data_dir / "spool", BACKLOG)  # after the first sweep
        proc = server.proc
        assert proc is not None
        proc.send_signal(signal.SIGTERM)  # the workers stop, then the drainer's final sweep starts
        deadline = time.monotonic() + 30
        while not stored_ids(sqlite_url):  # it is storing the backlog: serve is still waiting
            assert proc.poll() is None, "serve exited before its drainer stored anything"
            assert time.monotonic() < deadline
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)  # a second signal: stop the drainer now
        proc.wait(timeout=15)
        server.proc = None
        assert stored_ids(sqlite_url) < want
        assert "stopping drainer process" in (tmp_path / "server.log").read_text()
    finally:
        if server.proc is not None:
            server.kill()
    again = Server(env, tmp_path / "server.log")  # the next start stores the rest
    again.start()
    try:
        assert again.stop() in (0, -signal.SIGTERM)
    finally:
        if again.proc is not None:
            again.kill()
    assert stored_ids(sqlite_url) == want
