"""The OpenAPI 3.1 description of the service, served at ``/openapi.json``."""

from __future__ import annotations

from typing import Any

from .. import __version__
from .config import ServeConfig

__all__ = ["EVENT_KINDS", "openapi"]

#: The server-sent events of ``GET /messages/{id}/events``, in words.
EVENT_KINDS = {
    "snapshot": "first event: {id, state, schema, value, completed: [path...]} - the value "
    "so far and the paths already complete; every later event applies to it "
    "(compact streams with a schema also get schema_source)",
    "value_started": "{path, kind}: an object or array opened, or a string is still open",
    "string_grew": "{path, text}: the open string grew by text",
    "value_completed": "{path, value} - the value at path is final ({path, same: true} on a "
    "compact stream when the client already built it from earlier events)",
    "document_completed": "{index, value}: the top-level value is complete",
    "restarted": "{attempt, error}: the parser crashed and was restarted (events continue)",
    "completed": "terminal: {value, complete, confidence, repairs, warnings?}",
    "failed": "terminal: {error: {type, message, offset?, line?, column?, ...}}",
    "expired": "terminal: {reason: idle|ttl}",
    "cancelled": "terminal: {reason: cancelled|shutdown}",
    "watched": "{pattern, path, value, complete}: a watched value completed (?watch=)",
    "watched_text": "{pattern, path, text}: a watched string grew (?watch_text=1)",
    "dropped": "{error}: the stream fell too far behind and was dropped (last event)",
}

_ERROR = {"$ref": "#/components/schemas/Error"}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ERROR}}}


def _json(description: str, ref: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}},
    }


