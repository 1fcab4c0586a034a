"""The bulk path: runs of whole values loaded in one call instead of token by token.

Where at least ``bulk_threshold`` characters are left (``_run``; the C backend's own is
``_c_bulkstep.h``), the run of whole members at the current position is found by a boundary
scan (:mod:`.fastpath`, in C when built), checked strictly and loaded in one call
(:func:`.fastpath.strict_loads`): ``_bulk_document`` for a top-level value,
``_bulk_members`` for the members of the open array or object, ``_add_members`` and
``_whole_document`` to put them in the tree with their events (``_completed_members``,
in C when built).  A value that does not end in the text yields its *spine*
(``_learn_spine``): later attempts stop before it (``_bulk_limit``).

Fields it owns: ``_bulk_block`` (no attempt before this index of the current text: a
slice that failed the strict check, or a container nested past ``max_depth``), ``_spine``
and ``_spine_text`` (the containers open at the end of that text), ``_sep`` and
``_sep_owner`` (how the last run of an array ended, and which array).  It reads the tree
of :mod:`._scanner` (``_stack``, ``_prefixes``, ``_prov``) and sets ``_state``; values go
through the key transform (``_kt``) and the schema (``_tracker``).

Tests: ``tests/test_parser_bulk.py`` (and ``tests/test_fastpath.py`` for the scanners).
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Any

from ._scanner import _KEY, _VALUE
from .accelerator import speedups as _speedups
from .events import Event, Path, ValueCompleted, ValueStarted
from .fastpath import NotFast, container_spine, scan_members, scan_value_end, strict_loads


def _ends_with_close(text: str) -> bool:
    """Does the last non-whitespace character close an array or object?"""
    i = len(text) - 1
    while i >= 0 and text[i] in " \t\n\r":
        i -= 1
    return i >= 0 and text[i] in "]}"


class _Bulk:
    """The bulk path (a part of ``_Parser``; see the module)."""

    def _whole_document(self, value: Any, events: list[Event]) -> None:
        """A top-level value loaded in one step.  Its members are still reported one by
        one, so a consumer of the top level sees the same events for every chunking."""
        keys = list(value) if value.__class__ is dict else None
        value = self._whole(value)
        if keys is not None and value.__class__ is dict:
            events.append(ValueStarted((), "object"))
            if self._tracker is None:
                _completed_members(events, (), value, 0)
            else:  # (a schema's placeholders for absent keys are not values from the input)
                kt = self._kt
                _completed_members(events, (), {k: value[k] for k in map(kt or str, keys)}, 0)
        elif value.__class__ is list:
            events.append(ValueStarted((), "array"))
            _completed_members(events, (), value, 0)
        elif value.__class__ is str:
            events.append(ValueStarted((), "string"))
        self._document_done(value, events)

    def _whole(self, value: Any) -> Any:
        """A top-level value loaded in one step: transform keys, fill and check it."""
        if self._kt is not None:
            value = _transform_keys(value, self._kt)
        if self._tracker is not None:
            value = self._tracker.whole((), value)
        return value

    def _bulk_document(self, text: str, pos: int, events: list[Event]) -> int:
        """Load a whole top-level value at ``pos`` in one C call if it is all here."""
        c = text[pos]
        if c != "{" and c != "[":
            return pos
        limit = self._bulk_limit(text, pos)
        if limit == pos:
            return pos
        if (
            not self.multiple_values
            and limit == len(text)
            and _ends_with_close(text)
        ):
            try:
                value = strict_loads(text[pos:], self.max_depth, self.max_number_length)
            except NotFast:
                pass
            else:
                self._whole_document(value, events)
                return len(text)
        end = scan_value_end(text, pos, limit, self.max_depth)
        if end < 0:
            self._learn_spine(text, pos, self.max_depth)
            return pos
        try:
            value = strict_loads(text[pos:end], self.max_depth, self.max_number_length)
        except NotFast:
            self._bulk_block = end
            return pos
        self._whole_document(value, events)
        return end

    def _bulk_members(self, text: str, pos: int, in_object: bool, events: list[Event]) -> int:
        """Load the run of whole members at ``pos`` of the open container in one C call."""
        limit = self._bulk_limit(text, pos)
        if limit == pos:  # the member here does not end in this text
            return pos
        top = self._stack[-1]
        depth_left = self.max_depth - len(self._stack) + 1
        if self._prov:
            self._drop_provisional()
        if not in_object and self._sep_owner is top:
            # Items of one array tend to be separated alike ("}, {" ...): guess the last
            # boundary from the separator seen last time.  Only a strict parse of the
            # whole slice accepts the guess, which proves it is a boundary at this depth.
            sep = self._sep
            hit = text.rfind(sep, pos, limit)
            for _ in range(2):
                comma = hit + 1
                if comma <= pos:
                    break
                try:
                    loaded = strict_loads(
                        "[" + text[pos:comma] + "]", depth_left, self.max_number_length
                    )
                except NotFast:
                    hit = text.rfind(sep, pos, hit)
                    continue
                self._add_members(top, loaded, False, events)
                self._state = _VALUE
                return comma + 1
        end, closed, open_at = scan_members(text, pos, in_object, limit, depth_left - 1)
        if open_at >= 0:
            self._learn_spine(text, open_at, depth_left - 1)
        if end < 0:
            return pos
        wrapped = ("{" if in_object else "[") + text[pos:end] + ("}" if in_object else "]")
        try:
            loaded = strict_loads(wrapped, depth_left, self.max_number_length)
        except NotFast:
            self._bulk_block = end
            return pos
        self._add_members(top, loaded, in_object, events)
        if closed:
            self._close(events)
        else:
            self._state = _KEY if in_object else _VALUE
            if not in_object and pos < end and end + 5 <= len(text):
                self._sep = text[end - 1 : end + 5]
                self._sep_owner = top
        return end + 1

    # Cost: a value that does not end in the current text is found by walking its brackets
    # to the end of the text.  The walk also yields the *spine*: every container still
    # open at the end (each nested in the one before).  A run of whole members at any
    # later position ends before the next spine container, so no bulk attempt looks
    # past it, and each level of a cut document costs O(its own members), not O(rest).

    def _bulk_limit(self, text: str, pos: int) -> int:
        """Where a run of whole members from ``pos`` must end: the next container known
        to stay open to the end of ``text`` (``pos`` itself: none can start here)."""
        if self._spine_text is not text:  # (a fact about the text: no reset needed)
            return len(text)
        spine = self._spine
        i = bisect_left(spine, pos)
        return spine[i] if i < len(spine) else len(text)

    def _learn_spine(self, text: str, pos: int, cap: int) -> None:
        """The container at ``pos`` does not end in ``text`` (or nests past ``cap``)."""
        if self._spine_text is text and self._spine and self._spine[0] <= pos:
            return  # already known
        spine, deep = container_spine(text, pos, cap)
        self._spine = spine
        self._spine_text = text
        if deep >= 0:  # past max_depth: the token path will refuse it there
            self._bulk_block = max(self._bulk_block, deep)

    def _add_members(self, top: Any, loaded: Any, in_object: bool, events: list[Event]) -> None:
        prefix = self._prefixes[-1]
        if self._kt is not None:
            loaded = _transform_keys(loaded, self._kt)
        if self._tracker is not None:
            loaded = self._tracker.members(prefix, loaded, in_object, len(top))
        base = len(top)
        if in_object:
            top.update(loaded)
        else:
            top.extend(loaded)
        _completed_members(events, prefix, loaded, base)


def _completed_members_py(events: list[Event], prefix: Path, members: Any, base: int) -> None:
    """A ``ValueCompleted`` for each member of a dict or list loaded whole (list items
    numbered from ``base``), after a ``ValueStarted`` for each object, array or string
    member of the top-level value (``prefix`` empty)."""
    items = members.items() if members.__class__ is dict else enumerate(members, base)
    if prefix:
        events.extend([ValueCompleted((*prefix, k), v) for k, v in items])
        return
    for k, v in items:
        kind = _GROWING.get(v.__class__)
        if kind is not None:
            events.append(ValueStarted((k,), kind))
        events.append(ValueCompleted((k,), v))


# The kinds of value that can be seen growing, which a ValueStarted announces.
_GROWING = {dict: "object", list: "array", str: "string"}


_completed_members = (
    _speedups.completed_members if _speedups is not None else _completed_members_py
)


def _transform_keys(value: Any, kt: Any) -> Any:
    """Apply a key transform to every object key in a whole value."""
    if value.__class__ is dict:
        return {kt(k): _transform_keys(v, kt) for k, v in value.items()}
    if value.__class__ is list:
        return [_transform_keys(v, kt) for v in value]
    return value
