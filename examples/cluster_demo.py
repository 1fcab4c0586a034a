"""Parse many streams on worker actors, kill one worker mid-stream, and lose nothing.

Needs the actors extra (tractor 0.1.0a5 on trio 0.23.x):

    scripts/actors_env.sh --co -q >/dev/null      # builds .venv-actors once
    .venv-actors/bin/python examples/cluster_demo.py
"""

from __future__ import annotations

import json
import os
import signal

import trio

from jsonvisor.cluster import open_cluster
from jsonvisor.supervisor import Completed, Failed, Restarted


def document(i: int) -> str:
    return json.dumps({"id": i, "title": f"answer {i}", "tags": ["llm"] * (i % 5), "ok": True})


async def main() -> None:
    docs = {f"stream-{i}": document(i) for i in range(12)}
    async with open_cluster(workers=2, heartbeat_timeout=2.0) as cluster:
        print("workers:", [(w.name, w.pid) for w in cluster.stats().per_worker])
        victim = cluster.stats().per_worker[0]
        finished = 0
        async with trio.open_nursery() as nursery:

            async def watch() -> None:
                nonlocal finished
                async for event in cluster.events():
                    if isinstance(event, Restarted):
                        print(f"  {event.msg_id}: replayed on a new worker ({event.error})")
                    elif isinstance(event, (Completed, Failed)):
                        finished += 1
                        print(f"  {event.msg_id}: {type(event).__name__}")
                        if finished == len(docs):
                            return

            nursery.start_soon(watch)
            longest = max(map(len, docs.values()))
            for pos in range(0, longest, 4):  # token-sized pieces, all streams interleaved
                for msg_id, text in docs.items():
                    if pos < len(text):
                        await cluster.send(msg_id, text[pos : pos + 4])
                if pos == 40:
                    print(f"kill -9 {victim.name} (pid {victim.pid})")
                    os.kill(victim.pid, signal.SIGKILL)
                await trio.sleep(0.01)
            for msg_id in docs:
                await cluster.end(msg_id)
        for msg_id, text in docs.items():
            assert (await cluster.result(msg_id)).value == json.loads(text)
        stats = cluster.stats()
        print(
            f"all {len(docs)} values correct; workers lost {stats.workers_lost}, "
            f"replaced {stats.replacements}, messages replayed {stats.messages_replayed}, "
            f"recovered in {stats.last_recovery * 1000:.0f} ms"
        )


if __name__ == "__main__":
    trio.run(main)
