"""A schema model and a parser factory that worker actors import (for the cluster's
schema tests): a result's ``model`` is an instance of a class defined here, so it
reaches the root only when this module is among ``trusted_modules``."""

from __future__ import annotations

from dataclasses import dataclass

from jsonvisor.parsers import StreamingJsonParser


@dataclass
class Card:
    title: str
    score: int


def card_parser(msg_id: object) -> StreamingJsonParser:
    """A parser that validates each message into a :class:`Card`."""
    return StreamingJsonParser(schema=Card, validate=True)


def parser_without_id() -> StreamingJsonParser:
    """A factory of the wrong shape: it does not take the message ID."""
    return StreamingJsonParser()
