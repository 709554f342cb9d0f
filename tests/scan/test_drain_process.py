"""The drainer process's loop, in-process: every worker's spool swept into the real store."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import func, select

from scanroute.bootstrap import Container
from scanroute.capture.drain_process import DrainProcess, read_status
from scanroute.capture.event import ScanEvent, encode_event, new_scan_id
from scanroute.capture.spool import Spool
from scanroute.storage.schema import scans
from tests.conftest import Tenant, make_settings


def event(ws: int) -> bytes:
    return encode_event(
        ScanEvent(id=new_scan_id(), ws=ws, slug="gone", ts=time.time_ns() // 1000, outcome="not_found")
    )


def stored(ctr: Container) -> int:
    with ctr.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(scans)).scalar_one())


def test_sweep_drains_live_spools_and_adopts_dead_ones(ctr: Container, tenant: Tenant) -> None:
    root = ctr.settings.data_dir / "spool"
    live = Spool(root / "w-live", fsync_interval=0)
    for _ in range(5):
        live.append(event(tenant.workspace_id))
    with open(live.path(live.segments()[-1]), "ab") as fh:
        fh.write(b'{"torn":')  # a write in progress: left for later while its worker lives
    code = (
        "import os; from pathlib import Path; from scanroute.capture.spool import Spool;"
        f"s = Spool(Path({str(root / 'w-dead')!r}), fsync_interval=0);"
        + "".join(f"s.append({event(tenant.workspace_id)!r});" for _ in range(3))
        + "os.kill(os.getpid(), 9)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == -9
    proc = DrainProcess(ctr.settings)
    try:
        assert proc.drainer.sweep() == 5  # the dead worker's spool is too young to adopt yet
        assert (root / "w-dead").exists()
        assert proc.drainer.sweep(final=True) == 3
        assert not (root / "w-dead").exists()
        assert (root / "w-live").exists()  # a live worker's spool stays, drained to the torn line
        assert stored(ctr) == 8
        assert proc.drainer.sweep(final=True) == 0  # replays nothing
    finally:
        proc.close()
        live.close()


def test_run_stops_with_a_final_sweep_and_publishes_status(ctr: Container, tenant: Tenant) -> None:
    settings = make_settings(ctr.settings.effective_database_url, ctr.settings.data_dir, drain_interval=0.05)
    proc = DrainProcess(settings)
    thread = threading.Thread(target=proc.run)
    thread.start()
    try:
        worker = Spool(settings.data_dir / "spool" / f"w-{os.getpid()}-t", fsync_interval=0)
        for _ in range(20):
            worker.append(event(tenant.workspace_id))
        deadline = time.monotonic() + 10
        while stored(ctr) < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert stored(ctr) == 20  # drained while the worker is alive
        while (status := read_status(settings.data_dir / "spool")) is None and time.monotonic() < deadline:
            time.sleep(0.05)  # written just after the sweep
        assert status is not None
        assert status["pid"] == os.getpid()
        assert status["store_up"] is True
        worker.append(event(tenant.workspace_id))
        worker.close()  # the worker exits: its last append is stored by the final sweep
        proc.stopping.set()
        thread.join(timeout=10)
        assert not thread.is_alive()
        assert stored(ctr) == 21
        assert list((settings.data_dir / "spool").glob("w-*")) == []
    finally:
        proc.stopping.set()
        thread.join(timeout=10)
        proc.close()


def test_only_one_drainer_per_data_dir(ctr: Container) -> None:
    first, second = DrainProcess(ctr.settings), DrainProcess(ctr.settings)
    try:
        assert first.acquire()
        waiting = threading.Thread(target=second.acquire)
        waiting.start()
        time.sleep(0.5)
        assert waiting.is_alive()  # waits for the first to finish
        second.stopping.set()
        waiting.join(timeout=5)
        assert not waiting.is_alive()
    finally:
        first.close()
        second.close()


def test_status_is_none_before_the_first_sweep(tmp_path: Path) -> None:
    assert read_status(tmp_path) is None
