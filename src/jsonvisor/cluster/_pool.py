"""The root's worker pool: a runner per slot keeps a worker in it, replacing lost ones.

Each slot's runner starts (or finds, for remote slots) a worker actor, runs a
:class:`~jsonvisor.cluster._link.Link` to it, and when the link reports the worker lost,
prepares the replay of the slot's live messages (or fails them) and starts a replacement.
It works on the cluster's shared :class:`~jsonvisor.cluster._state.ClusterState`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Hashable
from typing import Any

import trio

from ..hub import Failed, Restarted
from ..mailboxes import Chunk
from ..supervisor.offload import utf8_len
from ._delivery import Delivery
from ._errors import ClusterError, WorkerLost, WorkerUnavailable
from ._link import Link
from ._live import join_chunks
from ._procwatch import kill_process
from ._slot import Slot
from ._state import ClusterState
from ._tractor import import_tractor, spawn_tweaks
from ._wire import FLAG_END

__all__ = ["WorkerPool"]

_WORKER_MODULE = "jsonvisor.cluster.worker"


class WorkerPool:
    """Starting, finding, watching and replacing worker actors.

    ``nursery`` runs the slots' runners and links; ``actor_nursery`` is tractor's, for
    the local workers.
    """

    def __init__(
        self, state: ClusterState, delivery: Delivery, nursery: trio.Nursery, actor_nursery: Any
    ) -> None:
        self.state = state
        self._delivery = delivery
        self._nursery = nursery
        self._an = actor_nursery

    async def start(self) -> None:
        """Start every slot's runner and wait until each has a ready worker."""
        async with trio.open_nursery() as starting:
            for slot in self.state.slots:
                ready = trio.Event()
                self._nursery.start_soon(self._run_slot, slot, ready)
                starting.start_soon(ready.wait)

    async def _run_slot(self, slot: Slot, first_ready: trio.Event) -> None:
        """Keep a worker in ``slot``: start one, replace it whenever it is lost."""
        replay: tuple[int, list[Any]] | None = None
        lost_at: float | None = None
        failures = 0
        state = self.state
        while not state.closing:
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
            link = Link(
                state,
                slot,
                connect,
                self._delivery.dispatch,
                name=name,
                pid=pid,
                local=local,
                replay=replay,
            )
            state.links[slot.index] = link
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
            self.state.counters.workers_started += 1
            if lost_at is not None:
                self.state.counters.replacements += 1
                self.state.counters.last_recovery = (link.ready_at or trio.current_time()) - lost_at
            first_ready.set()
            replay = None
            await link.lost.wait()
            if self.state.closing:
                return
            lost_at = trio.current_time()
            replay = self._handle_loss(slot, link)
            budget = state.budget
            if not budget.allow(lost_at):
                raise ClusterError(
                    f"worker restart intensity exceeded: more than {budget.max_restarts} "
                    f"workers lost within {budget.window} s (last: {link.name} "
                    f"{link.reason}: {link.detail})"
                )

    async def _acquire(
        self, slot: Slot, replacing: bool
    ) -> tuple[Callable[[], Any], str, int | None, bool]:
        """A worker for ``slot``: ``(connect, name, pid, is_local_child)``."""
        if slot.kind == "remote":
            timeout = self.state.settings.discovery_timeout
            if replacing and self.state.settings.local_fallback:
                timeout = min(timeout, self.state.settings.heartbeat_timeout)
            found = await self._find_remote(timeout)
            if found is not None:
                return found
            if not (replacing and self.state.settings.local_fallback):
                c = self.state.counters
                refused = f" ({c.workers_refused} refused; last: {c.last_refusal})"
                raise WorkerUnavailable(
                    f"no free worker named {self.state.settings.worker_name}@... in the registry "
                    f"{self.state.registry[0]}:{self.state.registry[1]} within {timeout} s"
                    + (refused if c.workers_refused else "")
                )
        return await self._spawn_local(slot)

    async def _spawn_local(self, slot: Slot) -> tuple[Callable[[], Any], str, int | None, bool]:
        name = f"jsonvisor-local-{slot.index}-g{slot.generation + 1}"
        options = self.state.settings
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
        prefix = self.state.settings.worker_name + "@"
        with trio.move_on_after(timeout):
            while True:
                try:
                    async with tractor.get_arbiter(*self.state.registry) as arb:
                        entries = await arb.run_from_ns("self", "get_registry")
                except (OSError, trio.BrokenResourceError, trio.ClosedResourceError):
                    entries = {}
                for key, _addr in sorted(entries.items()):
                    name, _, uuid = key.rpartition(".")
                    if not name.startswith(prefix):
                        continue
                    if uuid in self.state.remote_in_use or uuid in self.state.remote_bad:
                        continue
                    self.state.remote_in_use.add(uuid)  # reserved before any await
                    if not await self._reachable(tuple(_addr)):
                        self.state.remote_in_use.discard(uuid)
                        self.state.remote_bad.add(uuid)
                        await self._unregister(name, uuid)
                        continue
                    return self._remote_connect(uuid), name, None, False
                await trio.sleep(0.2)
        return None

    async def _reachable(self, addr: tuple[Any, ...]) -> bool:
        with trio.move_on_after(self.state.settings.ping_timeout):
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
                async with tractor.get_arbiter(*self.state.registry) as arb:
                    await arb.run_from_ns("self", "unregister_actor", uid=(name, uuid))

    def _remote_connect(self, uuid: str) -> Callable[[], Any]:
        tractor = import_tractor()
        registry = self.state.registry

        @contextlib.asynccontextmanager
        async def connect() -> AsyncIterator[Any]:
            try:
                async with tractor.find_actor(uuid, arbiter_sockaddr=registry) as portal:
                    if portal is None:
                        raise WorkerUnavailable(f"worker {uuid} left the registry")
                    yield portal
            finally:
                self.state.remote_in_use.discard(uuid)
                self.state.remote_bad.add(uuid)  # a lost remote worker is not picked again

        return connect

    def _handle_loss(self, slot: Slot, link: Link) -> tuple[int, list[Any]]:
        """A worker was lost: fail or prepare to replay each of its live messages."""
        state = self.state
        hub = state.hub
        c = state.counters
        c.workers_lost += 1
        if link.reason == "hung":
            c.workers_hung += 1
        limit = state.settings.replay_bytes
        _, pending, flags = slot.take_batch()
        items: list[tuple[Hashable, Chunk | None, int]] = []
        for live in state.live_in(slot):
            msg_id = live.msg_id
            live.queue = None
            queued = pending.get(msg_id)
            size = 0
            if queued:  # accepted by send(), never batched: count it now
                hub.chunks_in += len(queued)
                size = sum(map(utf8_len, queued))
                hub.bytes_in += size
            error = WorkerLost(msg_id, link.name, link.reason, link.detail)
            if limit is None or live.retained is None or live.retained_bytes + size > limit:
                c.lost_messages += 1
                state.finish(live, Failed(msg_id, error), None)
                continue
            pieces = live.replay_input()
            # Did the lost worker get anything of this message (input, or its end)?
            was_sent = bool(pieces) or (live.ended and not flags.get(msg_id, 0) & FLAG_END)
            pieces.extend(queued or ())
            data = join_chunks(pieces) if pieces else None
            live.retained = [data] if data is not None else []
            live.retained_bytes += size
            if was_sent:
                live.replays += 1
                c.replayed += 1
                hub.restarts += 1
                hub.emit_now(live, Restarted(msg_id, live.replays, error))
            items.append((msg_id, data, FLAG_END if live.ended else 0))
        slot.unacked = len(items)
        if slot.room:
            slot.room.unpark_all()
        return len(items), items

    def _fail_slot(self, slot: Slot, reason: str, detail: str) -> None:
        """No worker for ``slot``: end its live messages with ``Failed(WorkerLost)``."""
        state = self.state
        hub = state.hub
        _, pending, _ = slot.take_batch()
        slot.unacked = 0
        for live in state.live_in(slot):
            live.queue = None
            queued = pending.get(live.msg_id)
            if queued:
                hub.chunks_in += len(queued)
                hub.bytes_in += sum(map(len, queued))
            state.counters.lost_messages += 1
            error = WorkerLost(live.msg_id, f"slot {slot.index}", reason, detail)
            state.finish(live, Failed(live.msg_id, error), None)
        if slot.room:
            slot.room.unpark_all()
