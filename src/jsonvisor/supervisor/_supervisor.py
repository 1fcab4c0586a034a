"""The supervisor: one task per message, fed from its mailbox, restarted when it crashes.

:func:`open_supervisor` opens a task group and yields a :class:`Supervisor`: the front end
that feeds a ``jsonvisor.hub.MessageHub`` (events, subscriptions, results, dead
letters) from local parser tasks.  It runs under
trio (the first-class backend) and under asyncio, directly or through AnyIO: task groups,
cancel scopes, sleeps and worker threads are AnyIO's, and the waiting on the hot paths is
:mod:`jsonvisor.mailboxes.lowlevel`'s (``trio.lowlevel`` itself on trio, and a trio nursery
for the message tasks: see there).  The first chunk
sent for a message ID opens that message: a bounded mailbox (:mod:`jsonvisor.mailboxes`)
and a task in the supervisor's task group that owns the message's parser.  The task sleeps
until chunks are queued, takes *all* of them, feeds their concatenation to the parser in
one step (in slices, or offloaded, if it is large) and delivers the resulting events to
the fan-in (:meth:`Supervisor.events`) and to the message's subscribers.  After
:meth:`Supervisor.end` it finishes the parser and emits the terminal event.

Every message ends with exactly one terminal event (``Completed``, ``Failed``, ``Expired``
or ``Cancelled``), after which its mailbox is closed and removed, its queued chunks become
dead letters, and its ID is remembered so later chunks become dead letters too.

The supervisor knows nothing of JSON: it calls the parser's ``feed``, ``finish`` and
``snapshot`` and tells bad input (``JsonStreamError``, never retried) from a crash (any
other exception: restart with a fresh parser and replay the message's input, after a
back-off once crashes follow each other) and from a factory that cannot make a parser
(a configuration error: the message fails at once, see :exc:`ParserFactoryError`).
"""

from __future__ import annotations

import dataclasses
import heapq
import math
import pickle
import sys
import time
from collections.abc import AsyncIterator, Callable, Hashable, Iterable
from contextlib import asynccontextmanager
from typing import Any

import anyio

from ..hub import (
    DEFAULTS,
    SCHEDULE_INTERVAL,
    Cancelled,
    Completed,
    EventQueue,
    Expired,
    Failed,
    FanIn,
    HubFrontEnd,
    MessageEvent,
    MessageHub,
    MessageRecord,
    ModelValidationError,
    OffloadMode,
    Options,
    Outcome,
    OverflowPolicy,
    RestartBudget,
    Restarted,
    SupervisorEvent,
    TerminalEvent,
    WatchEvent,
    as_chunk,
    options_from,
)
from ..mailboxes import Chunk, DeadLetter, Mailbox, MailboxFull
from ..mailboxes.lowlevel import (
    BusyResourceError,
    ClosedResourceError,
    Hub,
    Token,
    current_hub,
)
from ..mailboxes.pacing import Pacer, current_pacer
from ..parsers import Event, JsonStreamError, ParseResult
from ._errors import ParserCrashed, ParserFactoryError, RestartIntensityExceeded
from ._factory import Parser, ParserFactory, ParserSpec, as_factory, describe, missing_methods
from ._stats import SupervisorStats
from .offload import (
    broken_worker_errors,
    check_process_offload,
    feed_in_process,
    gc_deferred,
    run_in_process,
    run_in_thread,
    split,
    utf8_len,
    young_collection,
)

if sys.version_info < (3, 11):  # pragma: no cover
    from exceptiongroup import BaseExceptionGroup

__all__ = ["Supervisor", "open_supervisor"]

_now = time.perf_counter
_EMIT_BATCH = 4096  # events delivered in one step at most


def _schema_outcome(
    msg_id: Hashable, result: ParseResult
) -> tuple[ParseResult, Any, Exception | None]:
    """The result (its ``model`` None if the value did not validate), the model and the
    validation error, from a parser's final result."""
    warnings_ = result.warnings
    if not warnings_:
        return result, result.model, None
    problems = [w for w in warnings_ if getattr(w, "kind", None) == "validation"]
    if not problems:
        return result, result.model, None
    if result.model is not None:
        result = dataclasses.replace(result, model=None)
    return result, None, ModelValidationError(msg_id, problems)


def _coalesce(chunks: list[Chunk]) -> list[Chunk]:
    """Join queued chunks into as few pieces as their types allow (usually one)."""
    if len(chunks) == 1:
        return chunks
    cls = chunks[0].__class__
    for chunk in chunks:
        if chunk.__class__ is not cls:
            break
    else:
        return ["".join(chunks)] if cls is str else [b"".join(chunks)]  # type: ignore[arg-type]
    runs: list[Chunk] = []
    run: list[Any] = []
    for chunk in chunks:
        if run and chunk.__class__ is not run[0].__class__:
            runs.append(run[0][:0].join(run))
            run = []
        run.append(chunk)
    runs.append(run[0][:0].join(run))
    return runs


class _MessageFailed(Exception):
    """Internal: the message ends with ``Failed(error)``."""

    def __init__(self, error: Exception) -> None:
        super().__init__(error)
        self.error = error


class _Aborted(BaseException):
    """Internal: raised in a message's task to end it as its ``abort_with`` says.

    A BaseException, so that no ``except Exception`` on the way (crash handling) stops it.
    """


