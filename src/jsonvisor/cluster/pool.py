"""The root's worker pool: a runner per slot keeps a worker in it, replacing lost ones.

Each slot's runner starts (or finds, for remote slots) a worker actor, runs a
:class:`~jsonvisor.cluster.link.Link` to it, and when the link reports the worker lost,
prepares the replay of the slot's live messages (or fails them) and starts a replacement.
A mixin of :class:`jsonvisor.cluster.core.Cluster`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Hashable
from typing import Any

import trio

from ..mailboxes import Chunk
from ..supervisor import Cancelled, Failed, Restarted
from ..supervisor.restarts import RestartBudget
from ._tractor import import_tractor, spawn_tweaks
from .errors import ClusterError, WorkerLost, WorkerUnavailable
from .link import Link
from .procwatch import kill_process
from .state import FLAG_END, Counters, Live, Options, Slot, join_chunks

__all__ = ["WorkerPool"]

_WORKER_MODULE = "jsonvisor.cluster.worker"


class WorkerPool:
    """Starting, finding, watching and replacing worker actors (a mixin of ``Cluster``)."""

    # Provided by Cluster.
    _an: Any
    _budget: RestartBudget
    _links: dict[int, Link]
    _live: dict[Hashable, Live]
    _nursery: trio.Nursery
    _remote_bad: set[str]
    _remote_in_use: set[str]
    _slots: list[Slot]
    closing: bool
    counters: Counters
    options: Options
    registry: tuple[str, int]

    async def start(self) -> None:
        """Start every slot's runner and wait until each has a ready worker."""
        async with trio.open_nursery() as starting:
            for slot in self._slots:
                ready = trio.Event()
                self._nursery.start_soon(self._run_slot, slot, ready)
                starting.start_soon(ready.wait)

    async def _run_slot(self, slot: Slot, first_ready: trio.Event) -> None:
        """Keep a worker in ``slot``: start one, replace it whenever it is lost."""
        replay: tuple[int, list[Any]] | None = None
        lost_at: float | None = None
        failures = 0
        while not self.closing:
            try:
                connect, name, pid, local = await self._acquire(slot, lost_at is not None)
            except WorkerUnavailable as exc:
                failures += 1
                self._fail_slot(slot, "unavailable", str(exc))
                replay = None
                if failures > 3 and not first_ready.is_set():
                    raise
                await trio.sleep(min(0.5 * failures, 5.0))
                continue
            slot.generation += 1
            link = Link(self, slot, connect, name=name, pid=pid, local=local, replay=replay)
            self._links[slot.index] = link
            self._nursery.start_soon(link.run, name=f"jsonvisor link {name}")
            async with trio.open_nursery() as wait:

                async def first(event: trio.Event, scope: trio.CancelScope) -> None:
                    await event.wait()
                    scope.cancel()

                wait.start_soon(first, link.ready, wait.cancel_scope)
                wait.start_soon(first, link.lost, wait.cancel_scope)
            if not link.ready.is_set():
                # It never came up: try again with the same replay; nothing was lost.
                failures += 1
                if link.local and link.pid is not None:
                    kill_process(link.pid)
                if failures > 3 and not first_ready.is_set():
                    raise WorkerUnavailable(
                        f"worker for slot {slot.index} failed to start: {link.detail}"
                    )
                await trio.sleep(min(0.2 * failures, 2.0))
                continue
            failures = 0
            self.counters.workers_started += 1
            if lost_at is not None:
                self.counters.replacements += 1
                self.counters.last_recovery = (link.ready_at or trio.current_time()) - lost_at
            first_ready.set()
            replay = None
            await link.lost.wait()
            if self.closing:
                return
            lost_at = trio.current_time()
            replay = self._handle_loss(slot, link)
            if not self._budget.allow(lost_at):
                raise ClusterError(
                    f"worker restart intensity exceeded: more than {self._budget.max_restarts} "
                    f"workers lost within {self._budget.window} s (last: {link.name} "
                    f"{link.reason}: {link.detail})"
                )

    async def _acquire(
        self, slot: Slot, replacing: bool
    ) -> tuple[Callable[[], Any], str, int | None, bool]:
        """A worker for ``slot``: ``(connect, name, pid, is_local_child)``."""
        if slot.kind == "remote":
            timeout = self.options.discovery_timeout
            if replacing and self.options.local_fallback:
                timeout = min(timeout, self.options.heartbeat_timeout)
            found = await self._find_remote(timeout)
            if found is not None:
                return found
            if not (replacing and self.options.local_fallback):
                raise WorkerUnavailable(
                    f"no free worker named {self.options.worker_name}@... in the registry "
                    f"{self.registry[0]}:{self.registry[1]} within {timeout} s"
                )
        return await self._spawn_local(slot)

    async def _spawn_local(self, slot: Slot) -> tuple[Callable[[], Any], str, int | None, bool]:
        name = f"jsonvisor-local-{slot.index}-g{slot.generation + 1}"
        options = self.options
        try:
            with trio.fail_after(options.spawn_timeout):
                with spawn_tweaks(options.import_main, options.factory_env):
                    portal = await self._an.start_actor(
                        name, enable_modules=[_WORKER_MODULE], loglevel=options.loglevel
                    )
        except trio.TooSlowError as exc:
            raise WorkerUnavailable(f"starting {name} took over {options.spawn_timeout} s") from exc
        pid = None
        with contextlib.suppress(Exception):
            pid = self._an._children[portal.channel.uid][1].pid

        @contextlib.asynccontextmanager
        async def connect() -> AsyncIterator[Any]:
            yield portal

        return connect, name, pid, True

    async def _find_remote(
        self, timeout: float
    ) -> tuple[Callable[[], Any], str, int | None, bool] | None:
        """A registered, unused worker (health-checked by the link), or None."""
        tractor = import_tractor()
        prefix = self.options.worker_name + "@"
        with trio.move_on_after(timeout):
            while True:
                try:
                    async with tractor.get_arbiter(*self.registry) as arb:
                        entries = await arb.run_from_ns("self", "get_registry")
                except (OSError, trio.BrokenResourceError, trio.ClosedResourceError):
                    entries = {}
                for key, _addr in sorted(entries.items()):
                    name, _, uuid = key.rpartition(".")
                    if not name.startswith(prefix):
                        continue
                    if uuid in self._remote_in_use or uuid in self._remote_bad:
                        continue
                    self._remote_in_use.add(uuid)  # reserved before any await
                    if not await self._reachable(tuple(_addr)):
                        self._remote_in_use.discard(uuid)
                        self._remote_bad.add(uuid)
                        await self._unregister(name, uuid)
                        continue
                    return self._remote_connect(uuid), name, None, False
                await trio.sleep(0.2)
        return None

    async def _reachable(self, addr: tuple[Any, ...]) -> bool:
        with trio.move_on_after(self.options.ping_timeout):
            try:
                stream = await trio.open_tcp_stream(addr[0], int(addr[1]))
            except OSError:
                return False
            await stream.aclose()
            return True
        return False

    async def _unregister(self, name: str, uuid: str) -> None:
        """Best effort: drop a dead worker's entry from the registry."""
        tractor = import_tractor()
        with trio.move_on_after(1.0):
            with contextlib.suppress(Exception):
                async with tractor.get_arbiter(*self.registry) as arb:
                    await arb.run_from_ns("self", "unregister_actor", uid=(name, uuid))

    def _remote_connect(self, uuid: str) -> Callable[[], Any]:
        tractor = import_tractor()
        registry = self.registry

        @contextlib.asynccontextmanager
        async def connect() -> AsyncIterator[Any]:
            try:
                async with tractor.find_actor(uuid, arbiter_sockaddr=registry) as portal:
                    if portal is None:
                        raise WorkerUnavailable(f"worker {uuid} left the registry")
                    yield portal
            finally:
                self._remote_in_use.discard(uuid)
                self._remote_bad.add(uuid)  # a lost remote worker is not picked again

        return connect

    def _handle_loss(self, slot: Slot, link: Link) -> tuple[int, list[Any]]:
        """A worker was lost: fail or prepare to replay each of its live messages."""
        c = self.counters
        c.workers_lost += 1
        if link.reason == "hung":
            c.workers_hung += 1
        limit = self.options.replay_bytes
        _, pending, flags = slot.take_batch()
        items: list[tuple[Hashable, Chunk | None, int]] = []
        for live in [lv for lv in self._live.values() if lv.slot == slot.index]:
            msg_id = live.msg_id
            live.queue = None
            queued = pending.get(msg_id)
            if queued:  # accepted by send(), never batched: count it now
                c.chunks_in += len(queued)
                size = sum(map(len, queued))
                c.bytes_in += size
                live.nbytes += size
            error = WorkerLost(msg_id, link.name, link.reason, link.detail)
            if live.cancel_requested:
                self._finish(live, Cancelled(msg_id, "cancelled"), None)
                continue
            if limit is None or live.retained is None or live.nbytes > limit:
                c.lost_messages += 1
                self._finish(live, Failed(msg_id, error), None)
                continue
            pieces = list(live.retained)
            # Did the lost worker get anything of this message (input, or its end)?
            was_sent = bool(pieces) or (live.ended and not flags.get(msg_id, 0) & FLAG_END)
            pieces.extend(queued or ())
            data = join_chunks(pieces) if pieces else None
            live.retained = [data] if data is not None else []
            if was_sent:
                live.replays += 1
                c.replayed += 1
                c.restarts += 1
                self._emit_now(live, Restarted(msg_id, live.replays, error))
            items.append((msg_id, data, FLAG_END if live.ended else 0))
        slot.unacked = len(items)
        if slot.room:
            slot.room.unpark_all()
        return len(items), items

    def _fail_slot(self, slot: Slot, reason: str, detail: str) -> None:
        """No worker for ``slot``: end its live messages with ``Failed(WorkerLost)``."""
        _, pending, _ = slot.take_batch()
        slot.unacked = 0
        c = self.counters
        for live in [lv for lv in self._live.values() if lv.slot == slot.index]:
            live.queue = None
            queued = pending.get(live.msg_id)
            if queued:
                c.chunks_in += len(queued)
                c.bytes_in += sum(map(len, queued))
            c.lost_messages += 1
            error = WorkerLost(live.msg_id, f"slot {slot.index}", reason, detail)
            self._finish(live, Failed(live.msg_id, error), None)
        if slot.room:
            slot.room.unpark_all()
