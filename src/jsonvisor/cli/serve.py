"""``jsonvisor serve``: its options, and running the service until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse

from .options import parse_size, positive_int
from .problems import USAGE_ERROR, Problem

__all__ = ["add_serve", "run_serve"]


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number of seconds {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"invalid number of seconds {text!r}: must be more than 0")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}: 0 to 65535 (0: any free port)")
    return value


def add_serve(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """The ``serve`` subcommand's parser."""
    p = sub.add_parser(
        "serve",
        help="run the supervisor as an HTTP service with a live web view",
        description=(
            "Run the supervisor behind HTTP: POST /messages/{id}/chunks and /end to stream "
            "JSON in; GET /messages/{id}/events (server-sent events), /messages/{id}, "
            "/messages, /stats; the live web view at /; the API at /openapi.json "
            "(docs/serve.md). Stops on SIGTERM or Ctrl-C within --grace seconds."
        ),
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1; any other address needs --token-file)",
    )
    p.add_argument("--port", type=_port, default=8765, help="port (default 8765; 0: any free)")
    p.add_argument(
        "--token-file",
        metavar="FILE",
        help="a file holding the bearer token every API request must send (chmod 600)",
    )
    p.add_argument(
        "--server",
        choices=["h11", "hypercorn"],
        default="h11",
        help="the HTTP server: h11 (default: jsonvisor's own, on Trio) or hypercorn",
    )
    p.add_argument(
        "--grace",
        type=_seconds,
        default=10.0,
        metavar="SECONDS",
        help="seconds from SIGTERM to exit, at most (default 10)",
    )
    p.add_argument(
        "--demo",
        action="store_true",
        help="replay the recorded provider streams through the service, in a loop",
    )
    p.add_argument(
        "--demo-speed",
        type=_seconds,
        default=1.0,
        metavar="X",
        help="timing multiplier of --demo (default 1)",
    )
    p.add_argument(
        "--schema",
        action="append",
        default=[],
        metavar="NAME=FILE",
        help="a JSON Schema file, known as NAME (?schema=NAME; a proxied tool call "
        "uses the one named like its tool); repeatable",
    )
    p.add_argument(
        "--upstream",
        action="append",
        default=[],
        metavar="NAME=URL",
        help="a provider endpoint POST /upstreams/NAME may call (OpenAI-compatible, "
        "Anthropic or Gemini streaming; FORMAT+URL names the format); repeatable",
    )
    p.add_argument(
        "--upstream-timeout",
        type=_seconds,
        default=300.0,
        metavar="SECONDS",
        help="seconds an upstream may stay silent (default 300)",
    )
    sup = p.add_argument_group("supervisor and parser")
    sup.add_argument(
        "--strict", action="store_true", help="strict JSON (default: LLM mode, as parse --lenient)"
    )
    sup.add_argument(
        "--mailbox-size",
        type=positive_int,
        default=256,
        metavar="N",
        help="chunks queued per message (default 256)",
    )
    sup.add_argument(
        "--mailbox-bytes",
        type=parse_size,
        default=1 << 20,
        metavar="SIZE",
        help="bytes queued per message (default 1MiB)",
    )
    sup.add_argument(
        "--idle-timeout",
        type=_seconds,
        metavar="SECONDS",
        help="a message waiting this long for input expires (default: never)",
    )
    sup.add_argument(
        "--ttl",
        type=_seconds,
        metavar="SECONDS",
        help="a message expires this long after it opened (default: never)",
    )
    sup.add_argument(
        "--max-bytes",
        type=parse_size,
        default=5 * 1024 * 1024,
        metavar="SIZE",
        help="input per message at most (default 5MiB)",
    )
    sup.add_argument(
        "--max-depth",
        type=positive_int,
        default=256,
        metavar="N",
        help="nesting at most (default 256)",
    )
    sup.add_argument(
        "--keep-results",
        type=positive_int,
        default=1000,
        metavar="N",
        help="finished messages kept with their results (default 1000)",
    )
    sup.add_argument(
        "--events-buffer",
        type=positive_int,
        default=1024,
        metavar="N",
        help="events buffered per message (default 1024)",
    )
    lim = p.add_argument_group("limits")
    lim.add_argument(
        "--max-messages",
        type=positive_int,
        default=10_000,
        metavar="N",
        help="live messages at most (default 10000)",
    )
    lim.add_argument(
        "--max-request-bytes",
        type=parse_size,
        default=5 * 1024 * 1024,
        metavar="SIZE",
        help="one request body at most (default 5MiB)",
    )
    lim.add_argument(
        "--max-chunk-bytes",
        type=parse_size,
        default=1 << 20,
        metavar="SIZE",
        help="one chunk of a chunked request body at most (default 1MiB)",
    )
    lim.add_argument(
        "--max-subscribers",
        type=positive_int,
        default=64,
        metavar="N",
        help="event streams per message at most (default 64)",
    )
    lim.add_argument(
        "--subscriber-buffer",
        type=parse_size,
        metavar="SIZE",
        help="bytes an event stream may fall behind before it is dropped "
        "(default: 3 x --max-bytes + 1MiB, room for the final events of the largest message)",
    )
    lim.add_argument(
        "--write-timeout",
        type=_seconds,
        default=10.0,
        metavar="SECONDS",
        help="a client taking no bytes this long is disconnected (default 10)",
    )
    lim.add_argument(
        "--max-connections",
        type=positive_int,
        default=10_000,
        metavar="N",
        help="connections at most (default 10000)",
    )