class _Message(MessageRecord):
    """The supervisor's record of one open message (kept in ``Mailbox.owner`` and in the
    hub's ``open``); ``jsonvisor.hub.MessageRecord`` holds its subscribers and its
    replay buffer (the input fed so far).

    There is deliberately no cancel scope per message (a scope costs about 800 bytes):
    a message is ended early by setting ``abort_with`` and waking its task with
    :class:`_Aborted` from whatever it is blocked on (``blocked_on``: its mailbox, an event
    queue or the pacer's line -- then ``waiter`` is its wake-up token there --, or the
    cancel scope of an offloaded feed or a restart's back-off).
    """

    __slots__ = (
        "abort_with",
        "blocked_on",
        "budget",
        "busy",
        "crashes",
        "mailbox",
        "no_offload",
        "parser",
        "restarts",
        "streak",
        "turn_started",
        "waiter",
        "waits",
        "watcher",
    )

    def __init__(self, msg_id: Hashable, mailbox: Mailbox) -> None:
        super().__init__(msg_id)
        self.mailbox = mailbox
        self.waiter: Token | None = None
        self.blocked_on: object = None
        self.waits = 0  # how many times it has waited for input (for idle expiry)
        self.parser: Parser | None = None
        self.watcher: Any = None  # a Watcher of the watched paths (open_supervisor(watch=))
        self.budget: RestartBudget | None = None
        self.restarts = 0
        self.crashes = 0
        self.streak = 0  # crashes since the parser last took input without one
        self.abort_with: Outcome | None = None
        self.busy = False
        self.no_offload = False
        self.turn_started = 0.0  # when its current turn of work began (for the pacer)


