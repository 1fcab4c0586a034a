/* Optional C accelerator for jsonvisor.parsers (built when a compiler is available).
 *
 * The contract is the theory of operation at the top of streaming.py; this is the second
 * implementation of it, tested against the pure-Python one by every parser test (run over
 * both backends), the grammar fuzzer and the sanitizers.
 *
 * - validate(text, max_depth, max_number_length): is ``text`` exactly one strictly valid
 *   RFC 8259 value, nested at most ``max_depth`` deep, with no number longer than
 *   ``max_number_length``?  One pass, no allocation.  The bulk path then trusts a fast
 *   loader with it (fastpath.strict_loads).  Also the bulk path's boundary scanners.
 *
 * - Core: the base type of StreamingJsonParser, a complete backend of the contract.  It
 *   holds the parser's state as C fields (exposed as typed attributes of the same names,
 *   for pickling and the thin Python face) and implements feed() (str, ASCII bytes read in
 *   place, other UTF-8 decoded incrementally), snapshot(), finish() and a parser's
 *   creation (a copy of a prototype per options), for every mode: strict, every LLM
 *   tolerance, multiple values, key transforms, the bulk path (_c_bulkstep.h), extraction
 *   from prose and fences (the fence finder is a C object, _c_extract.h; trials, the top
 *   level and the prose after a value, _c_trial.h), and schemas.  It raises every error
 *   it meets itself, where it meets it, built as the Python side builds it (_c_errors.h),
 *   and repairs truncated input in C (_c_finish.h).
 *
 *   It calls no method of the Python parser.  The Python objects it works with are the
 *   event, error and result classes, the loaders (orjson, ujson), extract.Candidate (a
 *   value on trial), the deque of documents, and with a schema the compiled schema's
 *   tables and its SchemaTracker (checks, coercion, warnings and field states, where the
 *   tables do not say).
 *
 * A unity build: this file includes one file per stage, in dependency order:
 *   _c_bulk.h      validate() and the boundary scanners (templates _validate.h, _scan.h)
 *   _c_extract.h   extraction's state and the fence finder (extract.py's Extraction)
 *   _c_state.h     the Core object, its fields, GC support, creation from a prototype
 *   _c_text.h      the text parsed: a str, or ASCII bytes read in place
 *   _c_eventtypes.h  the event classes (paths built when first read) and paths
 *   _c_events.h    emitting events, string growth, runs of members, field tracking
 *   _c_tree.h      the value under construction: containers, inserting, keys
 *   _c_errors.h    JsonStreamError as the Python side builds it, the number grammar
 *   _c_tokens.h    numbers, literals, strings, comments, and the token loop c_run()
 *   _c_bulkstep.h  the bulk path's step: runs of whole values loaded at once, the spine
 *   _c_trial.h     extraction: trials (begin, prove, release, reject) and c_extracting()
 *   _c_shown.h     the open string snapshot() shows, grown in place (and by feed())
 *   _c_feed.h      feed(): decoding, the hot path inside a string, limits, positions
 *   _c_finish.h    finish(): repairs, confidence, the ParseResult; held values
 *   _c_snapshot.h  snapshot()
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <stdlib.h>
#include <float.h>
#include <math.h>

#ifndef JSONVISOR_BUILD
#define JSONVISOR_BUILD "plain"
#endif

/* PyList_Append(list, x) of a list of ours (exactly a list), its common case inline:
 * room left, a store and a count, as CPython appends inside its own loops. */
static inline int
list_append(PyObject *list, PyObject *x)
{
    PyListObject *l = (PyListObject *)list;
    Py_ssize_t n = Py_SIZE(l);
    if (n < l->allocated) {
        Py_INCREF(x);
        l->ob_item[n] = x;
        Py_SET_SIZE(l, n + 1);
        return 0;
    }
    return PyList_Append(list, x);
}

/* What the innermost context expects next (mirrors streaming.py). */
enum { ST_VALUE = 0, ST_VALUE_OR_CLOSE, ST_KEY_OR_CLOSE, ST_KEY, ST_COLON, ST_COMMA_OR_CLOSE, ST_END };
enum { HELD_NONE = 0, HELD_ESCAPE, HELD_NUMBER, HELD_LITERAL, HELD_IDENT, HELD_SLASH };

