"""``jsonvisor parse``: raw JSON, NDJSON or a provider stream in, NDJSON records out.

Exit status: 0 everything complete (or partial values accepted), 1 an input error, 2 a
usage error, 3 incomplete output with ``--require-complete``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ..llm import (
    AnthropicAdapter,
    Delta,
    MessageEnd,
    MessageStart,
    OpenAIResponsesAdapter,
    StreamError,
    adapter_for,
)
from ..parsers import (
    DocumentCompleted,
    Event,
    JsonStreamError,
    ParseResult,
    ParserOptions,
    StreamingJsonParser,
)
from .follow import Follower, parse_path
from .inputs import Input, sniff_format
from .options import stderr_line
from .problems import USAGE_ERROR, Problem, describe_error, error_record, format_fix
from .records import Writer, document_record, event_record, result_record

__all__ = ["run_parse"]

#: Finish reasons that mean the provider cut the message short (compared lowercased).
TRUNCATING = frozenset(
    {
        "length",
        "max_tokens",
        "max_output_tokens",
        "content_filter",
        "safety",
        "recitation",
        "blocklist",
        "prohibited_content",
        "spii",
        "malformed_function_call",
        "refusal",
        "model_context_window_exceeded",
        "incomplete",
    }
)
#: Where each adapter keeps a tool call's id in ``MessageStart.meta``.
_CALL_ID_KEYS = ("tool_call_id", "tool_use_id", "call_id")
_EXTRA_DATA = "extra data after the top-level value"
_NO_VALUE = "no_value"
_PROSE_KEPT = 16 << 20  # the most prose kept for a record's text (--lenient, no value)
_JSON_TYPES = {list: "an array", str: "a string", bool: "a boolean", int: "a number"}
_JSON_TYPES.update({float: "a number", type(None): "null"})
#: The adapters' words for an event they could not read (not a provider's error).
_UNREADABLE = ("invalid JSON in ", "unexpected ", "malformed ")
#: Adapters that learn why the response stopped only after its messages ended
#: (``adapter.stop_reason``: Anthropic's ``message_delta``, the Responses API's
#: ``response.incomplete``): a message they end ``"complete"`` waits for it.
_LATE_REASON = (AnthropicAdapter, OpenAIResponsesAdapter)


class Config:
    """``parse``'s options, checked: parser options are built (and the schema compiled)
    once, here, so a bad option is a usage error before any input is read."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.format: str = args.format
        self.lenient: bool = args.lenient
        self.multiple: bool = args.multiple
        self.require_complete: bool = args.require_complete
        self.emit: str = args.emit or "final"
        self.follow = None
        self.follow_text: str = args.follow or ""
        if args.follow is not None:
            try:
                self.follow = parse_path(args.follow)
            except ValueError as exc:
                raise Problem(f"--follow: {exc}", USAGE_ERROR) from None
        self._kw: dict[str, Any] = {
            "lenient": args.lenient,
            "max_bytes": args.max_bytes,
            "max_depth": args.max_depth,
            "max_number_length": args.max_number_length,
        }
        if args.schema:
            self._kw["schema"] = _load_schema(args.schema)
        self._options: dict[tuple[bool, bool], ParserOptions] = {}
        try:
            self.options(multiple=False, extract=False)
        except Exception as exc:  # the schema compiler's words for a bad schema
            what = f"--schema {args.schema}" if args.schema else "options"
            raise Problem(f"{what}: {exc}; fix it and try again", USAGE_ERROR) from None

    def options(self, *, multiple: bool, extract: bool) -> ParserOptions:
        """Shared parser options (``extract``: look for JSON inside prose)."""
        key = (multiple, extract and not self.lenient)
        opts = self._options.get(key)
        if opts is None:
            extra = {"extract": True} if key[1] else {}
            opts = ParserOptions.of(multiple_values=multiple, **self._kw, **extra)
            self._options[key] = opts
        return opts

    def is_value(self, line: bytes) -> bool:
        """Whether ``line`` holds exactly one whole value (with these options)."""
        parser = self.parser()
        try:
            parser.feed(line)
            return parser.finish().complete
        except JsonStreamError:
            return False

    def parser(self, *, multiple: bool = False, extract: bool = False) -> StreamingJsonParser:
        """A new parser."""
        return StreamingJsonParser(options=self.options(multiple=multiple, extract=extract))


