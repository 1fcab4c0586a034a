"""Multi-core offload: big documents parsed in worker processes while the loop stays live.

Several large JSON documents arrive at once, each as one chunk (a tool result, a bulk
export).  The supervisor parses them ``inline`` (sliced, in the event loop), in a
``thread``, or in ``trio-parallel`` worker ``process``es; a heartbeat task measures how long
the event loop is ever kept from running.  Every mode gives identical values; the printout
shows the cost of each (see docs/supervisor.md, "Offload and responsiveness", for why
``inline`` is the default).

Run: ``python examples/offload_demo.py`` (needs the ``parallel`` extra for process mode).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from docs import llm_document
from jsonvisor.supervisor import open_supervisor


async def heartbeat(worst: list[float], period: float = 0.002) -> None:
    """Record the worst delay between ticks of a 2 ms heartbeat."""
    while True:
        before = trio.current_time()
        await trio.sleep(period)
        worst[0] = max(worst[0], trio.current_time() - before - period)


async def run(mode: str, docs: dict[str, str]) -> tuple[float, float, dict[str, object]]:
    worst = [0.0]
    values: dict[str, object] = {}
    async with trio.open_nursery() as nursery:
        nursery.start_soon(heartbeat, worst)
        start = time.perf_counter()
        async with open_supervisor(offload=mode, offload_threshold=256 * 1024, fan_in=False) as sup:
            async with trio.open_nursery() as senders:
                for msg_id, doc in docs.items():

                    async def one(msg_id: str = msg_id, doc: str = doc) -> None:
                        await sup.send(msg_id, doc)
                        await sup.end(msg_id)
                        values[msg_id] = (await sup.result(msg_id)).value

                    senders.start_soon(one)
        elapsed = time.perf_counter() - start
        nursery.cancel_scope.cancel()
    return elapsed, worst[0], values


async def main() -> None:
    # Made here, not at import: trio-parallel's workers re-import this module.
    docs = {f"export-{i}": llm_document(1_000_000, seed=i) for i in range(3)}
    size = sum(len(d) for d in docs.values()) / 1e6
    print(f"{len(docs)} documents, {size:.1f} MB in all, each arriving as one chunk")
    reference = {k: json.loads(v) for k, v in docs.items()}
    for mode in ("inline", "thread", "process"):
        elapsed, worst, values = await run(mode, docs)
        same = values == reference
        print(
            f"{mode:>8}: {elapsed * 1e3:7.0f} ms, worst loop lag {worst * 1e3:6.1f} ms, "
            f"values identical: {same}"
        )


if __name__ == "__main__":  # trio-parallel's worker processes re-import this module
    trio.run(main)
