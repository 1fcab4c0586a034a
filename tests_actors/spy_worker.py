"""A remote worker that records every byte it receives over TCP (for test_cluster_auth).

``python spy_worker.py DUMP_FILE [worker options...]`` runs ``jsonvisor worker`` with
``trio.SocketStream.receive_some`` wrapped so that everything the process reads from any
TCP connection (tractor's transport reads through it) is appended to ``DUMP_FILE``: a
test can then assert that a refused worker never received a message's text.
"""

from __future__ import annotations

import sys
from typing import Any

import trio


def main() -> int:
    dump = open(sys.argv[1], "ab", buffering=0)  # for the life of the process
    receive_some = trio.SocketStream.receive_some

    async def recording(self: Any, max_bytes: int | None = None) -> bytes:
        data = await receive_some(self, max_bytes)
        dump.write(data)
        return data

    trio.SocketStream.receive_some = recording  # type: ignore[method-assign]
    from jsonvisor.cluster.worker import main as worker_main

    return worker_main(sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