class Supervisor(HubFrontEnd):
    """Per-message mailboxes and parser tasks, fanned in.  Made by :func:`open_supervisor`.

    A ``jsonvisor.hub.FrontEnd``, like ``Cluster`` (the methods that only delegate to the
    message hub are ``jsonvisor.hub.HubFrontEnd``'s, shared with it).  Message IDs are any
    hashable values.  All methods must be called from the event-loop thread that runs the
    supervisor (trio's or asyncio's).
    """

    def __init__(
        self,
        task_group: Any,
        parser: ParserFactory,
        backend: Hub,
        options: Options,
        on_dead_letter: Callable[[DeadLetter], object] | None = None,
    ) -> None:
        self._task_group = task_group
        self._factory = parser
        self._parser_types: set[type] = set()  # classes the factory made that are parsers
        self._backend = backend
        self.options = options
        # Where every message goes on its way to the user: events, subscriptions,
        # results, terminal accounting, dead letters, the memory of finished IDs.
        self._hub = hub = MessageHub(
            backend,
            fan_in=options.fan_in,
            events_buffer=options.events_buffer,
            keep_results=options.keep_results,
            remember_finished=options.remember_finished,
            on_dead_letter=on_dead_letter,
        )
        self._open: dict[Hashable, _Message] = hub.open  # the hot path reads it directly
        # The loop's budget of work per scheduler round, shared with every other paced
        # task (see jsonvisor.mailboxes.pacing): a message takes its turn through it.
        self._pacer: Pacer = current_pacer(backend)
        self._checkpoint = backend.checkpoint
        self._checkpoint_if_cancelled = backend.checkpoint_if_cancelled
        self._cancel_shielded_checkpoint = backend.cancel_shielded_checkpoint
        self._mailbox_size = options.mailbox_size
        self._mailbox_bytes = options.mailbox_bytes
        self._overflow = options.overflow
        self._offload = options.offload
        self._offload_threshold = options.offload_threshold
        self._slice_size = options.slice_size
        self._idle_timeout = options.idle_timeout
        self._ttl = options.ttl
        self._max_restarts = options.max_restarts
        self._restart_window = options.restart_window
        self._restart_backoff = options.restart_backoff
        self._max_restart_backoff = options.max_restart_backoff
        self._total_budget = RestartBudget(
            options.max_total_restarts, options.total_restart_window
        )
        self._max_bytes = options.max_bytes
        self._allow_partial = options.allow_partial
        self._defer_gc = options.defer_gc
        # open_supervisor(watch=...): a Watcher to copy per parser options (its schema)
        self._watch = options.watch_spec
        self._watchers: dict[Any, Any] = {}
        self._escalated = False
        # Idle and ttl deadlines: a heap of (deadline, seq, message, wait number or -1 for
        # ttl), served by one reaper task (no timer per message).
        self._timers: list[tuple[float, int, _Message, int]] = []
        self._timer_seq = 0
        self._reaper_scope: anyio.CancelScope | None = None
        self._last_schedule = _now()
        # The supervisor's own counters (the hub keeps the messages', see SupervisorStats).
        self._crashes = 0
        self._errors = 0
        self._offloaded = 0

    # ================================================================== producers

    async def send(self, msg_id: Hashable, chunk: Chunk) -> None:
        """Route ``chunk`` to message ``msg_id``; the first chunk of an ID opens it.

        When the mailbox is full, the overflow policy applies: ``"block"`` waits for room
        (this is the backpressure: a producer can never be more than ``mailbox_size``
        chunks, or ``mailbox_bytes``, ahead of a message's parser).  A chunk for a
        message that has ended or finished becomes a dead letter.

        Always a cancellation point; a schedule point when it waits, and otherwise once
        ``SCHEDULE_INTERVAL`` (5 ms) has passed since the last one: a trip through the
        scheduler per chunk would cost more than all the rest of the work, and handing
        over a few milliseconds' worth of chunks at a time lets each parser take several
        in one step.  If cancelled, the chunk was not sent.

        Raises :class:`~jsonvisor.mailboxes.ClosedResourceError` (both
        ``trio.ClosedResourceError`` and ``anyio.ClosedResourceError``) once the
        supervisor is closing, or for a new message after :meth:`close_input`.
        """
        await self._checkpoint_if_cancelled()
        if not self._deliver(msg_id, chunk):
            await self._send_blocking(msg_id, chunk)
            self._last_schedule = _now()
        elif _now() - self._last_schedule >= SCHEDULE_INTERVAL:
            await self._cancel_shielded_checkpoint()
            self._last_schedule = _now()

    def end_nowait(self, msg_id: Hashable) -> None:
        """:meth:`end` without a checkpoint."""
        hub = self._hub
        if hub.closed:
            raise ClosedResourceError("the supervisor is closed")
        msg = self._open.get(msg_id)
        if msg is None:
            if msg_id in hub.finished:
                return
            msg = self._open_message(msg_id)
        msg.mailbox.end()

    def cancel(self, msg_id: Hashable) -> bool:
        """Cancel message ``msg_id`` now; it ends with ``Cancelled(msg_id, "cancelled")``.

        A control message: it takes effect even if the mailbox is full or the parser is
        busy (offloaded work is abandoned or killed).  Queued and later chunks become dead
        letters.  Returns False if the message is not open or is already ending
        abnormally.
        """
        msg = self._open.get(msg_id)
        if msg is None or msg.abort_with is not None:
            return False
        self._abort(msg, Cancelled(msg_id, "cancelled"))
        return True

    # ================================================================== consumers

    def snapshot(self, msg_id: Hashable) -> Any:
        """The live partial value of open message ``msg_id`` (the parser's ``snapshot()``).

        Raises ``KeyError`` if the message is not open,
        :class:`~jsonvisor.mailboxes.BusyResourceError` (trio's and AnyIO's) while its
        input is being parsed in a worker thread or process.
        """
        msg = self._open.get(msg_id)
        if msg is None:
            raise KeyError(msg_id)
        if msg.busy:
            raise BusyResourceError(f"message {msg_id!r} is being parsed off the loop")
        return None if msg.parser is None else msg.parser.snapshot()

    def stats(self) -> SupervisorStats:
        """A snapshot of the counters (see :class:`SupervisorStats`)."""
        hub = self._hub
        return SupervisorStats(
            open_mailboxes=len(self._open),
            queued_chunks=sum(len(m.mailbox.chunks) for m in self._open.values()),
            messages_started=hub.started,
            messages_completed=hub.completed,
            messages_failed=hub.failed,
            messages_expired=hub.expired,
            messages_cancelled=hub.cancelled,
            chunks_in=hub.chunks_in,
            bytes_in=hub.bytes_in,
            events_out=hub.events_out,
            restarts=hub.restarts,
            crashes=self._crashes,
            errors=self._errors,
            dead_letters=hub.dead.total,
            offloaded=self._offloaded,
        )

    # ================================================================== routing

    def _deliver(self, msg_id: Hashable, chunk: Chunk) -> bool:
        """Route one chunk without waiting; False if it must wait for room (block)."""
        cls = chunk.__class__
        if cls is str or cls is bytes:
            msg = self._open.get(msg_id)
            if msg is not None and msg.mailbox.put_nowait(chunk):
                self._hub.chunks_in += 1
                return True
        else:
            chunk = as_chunk(chunk)
        return self._deliver_slow(msg_id, chunk)

    def _deliver_slow(self, msg_id: Hashable, chunk: Chunk) -> bool:
        hub = self._hub
        if hub.closed:
            raise ClosedResourceError("the supervisor is closed")
        msg = self._open.get(msg_id)
        if msg is None:
            if msg_id in hub.finished:
                hub.dead.add(msg_id, chunk, "finished")
                return True
            msg = self._open_message(msg_id)
        elif msg.mailbox.ended:
            hub.dead.add(msg_id, chunk, "ended")
            return True
        mailbox = msg.mailbox
        if mailbox.put_nowait(chunk):
            hub.chunks_in += 1
            return True
        policy = self._overflow
        if policy == "block":
            return False
        error = MailboxFull(msg_id, mailbox.capacity, mailbox.max_queued)
        if policy == "raise":
            raise error
        hub.dead.add(msg_id, chunk, "overflow")
        self._abort(msg, Failed(msg_id, error))
        return True

    async def _send_blocking(self, msg_id: Hashable, chunk: Chunk) -> None:
        hub = self._hub
        while True:
            msg = self._open.get(msg_id)
            if msg is None or msg.mailbox.ended or msg.mailbox.fits(len(chunk)):
                if self._deliver(msg_id, chunk):
                    return
                continue
            if hub.fan_in_stuck():
                await hub.unstick_fan_in()
                continue
            await msg.mailbox.wait_room()

    def _open_message(self, msg_id: Hashable) -> _Message:
        """A new message: its mailbox, its record in the hub, its task."""
        mailbox = Mailbox(
            msg_id, self._mailbox_size, self._mailbox_bytes, self._backend, self._pacer
        )
        msg = _Message(msg_id, mailbox)
        mailbox.owner = msg
        self._hub.open_message(msg)  # (refused after close_input())
        if self._ttl is not None:
            self._add_timer(self._backend.current_time() + self._ttl, msg, -1)
        self._task_group.start_soon(
            self._run_message, msg, name=f"jsonvisor message {msg_id!r}"
        )
        return msg

    def _abort(self, msg: _Message, terminal: TerminalEvent) -> None:
        """End ``msg`` abnormally with ``terminal``: no more input, interrupt its task.

        A blocked task is woken with :class:`_Aborted` (or its offload scope cancelled);
        a running or runnable one sees ``abort_with`` at its next pause.
        """
        msg.abort_with = Outcome(terminal, None)
        mailbox = msg.mailbox
        mailbox.ended = True
        blocked = msg.blocked_on
        if blocked is None:
            return
        if blocked is mailbox:
            mailbox.interrupt(_Aborted())
        elif blocked is self._pacer:
            self._pacer.interrupt(msg.waiter, _Aborted())  # (False if already let in)
        elif isinstance(blocked, EventQueue):
            blocked.interrupt(msg.waiter, _Aborted())
        elif isinstance(blocked, anyio.CancelScope):
            blocked.cancel()

    # ================================================================== timers

    def _add_timer(self, deadline: float, msg: _Message, wait: int) -> None:
        timers = self._timers
        self._timer_seq += 1
        heapq.heappush(timers, (deadline, self._timer_seq, msg, wait))
        if len(timers) > 2 * len(self._open) + 64:
            # Drop the entries of finished messages and of idle waits that ended.
            timers[:] = [t for t in timers if self._timer_live(t[2], t[3])]
            heapq.heapify(timers)
        scope = self._reaper_scope
        if scope is not None and deadline < scope.deadline:
            scope.deadline = deadline

    @staticmethod
    def _timer_live(msg: _Message, wait: int) -> bool:
        return not msg.mailbox.closed and (wait < 0 or wait == msg.waits)

    async def _reap(self) -> None:
        """Expire messages whose idle or ttl deadline has passed (one task for all)."""
        timers = self._timers
        while True:
            with anyio.CancelScope(deadline=timers[0][0] if timers else math.inf) as scope:
                self._reaper_scope = scope
                await anyio.sleep_forever()
            self._reaper_scope = None
            now = self._backend.current_time()
            while timers and timers[0][0] <= now:
                _, _, msg, wait = heapq.heappop(timers)
                if msg.mailbox.closed or msg.abort_with is not None:
                    continue
                if wait < 0:
                    self._abort(msg, Expired(msg.msg_id, "ttl"))
                elif wait == msg.waits and msg.blocked_on is msg.mailbox:
                    mailbox = msg.mailbox
                    if not mailbox.chunks and not mailbox.ended:
                        self._abort(msg, Expired(msg.msg_id, "idle"))

    # ================================================================== message tasks

    async def _run_message(self, msg: _Message) -> None:
        """The life of one message, from its first chunk (or end) to its terminal event.

        One coroutine frame for the whole life (no helper coroutine while it waits for
        input) and no cancel scope: an idle open message costs as little as a task can.
        """
        outcome: Outcome | None = None
        mailbox = msg.mailbox
        idle = self._idle_timeout
        pacer = self._pacer
        msg.turn_started = _now()
        try:
            try:
                if msg.abort_with is None:
                    try:
                        msg.parser = self._make_parser(msg)
                    except _MessageFailed:
                        raise
                    except Exception as exc:
                        await self._restart(msg, exc)
                    pacer.add_since(msg.turn_started, 0)  # making the parser was work too
                first = True
                while True:
                    if not mailbox.chunks and not mailbox.ended:
                        msg.waits += 1
                        if idle is not None:
                            self._add_timer(self._backend.current_time() + idle, msg, msg.waits)
                        msg.blocked_on = mailbox
                        try:
                            await mailbox.input_waiter()
                        except BaseException:
                            self._leave_line(mailbox)
                            raise
                        msg.blocked_on = None
                        token = mailbox.paced
                        if token is not None:  # woken on its turn (see Mailbox.pacer)
                            mailbox.paced = None
                            pacer.resumed(token)
                        elif not pacer.ready() and msg.abort_with is None:
                            await self._turn(msg)  # the round's budget is spent: wait
                    else:
                        if not first and pacer.ready():
                            await self._checkpoint()  # more work already: others first
                        if not pacer.ready() and msg.abort_with is None:
                            await self._turn(msg)  # the round's budget is spent: wait
                    first = False
                    if msg.abort_with is not None:
                        break
                    msg.turn_started = _now()
                    chunks = mailbox.take_all()
                    if chunks:
                        for data in _coalesce(chunks):
                            await self._feed(msg, data)
                    if mailbox.ended and not mailbox.chunks:
                        outcome = await self._finish(msg)
                        pacer.add_since(msg.turn_started)
                        break
                    pacer.add_since(msg.turn_started)
            except _MessageFailed as failure:
                outcome = Outcome(Failed(msg.msg_id, failure.error), None)
            except _Aborted:
                pass
            if msg.abort_with is not None:
                # cancel(), overflow="drop" or an expiry decided the end: it wins.
                outcome = msg.abort_with
        except Exception as exc:
            # RestartIntensityExceeded (or a bug here): the supervisor fails.
            outcome = Outcome(Failed(msg.msg_id, exc), None)
            raise
        finally:
            if outcome is None:  # cancelled from outside: the supervisor is going away
                outcome = msg.abort_with or Outcome(Cancelled(msg.msg_id, "shutdown"), None)
            self._teardown(msg, outcome)

    def _make_parser(self, msg: _Message) -> Parser:
        """A new parser for ``msg`` from the factory.

        A factory that raises ``TypeError``, or returns something that is not a parser,
        cannot make one however often it is asked: the message fails at once with
        :exc:`ParserFactoryError` (``_MessageFailed``).  Anything else it raises is a crash
        (the caller restarts).
        """
        try:
            parser = self._factory(msg.msg_id)
        except TypeError as exc:
            self._errors += 1
            failure = ParserFactoryError(
                f"{describe(self._factory)} raised TypeError: {exc}", msg.msg_id
            )
            failure.__cause__ = exc
            raise _MessageFailed(failure) from None
        cls = parser.__class__
        if cls not in self._parser_types:
            missing = missing_methods(parser)
            if missing:
                self._errors += 1
                raise _MessageFailed(
                    ParserFactoryError(
                        f"{describe(self._factory)} returned {parser!r}, which has no "
                        f"{'/'.join(missing)} method",
                        msg.msg_id,
                    )
                )
            self._parser_types.add(cls)
        return parser

    async def _pause(self, msg: _Message) -> None:
        """A checkpoint in the middle of a message's work, which ends its turn (see
        :meth:`_turn`); ends the task if it was aborted."""
        pacer = self._pacer
        pacer.add_since(msg.turn_started)
        if pacer.ready():
            await self._checkpoint()
        else:
            await self._turn(msg)
        msg.turn_started = _now()
        if msg.abort_with is not None:
            raise _Aborted

    def _leave_line(self, mailbox: Mailbox) -> None:
        """The wait for input ended with an exception: if its wake-up was the pacer's, the
        turn will not be taken (and a lead it was given must be passed on)."""
        token = mailbox.paced
        if token is not None:
            mailbox.paced = None
            self._pacer.forget(token)

    async def _turn(self, msg: _Message) -> None:
        """Wait for a turn of work: the round's budget (the loop's :class:`Pacer`, shared
        by every message and every paced task) is spent.

        A thousand messages with input each take a short step, but a scheduler batch
        runs them all before the loop looks at its timers again; waiting in the pacer's
        line instead keeps each batch to about ``ROUND_BUDGET`` of parsing (see
        :mod:`jsonvisor.mailboxes.pacing`).  Meanwhile chunks pile up in the mailbox, so
        the turn, when it comes, takes them in one bigger step.  ``cancel()``, an expiry
        or shutdown end the wait.
        """
        msg.blocked_on = pacer = self._pacer
        msg.waiter = token = self._backend.token()
        try:
            await pacer.wait_turn(token, consumer=True)
        finally:
            msg.blocked_on = None

    async def _feed(self, msg: _Message, data: Chunk) -> None:
        """Feed one piece of input and deliver its events; restart on a crash."""
        if len(data) > self._slice_size:
            if (
                self._offload != "inline"
                and len(data) >= self._offload_threshold
                and not msg.no_offload
            ):
                await self._feed_offloaded(msg, data)
            else:
                await self._feed_sliced(msg, data)
            return
        await self._feed_piece(msg, data)

    async def _feed_piece(self, msg: _Message, piece: Chunk) -> None:
        """Feed one piece to the message's parser, then keep it and emit its events.

        On an exception (:meth:`_step_failed`) the piece is fed again to the restarted
        parser.
        """
        while True:
            parser = msg.parser
            assert parser is not None
            try:
                events = parser.feed(piece)
            except Exception as exc:
                await self._step_failed(msg, exc)
                continue
            break
        if msg.streak:
            msg.streak = 0  # the parser took input: the next crash restarts at once
        nbytes = utf8_len(piece)
        self._hub.bytes_in += nbytes
        msg.retain(piece, nbytes, self._max_bytes)
        if events:
            await self._emit(msg, events)

    async def _feed_sliced(self, msg: _Message, data: Chunk) -> None:
        """Feed a large input in slices, with a checkpoint between slices.

        Every step is bounded by the slice size: slices are cut one at a time, and their
        UTF-8 lengths counted one at a time, never the whole input at once.
        """
        size = self._slice_size
        end = len(data)
        start = 0
        with gc_deferred(self._defer_gc):
            while start < end:
                await self._feed_piece(msg, data[start : start + size])
                start += size
                if start < end:
                    young_collection()
                    await self._pause(msg)

    async def _feed_offloaded(self, msg: _Message, data: Chunk) -> None:
        self._offloaded += 1
        # Garbage collection stays deferred until the events are delivered too: building
        # them allocates as much as parsing.
        with gc_deferred(self._defer_gc):
            if self._offload == "thread":
                await self._feed_in_thread(msg, data)
            else:
                await self._feed_in_process(msg, data)

    async def _feed_in_thread(self, msg: _Message, data: Chunk) -> None:
        start = 0
        while start < len(data):
            msg.busy = True
            try:
                with anyio.CancelScope() as scope:
                    msg.blocked_on = scope
                    events, end, nbytes, error = await run_in_thread(
                        msg.parser, data, start, self._slice_size
                    )
            finally:
                msg.busy = False
                msg.blocked_on = None
            if scope.cancelled_caught or msg.abort_with is not None:
                raise _Aborted
            if end > start:
                msg.streak = 0
                self._hub.bytes_in += nbytes
                self._retain_slice(msg, data, start, end, nbytes)
                start = end
            if events:
                await self._emit(msg, events)
            if error is not None:
                await self._step_failed(msg, error)

    async def _feed_in_process(self, msg: _Message, data: Chunk) -> None:
        while True:
            msg.busy = True
            scope = anyio.CancelScope()
            try:
                with scope:
                    msg.blocked_on = scope
                    parser, events, nbytes, error = await run_in_process(
                        self._backend, feed_in_process, msg.parser, data
                    )
            except (pickle.PicklingError, TypeError, AttributeError):
                # This parser does not travel between processes: parse here instead.
                msg.no_offload = True
            except broken_worker_errors() as exc:
                error, parser, events = exc, None, []  # type: ignore[assignment]
            finally:
                msg.busy = False
                msg.blocked_on = None
            if scope.cancelled_caught or msg.abort_with is not None:
                raise _Aborted
            if msg.no_offload:
                await self._feed_sliced(msg, data)
                return
            if error is None:
                msg.parser = parser
                msg.streak = 0
                self._hub.bytes_in += nbytes
                self._retain_slice(msg, data, 0, len(data), nbytes)
                if events:
                    await self._emit(msg, events)
                return
            await self._step_failed(msg, error)

    async def _step_failed(self, msg: _Message, error: BaseException) -> None:
        """A parser step (feed or finish) raised ``error``.

        Bad input (:class:`JsonStreamError`) fails the message and is never retried; any
        other exception is a parser bug: the parser is restarted, replaying what was
        kept (:meth:`_restart`), and the caller takes the step again.
        """
        if isinstance(error, JsonStreamError):
            self._errors += 1
            raise _MessageFailed(error) from None
        await self._restart(msg, error)

    def _retain_slice(self, msg: _Message, data: Chunk, start: int, end: int, nbytes: int) -> None:
        """Keep ``data[start:end]`` for a replay (see :meth:`MessageRecord.retain`), without
        copying it if it will not be kept."""
        if msg.retained is None:
            return
        if msg.retained_bytes + nbytes > self._max_bytes:
            msg.retained = None
            return
        whole = start == 0 and end == len(data)
        msg.retain(data if whole else data[start:end], nbytes, self._max_bytes)

    async def _finish(self, msg: _Message) -> Outcome | None:
        while True:
            if msg.abort_with is not None:
                return None
            parser = msg.parser
            assert parser is not None
            try:
                if self._allow_partial:
                    result = parser.finish()
                else:
                    result = parser.finish(allow_partial=False)  # type: ignore[call-arg]
            except Exception as exc:
                await self._step_failed(msg, exc)
                continue
            break
        if result.events or self._watch is not None:
            await self._emit(msg, list(result.events), result)
        if msg.abort_with is not None:
            return None
        if result.warnings or result.model is not None:
            result, model, invalid = _schema_outcome(msg.msg_id, result)
            completed = Completed(
                msg.msg_id,
                result.value,
                result.repairs,
                result.confidence,
                result.complete,
                result.warnings,
                model,
                invalid,
            )
        else:
            completed = Completed(
                msg.msg_id, result.value, result.repairs, result.confidence, result.complete
            )
        return Outcome(completed, result)

    async def _restart(self, msg: _Message, error: BaseException) -> None:
        """A crash: restart ``msg``'s parser and replay its input, or fail it.

        Raises ``_MessageFailed`` when the message may not restart again and
        :exc:`RestartIntensityExceeded` when the supervisor may not.  Every attempt is a
        checkpoint, and crashes that follow each other without the parser taking input
        in between back off (:meth:`_back_off`), so even an unlimited restart policy
        neither holds the event loop nor spins, and stays cancellable.
        """
        while True:
            self._crashes += 1
            self._errors += 1
            msg.crashes += 1
            msg.streak += 1
            msg.parser = None
            now = self._backend.current_time()
            if msg.retained is None:
                failure = ParserCrashed(
                    msg.msg_id, msg.crashes, f"input over max_bytes={self._max_bytes}, no replay"
                )
                failure.__cause__ = error
                raise _MessageFailed(failure)
            if msg.budget is None:
                msg.budget = RestartBudget(self._max_restarts, self._restart_window)
            if not msg.budget.allow(now):
                failure = ParserCrashed(msg.msg_id, msg.crashes)
                failure.__cause__ = error
                raise _MessageFailed(failure)
            if self._escalated:
                # Another message already made the supervisor fail: its task group is
                # cancelled, so this checkpoint raises Cancelled (one error, not two).
                await self._checkpoint()
            if not self._total_budget.allow(now):
                self._escalated = True
                budget = self._total_budget
                escalation = RestartIntensityExceeded(budget.max_restarts or 0, budget.window)
                raise escalation from error
            self._hub.restarts += 1
            msg.restarts += 1
            await self._back_off(msg)
            try:
                parser = self._make_parser(msg)
                await self._replay(msg, parser)
            except _MessageFailed:
                raise
            except JsonStreamError as exc:
                self._errors += 1
                raise _MessageFailed(exc) from None
            except Exception as exc:
                error = exc
                continue
            msg.parser = parser
            await self._publish(msg, [Restarted(msg.msg_id, msg.restarts, error)])
            return

    async def _back_off(self, msg: _Message) -> None:
        """Before a restart: a checkpoint, and a sleep if the last restart did not help.

        The first crash after the parser took input restarts at once (as OTP does); each
        further one in a row waits ``restart_backoff`` seconds, doubled every time, at
        most ``max_restart_backoff``.  ``cancel()``, an expiry or shutdown end the wait.
        """
        streak = msg.streak
        if streak <= 1 or not self._restart_backoff:
            await self._pause(msg)
            return
        delay = min(self._max_restart_backoff, self._restart_backoff * 2.0 ** (streak - 2))
        with anyio.CancelScope() as scope:
            msg.blocked_on = scope
            try:
                await self._backend.sleep(delay)
            finally:
                msg.blocked_on = None
        if msg.abort_with is not None:
            raise _Aborted

    async def _replay(self, msg: _Message, parser: Parser) -> None:
        """Feed a new parser the input its predecessor had consumed, discarding events."""
        pieces = msg.replay_input()
        size = self._slice_size
        with gc_deferred(self._defer_gc and sum(map(len, pieces)) > size):
            budget = size
            for piece in pieces:
                for part in split(piece, size):
                    parser.feed(part)
                    budget -= len(part)
                    if budget <= 0:
                        budget = size
                        young_collection()
                        await self._pause(msg)

    # ================================================================== delivery

    async def _emit(
        self, msg: _Message, events: list[Event], result: ParseResult | None = None
    ) -> None:
        """Deliver a parse step's events, tagged with the message ID (``result``: the
        step was ``finish()``), then what they completed at watched paths.

        Thousands of events at once (a large input fed off the loop) are delivered in
        batches with a checkpoint between them, so this step stays short too.
        """
        msg_id = msg.msg_id
        new = tuple.__new__
        if len(events) <= _EMIT_BATCH:
            if events:
                await self._publish(msg, [new(MessageEvent, (msg_id, e)) for e in events])
        else:
            for i in range(0, len(events), _EMIT_BATCH):
                if i:
                    await self._pause(msg)
                batch = events[i : i + _EMIT_BATCH]
                await self._publish(msg, [new(MessageEvent, (msg_id, e)) for e in batch])
        if self._watch is not None:
            watcher = msg.watcher
            if watcher is None:
                watcher = msg.watcher = self._watcher_for(msg.parser)
            items = watcher.feed(events) if result is None else watcher.finish(result)
            if items:
                await self._publish(msg, [new(WatchEvent, (msg_id, it)) for it in items])

    def _watcher_for(self, parser: Parser | None) -> Any:
        """A fresh watcher for a message parsed by ``parser`` (typed by its schema)."""
        options = getattr(parser, "options", None)
        try:
            proto = self._watchers.get(options)
        except TypeError:  # options that do not hash: no cache
            proto = None
        if proto is None:
            from ..watch import Watcher  # (no import cycle: watch knows no supervisor)

            paths, text = self._watch
            proto = Watcher(paths, schema=getattr(options, "schema", None), text=text)
            if len(self._watchers) < 64:
                try:
                    self._watchers[options] = proto
                except TypeError:
                    pass
        return proto.fresh()

    async def _publish(self, msg: _Message, events: list[SupervisorEvent]) -> None:
        hub = self._hub
        if not hub.deliver_nowait(msg, events):  # (room everywhere: no waiting)
            await hub.publish(msg, events, self._wait_room)

    async def _wait_room(self, msg: _Message, queue: EventQueue) -> None:
        """Wait for room in the full fan-in or subscription ``queue`` (the hub's policy
        for a fan-in nobody reads applies): interruptible by :meth:`_abort`, and no part
        of the message's turn of work."""
        self._pacer.add_since(msg.turn_started, 0)  # waiting is no work
        msg.blocked_on = queue
        msg.waiter = token = self._backend.token()
        try:
            await self._hub.wait_room(queue, token)
        finally:
            msg.blocked_on = None
        msg.turn_started = _now()
        if msg.abort_with is not None:
            raise _Aborted

    def _teardown(self, msg: _Message, outcome: Outcome) -> None:
        """Close the message's mailbox (its queued chunks become dead letters) and hand
        its terminal event to the hub."""
        hub = self._hub
        left = msg.mailbox.close()
        if left:
            hub.bytes_in += sum(map(utf8_len, left))
            hub.dead.add_many(msg.msg_id, left, "unread")
        msg.parser = None
        msg.waiter = None
        msg.blocked_on = None
        hub.finish(msg, outcome)

    # ================================================================== lifetime

    def _start(self) -> None:
        if self._idle_timeout is not None or self._ttl is not None:
            self._task_group.start_soon(self._reap, name="jsonvisor supervisor reaper")

    def _begin_close(self) -> None:
        """Refuse new input and cancel every open message (``Cancelled("shutdown")``)."""
        self._hub.closed = True
        for msg in self._open.values():
            mailbox = msg.mailbox
            if msg.abort_with is None:
                # A task about to finish its message must not complete it now; blocked
                # tasks are woken by the cancellation below.
                msg.abort_with = Outcome(Cancelled(msg.msg_id, "shutdown"), None)
            mailbox.ended = True  # so send() takes the slow path, which raises
        self._task_group.cancel_scope.cancel()

    def _end_close(self) -> None:
        """Every task is gone: end the streams and wake whoever still waits."""
        self._hub.end()


