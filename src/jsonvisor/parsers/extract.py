"""Finding where JSON starts in model output: a ```json fence, or a brace in prose.

The extraction state of a parser, apart from its scanning state: :class:`Extractor` (the
fence finder), :class:`Candidate` (a value on trial) and :class:`Extraction` (what is kept
between values).  Sans-IO and incremental.

The extractor is a small state machine over characters; its state after a text depends
only on the characters seen, never on where the chunks were cut (a fence's backticks split
across chunks are counted, not held back).

States::

    PROSE     looking for '{' / '[' (unless fences_only) or a run of >= 3 backticks
    INFO      after an opening fence: blanks, an info word ("json"), blanks
    CLOSING   inside a fence that is not (or no longer) JSON: skip to a run of >= 3 backticks
              (one followed at once by a letter, "```json", opens the next block instead)

A run of backticks is counted across chunks in ``_ticks``; it is judged when the first
character after it arrives: three or more open (in PROSE) or close (in CLOSING) a fence,
fewer are inline code and change nothing.

The C backend has its own :class:`Extraction` (``_speedups.Extraction``, in
``_c_extract.h``): one object with the attributes and methods of both classes here
(``finder`` is the object itself), run in place by the C backend. Tests hold the two
finders identical (``tests/test_extract.py``). """

from __future__ import annotations

import re
from typing import Any

from .events import ValueCompleted

__all__ = ["JSON_FENCES", "Candidate", "Extraction", "Extractor"]

#: Fence info strings whose content is taken as JSON; other fences (```python) are prose.
JSON_FENCES = frozenset({"", "json", "jsonc", "json5", "jsonl", "ndjson", "js", "javascript"})

_PROSE = 0
_INFO = 1
_CLOSING = 2

_START = re.compile(r"[`{\[]")
_TICK = re.compile(r"`")
_NOT_TICK = re.compile(r"[^`]")
_BLANKS = re.compile(r"[ \t]*")
_WORD = re.compile(r"[A-Za-z0-9_+.\-]*")
#: An info word longer than this is not a language name: the fence is prose.
_MAX_INFO = 32