def _load_schema(file: str) -> Any:
    try:
        text = Path(file).read_text(encoding="utf-8")
    except OSError as exc:
        raise Problem(
            f"--schema {file}: cannot read it: {exc.strerror or exc}; check the file name",
            USAGE_ERROR,
        ) from None
    except UnicodeDecodeError:
        raise Problem(
            f"--schema {file}: not UTF-8 text; give a JSON Schema file", USAGE_ERROR
        ) from None
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as exc:
        raise Problem(
            f"--schema {file} is not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno};"
            " give a JSON Schema file",
            USAGE_ERROR,
        ) from None
    if not isinstance(schema, (dict, bool)):  # (true and false are schemas too)
        raise Problem(
            f"--schema {file} holds {_JSON_TYPES.get(type(schema), 'a value')}, not a schema; "
            'give a JSON Schema object such as {"type": "object"} (or true, or false)',
            USAGE_ERROR,
        )
    return schema


class Status:
    """What went wrong so far, and the exit status it makes."""

    def __init__(self, name: str, writer: Writer) -> None:
        self.name = name
        self.writer = writer  # flushed before each stderr line, to keep the two in order
        self.failed = False
        self.incomplete: list[str] = []

    def error(self, text: str) -> None:
        """An input error: one line on stderr now, exit 1."""
        self.failed = True
        self.writer.flush()
        stderr_line(f"{self.name}: {text}")

    def cut(self, what: str) -> None:
        """Something is incomplete (exit 3 with ``--require-complete``)."""
        self.incomplete.append(what)

    def exit_code(self, require_complete: bool) -> int:
        """0, 1 or 3; with ``--require-complete``, says what was incomplete."""
        if self.failed:
            return 1
        if require_complete and self.incomplete:
            self.writer.flush()
            n = len(self.incomplete)
            more = f" (and {n - 1} more)" if n > 1 else ""
            stderr_line(
                f"{self.name}: incomplete output: {self.incomplete[0]}{more}; see each "
                "record's complete, repairs and finish_reason, or drop --require-complete "
                "to accept partial values"
            )
            return 3
        return 0


class Sink:
    """Where parse results go: records (``--emit``), or the followed value (``--follow``)."""

    def __init__(self, writer: Writer, emit: str, follower: Follower | None) -> None:
        self.writer = writer
        self.emit = emit
        self.follower = follower

    def events(self, msg: str, parser: StreamingJsonParser, events: list[Event]) -> None:
        """The events one ``feed`` returned."""
        if self.follower is not None:
            self.follower.feed(msg, events)
        elif self.emit == "events":
            for ev in events:
                self.writer.record(event_record(msg, ev))
        elif self.emit == "snapshots" and events:
            snapshot = parser.snapshot()
            if snapshot is not None or not parser.multiple_values:
                self.writer.record({"msg": msg, "type": "snapshot", "value": snapshot})

    def document(self, msg: str, index: int, value: Any, lost: bool) -> None:
        """A complete document of a multi-value input; ``lost``: its events never came
        (the feed that completed it failed later in the same chunk)."""
        if self.follower is not None:
            if lost:
                self.follower.document(msg, value)
        elif self.emit == "events":
            if lost:
                self.writer.record(event_record(msg, DocumentCompleted(index, value)))
        else:
            self.writer.record(document_record(msg, index, value))

    def final(self, msg: str, record: dict[str, Any] | None, events: Iterable[Event]) -> None:
        """A message's end: the events ``finish`` caused, then its final record."""
        if self.follower is not None:
            self.follower.feed(msg, events)
            self.follower.end_message(msg)
            return
        if self.emit == "events":
            for ev in events:
                self.writer.record(event_record(msg, ev))
        if record is not None:
            self.writer.record(record)

    def stream_error(self, record: dict[str, Any]) -> None:
        """A stream-level problem record."""
        if self.follower is None:
            self.writer.record(record)


