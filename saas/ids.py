"""Application-generated 63-bit ids.

Tenant-owned tables have `(tenant_id, id)` primary keys, which SQLite cannot autoincrement and a
distributed PostgreSQL should not serialise through one sequence, so ids are made here: milliseconds
since 2025-01-01 (41 bits), a random per-process node (12 bits) and a per-millisecond sequence
(10 bits). They sort by creation time, which keyset paging uses.
"""

from __future__ import annotations

import os
import secrets
import threading
import time

_EPOCH_MS = 1_735_689_600_000  # 2025-01-01T00:00:00Z
_NODE_BITS = 12
_SEQ_BITS = 10
_lock = threading.Lock()
_state = {"pid": None, "node": 0, "last_ms": -1, "seq": 0}


def new_id() -> int:
    with _lock:
        if _state["pid"] != os.getpid():  # a forked worker must not share its parent's node
            _state.update(pid=os.getpid(), node=secrets.randbits(_NODE_BITS), last_ms=-1, seq=0)
        now = time.time_ns() // 1_000_000 - _EPOCH_MS
        if now < _state["last_ms"]:
            now = _state["last_ms"]  # the clock stepped back: stay monotonic
        if now == _state["last_ms"]:
            _state["seq"] = (_state["seq"] + 1) & ((1 << _SEQ_BITS) - 1)
            if _state["seq"] == 0:
                now += 1  # sequence exhausted for this millisecond: borrow the next one
        else:
            _state["seq"] = 0
        _state["last_ms"] = now
        return compose_id(now, _state["node"], _state["seq"])


SEQ_LIMIT = 1 << _SEQ_BITS


def compose_id(ms_since_epoch: int, node: int, seq: int) -> int:
    """The id of (milliseconds since 2025-01-01, node, sequence): the layout every id has (bulk loaders use it)."""
    return (ms_since_epoch << (_NODE_BITS + _SEQ_BITS)) | (node << _SEQ_BITS) | seq


def ms_since_epoch(unix_ms: int) -> int:
    return unix_ms - _EPOCH_MS