@asynccontextmanager
async def open_supervisor(
    parser: ParserSpec = None,
    *,
    options: Options | None = None,
    mailbox_size: int = DEFAULTS.mailbox_size,
    mailbox_bytes: int | None = DEFAULTS.mailbox_bytes,
    overflow: OverflowPolicy = DEFAULTS.overflow,
    offload: OffloadMode = DEFAULTS.offload,
    offload_threshold: int = DEFAULTS.offload_threshold,
    slice_size: int = DEFAULTS.slice_size,
    idle_timeout: float | None = DEFAULTS.idle_timeout,
    ttl: float | None = DEFAULTS.ttl,
    max_restarts: int | None = DEFAULTS.max_restarts,
    restart_window: float = DEFAULTS.restart_window,
    restart_backoff: float = DEFAULTS.restart_backoff,
    max_restart_backoff: float = DEFAULTS.max_restart_backoff,
    max_total_restarts: int | None = DEFAULTS.max_total_restarts,
    total_restart_window: float = DEFAULTS.total_restart_window,
    max_bytes: int = DEFAULTS.max_bytes,
    fan_in: FanIn = DEFAULTS.fan_in,
    events_buffer: int = DEFAULTS.events_buffer,
    keep_results: int = DEFAULTS.keep_results,
    remember_finished: int = DEFAULTS.remember_finished,
    allow_partial: bool = DEFAULTS.allow_partial,
    defer_gc: bool = DEFAULTS.defer_gc,
    on_dead_letter: Callable[[DeadLetter], object] | None = None,
    watch: str | Iterable[str] | None = DEFAULTS.watch,
    watch_text: bool = DEFAULTS.watch_text,
) -> AsyncIterator[Supervisor]:
    """Run a :class:`Supervisor` for the duration of the ``async with`` block.

    Works under trio and under asyncio (directly or through AnyIO); the backend is the one
    running.  ``offload="process"`` uses trio-parallel on trio and ``anyio.to_process``
    on asyncio.

    Every option but ``parser`` and ``on_dead_letter`` is a field of one frozen
    ``jsonvisor.hub.Options`` (its defaults are these, and ``open_cluster``'s):
    pass them as keywords, or one ``options=`` object (then leave the keywords out).
    Wrong values raise ``ValueError`` here.

    Args:
        parser: ``parser(msg_id)`` makes a message's parser; called again on a restart.
            Also accepted: a parser class, called with no arguments
            (``parser=StreamingJsonParser``), or a mapping of ``StreamingJsonParser``
            options (``parser={"lenient": True}``, checked at once).  Default:
            ``StreamingJsonParser()``.  A ``parser`` that cannot make parsers is a
            configuration error, never retried: :exc:`ParserFactoryError`, raised here
            (not callable with the message ID, bad options) or ending a message at once
            (its factory raised ``TypeError`` or returned something that is no parser).
        mailbox_size: the most chunks queued for one message (see ``overflow``).  Each
            parse step takes everything queued, so this is also the largest batch: a
            producer that hands over bursts parses faster with room for them.
        mailbox_bytes: the most characters (``str`` chunks) or bytes (``bytes`` chunks)
            queued for one message, so a few huge chunks are bounded too; a chunk larger
            than this is still accepted by an empty mailbox.  None: no limit.
        overflow: ``"block"`` (``send`` waits for room), ``"raise"`` (``MailboxFull``)
            or ``"drop"`` (the chunk becomes a dead letter and the message fails with
            ``MailboxFull``).
        offload: where inputs of at least ``offload_threshold`` characters (or bytes)
            are parsed: ``"inline"`` (in the loop, sliced), ``"thread"`` (AnyIO's worker
            threads) or ``"process"`` (trio-parallel's worker processes on trio,
            ``anyio.to_process`` on asyncio); see :mod:`jsonvisor.supervisor.offload`.
        offload_threshold: the smallest input offloaded (``thread``/``process`` modes).
        slice_size: inputs longer than this are fed in slices of this size with a
            checkpoint between slices, so no single step holds the loop long.
        idle_timeout: seconds a message may wait with an empty mailbox for its next
            chunk before it expires (``Expired(reason="idle")``); None: forever.
        ttl: seconds a message may live in total, from its first chunk
            (``Expired(reason="ttl")``); None: forever.
        max_restarts: restarts allowed per message within ``restart_window`` seconds;
            one more crash fails it with ``ParserCrashed``.  None: unlimited.
        restart_window: seconds, see ``max_restarts``.
        restart_backoff: a parser that crashes again before taking any input after a
            restart is restarted after this many seconds, doubled for each further crash
            in a row, at most ``max_restart_backoff`` (the first restart is immediate).
            Every restart is a checkpoint, so even ``max_restarts=None,
            max_total_restarts=None`` never holds the loop and stays cancellable.
        max_restart_backoff: seconds, see ``restart_backoff``.
        max_total_restarts: restarts allowed across all messages within
            ``total_restart_window`` seconds; one more makes the supervisor fail with
            :exc:`RestartIntensityExceeded`.  None: unlimited.
        total_restart_window: seconds, see ``max_total_restarts``.
        max_bytes: the most input (UTF-8 bytes) kept per message for a replay; a
            message that outgrows it is still parsed, but a crash then fails it.
        fan_in: ``"auto"`` (default): every event goes to :meth:`Supervisor.events` (or
            :meth:`Supervisor.results`), with backpressure once either was called.  If
            the fan-in is full before either was ever called, and a producer would wait
            in ``send`` or a task in ``result()`` (or a parser has waited a second), it
            is switched off rather than wait for a reader that never comes: its events
            are dropped, and both then raise :exc:`FanInSwitchedOff`.  So a program that
            only awaits ``result()`` never hangs, and one that reads from the start
            loses nothing.  True: the fan-in is kept whoever reads it, so it must be read
            (a ``RuntimeWarning`` after a parser waited a second on a fan-in never asked
            for).  False: no fan-in; only subscriptions and ``result()``.
        events_buffer: the bound of the fan-in and of each subscription, in events.
        keep_results: how many finished messages' outcomes ``result()`` can still see.
        remember_finished: how many finished IDs are remembered, so that their late
            chunks become dead letters instead of opening new messages.
        allow_partial: end of input completes a truncated value (with repairs) instead
            of failing.
        defer_gc: pause CPython's automatic full garbage collections while large inputs
            are fed (see :func:`jsonvisor.supervisor.offload.gc_deferred`).
        on_dead_letter: called with each :class:`DeadLetter` as it happens; must not
            block or raise.
        watch: paths to watch in every message (``"$.summary"``, ``"$.items[*]"``; see
            :class:`jsonvisor.watch.Watcher`): each value completed at one of them comes as
            a :class:`WatchEvent` right after the events that completed it, exactly once
            whatever the chunking, typed by the parser's schema if it has one.
        watch_text: with ``watch``, also each piece of a watched string as it grows.

    Leaving the block cancels every open message (``Cancelled(reason="shutdown")``),
    waits for every task, and ends :meth:`Supervisor.events`; so does cancelling the
    enclosing scope.  If the supervisor fails (:exc:`RestartIntensityExceeded`), the
    block is cancelled and the error propagates from ``async with``.
    """
    opts = options_from(options, locals())  # the option keywords, as passed
    factory = as_factory(parser)
    backend = current_hub()
    if opts.offload == "process":
        check_process_offload(backend)

    single: BaseException | None = None
    supervisor: Supervisor | None = None
    try:
        async with backend.open_task_group() as task_group:
            sup = supervisor = Supervisor(task_group, factory, backend, opts, on_dead_letter)
            sup._start()
            try:
                yield sup
            finally:
                sup._begin_close()
    except BaseExceptionGroup as group:
        # The task group is an implementation detail: one error comes out as itself.
        if len(group.exceptions) != 1 or isinstance(group.exceptions[0], BaseExceptionGroup):
            raise
        single = group.exceptions[0]
    finally:
        if supervisor is not None:
            supervisor._end_close()
    if single is not None:
        try:
            raise single
        finally:
            single = None
