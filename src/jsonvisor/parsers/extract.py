"""Finding where JSON starts in model output: a ```json fence, or a brace in prose.

Sans-IO and incremental: :meth:`Extractor.find` scans one text and says where a value may
start; a fence split across chunks is still a fence (trailing backticks are handed back to
be prepended to the next chunk).
"""

from __future__ import annotations

import re

__all__ = ["Extractor"]

_START = re.compile(r"```|[{\[]")
_FENCE = re.compile(r"```")
#: Fence info strings whose content is taken as JSON; other fences (```python) are prose.
JSON_FENCES = frozenset({"", "json", "jsonc", "json5", "jsonl", "ndjson", "js", "javascript"})
_INFO = re.compile(r"[A-Za-z0-9_+.\-]*[ \t]*")

_SEEK = 0  # prose
_INFO_STRING = 1  # after an opening fence, on its info string ("json")
_CLOSING = 2  # after a value inside a fence: skip to the closing fence


class Extractor:
    """Scan prose for the start of a JSON value.

    Attributes:
        fenced: the value being looked for (or parsed) is inside a fence.
    """

    def __init__(self) -> None:
        self._state = _SEEK
        self._info = ""
        self.fenced = False
        self.fences_only = False  # after a value found in prose: only a fence may follow

    @property
    def in_fence(self) -> bool:
        """Inside a JSON fence, or on the info line of one not yet known to be JSON."""
        return self.fenced or self._state == _INFO_STRING

    def reset(self) -> None:
        """Look for the next value (after one completed, with ``multiple_values``);
        after a fenced value, its closing fence is skipped first."""
        self._state = _CLOSING if self.fenced else _SEEK
        self.fenced = False

    def find(self, text: str, pos: int) -> tuple[int, int, bool]:
        """Scan ``text[pos:]``.

        Returns ``(start, keep, fenced)``: the value may start at ``start`` (-1: not in
        this text); ``keep`` is how many trailing characters to carry over to the next
        chunk (a partial fence); ``fenced`` says the start follows a fence line (trust it)
        rather than a brace in prose (try it).
        """
        n = len(text)
        while pos < n:
            if self._state == _CLOSING:
                e = text.find("```", pos)
                if e < 0:
                    keep = len(text) - len(text.rstrip("`"))
                    return -1, min(keep, 2), False
                self._state = _SEEK
                pos = e + 3
                continue
            if self._state == _INFO_STRING:
                end = _INFO.match(text, pos).end()
                self._info += text[pos:end]
                pos = end
                if pos >= n:
                    return -1, 0, False
                self._state = _SEEK
                info, self._info = self._info.strip().lower(), ""
                if text[pos] == "`":  # an empty fence: look again from here
                    continue
                if info not in JSON_FENCES:  # ```python ... ```: prose
                    self._state = _CLOSING
                    continue
                self.fenced = True
                self.fences_only = False
                if text[pos] == "\r":
                    pos += 1
                if pos < n and text[pos] == "\n":
                    pos += 1
                return pos, 0, True
            m = (_FENCE if self.fences_only else _START).search(text, pos)
            if m is None:
                keep = len(text) - len(text.rstrip("`"))
                return -1, min(keep, 2), False
            if m.group() == "```":
                self._state = _INFO_STRING
                pos = m.end()
                continue
            return m.start(), 0, False
        return -1, 0, False
