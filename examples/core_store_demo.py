# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Tour of Arco's storage core against ./.arco (what `make demo` runs until the flow lands).

It opens the demo tenant's workspace, appends a commit record with put-if-absent exactly as the
catalog will, shows a losing writer being refused, streams a file, lists what is stored, and
shows a path-traversal attempt bounce off the tenant scope.
"""

from __future__ import annotations

import json
import sys
import threading
import time

import arco_nb as arco
from arco_nb.core.ids import canonical_json, content_id, new_id


def main(root: str = "./.arco") -> int:
    # Its own workspace: the records it races for are not real catalog commits.
    scope = arco.TenantScope.from_env(root, tenant="demo", workspace="storage-tour")
    store = scope.store()
    print(f"Arco {arco.__version__} core demo")
    print(f"  workspace : tenant={scope.tenant} workspace={scope.workspace}")
    print(f"  stored at : {scope.url}")

    # Find the next free log version, then race 8 writers for it: exactly one wins.
    versions = [int(k.rsplit("/", 1)[-1].split(".")[0]) for k in store.list("catalog/_log")]
    version = max(versions, default=0) + 1
    key = f"catalog/_log/{version:020d}.json"
    winners: list[str] = []
    losers: list[str] = []
    barrier = threading.Barrier(8)

    def commit(writer: int) -> None:
        record = {"version": version, "commit_id": new_id(), "author": f"writer-{writer}"}
        barrier.wait()
        try:
            store.put_if_absent(key, canonical_json(record))
            winners.append(record["author"])  # type: ignore[arg-type]
        except arco.AlreadyExists:
            losers.append(f"writer-{writer}")

    threads = [threading.Thread(target=commit, args=(i,)) for i in range(8)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = (time.perf_counter() - started) * 1000
    print(f"\n8 writers raced for {key} in {elapsed:.1f} ms")
    print(f"  won  : {winners}")
    print(f"  lost : {len(losers)} writers got AlreadyExists")
    print(f"  log  : {json.loads(store.read(key))}")

    # An event with a deterministic id: writing it twice stores it once.
    event = {"kind": "demo.ran", "version": version}
    event_key = f"events/inbox/{time.strftime('%Y-%m-%d')}/{content_id(event)}.json"
    for _ in range(2):
        try:
            store.put_if_absent(event_key, canonical_json(event))
        except arco.AlreadyExists:
            print(f"\nreplayed event deduplicated: {event_key}")

    # Streamed write: invisible until closed, then complete.
    data_key = f"data/demo/_/{new_id()}.bin"
    with store.open(data_key, "wb") as f:
        for chunk in range(4):
            f.write(bytes([chunk]) * 1024)
    print(f"streamed {len(store.read(data_key))} bytes to {data_key}")

    try:
        store.read("../../globex/workspaces/default/catalog/_log/00000000000000000001.json")
    except arco.TenantViolation as exc:
        print(f"\ntraversal refused: {exc}")

    keys = store.list()
    print(f"\n{len(keys)} objects in the workspace; the newest five:")
    for k in keys[-5:]:
        print(f"  {k}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
