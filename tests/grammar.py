"""Hypothesis strategies for model-style output: random JSON-ish values rendered as text.

``llm_texts()`` draws a value tree and renders it with a random mix of the LLM-mode
tolerances, chosen token by token and all mixed in one text (quote styles, comments,
unquoted keys, trailing commas, Python literals, NaN/Infinity, hex numbers, escapes, raw
control characters), then wraps it the way models do (prose, fences, a ```python block,
placeholders in braces, ``[1]`` references, inline code, a long preamble); sometimes it cuts
the text short or injects garbage.  Each example is a :class:`Sample`: the text, the set of
tolerances the rendering relies on, and the intended value, which is meaningful when the
sample is ``valid`` (not truncated, not garbled) and every tolerance in ``used`` is on.

``strict_texts()`` is ``json.dumps`` of random values; ``ndjson_texts()`` is several values
for ``multiple_values=True``.

Shrinking goes towards plain JSON: every choice's smallest draw is the strict rendering.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any

from hypothesis import strategies as st

from jsonvisor.parsers.options import Tolerances, key_transformer

__all__ = [
    "CARD_SCHEMA",
    "MISSING",
    "TOLERANCES",
    "Sample",
    "json_depth",
    "llm_texts",
    "ndjson_texts",
    "strict_texts",
]

#: Every tolerance the parser has (option sets turn each off in turn).
TOLERANCES = tuple(f.name for f in fields(Tolerances))

#: The shape of ``llm_texts()`` examples with ``shape == "card"``.
CARD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "price": {"type": "number"},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["title", "price", "tags"],
}


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


#: No intended value (truncated, garbled, or several documents in single-value mode).
MISSING: Any = _Missing()

_camel = key_transformer("camel")


@dataclass(frozen=True)
class Sample:
    """One generated text and what it should parse to.

    Attributes:
        text: the input.
        used: the tolerances the rendering relies on (all must be on for ``value``).
        value: the intended value of the (single) document, or ``MISSING``.
        valid: False when the text was cut short or garbage was injected.
        documents: the intended documents with ``multiple_values=True``, or None when
            the text is not meant for that mode (prose around it, say).
        needs_off: tolerances that must be OFF for ``value`` (``extract`` treats a
            top-level scalar as prose).
        depth: nesting depth of the answer (a top-level container is 1).
        number_length: the longest number token of the answer.
        key_length: the longest unquoted key of the answer.
        shape: ``"card"`` when the value has the shape of :data:`CARD_SCHEMA`.
        note: how the text was made (for failure messages).
    """

    text: str
    used: frozenset[str]
    value: Any
    valid: bool = True
    documents: tuple[Any, ...] | None = None
    needs_off: frozenset[str] = frozenset()
    depth: int = 0
    number_length: int = 0
    key_length: int = 0
    shape: str = ""
    note: str = field(default="", compare=False)


def json_depth(value: Any) -> int:
    """Nesting depth of containers (a scalar is 0, ``[]`` is 1)."""
    if isinstance(value, dict):
        return 1 + max((json_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((json_depth(v) for v in value), default=0)
    return 0


def _number_length(value: Any) -> int:
    if isinstance(value, dict):
        return max((_number_length(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return max((_number_length(v) for v in value), default=0)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return len(json.dumps(value))
    return 0


# ------------------------------------------------------------------------ the renderer

MAX_DEPTH = 6

# Characters of generated strings: quotes, backslash, slash, backticks, braces, unicode,
# astral characters (emoji, a surrogate pair when escaped), control characters.
STRING_CHARS = (
    "abcxyzAB019 _-.,:;!?#%&*()=+<>@|~"
    "\"'\\/`{}[]"
    "é中ßñ€\u2028\u00a0\ufeff"
    "😀🎉𝄞"
    "\n\t\r\x00\x01\x1f\x7f"
    "\ud83d\ude00\udbff"  # lone surrogates: always written as \u escapes
)
KEY_NAMES = [
    "id",
    "name",
    "user_name",
    "userName",
    "tags",
    "a",
    "b",
    "n",
    "$ref",
    "_x",
    "HTTPServer",
    "true",
    "null",
    "price",
    "title",
    "x1",
    "items",
    "owner",
    "label",
]
KEY_CHARS = "abAB_-1 $é😀'\"\\/{}`\n"
COMMENT_CHARS = "abc XYZ 019.,:;!?'\"-=+}]#"  # no { [ ` (prose to extraction), no * /
ASCII_PRINTABLE = frozenset(chr(c) for c in range(0x20, 0x7F))
# Characters with no escape of their own that models escape anyway (JSON5 allows it).
UNKNOWN_ESCAPABLE = frozenset("`'{}[]#%*")
SHORT_ESCAPES = {"\n": "\\n", "\t": "\\t", "\r": "\\r", "\b": "\\b", "\f": "\\f"}


def _is_ident(key: str) -> bool:
    return (
        bool(key)
        and key.isascii()
        and (key[0].isalpha() or key[0] in "_$")
        and all(c.isalnum() or c in "_$" for c in key)
    )


class _Renderer:
    """Render values token by token, recording the tolerances used."""

    def __init__(self, draw: Any, rate: int) -> None:
        self.draw = draw
        self.rate = rate  # 0..10: how often a token takes a tolerant form
        self.used: set[str] = set()
        self.number_length = 0
        self.key_length = 0  # the longest unquoted key
        self.garbled = False  # the text around the answer may hold other values

    def coin(self) -> bool:
        """Take the tolerant form for this token?  (Shrinks to no.)"""
        return self.rate > 0 and self.draw(st.integers(0, 9)) >= 10 - self.rate

    def pick(self, n: int) -> int:
        return self.draw(st.integers(0, n - 1))

    # ---------------------------------------------------------------- whitespace, comments

    def gap(self) -> str:
        g = self.draw(st.integers(0, 9))
        if g <= 3:
            return ("", " ", "\n", "  ")[g]
        if g <= 6:
            return ("\n  ", "\t", "\r\n")[g - 4]
        if not self.coin():
            return " "
        self.used.add("comments")
        body = self.draw(st.text(alphabet=COMMENT_CHARS, max_size=12))
        if g == 7:
            return f"/*{body}*/"
        if g == 8:
            return f" /* {body} */ "
        return f"// {body}\n"

    # ---------------------------------------------------------------- scalars

    def number(self, number: int | float, text: str) -> tuple[str, Any]:
        self.number_length = max(self.number_length, len(text))
        return text, number

    def integer(self) -> tuple[str, Any]:
        n = self.draw(st.integers(-(10**20), 10**20) | st.integers(-300, 300))
        if self.coin():
            v = self.pick(3)
            if v == 0:  # hex
                self.used.add("hex_numbers")
                digits = format(abs(n), "x")
                if self.pick(2):
                    digits = digits.upper()
                prefix = ("-" if n < 0 else "") + ("0X" if self.pick(4) == 0 else "0x")
                return self.number(n, prefix + digits)
            if v == 1 and n == 0:
                return self.number(0, "-0")
        return self.number(n, str(n))

    def floating(self) -> tuple[str, Any]:
        if self.coin() and self.pick(2) == 0:
            self.used.add("nan_infinity")
            word = ("NaN", "Infinity", "-Infinity")[self.pick(3)]
            return word, float(word.replace("Infinity", "inf"))
        x = self.draw(
            st.floats(allow_nan=False, allow_infinity=False)
            | st.floats(-1000, 1000, allow_nan=False).map(lambda f: round(f, 3))
        )
        style = self.pick(4)
        if style == 0:
            text = repr(x)
        elif style == 1:
            text = f"{x:.{self.pick(6)}e}"  # 1.500e+03
        elif style == 2:
            text = f"{x:.{self.pick(6)}E}".replace("E+", "E")  # 1.5E3
        else:
            text = f"{x:.{1 + self.pick(4)}e}".replace("e+0", "e").replace("e-0", "e-")
        if text in ("inf", "-inf", "nan"):
            text = "0.5"
        if self.pick(16) == 15:  # beyond a double: inf (or 0.0), as json.loads gives
            text = ("1e400", "-1E+400", "1e-400", "-2.5e999")[self.pick(4)]
        return self.number(float(text), text)

    def literal(self, value: Any) -> tuple[str, Any]:
        json_word = {True: "true", False: "false", None: "null"}[value]
        if self.coin():
            self.used.add("python_literals")
            return {True: "True", False: "False", None: "None"}[value], value
        return json_word, value

    def string(self, content: str, *, is_key: bool = False) -> str:
        draw = self.draw
        if is_key and _is_ident(content) and self.coin():
            self.used.add("unquoted_keys")
            self.key_length = max(self.key_length, len(content))
            return content
        quote = '"'
        if self.coin():
            self.used.add("single_quotes")
            quote = "'"
        escape_some = self.rate > 0 and self.pick(3) == 0
        plain = all(c in ASCII_PRINTABLE for c in content)
        upper_hex = not plain and self.pick(2) == 1
        out = [quote]
        for c in content:
            if c == quote:
                out.append("\\" + c)
            elif c == "\\":
                out.append("\\\\")
            elif "\ud800" <= c <= "\udfff":  # no UTF-8 form: only as an escape
                out.append(_u_escape(c, upper_hex))
            elif c < " ":
                if self.coin() and draw(st.booleans()):
                    self.used.add("control_characters")
                    out.append(c)
                elif c in SHORT_ESCAPES and draw(st.booleans()):
                    out.append(SHORT_ESCAPES[c])
                else:
                    out.append(_u_escape(c, upper_hex))
            elif c in ASCII_PRINTABLE and not escape_some:
                out.append(c)
            else:
                form = draw(st.integers(0, 3))
                if form == 3 and c in UNKNOWN_ESCAPABLE and "unknown_escapes" in TOLERANCES:
                    if self.coin() or (c == "'" and quote == '"') or c == "`":
                        self.used.add("unknown_escapes")  # JSON5: \` is `, \' is '
                        out.append("\\" + c)
                        continue
                if form == 1:
                    out.append(_u_escape(c, upper_hex))
                elif form == 2 and c == "/":
                    out.append("\\/")
                elif form == 2 and c == '"':  # only reached in a single-quoted string
                    out.append('\\"')
                else:
                    out.append(c)
        out.append(quote)
        return "".join(out)

    # ---------------------------------------------------------------- containers

    def value(self, depth: int) -> tuple[str, Any]:
        top = 10 if depth < MAX_DEPTH else 5
        kind = self.draw(st.integers(0, top))
        if kind == 0:
            return self.integer()
        if kind == 1:
            return self.floating()
        if kind in (2, 5):
            content = self.draw(st.text(alphabet=STRING_CHARS, max_size=10))
            if kind == 5 and self.pick(8) == 7:
                content *= self.draw(st.integers(20, 80))  # a long string: the hot path
            return self.string(content), _decoded(content)
        if kind == 3:
            return self.literal(self.draw(st.booleans()))
        if kind == 4:
            return self.literal(None)
        if kind <= 7:
            return self.array(depth)
        return self.obj(depth)

    def _members(self, items: list[str], open_: str, close: str) -> str:
        out = [open_, self.gap()]
        for i, item in enumerate(items):
            if i:
                out += [self.gap(), ",", self.gap()]
            out.append(item)
        if items and self.coin():
            self.used.add("trailing_commas")
            out += [self.gap(), ","]
        out += [self.gap(), close]
        return "".join(out)

    def array(self, depth: int) -> tuple[str, Any]:
        n = self.draw(st.integers(0, 4 if depth < 3 else 2))
        texts, values = [], []
        for _ in range(n):
            t, v = self.value(depth + 1)
            texts.append(t)
            values.append(v)
        return self._members(texts, "[", "]"), values

    def obj(self, depth: int, keys: list[str] | None = None) -> tuple[str, Any]:
        if keys is None:
            keys = self.draw(
                st.lists(
                    st.sampled_from(KEY_NAMES) | st.text(alphabet=KEY_CHARS, max_size=5),
                    max_size=4 if depth < 3 else 2,
                    unique_by=_camel,  # unique even after key_transform="camel"
                )
            )
        texts, value = [], {}
        for k in keys:
            t, v = self.value(depth + 1)
            texts.append(f"{self.string(k, is_key=True)}{self.gap()}:{self.gap()}{t}")
            value[k] = v
        return self._members(texts, "{", "}"), value

    def records(self) -> tuple[str, Any]:
        """An array of many flat objects with the same keys, often separated alike (the
        bulk path loads runs of them, guessing boundaries from the last separator)."""
        keys = self.draw(
            st.lists(
                st.sampled_from(KEY_NAMES) | st.text(alphabet=KEY_CHARS, max_size=5),
                min_size=1,
                max_size=4,
                unique_by=_camel,
            )
        )
        n = self.draw(st.integers(2, 30))
        texts, values = [], []
        for _ in range(n):
            t, v = self.obj(MAX_DEPTH - 1, keys=keys)  # scalar members only
            texts.append(t)
            values.append(v)
        if self.pick(2):  # one separator throughout, as models write arrays
            sep = (", ", ",", ",\n  ", " , ", ",\n")[self.pick(5)]
            return "[" + sep.join(texts) + "]", values
        return self._members(texts, "[", "]"), values

    def card(self) -> tuple[str, Any]:
        """An object of the shape of CARD_SCHEMA, keys in declared order."""
        title = self.draw(st.text(alphabet=STRING_CHARS.rstrip(SURROGATES), max_size=10))
        price_text, price = self.integer() if self.pick(2) else self.floating()
        tags = self.draw(
            st.lists(st.text(alphabet=STRING_CHARS.rstrip(SURROGATES), max_size=6), max_size=3)
        )
        tags_text = self._members([self.string(t) for t in tags], "[", "]")
        members = [
            f"{self.string('title', is_key=True)}{self.gap()}:{self.gap()}{self.string(title)}",
            f"{self.string('price', is_key=True)}{self.gap()}:{self.gap()}{price_text}",
            f"{self.string('tags', is_key=True)}{self.gap()}:{self.gap()}{tags_text}",
        ]
        return self._members(members, "{", "}"), {"title": title, "price": price, "tags": tags}


SURROGATES = "\ud83d\ude00\udbff"


def _decoded(content: str) -> str:
    """What a JSON decoder makes of ``content`` written with its surrogates escaped: a
    high surrogate escape followed by a low one is one character."""
    return content.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def _u_escape(c: str, upper: bool) -> str:
    code = ord(c)
    if code > 0xFFFF:  # an astral character: a surrogate pair of escapes
        code -= 0x10000
        text = f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    else:
        text = f"\\u{code:04x}"
    return text.upper().replace("\\U", "\\u") if upper else text


# ------------------------------------------------------------------------ prose and fences

SAFE_PROSE = [
    "Sure!",
    "Here is the JSON you asked for:",
    "Hope this helps!",
    "Let me know if you need anything else.",
    "Note: prices are in EUR.",
    "It's \"quoted\" text, isn't it?",
    "Done.",
    "\n",
    "Some explanation. ",
    "The user's name is Ada; the rest follows.",
]
# A brace or bracket in prose that is not JSON: a candidate that fails and is dropped.
PLACEHOLDERS = [
    "Fill in {name} with the user's name.",
    "Use {braces} like this:",
    "a {set} and {x y}",
    "{{double}} braces",
    "{0} and {1}",
    "{not json}",
    "[see above]",
    "[maybe]",
    "[TODO: fix]",
    "[n/a]",
]
CODE_PROSE = ["Use `jq .` to check it.", "Run `pip install x` first.", "the `id` field", "`x`"]
# Values in prose: only before a fenced answer (the fence replaces them) or after an answer.
REFS = ["See [1] and [2].", "Based on the search results [1],", "values like [1, 2]", "{}"]
PYTHON_BLOCKS = [
    "```python\nx = {'a': [1, 2]}\nprint(x)\n```",
    '```python\nrequests.post(url, json={"x": 1})\n```',
    "```bash\necho '[1]'\n```",
]
AFTER_FENCED = ['```json\n{"other": 1}\n```', '{"x": 1}', "[3]"]
FENCE_OPENS = [
    "```json\n",
    "```JSON\n",
    "``` json\n",
    "```\n",
    "```json\r\n",
    "```jsonc\n",
    "```js\n",
    "```json  \n",
    "```json ",
]
FENCE_CLOSES = ["\n```", "```", "\n```\n", ""]
LONG_SENTENCE = "Some explanation. "


def _prose(draw: Any, pools: list[list[str]], max_size: int = 4) -> str:
    pool = [s for p in pools for s in p]
    parts = draw(st.lists(st.sampled_from(pool), max_size=max_size))
    return " ".join(parts)


# Prose made of the characters extraction cares about: candidates that may or may not
# prove to be JSON, backtick runs of any length.  Its value is unknown (the sample is not
# valid), but every invariant still holds.
PROSE_NOISE = "{}[]```'\":,01 antrueNT\n/*#x-\\"


def _wrap(draw: Any, r: _Renderer, body: str) -> tuple[str, str]:
    """Put the answer where a model would; return (text, how)."""
    kind = draw(st.integers(0, 6))
    if kind == 6:  # noise around the answer
        r.used.add("extract")
        r.garbled = True
        before = draw(st.text(alphabet=PROSE_NOISE, max_size=30))
        after = draw(st.text(alphabet=PROSE_NOISE, max_size=30))
        if r.pick(2):
            body = draw(st.sampled_from(FENCE_OPENS)) + body + "\n```"
        return before + body + after, "noise prose"
    if kind == 0:  # bare, maybe with whitespace or comments around it
        return r.gap() + body + r.gap(), "bare"
    r.used.add("extract")
    sep = ("\n", " ", ": ", "\n\n")[r.pick(4)]
    if kind == 1:  # in prose, no fence
        before = _prose(draw, [SAFE_PROSE, PLACEHOLDERS, CODE_PROSE])
        after = _prose(draw, [SAFE_PROSE, PLACEHOLDERS, CODE_PROSE, REFS])
        if r.pick(4) == 0:  # a stray closing fence after the value, then more prose
            after += "\n```\n" + _prose(draw, [SAFE_PROSE])
        return before + sep + body + (("\n", " ", "")[r.pick(3)]) + after, "prose"
    opening = draw(st.sampled_from(FENCE_OPENS))
    closing = draw(st.sampled_from(FENCE_CLOSES))
    before = _prose(draw, [SAFE_PROSE, PLACEHOLDERS, CODE_PROSE, REFS])
    if kind == 3:  # a block of code first: prose, braces and all
        before += "\n" + draw(st.sampled_from(PYTHON_BLOCKS)) + "\n" + _prose(draw, [SAFE_PROSE])
    if kind == 4:  # the answer starts after more than 4 KB
        lead = draw(st.sampled_from(["", "Fill in {name} with the user's name.\n", "[1] "]))
        before = lead + LONG_SENTENCE * draw(st.integers(230, 260)) + before
        if r.pick(3) == 0:  # no fence after the long prose
            lead = lead if lead != "[1] " else ""
            text = lead + LONG_SENTENCE * draw(st.integers(230, 260)) + sep + body
            return text, "long prose"
    after = ""
    if closing:
        after = _prose(draw, [SAFE_PROSE, PLACEHOLDERS, CODE_PROSE, REFS, AFTER_FENCED])
    return before + "\n" + opening + body + closing + after, f"fenced {opening!r}"


def _damage(draw: Any, text: str) -> tuple[str, bool, str]:
    """Sometimes cut the text short or inject garbage; return (text, valid, how)."""
    what = draw(st.integers(0, 9))
    if what == 8 and text:
        cut = draw(st.integers(0, len(text) - 1))
        return text[:cut], False, f"truncated at {cut}"
    if what == 9:
        at = draw(st.integers(0, len(text)))
        junk = draw(st.text(alphabet="{}[]\",:'\\/*`09aetnNTx \n\x01#.-", min_size=1, max_size=3))
        return text[:at] + junk + text[at:], False, f"garbage {junk!r} at {at}"
    return text, True, ""


@st.composite
def llm_texts(draw: Any) -> Sample:
    """A model's answer: a value tree rendered with mixed tolerances, wrapped in prose."""
    rate = draw(st.integers(0, 10))
    r = _Renderer(draw, rate)
    shape = ""
    root = draw(st.integers(0, 7))
    if root == 7:
        body, value = r.card()
        shape = "card"
    elif root == 6:
        body, value = r.records()
    elif root % 2:
        body, value = r.obj(1)
    else:
        body, value = r.array(1)
    text, how = _wrap(draw, r, body)
    text, valid, damage = _damage(draw, text)
    valid = valid and not r.garbled
    return Sample(
        text=text,
        used=frozenset(r.used),
        value=value if valid else MISSING,
        valid=valid,
        documents=(value,) if valid and "extract" not in r.used else None,
        depth=json_depth(value),
        number_length=r.number_length,
        key_length=r.key_length,
        shape=shape,
        note=" ".join(x for x in (f"rate={rate}", how, damage) if x),
    )


