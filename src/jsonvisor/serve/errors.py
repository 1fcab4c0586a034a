"""Refusals: every one is an HTTP status with a JSON body ``{"error": {"code", "message"}}``."""

from __future__ import annotations

from typing import Any

__all__ = ["ConfigError", "HTTPError"]


class HTTPError(Exception):
    """A refusal: ``status``, a stable machine-readable ``code`` and a message in words."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra
        self.headers: list[tuple[bytes, bytes]] = []

    def body(self) -> dict[str, Any]:
        """The JSON body."""
        return {"error": {"code": self.code, "message": self.message, **self.extra}}


class ConfigError(ValueError):
    """The service cannot start as configured (a usage error of ``jsonvisor serve``)."""