def _finish(parser: StreamingJsonParser) -> tuple[ParseResult | None, JsonStreamError | None]:
    try:
        return parser.finish(), None
    except JsonStreamError as err:
        return None, err


def _found_nothing(result: ParseResult) -> bool:
    return any(r.kind == _NO_VALUE for r in result.repairs)


class RawRun:
    """Raw JSON (one value, or several with ``--multiple``/NDJSON) from one input.

    In ``auto`` format, a second value that starts on a new line after a complete first
    one switches to NDJSON there (whatever the chunking), so NDJSON is found from the
    content even when its first line is too long to look at in advance.
    """

    def __init__(
        self, cfg: Config, sink: Sink, status: Status, fmt: str, detected: str | None
    ) -> None:
        self.cfg, self.sink, self.status = cfg, sink, status
        self.name = status.name
        self.fmt, self.detected = fmt, detected
        self.multiple = fmt == "ndjson" or cfg.multiple
        self.parser = cfg.parser(multiple=self.multiple)
        self.may_switch = cfg.format == "auto" and not self.multiple and not cfg.lenient
        self.index = 0  # documents written
        self.announced = 0  # documents whose DocumentCompleted went to the sink
        self.doc_base = 0  # documents before the current parser's first
        self.base: tuple[int, int, int] | None = None  # where it started (offset, line, column)
        self.consumed = 0  # bytes fed before the current chunk
        self.prev = b""  # the previous chunk
        self.first: Any = None  # single-value mode: the value, once complete
        # --lenient, one value: the input, kept while no value is found in it, so that a
        # prose-only answer (a refusal, a plain reply) reaches the record as its text.
        self.prose: list[bytes] | None = [] if cfg.lenient and not self.multiple else None
        self.prose_size = 0

    def run(self, chunks: Iterator[bytes]) -> None:
        """Parse every chunk, then write the final record (or the error's)."""
        try:
            for data in chunks:
                try:
                    self._feed(data)
                except JsonStreamError as err:
                    rest = self._switch(err, data)
                    if rest is None:
                        raise
                    self._feed(rest)
                self.consumed += len(data)
                self.prev = data
                self._keep(data)
                self.sink.writer.flush()
            result = self.parser.finish()
        except JsonStreamError as err:
            self._fail(self._adjust(err))
            return
        if result.complete:
            self._drain()  # a document the end of input completed (a number)
        self._final(result)

    def _keep(self, data: bytes) -> None:
        if self.prose is None:
            return
        self.prose_size += len(data)
        if self.parser.documents or self.prose_size > _PROSE_KEPT:
            self.prose = None  # a value was found (or the text is too long to keep)
        else:
            self.prose.append(data)

    def _feed(self, data: bytes) -> None:
        events = self.parser.feed(data)
        for i, ev in enumerate(events):
            if ev.__class__ is DocumentCompleted:
                self.announced += 1
                if self.doc_base:
                    events[i] = DocumentCompleted(ev.index + self.doc_base, ev.value)
        self.sink.events(self.name, self.parser, events)
        self._drain()

    def _drain(self) -> None:
        """Write the documents the parser completed (those of a failed feed too)."""
        while self.parser.has_complete_object():
            value = self.parser.get()
            if not self.multiple:
                self.first = value
                continue
            self.sink.document(self.name, self.index, value, lost=self.index >= self.announced)
            self.index += 1
            self.announced = max(self.announced, self.index)

    def _switch(self, err: JsonStreamError, data: bytes) -> bytes | None:
        """After a complete first value, a value on a new line: go on as NDJSON.

        Returns the rest of ``data`` to feed to the new parser, or None (a real error)."""
        pos = err.offset - self.consumed
        if not (self.may_switch and err.reason == _EXTRA_DATA and 0 <= pos <= len(data)):
            return None
        before = self.prev + data[:pos]
        gap = before[len(before.rstrip(b" \t\r\n")) :]
        if b"\n" not in gap:
            return None
        self._drain()
        self.may_switch = False
        self.multiple = True
        self.sink.document(self.name, 0, self.first, lost=self.announced == 0)
        self.index = self.announced = self.doc_base = 1
        self.base = (err.offset, err.line, err.column)
        self.parser = self.cfg.parser(multiple=True)
        return data[pos:]

    def _adjust(self, err: JsonStreamError) -> JsonStreamError:
        """An error of the parser started by :meth:`_switch`, positioned in the whole input."""
        if self.base is None:
            return err
        offset, line, column = self.base
        return JsonStreamError(
            err.reason,
            expected=err.expected,
            found=err.found,
            offset=err.offset + offset,
            line=err.line + line - 1,
            column=err.column + (column - 1 if err.line == 1 else 0),
            excerpt=err.excerpt,
            truncated=err.truncated,
            limit=err.limit,
        )

    def _fail(self, err: JsonStreamError) -> None:
        self._drain()
        record: dict[str, Any] = {"msg": self.name, "type": "final", "kind": "json"}
        if self.multiple:
            record["index"] = self.index
        record.update(
            finish_reason=None,
            complete=False,
            confidence="low",
            repairs=[],
            error=error_record(err),
        )
        self.sink.final(self.name, record, ())
        documents = self.index or self.parser.documents
        self.status.error(
            describe_error(
                err,
                lenient=self.cfg.lenient,
                documents=documents,
                detected=self.detected,
                fmt=self.fmt,
            )
        )

    def _final(self, result: ParseResult) -> None:
        nothing = _found_nothing(result)
        record: dict[str, Any] | None = None
        if not (self.multiple and result.complete and self.index):  # else: all written
            record = {"msg": self.name, "type": "final", "kind": "json"}
            if self.multiple:
                record["index"] = self.index
            record.update(result_record(self.name, result))
            if nothing:
                del record["value"]
                if self.prose is not None:
                    record["text"] = b"".join(self.prose).decode("utf-8", "replace")
        self.sink.final(self.name, record, result.events)
        if nothing:
            fix = "" if self.cfg.lenient else " (use --lenient to look inside prose)"
            kept = " (its text is in the record)" if record and "text" in record else ""
            self.status.error(f"no JSON value in the input{fix}{kept}; check what produced it")
        elif record is not None and not result.complete:
            self.status.cut(f"the value was repaired ({', '.join(map(str, result.repairs))})")