# ------------------------------------------------------------------------ strict JSON

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**25), 10**25)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=10)
    | st.sampled_from(["\\", '"', "\n\t\r\b\f", "\x00\x1f", "😀🚀", "\u2028", "a/b", "```"])
)
json_values = st.recursive(
    _scalars,
    lambda kids: (
        st.lists(kids, max_size=4)
        | st.lists(
            st.tuples(
                st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=6), kids
            ),
            max_size=4,
            unique_by=lambda kv: _camel(kv[0]),
        ).map(dict)
    ),
    max_leaves=20,
)
_dumps_options = st.fixed_dictionaries(
    {
        "indent": st.sampled_from([None, 0, 2, "\t"]),
        "ensure_ascii": st.booleans(),
        "separators": st.sampled_from([None, (",", ":"), (", ", ": ")]),
    }
)
_ws = st.sampled_from(["", " ", "\n", "\r\n", "\t", "  \n "])


def _scalar_root(value: Any) -> bool:
    return not isinstance(value, (dict, list))


@st.composite
def strict_texts(draw: Any) -> Sample:
    """``json.dumps`` of a random value, with random whitespace and ensure_ascii."""
    value = draw(json_values)
    opts = draw(_dumps_options)
    if opts["separators"] is None:
        del opts["separators"]
    text = draw(_ws) + json.dumps(value, **opts) + draw(_ws)
    value = json.loads(text)
    return Sample(
        text=text,
        used=frozenset(),
        value=value,
        documents=(value,),
        needs_off=frozenset({"extract"}) if _scalar_root(value) else frozenset(),
        depth=json_depth(value),
        number_length=_number_length(value),
        note=f"json.dumps {opts}",
    )


