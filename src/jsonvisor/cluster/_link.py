"""The root's end of one worker connection: a tractor context stream and its watchers.

A :class:`Link` runs in its own task.  It opens :func:`jsonvisor.cluster.worker.parse_session`
on the worker, then runs three loops until the worker is lost or the cluster closes:

* the sender pickles the slot's pending batch and sends it, whenever there is one and the
  worker has applied the previous batch (one batch in flight: while the worker works, the
  next batch grows, so batches get bigger exactly when the worker is busy);
* the receiver unpickles the worker's batches and hands them to ``dispatch`` (the
  cluster's :class:`~jsonvisor.cluster._delivery.Delivery`);
* the watchers: the worker's process (a pidfd, when the worker runs on this host), and
  the heartbeat deadline (the receiver may not wait longer than ``heartbeat_timeout``).

With a cluster key, the link first runs the key handshake (:meth:`Link._authenticate`,
:mod:`jsonvisor.cluster._auth`): nothing else, not even the session's configuration, is
sent to a worker that has not proved the key.

tractor 0.1.0a5 never fails a stream whose peer was SIGKILLed, so losing a worker is
decided here: the link records why, sets :attr:`Link.lost` and cancels its own scope.
The slot's runner starts a replacement at once; the tractor teardown of the dead
connection goes on in this task without holding anything up.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

import trio

from . import _auth
from . import _wire as wire
from ._errors import ClusterAuthError
from ._procwatch import kill_process, wait_process_exit

if TYPE_CHECKING:
    from ._eventbatch import Packed
    from ._slot import Slot
    from ._state import ClusterState

__all__ = ["Link"]


class Link:
    """One connection from the root to one worker actor (see the module docstring)."""

    def __init__(
        self,
        state: ClusterState,
        slot: Slot,
        connect: Callable[[], AbstractAsyncContextManager[Any]],
        dispatch: Callable[[Link, Packed, dict[Any, Any]], Awaitable[None]],
        *,
        name: str,
        pid: int | None,
        local: bool,
        replay: tuple[int, list[Any]] | None,
    ) -> None:
        self.state = state
        self.slot = slot
        self.connect = connect
        self.dispatch = dispatch
        self.name = name
        self.pid = pid
        self.local = local
        self.replay = replay
        self.info: dict[str, Any] = {}
        self.ready = trio.Event()
        self.lost = trio.Event()
        self.reason = ""
        self.detail = ""
        self.acked = 0  # calls the worker has applied
        self.sent = 0  # calls sent to the worker
        self._acks = trio.lowlevel.ParkingLot()
        self.waiting_since: float | None = None
        self.scope = trio.CancelScope()
        self.ready_at: float | None = None

    # ------------------------------------------------------------------ lifetime

    def gone(self) -> bool:
        """True once the worker is lost (its events still in flight are dropped)."""
        return self.lost.is_set()

    def lose(self, reason: str, detail: str = "") -> None:
        """Declare the worker lost (``"died"``, ``"hung"`` or ``"error"``); idempotent."""
        if self.lost.is_set() or self.state.closing:
            return
        self.reason = reason
        self.detail = detail
        if self.local and self.pid is not None:
            kill_process(self.pid)  # a hung local worker is killed, not left behind
        self.lost.set()
        self.scope.cancel()

    async def run(self) -> None:
        """Open the session and run until lost or cancelled (never raises ``Exception``)."""
        from .worker import parse_session, ping

        state = self.state
        options = state.settings
        with self.scope:
            try:
                async with self.connect() as portal, trio.open_nursery() as watchers:
                    watchers.start_soon(self._open_deadline, options.spawn_timeout)
                    if self.pid is not None:
                        watchers.start_soon(self._watch_process, self.pid)
                    with trio.fail_after(options.ping_timeout):
                        if options.auth_key is not None:
                            await self._authenticate(portal, options.auth_key)
                        await portal.run(ping)
                    async with portal.open_context(
                        parse_session, config=state.session_config
                    ) as (ctx, info):
                        self.info = info
                        if self.pid is None and info.get("host") == state.hostname:
                            self.pid = info.get("pid")
                            watchers.start_soon(self._watch_process, self.pid)
                        async with ctx.open_stream() as stream:
                            await self._serve(stream, watchers)
            except Exception as exc:
                if not self.lost.is_set() and not state.closing:
                    self.lose("error", f"{type(exc).__name__}: {exc}")
        if not self.lost.is_set() and not state.closing:
            self.lose("error", "the session ended")

    async def _authenticate(self, portal: Any, key: _auth.AuthKey) -> None:
        """The key handshake with the worker; a worker that fails it is refused
        (:exc:`ClusterAuthError`, counted in ``workers_refused``)."""
        from ._tractor import import_tractor
        from .worker import authenticate

        remote_error = import_tractor().RemoteActorError
        chan = portal.channel
        # A registered worker is bound to the registry address the root dialled (tractor
        # keeps it as the channel's destination); a worker spawned here has none.
        address = None if self.local else (getattr(chan, "_destaddr", None) or chan.raddr)
        try:
            challenge = _auth.Challenge(key, _auth.identity(chan.uid, address))
            async with portal.open_context(authenticate, hello=challenge.hello()) as (ctx, reply):
                proof = challenge.verify(reply)
                async with ctx.open_stream() as stream:
                    await stream.send(proof)
                    verdict = await stream.receive()  # True: the worker accepted our proof
                if verdict is not True:
                    raise ClusterAuthError(f"it refused the root's proof: {verdict}")
        except (ClusterAuthError, remote_error) as exc:
            if isinstance(exc, ClusterAuthError):
                reason = str(exc)
            else:  # the worker refused (or has no key, or predates the handshake)
                lines = str(exc.msgdata.get("tb_str", "")).strip().splitlines()
                reason = f"it refused: {lines[-1] if lines else exc}"
            c = self.state.counters
            c.workers_refused += 1
            c.last_refusal = f"worker {self.name} failed the key handshake: {reason}"
            raise ClusterAuthError(c.last_refusal) from None

    async def _open_deadline(self, timeout: float) -> None:
        await trio.sleep(timeout)
        if not self.ready.is_set():
            self.lose("error", f"the session did not open within {timeout} s")

    async def _serve(self, stream: Any, watchers: trio.Nursery) -> None:
        self.waiting_since = trio.current_time()
        watchers.start_soon(self._watch_heartbeat)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._receive_loop, stream)
            if self.replay is not None:
                count, items = self.replay
                self.replay = None
                await self._send_blob(stream, wire.dumps((count, items)), count)
            self.ready_at = trio.current_time()
            self.ready.set()
            await self._send_loop(stream)

    # ------------------------------------------------------------------ watchers

    async def _watch_process(self, pid: int) -> None:
        await wait_process_exit(pid)
        self.lose("died", f"process {pid} exited")

    async def _watch_heartbeat(self) -> None:
        timeout = self.state.settings.heartbeat_timeout
        while True:
            await trio.sleep(min(timeout / 4, 0.25))
            since = self.waiting_since
            if since is not None and trio.current_time() - since > timeout:
                self.lose("hung", f"no batch or heartbeat for {timeout} s")
                return

    # ------------------------------------------------------------------ data

    async def _send_loop(self, stream: Any) -> None:
        slot = self.slot
        state = self.state
        interval = state.settings.flush_interval
        while True:
            await slot.wait_work()
            while self.acked < self.sent:  # the previous batch is not applied yet
                await self._acks.park()
            if interval:
                await trio.sleep(interval)
            else:
                await trio.lowlevel.checkpoint()  # let producers add to the batch
            flag_calls, pending, flags = slot.take_batch()
            if not pending and not flags:
                continue
            t0 = time.perf_counter()
            count, items = state.batch_items(flag_calls, pending, flags)
            blob = wire.dumps((count, items))
            state.counters.ipc_ops_out += len(items)
            await self._send_blob(stream, blob, count, t0)

    async def _send_blob(
        self, stream: Any, blob: bytes, count: int, t0: float | None = None
    ) -> None:
        if t0 is None:
            t0 = time.perf_counter()
        self.sent += count
        await stream.send(wire.wrap(blob))
        c = self.state.counters
        c.ipc_batches_out += 1
        c.ipc_bytes_out += len(blob)
        c.ipc_send_seconds += time.perf_counter() - t0

    async def _receive_loop(self, stream: Any) -> None:
        state = self.state
        slot = self.slot
        trusted = state.settings.trusted
        c = state.counters
        current_time = trio.current_time
        while True:
            self.waiting_since = current_time()
            try:
                blob = wire.unwrap(await stream.receive())
            except (trio.EndOfChannel, StopAsyncIteration):
                self.lose("error", "the worker closed its stream")
                return
            self.waiting_since = None
            t0 = time.perf_counter()
            acked, packed, results, stats = wire.loads(blob, trusted)
            c.ipc_batches_in += 1
            c.ipc_bytes_in += len(blob)
            if stats is not None:
                slot.last_stats = stats
            if acked != self.acked:
                slot.unacked -= acked - self.acked
                self.acked = acked
                if self._acks:
                    self._acks.unpark_all()
                if slot.room:
                    slot.room.unpark_all()
            if packed is not None:
                c.ipc_items_in += len(packed[0]) + len(packed[3]) + len(results)
                await self.dispatch(self, packed, results)
            c.ipc_recv_seconds += time.perf_counter() - t0