class _Message:
    """One provider message being parsed."""

    __slots__ = ("call_id", "error", "id", "kind", "name", "parser", "text")

    def __init__(self, start: MessageStart, parser: StreamingJsonParser) -> None:
        self.id = start.msg_id
        self.kind = start.kind
        self.name = start.name
        self.call_id = next((start.meta[k] for k in _CALL_ID_KEYS if start.meta.get(k)), None)
        self.parser = parser
        self.text: list[str] = []
        self.error: JsonStreamError | None = None


class ProviderRun:
    """A provider's SSE stream: one final record per message (text or tool call)."""

    def __init__(
        self, cfg: Config, sink: Sink, status: Status, fmt: str, detected: str | None
    ) -> None:
        self.cfg, self.sink, self.status = cfg, sink, status
        self.name = status.name
        self.fmt, self.detected = fmt, detected
        self.adapter = adapter_for(fmt)
        self.open: dict[str, _Message] = {}
        # Messages ended while one waits for the response's stop_reason (kept in order).
        self.deferred: list[tuple[_Message, str | None, str | None]] = []
        self.messages = 0
        self.unreadable: list[str] = []  # events the adapter could not read (said once, at the end)

    def run(self, chunks: Iterator[bytes]) -> None:
        """Feed every chunk through the adapter; finish every message."""
        adapter = self.adapter
        for data in chunks:
            try:
                items = adapter.feed(data)
            except Exception as exc:  # an adapter that trips on a malformed envelope
                self._broken(exc)
                return
            self._handle(items)
            if adapter.finished or adapter.failed:
                self._flush_deferred()
            self.sink.writer.flush()
        try:
            self._handle(adapter.close())
        except Exception as exc:
            self._broken(exc)
            return
        self._end()

    def _broken(self, exc: Exception) -> None:
        self.status.error(
            f"malformed {self.fmt} event ({type(exc).__name__}: {exc}); {self._format_fix()}"
        )
        self._end()

    def _format_fix(self) -> str:
        fix = format_fix(self.detected, self.fmt)
        return fix or "check --format and that the input is the provider's raw event stream"

    def _end(self) -> None:
        for msg_id in list(self.open):
            self._close(msg_id, None, "stream ended before the message was complete")
        self._flush_deferred()
        if self.unreadable:
            n = len(self.unreadable)
            more = f" (and {n - 1} more unreadable events)" if n > 1 else ""
            self.status.error(f"{self.unreadable[0]}{more}; {self._format_fix()}")
        if not self.messages and not self.status.failed:
            self.status.error(f"no {self.fmt} messages in the input; {self._format_fix()}")

    def _handle(self, items: list[Any]) -> None:
        for item in items:
            cls = item.__class__
            if cls is Delta:
                self._delta(item)
            elif cls is MessageStart:
                self._start(item)
            elif cls is MessageEnd:
                self._close(item.msg_id, item.reason, None)
            elif cls is StreamError:
                self._stream_error(item)

    def _start(self, start: MessageStart) -> _Message:
        parser = self.cfg.parser(extract=start.kind == "text")
        msg = self.open[start.msg_id] = _Message(start, parser)
        self.messages += 1
        return msg

    def _delta(self, delta: Delta) -> None:
        msg = self.open.get(delta.msg_id) or self._start(MessageStart(delta.msg_id, "text"))
        msg.text.append(delta.text)
        if msg.error is not None:
            return
        try:
            events = msg.parser.feed(delta.text)
        except JsonStreamError as err:
            msg.error = err
            return
        self.sink.events(msg.id, msg.parser, events)

    def _stream_error(self, item: StreamError) -> None:
        if item.msg_id is not None:
            self._close(item.msg_id, None, item.message)
            return
        self._flush_deferred()  # the stream ends here: no stop_reason will come
        self.sink.stream_error(
            {
                "msg": None,
                "type": "stream_error",
                "error": item.message,
                "truncated": item.truncated,
            }
        )
        if item.truncated:
            self.status.cut(f"the stream was cut off ({item.message})")
        elif item.message.startswith(_UNREADABLE):  # one line for all of them, at the end
            self.unreadable.append(item.message)
        else:
            self.status.error(
                f"the provider reported an error: {item.message}; retry the request or check it"
            )

    def _close(self, msg_id: str, finish: str | None, cut: str | None) -> None:
        """The message ended (``finish``) or was cut off (``cut``): its record, now or
        once the stop_reason it waits for is known."""
        msg = self.open.pop(msg_id, None)
        if msg is None:
            return
        if self._defer(finish):
            self.deferred.append((msg, finish, cut))
        else:
            self._done(msg, finish, cut)

    def _defer(self, reason: str | None) -> bool:
        """Anthropic gives its stop_reason only after the blocks stop, and the Responses
        API says a response was cut (``response.incomplete``: ``max_output_tokens``) only
        after its items are done: wait for it (and keep the records in order behind a
        message that waits)."""
        late = isinstance(self.adapter, _LATE_REASON) and reason == "complete"
        return late or bool(self.deferred)

    def _flush_deferred(self) -> None:
        stop = getattr(self.adapter, "stop_reason", None)
        for msg, reason, cut in self.deferred:
            self._done(msg, (stop or reason) if cut is None else None, cut)
        self.deferred.clear()

    def _done(self, msg: _Message, finish: str | None, cut: str | None) -> None:
        """``msg`` ended (``finish``: the provider's reason) or was cut off (``cut``)."""
        result, err = (None, msg.error) if msg.error is not None else _finish(msg.parser)
        record = self._record(msg, result, err, finish, cut)
        self.sink.final(msg.id, record, result.events if result is not None else ())
        if err is not None:
            text = describe_error(err, lenient=self.cfg.lenient, fmt="json")
            self.status.error(f"{_label(msg)}: {text}")
        elif not record["complete"]:
            why = cut or ", ".join(record["repairs"]) or f"finish_reason {finish}"
            self.status.cut(f"{_label(msg)} ({why})")

    def _record(
        self,
        msg: _Message,
        result: ParseResult | None,
        err: JsonStreamError | None,
        finish: str | None,
        cut: str | None,
    ) -> dict[str, Any]:
        rec: dict[str, Any] = {"msg": msg.id, "type": "final", "kind": msg.kind}
        if msg.kind != "text":
            rec["name"] = msg.name
            rec["call_id"] = msg.call_id
        rec["finish_reason"] = finish
        ended = cut is None and (finish is None or finish.lower() not in TRUNCATING)
        if result is None:
            rec.update(complete=False, confidence="low", repairs=[])
        elif msg.kind == "text" and _found_nothing(result):
            rec.update(complete=ended, confidence="high" if ended else "low", repairs=[])
        else:
            rec.update(
                complete=ended and result.complete,
                confidence=result.confidence,
                repairs=[str(r) for r in result.repairs],
            )
            if not _found_nothing(result):
                rec["value"] = result.value
            if result.warnings:
                rec["warnings"] = [getattr(w, "message", str(w)) for w in result.warnings]
        if msg.kind == "text" or err is not None:
            rec["text"] = "".join(msg.text)
        if err is not None:
            rec["error"] = error_record(err)
        if cut is not None:
            rec["stream_error"] = cut
        return rec