def config_from(args: argparse.Namespace) -> object:
    """A :class:`~jsonvisor.serve.ServeConfig` from the parsed options."""
    from ..serve import ConfigError, ServeConfig, ServerLimits, load_schema, parse_upstream
    from ..serve.security import read_token

    try:
        schemas = {}
        for item in args.schema:
            name, sep, path = item.partition("=")
            if not sep or not path:
                raise ConfigError(f"--schema {item!r}: write NAME=FILE")
            schemas[name] = load_schema(name, path)
        upstreams = {}
        for item in args.upstream:
            upstream = parse_upstream(item)
            upstreams[upstream.name] = upstream
        token = read_token(args.token_file) if args.token_file else None
        supervisor = {
            "mailbox_size": args.mailbox_size,
            "mailbox_bytes": args.mailbox_bytes,
            "idle_timeout": args.idle_timeout,
            "ttl": args.ttl,
            "events_buffer": args.events_buffer,
        }
        config = ServeConfig(
            host=args.host,
            port=args.port,
            token=token,
            server=args.server,
            grace=args.grace,
            lenient=not args.strict,
            max_depth=args.max_depth,
            schemas=schemas,
            max_messages=args.max_messages,
            max_request_bytes=args.max_request_bytes,
            max_message_bytes=args.max_bytes,
            max_subscribers=args.max_subscribers,
            subscriber_buffer=args.subscriber_buffer,
            keep_recent=args.keep_results,
            upstreams=upstreams,
            upstream_timeout=args.upstream_timeout,
            demo=args.demo,
            demo_speed=args.demo_speed,
            supervisor=supervisor,
            limits=ServerLimits(
                max_chunk_bytes=args.max_chunk_bytes,
                write_timeout=args.write_timeout,
                max_connections=args.max_connections,
            ),
        )
        config.check()
    except ConfigError as exc:
        raise Problem(str(exc), USAGE_ERROR) from None
    return config


def run_serve(args: argparse.Namespace) -> int:
    """Run the service until SIGTERM or Ctrl-C; 0 after a clean shutdown."""
    import trio

    try:
        import h11  # noqa: F401  (the HTTP server's protocol)
    except ImportError:
        message = "jsonvisor serve needs the 'serve' extra: pip install 'jsonvisor[serve]'"
        raise Problem(message, USAGE_ERROR) from None
    from ..serve import serve

    config = config_from(args)
    try:
        trio.run(lambda: serve(config, signals=True))  # type: ignore[arg-type]
    except OSError as exc:  # the port is taken, the address is not ours...
        raise Problem(
            f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", 1
        ) from None
    return 0
