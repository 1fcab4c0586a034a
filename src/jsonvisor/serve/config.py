"""The service's settings: where it listens, its limits, schemas, upstreams and supervisor."""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..llm import FORMATS
from .errors import ConfigError
from .security import ID_PATTERN, check_bind
from .server import ServerLimits

__all__ = ["Schema", "ServeConfig", "Upstream", "load_schema", "parse_upstream"]


@dataclass(frozen=True)
class Upstream:
    """A provider endpoint the service may call: ``POST /upstreams/{name}`` streams its
    answer through the adapter of ``format`` (None: detected from the first bytes)."""

    name: str
    url: str
    format: str | None = None


@dataclass(frozen=True)
class Schema:
    """A JSON Schema the service knows by ``name``: ``compiled`` for the parsers, ``source``
    for the web view (which draws the skeleton from it)."""

    name: str
    source: dict[str, Any]
    compiled: Any


@dataclass
class ServeConfig:
    """Everything ``jsonvisor serve`` is told.  Sizes are bytes, times seconds.

    Attributes:
        host, port: where to listen (port 0: any free port).
        token: the bearer token every API request must carry (None: none, loopback only).
        server: ``"h11"`` (jsonvisor's own server, the default) or ``"hypercorn"``.
        limits: the HTTP server's bounds (header size and timeouts, write timeout, ...).
        grace: seconds from SIGTERM to exit, at most.
        lenient: LLM mode for every parser (extraction from prose, tolerant syntax).
        schemas: JSON Schemas by name: a message names one (``?schema=``), and a proxied
            tool call uses the one named like its tool.
        max_messages: live messages at most (waiting, open or ending).
        max_request_bytes: one request body at most.
        max_message_bytes: one message's input at most (also the parser's ``max_bytes``).
        max_subscribers: event streams per message at most.
        max_watch_paths: ``watch`` parameters per request at most.
        subscriber_buffer: bytes queued for one event stream before it is dropped as slow
            (None: 3 x ``max_message_bytes`` + 1 MiB, room for the final value's events
            of a message as large as allowed: its root's ``value_completed``, the
            ``document_completed`` and the ``completed``).
        heartbeat: seconds between keep-alive comments on an idle event stream.
        keep_recent: finished messages listed and kept with their results.
        upstreams: the configured provider endpoints, by name.
        upstream_timeout: seconds an upstream may take to connect or stay silent.
        demo: replay the recorded provider streams through the service, in a loop.
        supervisor: further ``open_supervisor`` options (``mailbox_size``, ``idle_timeout``...).
        parser_factory: ``factory(msg_id, schema)`` instead of ``StreamingJsonParser`` (for
            embedding and tests).
    """

    host: str = "127.0.0.1"
    port: int = 8765
    token: str | None = None
    server: str = "h11"
    limits: ServerLimits = field(default_factory=ServerLimits)
    grace: float = 10.0
    lenient: bool = True
    max_depth: int = 256
    schemas: dict[str, Schema] = field(default_factory=dict)
    max_messages: int = 10_000
    max_request_bytes: int = 5 * 1024 * 1024
    max_message_bytes: int = 5 * 1024 * 1024
    max_subscribers: int = 64
    max_watch_paths: int = 8
    subscriber_buffer: int | None = None
    heartbeat: float = 15.0
    keep_recent: int = 1000
    upstreams: dict[str, Upstream] = field(default_factory=dict)
    upstream_timeout: float = 300.0
    demo: bool = False
    demo_speed: float = 1.0
    supervisor: dict[str, Any] = field(default_factory=dict)
    parser_factory: Callable[[Hashable, Schema | None], Any] | None = None

    @property
    def stream_buffer(self) -> int:
        """The bytes an event stream may fall behind (``subscriber_buffer``, resolved)."""
        if self.subscriber_buffer is not None:
            return self.subscriber_buffer
        return 3 * self.max_message_bytes + (1 << 20)

    def check(self) -> None:
        """Raise :class:`ConfigError` for settings the service refuses."""
        check_bind(self.host, self.token)
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"--port {self.port} is not a TCP port (0-65535)")
        if self.server not in ("h11", "hypercorn"):
            raise ConfigError(f"--server must be h11 or hypercorn, not {self.server!r}")
        for name in (
            "max_messages",
            "max_request_bytes",
            "max_message_bytes",
            "max_subscribers",
            "max_watch_paths",
            "stream_buffer",
            "keep_recent",
        ):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"{name} must be at least 1")
        for name in ("grace", "heartbeat", "upstream_timeout"):
            if not float(getattr(self, name)) > 0:
                raise ConfigError(f"{name} must be more than 0 seconds")


def load_schema(name: str, path: str | Path) -> Schema:
    """A JSON Schema file, compiled (``ConfigError`` if unreadable or not a schema)."""
    if not ID_PATTERN.fullmatch(name):
        raise ConfigError(f"invalid schema name {name!r}: use letters, digits, _ . ~ : @ + -")
    try:
        source = json.loads(Path(path).read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the schema {str(path)!r}: {exc}") from None
    return schema_from(name, source)


def schema_from(name: str, source: Mapping[str, Any]) -> Schema:
    """A :class:`Schema` from a JSON Schema dict."""
    from ..parsers.schema import compile_schema

    if not isinstance(source, Mapping):
        raise ConfigError(f"the schema {name!r} is not a JSON object")
    try:
        compiled = compile_schema(dict(source))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"the schema {name!r} is not usable: {exc}") from None
    return Schema(name, dict(source), compiled)


def parse_upstream(text: str, fmt: str | None = None) -> Upstream:
    """``NAME=URL`` (``NAME=FORMAT+URL`` names the format) into an :class:`Upstream`."""
    name, sep, url = text.partition("=")
    name = name.strip()
    if not sep or not name or not url:
        raise ConfigError(f"--upstream {text!r}: write NAME=URL, e.g. openai=https://.../v1/...")
    if not ID_PATTERN.fullmatch(name):
        raise ConfigError(f"--upstream {text!r}: invalid name {name!r}")
    head, plus, rest = url.partition("+")
    if plus and head in FORMATS:
        fmt, url = head, rest
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"--upstream {text!r}: the URL must be http:// or https://")
    if fmt is not None and fmt not in FORMATS:
        raise ConfigError(f"--upstream {text!r}: unknown format {fmt!r} ({', '.join(FORMATS)})")
    return Upstream(name, url, fmt)