@st.composite
def ndjson_texts(draw: Any) -> Sample:
    """Several top-level values, newline- or whitespace-separated (or concatenated
    where that is unambiguous)."""
    values = draw(st.lists(json_values, min_size=1, max_size=4))
    docs = [json.dumps(v, ensure_ascii=draw(st.booleans())) for v in values]
    loaded = tuple(json.loads(d) for d in docs)
    used: frozenset[str] = frozenset()
    if not any(map(_scalar_root, loaded)) and draw(st.integers(0, 3)) == 3:
        # As a model writes several answers: prose between them, or a fence each.
        used = frozenset({"extract"})
        out = [draw(st.sampled_from(["", "First: ", "Results:\n"]))]
        for i, doc in enumerate(docs):
            if i:
                out.append(draw(st.sampled_from([" and then ", "\nNext one:\n", ". Also "])))
            out.append("```json\n" + doc + "\n```" if draw(st.booleans()) else doc)
        out.append(draw(st.sampled_from(["", "\nDone.", " Hope this helps!"])))
    else:
        out = [draw(_ws)]
        for i, doc in enumerate(docs):
            if i:
                sep = draw(st.sampled_from(["\n", " ", "\r\n", "\n\n", "\t", ""]))
                if not sep and not (docs[i - 1][-1] in ']}"' or doc[0] in '[{"'):
                    sep = "\n"  # 1 2 must not become 12
                out.append(sep)
            out.append(doc)
        out.append(draw(st.sampled_from(["", "\n"])))
    text = "".join(out)
    return Sample(
        text=text,
        used=used,
        value=loaded[0] if len(loaded) == 1 else MISSING,
        documents=loaded,
        needs_off=(frozenset({"extract"}) if any(map(_scalar_root, loaded)) else frozenset()),
        depth=max(map(json_depth, loaded)),
        number_length=max(map(_number_length, loaded)),
        note=f"{len(loaded)} documents" + (" in prose" if used else ""),
    )