class Extractor:
    """Scan prose for the start of a JSON value.

    Attributes:
        fenced: the value being looked for (or parsed) is inside a JSON fence.
        fences_only: after a value found in prose, only a fence may follow (a fenced
            value then replaces the one in prose).
    """

    __slots__ = ("_info", "_info_stage", "_state", "_ticks", "fenced", "fences_only")

    def __init__(self) -> None:
        self._state = _PROSE
        self._ticks = 0  # backticks counted so far in the current run
        self._info = ""
        self._info_stage = 0  # 0: blanks before the word, 1: the word, 2: blanks after it
        self.fenced = False
        self.fences_only = False

    @property
    def in_fence(self) -> bool:
        """Inside a JSON fence, or on the info line of one not yet known to be JSON."""
        return self.fenced or self._state == _INFO

    def reset(self) -> None:
        """Look for the next value (after one completed, with ``multiple_values``);
        after a fenced value, its closing fence is skipped first."""
        self._state = _CLOSING if self.fenced else _PROSE
        self._ticks = 0
        self.fenced = False

    def quiet(self) -> int:
        """Which characters a text must hold for :meth:`find` to change anything: 1, one
        of ``{ [ `````; 2, a backtick; 0, any (a run of backticks or an info line is in
        progress).  Text without them can be passed over without calling find()."""
        if self._ticks:
            return 0
        if self._state == _PROSE:
            return 2 if self.fences_only else 1
        return 2 if self._state == _CLOSING else 0

    def skip_block(self) -> None:
        """A fenced candidate was not JSON: skip the rest of its block."""
        self._state = _CLOSING
        self._ticks = 0
        self.fenced = False

    def find(self, text: str, pos: int) -> tuple[int, bool]:
        """Scan ``text[pos:]``.

        Returns ``(start, fenced)``: a value may start at ``start`` (-1: not in this
        text); ``fenced`` says the start follows a JSON fence's info line rather than a
        brace in prose.
        """
        n = len(text)
        while pos < n:
            state = self._state
            if self._ticks:
                # Finish counting a run of backticks.
                end = _NOT_TICK.search(text, pos)
                if end is None:
                    self._ticks += n - pos
                    return -1, False
                ticks = self._ticks + end.start() - pos
                pos = end.start()
                self._ticks = 0
                if ticks >= 3:
                    if state == _PROSE:
                        self._state = _INFO
                        self._info = ""
                        self._info_stage = 0
                    elif state == _CLOSING:
                        # A closing fence; one with a language right after it ("```json")
                        # is taken as the opening of the next block (models write that).
                        opens = text[pos].isascii() and text[pos].isalpha()
                        self._state = _INFO if opens else _PROSE
                        self._info = ""
                        self._info_stage = 0
                continue
            if state == _PROSE:
                m = (_TICK if self.fences_only else _START).search(text, pos)
                if m is None:
                    return -1, False
                pos = m.start()
                if text[pos] == "`":
                    self._ticks = 1
                    pos += 1
                    continue
                return pos, False
            if state == _CLOSING:
                m = _TICK.search(text, pos)
                if m is None:
                    return -1, False
                self._ticks = 1
                pos = m.start() + 1
                continue
            # _INFO: blanks, a word, blanks, then the first other character decides.
            if self._info_stage == 0:
                pos = _BLANKS.match(text, pos).end()
                if pos >= n:
                    return -1, False
                self._info_stage = 1
            if self._info_stage == 1:
                end = _WORD.match(text, pos).end()
                self._info += text[pos:end][: _MAX_INFO + 1 - len(self._info)]
                pos = end
                if pos >= n:
                    return -1, False
                self._info_stage = 2
            pos = _BLANKS.match(text, pos).end()
            if pos >= n:
                return -1, False
            if text[pos] == "`":  # an empty fence: this backtick starts a new run
                self._state = _PROSE
                continue
            if len(self._info) > _MAX_INFO or self._info.lower() not in JSON_FENCES:
                self._state = _CLOSING  # ```python ... ```: prose
                continue
            self._state = _PROSE
            self.fenced = True
            self.fences_only = False
            return pos, True
        return -1, False


class Candidate:
    """A value found in model output, on trial until it proves to be JSON.

    Its events wait in ``events``.  It is proven at the first double-quoted string that
    begins in it (the parser sets ``quoted``) or the first value that completes in it (a
    ``ValueCompleted`` among its events): both are points in the text, so whether it is
    proven at any position does not depend on the chunking.

    Attributes:
        fenced: it follows a JSON fence's info line (else a brace in prose).
        saved: the value found in prose that it would replace, with what to restore if
            it fails (see the parser's ``_begin_trial``), or None.
    """

    __slots__ = ("_seen", "events", "fenced", "quoted", "saved")

    def __init__(self, fenced: bool, saved: tuple[Any, ...] | None = None) -> None:
        self.events: list[Any] = []
        self.quoted = False
        self.fenced = fenced
        self.saved = saved
        self._seen = 0  # events already searched for a completed value

    def proven(self) -> bool:
        """Has it shown it is JSON?  (Each event is looked at once.)"""
        if self.quoted:
            return True
        events = self.events
        for k in range(self._seen, len(events)):
            if events[k].__class__ is ValueCompleted:
                self.quoted = True
                return True
        self._seen = len(events)
        return False


class Extraction:
    """What extraction keeps between values: the fence finder and how the document ended.

    Attributes:
        finder: the :class:`Extractor` state machine.
        prose_doc: the document was found in prose (a later fenced value replaces it).
        fence_closed: the fence around the document has closed.
    """

    __slots__ = ("fence_closed", "finder", "prose_doc")

    def __init__(self) -> None:
        self.finder = Extractor()
        self.prose_doc = False
        self.fence_closed = False