def openapi(config: ServeConfig) -> dict[str, Any]:
    """The OpenAPI document for a service configured by ``config``."""
    msg_id = {
        "name": "id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "pattern": "^[A-Za-z0-9_][A-Za-z0-9_.~:@+\\-]{0,199}$"},
    }
    watch = {
        "name": "watch",
        "in": "query",
        "description": "a watched path ($.a.b, $.items[*]); repeat for several (at most "
        f"{config.max_watch_paths})",
        "schema": {"type": "array", "items": {"type": "string", "maxLength": 256}},
        "style": "form",
        "explode": True,
    }
    wait = {
        "name": "wait",
        "in": "query",
        "description": "seconds to wait for the message to end first (at most 300)",
        "schema": {"type": "number", "minimum": 0},
    }
    refusals = {
        "400": _error("invalid ID, path, schema or query"),
        "401": _error("missing or wrong bearer token"),
        "403": _error("not a loopback Host (no token), or a cross-origin request"),
        "404": _error("unknown message, schema or upstream"),
        "405": _error("method not allowed"),
    }
    sse_description = "text/event-stream; events: " + "; ".join(
        f"{k}: {v}" for k, v in EVENT_KINDS.items()
    )
    paths: dict[str, Any] = {
        "/messages/{id}/chunks": {
            "post": {
                "summary": "Append the body to the message (opened by its first chunk)",
                "description": "The body is read as it arrives (a chunked body chunk by chunk) "
                "and sent to the message's mailbox; a full mailbox slows the reading, so "
                "backpressure reaches the client. Several POSTs append in order.",
                "parameters": [
                    msg_id,
                    {
                        "name": "schema",
                        "in": "query",
                        "schema": {"type": "string"},
                        "description": "a configured schema name (first request only)",
                    },
                    {
                        "name": "end",
                        "in": "query",
                        "schema": {"type": "boolean"},
                        "description": "end the message after this body",
                    },
                ],
                "requestBody": {
                    "content": {"application/octet-stream": {}, "text/plain": {}},
                    "description": f"UTF-8 JSON text, any split; at most "
                    f"{config.max_request_bytes} bytes per request and "
                    f"{config.max_message_bytes} per message",
                },
                "responses": {
                    "202": _json("accepted", "MessageSummary"),
                    **refusals,
                    "409": _error("the message has ended or finished, or another schema"),
                    "413": _error("request, chunk or message too large"),
                    "429": _error("too many live messages"),
                    "503": _error("shutting down"),
                },
            }
        },
        "/messages/{id}/end": {
            "post": {
                "summary": "End the message: its parser finishes and its terminal event follows",
                "parameters": [msg_id, wait],
                "responses": {
                    "200": _json("finished (with ?wait)", "Message"),
                    "202": _json("ending", "Message"),
                    **refusals,
                },
            }
        },
        "/messages/{id}": {
            "get": {
                "summary": "The message: state, current snapshot, and its result once finished",
                "parameters": [msg_id, wait, watch],
                "responses": {
                    "200": _json("the message", "Message"),
                    **refusals,
                    "410": _error("finished and no longer kept"),
                },
            },
            "delete": {
                "summary": "Cancel the message",
                "parameters": [msg_id],
                "responses": {"200": _json("cancelled", "Message"), **refusals},
            },
        },
        "/messages/{id}/events": {
            "get": {
                "summary": "The message's events as server-sent events",
                "description": "Starts with a snapshot, then every event, then the terminal "
                "event. Subscribing before the first chunk waits for it. A subscriber that "
                f"falls {config.stream_buffer} bytes behind, or takes no bytes for "
                f"{config.limits.write_timeout:g} s, is dropped.",
                "parameters": [
                    msg_id,
                    watch,
                    {
                        "name": "watch_text",
                        "in": "query",
                        "schema": {"type": "boolean"},
                        "description": "also send watched strings as they grow",
                    },
                    {
                        "name": "compact",
                        "in": "query",
                        "schema": {"type": "boolean"},
                        "description": "leave out values the client built from earlier events",
                    },
                ],
                "responses": {
                    "200": {"description": sse_description, "content": {"text/event-stream": {}}},
                    **refusals,
                    "429": _error("too many subscribers or live messages"),
                },
            }
        },
        "/messages": {
            "get": {
                "summary": "Live and recent messages with their states",
                "parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer"}}],
                "responses": {"200": _json("the lists", "MessageList"), **refusals},
            }
        },
        "/events": {
            "get": {
                "summary": "The message list as server-sent events: `messages` {live, recent} "
                "first, then `message` (a summary) whenever one opens or changes state",
                "responses": {"200": {"description": "text/event-stream"}, **refusals},
            }
        },
        "/stats": {
            "get": {
                "summary": "The supervisor's statistics, the service's and the server's",
                "responses": {"200": {"description": "counters"}, **refusals},
            }
        },
        "/schemas": {
            "get": {
                "summary": "Configured schema names",
                "responses": {"200": {"description": "{schemas: [name...]}"}},
            }
        },
        "/schemas/{name}": {
            "get": {
                "summary": "A configured JSON Schema",
                "parameters": [
                    {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {"200": {"description": "the JSON Schema"}, **refusals},
            }
        },
        "/upstreams": {
            "get": {
                "summary": "Configured upstreams (names, formats, hosts)",
                "responses": {"200": {"description": "the list"}},
            }
        },
        "/upstreams/{name}": {
            "post": {
                "summary": "Send the body to the configured upstream and fan its streamed "
                "answer in: one message per text block or tool call",
                "description": "Only the URL configured with --upstream NAME=URL is called; "
                "the body is passed on as it is. X-Upstream-Authorization is sent as "
                "Authorization, and x-api-key, x-goog-api-key, anthropic-version, "
                "anthropic-beta, openai-organization and openai-project are passed on. The "
                "response is NDJSON: {type: message, id, kind, name} as each message starts, "
                "{type: end, id, reason} as each ends, then {type: done, errors}.",
                "parameters": [
                    {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {
                    "200": {"description": "application/x-ndjson"},
                    **refusals,
                    "502": _error("the upstream failed or answered with an error"),
                },
            }
        },
        "/openapi.json": {
            "get": {
                "summary": "This document",
                "security": [],
                "responses": {"200": {"description": "OpenAPI 3.1"}},
            }
        },
        "/": {
            "get": {
                "summary": "The live web view",
                "security": [],
                "responses": {"200": {"description": "text/html"}},
            }
        },
    }
    summary_props = {
        "id": {"type": "string"},
        "state": {
            "enum": ["waiting", "open", "ending", "completed", "failed", "expired", "cancelled"]
        },
        "schema": {"type": ["string", "null"]},
        "origin": {"type": "string"},
        "kind": {"type": "string"},
        "name": {"type": "string"},
        "created": {"type": "number"},
        "updated": {"type": "number"},
        "bytes": {"type": "integer"},
        "events": {"type": "integer"},
        "subscribers": {"type": "integer"},
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "jsonvisor serve",
            "version": __version__,
            "description": "Streamed, incomplete JSON in; events, live partial values and "
            "final values out. See docs/serve.md.",
        },
        "servers": [{"url": "/"}],  # (where this document is served)
        "security": [{"bearer": []}] if config.token else [],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["code", "message"],
                            "properties": {
                                "code": {"type": "string"},
                                "message": {"type": "string"},
                            },
                        }
                    },
                },
                "MessageSummary": {"type": "object", "properties": summary_props},
                "Message": {
                    "type": "object",
                    "properties": {
                        **summary_props,
                        "value": {
                            "description": "the partial value now (the final value once completed)"
                        },
                        "result": {
                            "type": "object",
                            "properties": {
                                "value": {},
                                "complete": {"type": "boolean"},
                                "confidence": {"enum": ["high", "medium", "low"]},
                                "repairs": {"type": "array", "items": {"type": "string"}},
                                "warnings": {"type": "array", "items": {"type": "string"}},
                            },
                        },
                        "error": {"type": "object"},
                        "watched": {"type": "array", "items": {"type": "object"}},
                    },
                },
                "MessageList": {
                    "type": "object",
                    "properties": {
                        "live": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/MessageSummary"},
                        },
                        "recent": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/MessageSummary"},
                        },
                    },
                },
            },
        },
    }