static PyObject *EV_STARTED, *EV_GREW, *EV_COMPLETED, *EV_DOCUMENT; /* the event classes */
static PyObject *ORJSON_LOADS, *UJSON_LOADS, *CANDIDATE; /* (set by setup()) */
static PyObject *NAN_OBJ, *INF_OBJ, *NINF_OBJ; /* math.nan (the same object as the Python
                                                 half's, as lists compare NaN by identity),
                                                 math.inf, -math.inf */
static PyObject *DEQUE, *EMPTY_TUPLE;
/* Interned strings: kinds and quotes, then the names of the methods and attributes used
 * of the objects the C half works with (the schema's tracker and compiled schema, a
 * candidate, the deque of documents). */
static PyObject *S_OBJECT, *S_ARRAY, *S_STRING, *S_EMPTY, *S_DQUOTE, *S_SQUOTE;
static PyObject *S_CONTAINER, *S_APPEND, *S_FRESH, *S_SEEN, *S_NOTE, *S_PROVEN,
    *S_EVENTS, *S_QUOTED, *S_SAVED, *S_FINISH, *S_TRACK_METHOD, *S_WARNINGS, *S_WHOLE,
    *S_MEMBERS, *S_SAVE, *S_RESTORE, *S_CLEAR, *S_EXTEND, *S_FENCED, *S_CHECK, *S_KEY,
    *S_SKELETON;

/* The stages, in dependency order (a unity build: one translation unit). */
#include "_c_bulk.h"
#include "_c_extract.h"
#include "_c_state.h"
#include "_c_text.h"
#include "_c_eventtypes.h"
#include "_c_events.h"
#include "_c_tree.h"
#include "_c_errors.h"
#include "_c_tokens.h"
#include "_c_bulkstep.h"
#include "_c_trial.h"
#include "_c_shown.h"
#include "_c_feed.h"
#include "_c_finish.h"
#include "_c_snapshot.h"

PyDoc_STRVAR(feed_doc,
"feed(chunk) -> list of events\n\n"
"Consume the next piece of input; return the events it caused.\n\n"
"``chunk`` may be ``str`` or UTF-8 ``bytes`` split anywhere, even inside a\n"
"character, an escape, a number or a literal.  Raises :class:`JsonStreamError`\n"
"for malformed input or an exceeded limit.");

PyDoc_STRVAR(snapshot_doc,
"snapshot() -> the partial value so far (None before a value starts)\n\n"
"This is the live value the parser builds in place: later input only grows its\n"
"strings and adds members, and it never changes a shown value otherwise.  Copy it\n"
"(``copy.deepcopy``) to keep a frozen view, and do not modify it.  With\n"
"``multiple_values=True`` it is the document in progress.");

PyDoc_STRVAR(finish_doc,
"finish($self, /, *, allow_partial=True)\n--\n\n"
"Mark the end of the input and return the final :class:`ParseResult`.\n\n"
"A complete value gives ``complete=True`` and ``confidence=\"high\"``.  Truncated\n"
"input is closed off and every repair listed, unless ``allow_partial=False``,\n"
"which raises :class:`JsonStreamError` (with ``truncated=True``) instead.\n"
"Calling it again returns the same result.");

static PyMethodDef core_methods[] = {
    {"feed", (PyCFunction)core_feed, METH_O, feed_doc},
    {"snapshot", (PyCFunction)(void (*)(void))core_snapshot, METH_FASTCALL, snapshot_doc},
    {"finish", (PyCFunction)(void (*)(void))core_finish, METH_FASTCALL | METH_KEYWORDS,
     finish_doc},
    {"_copy_state", (PyCFunction)core_copy_state, METH_O,
     "_copy_state(proto): start as a copy of an unfed parser of the same options"},
    {NULL}
};

static PyTypeObject CoreType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "jsonvisor.parsers._speedups.Core",
    .tp_doc = "The C half of StreamingJsonParser: hot state and the common feed path.",
    .tp_basicsize = sizeof(Core),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_new = PyType_GenericNew,
    .tp_dealloc = (destructor)core_dealloc,
    .tp_traverse = (traverseproc)core_traverse,
    .tp_clear = (inquiry)core_clear,
    .tp_members = core_members,
    .tp_getset = core_getset,
    .tp_methods = core_methods,
};

