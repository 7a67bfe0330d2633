# SPDX-License-Identifier: Apache-2.0 OR MIT
"""A writer that the crash tests kill -9 at random moments.

``python tests/catalog/crash_worker.py MODE ROOT`` prints ``READY`` once set up, then works in
a loop, printing ``ACK ...`` after each operation returns (an acknowledged write), until killed.
MODE is ``commit`` (Tier 1 commits), ``checkpoint`` (a commit, then a checkpoint of it),
``append`` (Tier 2 appends) or ``compact`` (appends and compactions interleaved).
"""

from __future__ import annotations

import datetime as dt
import os
import sys

from arco_nb import ObjectStore
from arco_nb.catalog.catalog import Catalog
from arco_nb.catalog.eventlog import EventLog
from arco_nb.catalog.events import Event
from arco_nb.catalog.model import AssetDef
from arco_nb.catalog.operations import DefineAsset


def main(mode: str, root: str) -> None:
    store = ObjectStore(root)
    pid = os.getpid()
    catalog = Catalog(store)  # one writer at a time: the retry settings never come into play
    # Grace 0: every compaction collects what the one before compacted, racing the kill.
    log = EventLog(store, grace=dt.timedelta(0))
    # Warm up (imports, the current snapshot and manifest) so that kills land in the protocol,
    # not in start-up work.
    import pyarrow as pa
    import pyarrow.parquet

    pa.array([0])  # pyarrow imports pandas (when installed) on its first conversion
    assert catalog.version >= 0
    log.manifest()
    print("READY", flush=True)
    i = 0
    while True:
        i += 1
        if mode in ("commit", "checkpoint"):
            name = f"a{pid}_{i}"
            record = catalog.commit([DefineAsset(AssetDef(name, "python", code=str(i)))])
            print(f"ACK {record.version} {name}", flush=True)
            if mode == "checkpoint":
                catalog.checkpoint()
        else:
            event = Event.create("run", run_id=f"{pid}-{i}", status="queued")
            log.append(event)
            print(f"ACK {event.event_id}", flush=True)
            if mode == "compact" and i % 3 == 0:
                log.compact()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
