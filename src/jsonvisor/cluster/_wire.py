"""What travels between the root and its workers: pickled batches, unpickled safely.

Batches are pickled (protocol 5) so supervisor events, ``ParseResult``, ``Repair``,
``JsonStreamError`` and any hashable message ID cross the wire unchanged.  Unpickling is
restricted (the "restricting globals" recipe of the ``pickle`` documentation): only
classes defined in ``jsonvisor`` (and any extra trusted module prefixes), a fixed set of
builtin types and builtin exception classes can be named by a batch, so a peer that is not
a jsonvisor worker cannot make the root (or a worker) call arbitrary code.
"""

from __future__ import annotations

import builtins
import copyreg
import io
import pickle
from collections.abc import Iterable
from typing import Any

try:  # tractor's transport encodes messages with msgspec (a dependency of tractor)
    from msgspec.msgpack import Ext as _Ext
except ImportError:  # pragma: no cover - without tractor, blobs travel as plain bytes
    _Ext = None

__all__ = [
    "FLAG_CANCEL",
    "FLAG_END",
    "SafeUnpickler",
    "dumps",
    "loads",
    "undeliverable",
    "unwrap",
    "wrap",
]

FLAG_END = 1
"""Batch flag: the message's input ends after this item's data."""
FLAG_CANCEL = 2
"""Batch flag: cancel the message."""

_PROTOCOL = 5
_FRAME_CODE = 74  # the msgpack extension type code of a wrapped batch

_SAFE_BUILTINS = frozenset(
    {
        "bool",
        "bytearray",
        "bytes",
        "complex",
        "dict",
        "float",
        "frozenset",
        "int",
        "list",
        "range",
        "set",
        "slice",
        "str",
        "tuple",
    }
)
# copyreg helpers that protocol 2+ pickles name for plain and slotted objects.
_SAFE_OTHER = frozenset({("copyreg", "_reconstructor"), ("copyreg", "__newobj__")})
# Callables that jsonvisor classes name in their ``__reduce__``, and ours below.
_SAFE_FUNCTIONS = frozenset(
    {("jsonvisor.parsers.errors", "_rebuild"), ("jsonvisor.cluster._wire", "_rebuild_exception")}
)


def _rebuild_exception(
    cls: type, args: tuple[Any, ...], state: dict[str, Any], cause: Any
) -> BaseException:
    """Recreate an exception without calling its ``__init__`` (see :class:`_ExcTable`)."""
    if not (isinstance(cls, type) and issubclass(cls, BaseException)):
        raise pickle.UnpicklingError(f"not an exception class: {cls!r}")
    exc = cls.__new__(cls, *args)
    exc.args = args
    if state:
        exc.__dict__.update(state)
    if isinstance(cause, BaseException):
        exc.__cause__ = cause
    return exc


def _reduce_exception(exc: BaseException) -> tuple[Any, ...]:
    state = dict(getattr(exc, "__dict__", {}))
    return (_rebuild_exception, (type(exc), exc.args, state, exc.__cause__))


class _ExcTable(dict):  # type: ignore[type-arg]
    """A pickler ``dispatch_table`` that reduces every exception by args and ``__dict__``.

    Exceptions whose ``__init__`` takes other arguments than their ``args`` (most of the
    supervisor's) do not survive a plain pickle round trip; this way they do, tracebacks
    dropped and ``__cause__`` kept.  The pickler asks only for types it has no fast path
    for, so plain data never gets here.
    """

    def __missing__(self, cls: type) -> Any:
        if issubclass(cls, BaseException):
            return _reduce_exception
        raise KeyError(cls)


_DISPATCH = _ExcTable(copyreg.dispatch_table)


class SafeUnpickler(pickle.Unpickler):
    """An unpickler that only resolves trusted classes (see the module docstring)."""

    def __init__(self, file: io.BytesIO, trusted: tuple[str, ...] = ("jsonvisor",)) -> None:
        super().__init__(file)
        self._trusted = trusted

    def find_class(self, module: str, name: str) -> Any:
        if module == "builtins":
            obj = getattr(builtins, name, None)
            if name in _SAFE_BUILTINS or (isinstance(obj, type) and issubclass(obj, BaseException)):
                return obj
        elif (module, name) in _SAFE_OTHER or (module, name) in _SAFE_FUNCTIONS:
            return super().find_class(module, name)
        elif any(module == p or module.startswith(p + ".") for p in self._trusted):
            obj = super().find_class(module, name)
            if isinstance(obj, type):
                return obj
        raise pickle.UnpicklingError(f"untrusted class in a cluster batch: {module}.{name}")


def dumps(obj: Any) -> bytes:
    """Pickle one batch."""
    buf = io.BytesIO()
    pickler = pickle.Pickler(buf, _PROTOCOL)
    pickler.dispatch_table = _DISPATCH
    pickler.dump(obj)
    return buf.getvalue()


def loads(data: bytes, trusted: Iterable[str] = ("jsonvisor",)) -> Any:
    """Unpickle one batch, resolving only trusted classes."""
    return SafeUnpickler(io.BytesIO(data), tuple(trusted)).load()


def undeliverable(obj: Any, trusted: Iterable[str]) -> str | None:
    """Why ``obj`` cannot travel to a root that trusts ``trusted`` (None if it can).

    A worker asks before it sends an object of a class the application chose (a schema's
    model): one such object would make the root refuse the whole batch.
    """
    try:
        loads(dumps(obj), trusted)
    except pickle.UnpicklingError as exc:
        return f"{exc}: add its module to open_cluster(trusted_modules=...)"
    except Exception as exc:
        return f"it cannot be pickled ({type(exc).__name__}: {exc})"
    return None


def wrap(blob: bytes) -> Any:
    """A pickled batch as the payload of a tractor stream message.

    tractor 0.1.0a5 formats every message it sends, receives and delivers into debug log
    strings, f-strings evaluated even when that log level is off: for a ``bytes`` payload
    that is three ``repr`` calls per message, each linear in its size (about 2-10 ns per
    byte).  A msgpack extension object (``msgspec.msgpack.Ext``) travels as the same bytes
    but its ``repr`` does not show them.
    """
    return _Ext(_FRAME_CODE, blob) if _Ext is not None else blob


def unwrap(payload: Any) -> bytes:
    """The pickled batch in a stream message (:func:`wrap`; plain bytes are accepted)."""
    if _Ext is not None and payload.__class__ is _Ext:
        if payload.code != _FRAME_CODE:
            raise pickle.UnpicklingError(f"not a jsonvisor batch: extension type {payload.code}")
        payload = payload.data
    if not isinstance(payload, bytes):
        raise pickle.UnpicklingError(f"not a jsonvisor batch: {type(payload).__name__}")
    return payload