static PyObject *
py_setup(PyObject *mod, PyObject *args)
{
    PyObject *orjson_loads, *ujson_loads, *error, *result, *repair, *candidate;
    if (!PyArg_ParseTuple(args, "OOO!O!O!O!:setup", &orjson_loads, &ujson_loads, &PyType_Type,
                          &error, &PyType_Type, &result, &PyType_Type, &repair, &PyType_Type,
                          &candidate))
        return NULL;
    if (!PyType_IsSubtype((PyTypeObject *)error, (PyTypeObject *)PyExc_Exception)) {
        PyErr_SetString(PyExc_TypeError, "setup: the error class must be an exception");
        return NULL;
    }
    if (!PyCallable_Check(ujson_loads) || (orjson_loads != Py_None && !PyCallable_Check(orjson_loads))) {
        PyErr_SetString(PyExc_TypeError, "setup: the loaders must be callables (orjson's or None)");
        return NULL;
    }
    Py_INCREF(ujson_loads);
    Py_XSETREF(UJSON_LOADS, ujson_loads);
    Py_INCREF(error);
    Py_XSETREF(ERR_CLASS, error);
    Py_INCREF(result);
    Py_XSETREF(RESULT_CLASS, result);
    Py_INCREF(repair);
    Py_XSETREF(REPAIR_CLASS, repair);
    Py_INCREF(candidate);
    Py_XSETREF(CANDIDATE, candidate);
    if (orjson_loads == Py_None)
        Py_CLEAR(ORJSON_LOADS);
    else {
        Py_INCREF(orjson_loads);
        Py_XSETREF(ORJSON_LOADS, orjson_loads);
    }
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"validate", py_validate, METH_VARARGS,
     "validate(text, max_depth, max_number_length) -> bool: one strictly valid JSON value?"},
    {"scan_value_end", py_scan_value_end, METH_VARARGS,
     "scan_value_end(text, pos, limit, cap) -> int: see fastpath.scan_value_end"},
    {"container_spine", py_container_spine, METH_VARARGS,
     "container_spine(text, pos, cap) -> (list, int): see fastpath.container_spine"},
    {"scan_members", py_scan_members, METH_VARARGS,
     "scan_members(text, pos, in_object, limit, cap) -> (int, bool, int): see fastpath"},
    {"completed_members", py_completed_members, METH_VARARGS,
     "completed_members(events, prefix, members, base): a ValueCompleted per member"},
    {"setup", py_setup, METH_VARARGS,
     "setup(orjson_loads, ujson_loads, JsonStreamError, ParseResult, Repair, Candidate): "
     "the loaders of the bulk path, the classes of errors and results, and extraction's "
     "value on trial."},
    {"make_events", py_make_events, METH_VARARGS,
     "make_events(codes, fields) -> list: an event of class code (0 ValueStarted, "
     "1 StringGrew, 2 ValueCompleted, 3 DocumentCompleted) per pair of fields"},
    {NULL}
};