def _label(msg: _Message) -> str:
    if msg.kind == "text":
        return f"message {msg.id}"
    return f"tool call {msg.name or '?'} ({msg.call_id or msg.id})"


def run_parse(args: argparse.Namespace) -> int:
    """The ``parse`` command; returns the exit status."""
    cfg = Config(args)
    inp = Input(args.file, args.progress)
    try:
        return _run(cfg, inp, args.pretty)
    finally:
        inp.close()


def _run(cfg: Config, inp: Input, pretty: bool) -> int:
    fmt, detected = sniff_format(inp, cfg.format, cfg.is_value if cfg.lenient else None)
    sys.stdout.flush()
    writer = Writer(sys.stdout.buffer, pretty=pretty)
    status = Status(inp.name, writer)
    follower = Follower(cfg.follow, writer) if cfg.follow is not None else None
    sink = Sink(writer, cfg.emit, follower)
    run_cls = RawRun if fmt in ("json", "ndjson") else ProviderRun
    try:
        run_cls(cfg, sink, status, fmt, detected).run(inp.chunks())
    finally:
        if follower is not None:
            follower.close()
        writer.flush()
    if follower is not None and not follower.found and not status.failed:
        status.error(
            f"nothing at {cfg.follow_text} in the input; check the path against the "
            "records of jsonvisor parse without --follow"
        )
    return status.exit_code(cfg.require_complete)
