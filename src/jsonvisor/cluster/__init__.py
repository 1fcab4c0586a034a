"""Parse workers as tractor actors: every core, then more machines.

``open_cluster(workers=N)`` has the interface of ``open_supervisor`` (the same options, the
same ``jsonvisor.hub.FrontEnd``, the same message hub underneath): a root shards
message IDs over N worker actors by a stable hash, each worker runs an ordinary
supervisor, and chunks and events travel over tractor streams in batches.  Workers on
other hosts join through tractor's registry (``jsonvisor worker --registry HOST:PORT``).
A worker that dies or stops answering is replaced and its live messages are replayed
from the root's copy of their input (or end with ``Failed(WorkerLost)``).

Needs the optional ``actors`` extra: tractor 0.1.0a5 (AGPL-3.0), which runs on trio
0.23.x only.  Importing this package does not import tractor; ``open_cluster`` does.
See docs/cluster.md (and docs/cluster-trust.md for remote workers).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._errors import ClusterAuthError, ClusterError, WorkerLost, WorkerUnavailable
from ._routing import shard, stable_hash
from ._stats import ClusterStats, WorkerInfo

if TYPE_CHECKING:
    from ._cluster import Cluster, open_cluster

__all__ = [
    "Cluster",
    "ClusterAuthError",
    "ClusterError",
    "ClusterStats",
    "WorkerInfo",
    "WorkerLost",
    "WorkerUnavailable",
    "open_cluster",
    "shard",
    "stable_hash",
]


def __getattr__(name: str) -> Any:
    # tractor is imported only when the cluster is actually used.
    if name in ("Cluster", "open_cluster"):
        from . import _cluster

        return getattr(_cluster, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