static struct PyModuleDef moduledef = {
    PyModuleDef_HEAD_INIT, "_speedups", "C accelerator for jsonvisor.parsers.", -1,
    module_methods,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    if (PyType_Ready(&CoreType) < 0 || PyType_Ready(&XType) < 0 || event_types_ready() < 0)
        return NULL;
    EV_STARTED = (PyObject *)&EventTypes[0];
    EV_GREW = (PyObject *)&EventTypes[1];
    EV_COMPLETED = (PyObject *)&EventTypes[2];
    EV_DOCUMENT = (PyObject *)&EventTypes[3];
    S_OBJECT = PyUnicode_InternFromString("object");
    S_ARRAY = PyUnicode_InternFromString("array");
    S_STRING = PyUnicode_InternFromString("string");
    S_EMPTY = PyUnicode_InternFromString("");
    S_DQUOTE = PyUnicode_InternFromString("\"");
    S_SQUOTE = PyUnicode_InternFromString("'");
    S_CONTAINER = PyUnicode_InternFromString("container");
    S_APPEND = PyUnicode_InternFromString("append");
    S_FRESH = PyUnicode_InternFromString("fresh");
    S_SEEN = PyUnicode_InternFromString("seen");
    S_NOTE = PyUnicode_InternFromString("note");
    EMPTY_TUPLE = PyTuple_New(0);
    S_SAVED = PyUnicode_InternFromString("saved");
    S_QUOTED = PyUnicode_InternFromString("quoted");
    S_EVENTS = PyUnicode_InternFromString("events");
    S_PROVEN = PyUnicode_InternFromString("proven");
    S_FINISH = PyUnicode_InternFromString("finish");
    S_TRACK_METHOD = PyUnicode_InternFromString("track");
    S_WARNINGS = PyUnicode_InternFromString("warnings");
    S_WHOLE = PyUnicode_InternFromString("whole");
    S_MEMBERS = PyUnicode_InternFromString("members");
    S_SAVE = PyUnicode_InternFromString("save");
    S_RESTORE = PyUnicode_InternFromString("restore");
    S_CLEAR = PyUnicode_InternFromString("clear");
    S_EXTEND = PyUnicode_InternFromString("extend");
    S_FENCED = PyUnicode_InternFromString("fenced");
    S_CHECK = PyUnicode_InternFromString("check");
    S_KEY = PyUnicode_InternFromString("key");
    S_SKELETON = PyUnicode_InternFromString("skeleton");
    S_F_VALUE = PyUnicode_InternFromString("value");
    S_F_COMPLETE = PyUnicode_InternFromString("complete");
    S_F_REPAIRS = PyUnicode_InternFromString("repairs");
    S_F_CONFIDENCE = PyUnicode_InternFromString("confidence");
    S_F_EVENTS = PyUnicode_InternFromString("events");
    S_F_WARNINGS = PyUnicode_InternFromString("warnings");
    S_F_MODEL = PyUnicode_InternFromString("model");
    S_F_KIND = PyUnicode_InternFromString("kind");
    S_F_PATH = PyUnicode_InternFromString("path");
    S_F_DETAIL = PyUnicode_InternFromString("detail");
    ERR_KWNAMES = Py_BuildValue("(ssssssss)", "expected", "found", "offset", "line", "column",
                                "excerpt", "truncated", "limit");
    if (!S_OBJECT || !S_ARRAY || !S_STRING || !S_EMPTY || !S_DQUOTE || !S_SQUOTE ||
        !S_CONTAINER || !S_APPEND || !S_FRESH || !S_SEEN || !S_NOTE || !EMPTY_TUPLE ||
        !S_PROVEN || !S_EVENTS || !S_QUOTED || !S_SAVED || !S_FINISH || !S_TRACK_METHOD ||
        !S_WARNINGS || !S_WHOLE || !S_MEMBERS || !S_SAVE || !S_RESTORE || !S_CLEAR ||
        !S_EXTEND || !S_FENCED || !S_CHECK || !S_KEY || !S_SKELETON || !S_F_VALUE ||
        !S_F_COMPLETE || !S_F_REPAIRS || !S_F_CONFIDENCE || !S_F_EVENTS || !S_F_WARNINGS ||
        !S_F_MODEL || !S_F_KIND || !S_F_PATH || !S_F_DETAIL || !ERR_KWNAMES)
        return NULL;
    PyObject *math = PyImport_ImportModule("math");
    NAN_OBJ = math == NULL ? NULL : PyObject_GetAttrString(math, "nan");
    INF_OBJ = math == NULL ? NULL : PyObject_GetAttrString(math, "inf");
    Py_XDECREF(math);
    NINF_OBJ = PyFloat_FromDouble(-Py_HUGE_VAL);
    if (NAN_OBJ == NULL || INF_OBJ == NULL || NINF_OBJ == NULL)
        return NULL;
    PyObject *collections = PyImport_ImportModule("collections");
    DEQUE = collections == NULL ? NULL : PyObject_GetAttrString(collections, "deque");
    Py_XDECREF(collections);
    if (DEQUE == NULL)
        return NULL;
    PyObject *m = PyModule_Create(&moduledef);
    if (m == NULL)
        return NULL;
    Py_INCREF(&CoreType);
    if (PyModule_AddObject(m, "Core", (PyObject *)&CoreType) < 0) {
        Py_DECREF(&CoreType);
        Py_DECREF(m);
        return NULL;
    }
    for (int c = 0; c < 4; c++) {
        Py_INCREF(&EventTypes[c]);
        if (PyModule_AddObject(m, event_name(&EventTypes[c]), (PyObject *)&EventTypes[c]) < 0) {
            Py_DECREF(&EventTypes[c]);
            Py_DECREF(m);
            return NULL;
        }
    }
    Py_INCREF(&XType);
    if (PyModule_AddObject(m, "Extraction", (PyObject *)&XType) < 0) {
        Py_DECREF(&XType);
        Py_DECREF(m);
        return NULL;
    }
    /* how it was compiled: "plain", or "pgo" (scripts/pgo.py); make bench reports it */
    if (PyModule_AddStringConstant(m, "BUILD", JSONVISOR_BUILD) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
