"""``jsonvisor serve``: the supervisor as a network service, with a live web view.

Producers POST chunks of a message (``/messages/{id}/chunks``, then ``/end``), or have the
service call a configured provider (``/upstreams/{name}``); consumers read each message's
events as server-sent events (``/messages/{id}/events``), its snapshot and result
(``/messages/{id}``), the list of messages (``/messages``, ``/events``) and the statistics
(``/stats``).  ``GET /`` is a page that shows every message's value filling in.  The HTTP
API is described in docs/serve.md and served as ``/openapi.json``.

>>> from jsonvisor.serve import ServeConfig, serve              # doctest: +SKIP
>>> async def main():                                           # doctest: +SKIP
...     async with trio.open_nursery() as nursery:
...         service = await nursery.start(serve, ServeConfig(port=0))
...         print(service.url)          # http://127.0.0.1:PORT
...         service.stop()              # the same shutdown as SIGTERM

Modules: :mod:`.config` (settings), :mod:`.server` (the HTTP/1.1 server on Trio),
:mod:`.app` (routes), :mod:`.registry` (messages, pumps, fan-out, shutdown),
:mod:`.messages` (per-message state), :mod:`.subscribers` (bounded event queues),
:mod:`.encoding` (JSON and server-sent events), :mod:`.security` (token, IDs, paths),
:mod:`.upstream` (the proxy), :mod:`.demo`, :mod:`.openapi`, :mod:`.run`.
"""

from .config import Schema, ServeConfig, Upstream, load_schema, parse_upstream
from .errors import ConfigError, HTTPError
from .run import Running, serve
from .server import ClientDisconnected, HttpServer, ServerLimits

__all__ = [
    "ClientDisconnected",
    "ConfigError",
    "HTTPError",
    "HttpServer",
    "Running",
    "Schema",
    "ServeConfig",
    "ServerLimits",
    "Upstream",
    "load_schema",
    "parse_upstream",
    "serve",
]
