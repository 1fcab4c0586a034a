/* Optional C accelerator for jsonvisor.parsers (built when a compiler is available).
 *
 * Two things, both exact equivalents of pure-Python code in this package:
 *
 * - validate(text, max_depth, max_number_length): is ``text`` exactly one strictly valid
 *   RFC 8259 value (surrounded by JSON whitespace), nested at most ``max_depth`` deep,
 *   with no number longer than ``max_number_length``?  One pass, no allocation.  The
 *   fast path then trusts ujson with it (fastpath.strict_loads).
 *
 * - Core: the base type of StreamingJsonParser.  It holds the parser's hot state as C
 *   fields (exposed to the Python half as the same attribute names) and implements
 *   feed() and snapshot() for the strict, single-value configuration.  It only handles
 *   the common tokens; at anything else (an error, a document boundary, a slice long
 *   enough for the bulk path, a limit) it stops at a token boundary with the state
 *   consistent and lets the Python parser (_run) continue from there, so errors and
 *   rare cases have one implementation.  Any other configuration, or bytes input, goes
 *   to the Python implementation whole (_feed_py / _snapshot_py).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <stdlib.h>

/* What the innermost context expects next (mirrors streaming.py). */
enum { ST_VALUE = 0, ST_VALUE_OR_CLOSE, ST_KEY_OR_CLOSE, ST_KEY, ST_COLON, ST_COMMA_OR_CLOSE, ST_END };
enum { HELD_NONE = 0, HELD_ESCAPE, HELD_NUMBER, HELD_LITERAL, HELD_IDENT, HELD_SLASH };

static PyObject *EV_STARTED, *EV_GREW, *EV_COMPLETED; /* the event classes */
static PyObject *S_OBJECT, *S_ARRAY, *S_STRING, *S_EMPTY, *S_DQUOTE, *S_SQUOTE;
static PyObject *S_SCHEMA_CHECK, *S_CONTAINER, *S_TRACK;
static PyObject *S_X, *S_TRACKER, *S_DONE, *S_SPINE, *S_FRESH_PARTS, *DEQUE;
static PyObject *S_FEED_PY, *S_FEED_STR, *S_SNAPSHOT_PY, *S_FEED_BODY, *S_FEED_TAIL, *S_SET_KEY;

/* ------------------------------------------------------------------ validate */

#define VKIND 1
#define VCHAR Py_UCS1
#define VNAME validate_ucs1
#include "_validate.h"
#define VKIND 2
#define VCHAR Py_UCS2
#define VNAME validate_ucs2
#include "_validate.h"
#define VKIND 4
#define VCHAR Py_UCS4
#define VNAME validate_ucs4
#include "_validate.h"

static PyObject *
py_validate(PyObject *mod, PyObject *args)
{
    PyObject *text;
    Py_ssize_t max_depth, max_number_length;
    if (!PyArg_ParseTuple(args, "Unn:validate", &text, &max_depth, &max_number_length))
        return NULL;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    const void *data = PyUnicode_DATA(text);
    int ok;
    char small[256];
    char *stack = small;
    if (max_depth + 1 > (Py_ssize_t)sizeof(small)) {
        stack = PyMem_Malloc((size_t)max_depth + 1);
        if (stack == NULL)
            return PyErr_NoMemory();
    }
    switch (PyUnicode_KIND(text)) {
    case PyUnicode_1BYTE_KIND:
        ok = validate_ucs1(data, n, max_depth, max_number_length, stack);
        break;
    case PyUnicode_2BYTE_KIND:
        ok = validate_ucs2(data, n, max_depth, max_number_length, stack);
        break;
    default:
        ok = validate_ucs4(data, n, max_depth, max_number_length, stack);
        break;
    }
    if (stack != small)
        PyMem_Free(stack);
    return PyLong_FromLong(ok);
}

/* ------------------------------------------------------------------ scan (bulk path) */

static int
append_index(PyObject *list, Py_ssize_t i)
{
    PyObject *v = PyLong_FromSsize_t(i);
    if (v == NULL)
        return -1;
    int r = PyList_Append(list, v);
    Py_DECREF(v);
    return r;
}

#define SCHAR Py_UCS1
#define SNAME(x) x##_ucs1
#include "_scan.h"
#define SCHAR Py_UCS2
#define SNAME(x) x##_ucs2
#include "_scan.h"
#define SCHAR Py_UCS4
#define SNAME(x) x##_ucs4
#include "_scan.h"

#define SCAN_DISPATCH(kind, call1, call2, call4) \
    ((kind) == PyUnicode_1BYTE_KIND ? (call1) : (kind) == PyUnicode_2BYTE_KIND ? (call2) : (call4))

static PyObject *
py_scan_value_end(PyObject *mod, PyObject *args)
{
    PyObject *text;
    Py_ssize_t pos, limit, cap;
    if (!PyArg_ParseTuple(args, "Unnn:scan_value_end", &text, &pos, &limit, &cap))
        return NULL;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    if (limit > n)
        limit = n;
    if (pos < 0 || pos >= limit)
        return PyLong_FromLong(-1);
    int kind = PyUnicode_KIND(text);
    const void *d = PyUnicode_DATA(text);
    Py_ssize_t r = SCAN_DISPATCH(kind, value_end_ucs1(d, pos, limit, cap),
                                 value_end_ucs2(d, pos, limit, cap),
                                 value_end_ucs4(d, pos, limit, cap));
    return PyLong_FromSsize_t(r);
}

static PyObject *
py_container_spine(PyObject *mod, PyObject *args)
{
    PyObject *text;
    Py_ssize_t pos, cap;
    if (!PyArg_ParseTuple(args, "Unn:container_spine", &text, &pos, &cap))
        return NULL;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    if (pos < 0 || pos >= n) {
        PyErr_SetString(PyExc_IndexError, "container_spine: position out of range");
        return NULL;
    }
    PyObject *spine = PyList_New(0);
    if (spine == NULL)
        return NULL;
    int kind = PyUnicode_KIND(text);
    const void *d = PyUnicode_DATA(text);
    Py_ssize_t deep = SCAN_DISPATCH(kind, spine_ucs1(d, n, pos, cap, spine),
                                    spine_ucs2(d, n, pos, cap, spine),
                                    spine_ucs4(d, n, pos, cap, spine));
    if (deep == -3) {
        Py_DECREF(spine);
        return NULL;
    }
    return Py_BuildValue("Nn", spine, deep);
}

static PyObject *
py_scan_members(PyObject *mod, PyObject *args)
{
    PyObject *text;
    Py_ssize_t pos, limit, cap, open_at = -1, end = -1;
    int in_object, closed = 0;
    if (!PyArg_ParseTuple(args, "Unpnn:scan_members", &text, &pos, &in_object, &limit, &cap))
        return NULL;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    if (limit > n)
        limit = n;
    if (pos >= 0 && pos <= limit) {
        int kind = PyUnicode_KIND(text);
        const void *d = PyUnicode_DATA(text);
        end = SCAN_DISPATCH(kind, members_ucs1(d, pos, in_object, limit, cap, &closed, &open_at),
                            members_ucs2(d, pos, in_object, limit, cap, &closed, &open_at),
                            members_ucs4(d, pos, in_object, limit, cap, &closed, &open_at));
    }
    return Py_BuildValue("nNn", end, PyBool_FromLong(closed), open_at);
}

/* ------------------------------------------------------------------ Core */

typedef struct {
    PyObject_HEAD
    int state, held_kind, in_comment;
    char in_string, str_is_key, announced, prov, hot, c_ok, show_strings;
    char seeking, stopped, plain_keys, multiple_values, lax, partial_strings, hold_numbers,
        single_quotes, unquoted_keys, comments, comment_star, trailing_commas;
    Py_ssize_t hi, used, consumed, line, col, grew_from, bulk_block, doc_start;
    Py_ssize_t max_bytes, max_depth, max_number_length, max_key_length, bulk_threshold;
    PyObject *stack, *prefixes, *key, *pieces, *str_path, *held, *root, *error, *result,
        *pending, *quote, *schema, *candidate;
} Core;

#define MEMBER_INT(name, field) {name, T_INT, offsetof(Core, field), 0, NULL}
#define MEMBER_BOOL(name, field) {name, T_BOOL, offsetof(Core, field), 0, NULL}
#define MEMBER_SSIZE(name, field) {name, T_PYSSIZET, offsetof(Core, field), 0, NULL}
#define MEMBER_OBJ(name, field) {name, T_OBJECT_EX, offsetof(Core, field), 0, NULL}

static PyMemberDef core_members[] = {
    MEMBER_INT("_state", state),
    MEMBER_INT("_held_kind", held_kind),
    MEMBER_INT("_in_comment", in_comment),
    MEMBER_BOOL("_seeking", seeking),
    MEMBER_BOOL("_stopped", stopped),
    MEMBER_BOOL("_plain_keys", plain_keys),
    MEMBER_BOOL("multiple_values", multiple_values),
    MEMBER_BOOL("_lax", lax),
    MEMBER_BOOL("_partial_strings", partial_strings),
    MEMBER_BOOL("_hold_numbers", hold_numbers),
    MEMBER_BOOL("_single_quotes", single_quotes),
    MEMBER_BOOL("_unquoted_keys", unquoted_keys),
    MEMBER_BOOL("_comments", comments),
    MEMBER_BOOL("_trailing_commas", trailing_commas),
    MEMBER_BOOL("_comment_star", comment_star),
    MEMBER_BOOL("_in_string", in_string),
    MEMBER_BOOL("_str_is_key", str_is_key),
    MEMBER_BOOL("_announced", announced),
    MEMBER_BOOL("_prov", prov),
    MEMBER_BOOL("_hot", hot),
    MEMBER_BOOL("_c_ok", c_ok),
    MEMBER_BOOL("_show_strings", show_strings),
    MEMBER_SSIZE("_hi", hi),
    MEMBER_SSIZE("_used", used),
    MEMBER_SSIZE("_consumed", consumed),
    MEMBER_SSIZE("_line", line),
    MEMBER_SSIZE("_col", col),
    MEMBER_SSIZE("_grew_from", grew_from),
    MEMBER_SSIZE("_bulk_block", bulk_block),
    MEMBER_SSIZE("_doc_start", doc_start),
    MEMBER_SSIZE("max_bytes", max_bytes),
    MEMBER_SSIZE("max_depth", max_depth),
    MEMBER_SSIZE("max_number_length", max_number_length),
    MEMBER_SSIZE("max_key_length", max_key_length),
    MEMBER_SSIZE("bulk_threshold", bulk_threshold),
    MEMBER_OBJ("_stack", stack),
    MEMBER_OBJ("_prefixes", prefixes),
    MEMBER_OBJ("_key", key),
    MEMBER_OBJ("_pieces", pieces),
    MEMBER_OBJ("_str_path", str_path),
    MEMBER_OBJ("_held", held),
    MEMBER_OBJ("_root", root),
    MEMBER_OBJ("_error", error),
    MEMBER_OBJ("_result", result),
    MEMBER_OBJ("_pending", pending),
    MEMBER_OBJ("_quote", quote),
    MEMBER_OBJ("_schema", schema),
    MEMBER_OBJ("_candidate", candidate),
    {NULL}
};

#define CORE_OBJECTS(X) \
    X(stack) X(prefixes) X(key) X(pieces) X(str_path) X(held) X(root) X(error) X(result) \
    X(pending) X(quote) X(schema) X(candidate)

static int
core_traverse(Core *self, visitproc visit, void *arg)
{
#define VISIT_FIELD(f) Py_VISIT(self->f);
    CORE_OBJECTS(VISIT_FIELD)
#undef VISIT_FIELD
    return 0;
}

static int
core_clear(Core *self)
{
#define CLEAR_FIELD(f) Py_CLEAR(self->f);
    CORE_OBJECTS(CLEAR_FIELD)
#undef CLEAR_FIELD
    return 0;
}

static void
core_dealloc(Core *self)
{
    PyObject_GC_UnTrack(self);
    core_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* An event: a 2-field NamedTuple instance built without calling its Python __new__. */
static PyObject *
event(PyObject *cls, PyObject *a, PyObject *b)
{
    PyTypeObject *tp = (PyTypeObject *)cls;
    PyObject *t = tp->tp_alloc(tp, 2);
    if (t == NULL)
        return NULL;
    Py_INCREF(a);
    Py_INCREF(b);
    PyTuple_SET_ITEM(t, 0, a);
    PyTuple_SET_ITEM(t, 1, b);
    /* An event of atomic parts (a path, a scalar) cannot be in a cycle: like CPython with
     * such tuples, keep it out of the cyclic GC, whose passes over a long event list
     * would otherwise cost more than building it. */
    if (!PyObject_GC_IsTracked(a) && !PyObject_GC_IsTracked(b))
        PyObject_GC_UnTrack(t);
    return t;
}

static int
emit(PyObject *events, PyObject *cls, PyObject *a, PyObject *b)
{
    PyObject *e = event(cls, a, b);
    if (e == NULL)
        return -1;
    int r = PyList_Append(events, e);
    Py_DECREF(e);
    return r;
}

/* prefix + (item,) */
static PyObject *
path_plus(PyObject *prefix, PyObject *item)
{
    Py_ssize_t n = PyTuple_GET_SIZE(prefix);
    PyObject *t = PyTuple_New(n + 1);
    if (t == NULL)
        return NULL;
    int atomic = !PyObject_GC_IsTracked(item);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *x = PyTuple_GET_ITEM(prefix, i);
        atomic = atomic && !PyObject_GC_IsTracked(x);
        Py_INCREF(x);
        PyTuple_SET_ITEM(t, i, x);
    }
    Py_INCREF(item);
    PyTuple_SET_ITEM(t, n, item);
    if (atomic) /* keys and indices: no cycle through it, as the GC would find */
        PyObject_GC_UnTrack(t);
    return t;
}

static PyObject *
path_plus_index(PyObject *prefix, Py_ssize_t index)
{
    PyObject *i = PyLong_FromSsize_t(index);
    if (i == NULL)
        return NULL;
    PyObject *t = path_plus(prefix, i);
    Py_DECREF(i);
    return t;
}

static inline PyObject *
top_of(Core *self)
{
    return PyList_GET_ITEM(self->stack, PyList_GET_SIZE(self->stack) - 1);
}

static inline PyObject *
top_prefix(Core *self)
{
    return PyList_GET_ITEM(self->prefixes, PyList_GET_SIZE(self->prefixes) - 1);
}

/* _child_path() with a non-empty stack. */
static PyObject *
child_path(Core *self)
{
    PyObject *top = top_of(self);
    if (PyDict_CheckExact(top))
        return path_plus(top_prefix(self), self->key);
    Py_ssize_t n = PyList_GET_SIZE(top);
    return path_plus_index(top_prefix(self), self->prov ? n - 1 : n);
}

/* Store ``value`` at the current slot of the (non-empty) stack's top: _insert(). */
static int
insert(Core *self, PyObject *value)
{
    PyObject *top = top_of(self);
    int r;
    if (PyDict_CheckExact(top))
        r = PyDict_SetItem(top, self->key, value);
    else if (self->prov)
        r = PyList_SetItem(top, PyList_GET_SIZE(top) - 1, (Py_INCREF(value), value));
    else
        r = PyList_Append(top, value);
    self->prov = 0;
    return r;
}

/* _put() with a non-empty stack (and no schema). Steals nothing. */
/* With a schema, a completed value is checked (and coerced) by _schema_check(path, value,
 * False) on the Python side.  Returns a new reference, or NULL. */
static PyObject *
schema_checked(Core *self, PyObject *path, PyObject *value)
{
    if (self->schema == Py_None) {
        Py_INCREF(value);
        return value;
    }
    return PyObject_CallMethodObjArgs((PyObject *)self, S_SCHEMA_CHECK, path, value, Py_False,
                                      NULL);
}

static int
put(Core *self, PyObject *value, PyObject *events)
{
    PyObject *top = top_of(self);
    PyObject *path;
    int is_dict = PyDict_CheckExact(top);
    Py_ssize_t n = is_dict ? 0 : PyList_GET_SIZE(top);
    if (is_dict)
        path = path_plus(top_prefix(self), self->key);
    else
        path = path_plus_index(top_prefix(self), self->prov ? n - 1 : n);
    if (path == NULL)
        return -1;
    value = schema_checked(self, path, value);
    if (value == NULL) {
        Py_DECREF(path);
        return -1;
    }
    int r;
    if (is_dict)
        r = PyDict_SetItem(top, self->key, value);
    else if (self->prov)
        r = PyList_SetItem(top, n - 1, (Py_INCREF(value), value));
    else
        r = PyList_Append(top, value);
    self->prov = 0;
    if (r == 0)
        r = emit(events, EV_COMPLETED, path, value);
    Py_DECREF(path);
    Py_DECREF(value);
    self->state = ST_COMMA_OR_CLOSE;
    return r;
}

/* _close() for a container that is not the top-level value. */
static int
close_container(Core *self, PyObject *events)
{
    Py_ssize_t n = PyList_GET_SIZE(self->stack);
    PyObject *container = PyList_GET_ITEM(self->stack, n - 1);
    PyObject *path = PyList_GET_ITEM(self->prefixes, n - 1);
    Py_INCREF(container);
    Py_INCREF(path);
    int r = PyList_SetSlice(self->stack, n - 1, n, NULL);
    if (r == 0)
        r = PyList_SetSlice(self->prefixes, n - 1, n, NULL);
    if (r == 0) {
        PyObject *checked = schema_checked(self, path, container);
        r = checked == NULL ? -1 : emit(events, EV_COMPLETED, path, checked);
        Py_XDECREF(checked);
    }
    Py_DECREF(container);
    Py_DECREF(path);
    self->state = ST_COMMA_OR_CLOSE;
    return r;
}

static int
open_container(Core *self, int is_object, PyObject *events)
{
    PyObject *path = child_path(self);
    if (path == NULL)
        return -1;
    PyObject *container;
    if (self->schema == Py_None)
        container = is_object ? PyDict_New() : PyList_New(0);
    else /* a container pre-filled with the schema's shape */
        container = PyObject_CallMethodObjArgs(self->schema, S_CONTAINER, path,
                                               is_object ? S_OBJECT : S_ARRAY, NULL);
    int r = -1;
    if (container == NULL)
        goto done;
    if (insert(self, container) < 0 || PyList_Append(self->stack, container) < 0 ||
        PyList_Append(self->prefixes, path) < 0)
        goto done;
    self->state = is_object ? ST_KEY_OR_CLOSE : ST_VALUE_OR_CLOSE;
    r = emit(events, EV_STARTED, path, is_object ? S_OBJECT : S_ARRAY);
done:
    Py_XDECREF(container);
    Py_DECREF(path);
    return r;
}

static int
set_obj(PyObject **field, PyObject *value) /* steals ``value`` */
{
    if (value == NULL)
        return -1;
    PyObject *old = *field;
    *field = value;
    Py_XDECREF(old);
    return 0;
}

static int
start_string(Core *self, int is_key, PyObject *path) /* steals ``path`` */
{
    if (set_obj(&self->str_path, path) < 0 || set_obj(&self->pieces, PyList_New(0)) < 0)
        return -1;
    Py_INCREF(S_DQUOTE); /* the C half only starts double-quoted strings */
    set_obj(&self->quote, S_DQUOTE);
    self->in_string = 1;
    self->str_is_key = (char)is_key;
    self->grew_from = 0;
    self->announced = 0;
    return 0;
}

static int
hold(Core *self, PyObject *text, Py_ssize_t start, Py_ssize_t end, int kind)
{
    if (set_obj(&self->held, PyUnicode_Substring(text, start, end)) < 0)
        return -1;
    self->held_kind = kind;
    return 0;
}

/* A key is complete: plain keys are stored, others go through _set_key (transforms). */
static int
set_key(Core *self, PyObject *key) /* steals ``key`` */
{
    if (key == NULL)
        return -1;
    if (self->plain_keys) {
        set_obj(&self->key, key);
        self->state = ST_COLON;
        return 0;
    }
    PyObject *r = PyObject_CallMethodOneArg((PyObject *)self, S_SET_KEY, key);
    Py_DECREF(key);
    if (r == NULL)
        return -1;
    Py_DECREF(r);
    return 0;
}

/* A number token's shape: 2 a whole number, 1 a valid prefix, 0 invalid.  *is_float set
 * when it has a fraction or an exponent. */
static int
number_shape(int kind, const void *data, Py_ssize_t s, Py_ssize_t e, int *is_float)
{
    int st = 0; /* 0 start, 1 '-', 2 '0', 3 int, 4 '.', 5 frac, 6 'e', 7 sign, 8 exp */
    *is_float = 0;
    for (Py_ssize_t i = s; i < e; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        int digit = c >= '0' && c <= '9';
        switch (st) {
        case 0:
            if (c == '-') st = 1;
            else if (c == '0') st = 2;
            else if (digit) st = 3;
            else return 0;
            break;
        case 1:
            if (c == '0') st = 2;
            else if (digit) st = 3;
            else return 0;
            break;
        case 2:
        case 3:
            if (digit && st == 3) st = 3;
            else if (c == '.') st = 4;
            else if (c == 'e' || c == 'E') st = 6;
            else return 0;
            break;
        case 4:
        case 5:
            if (digit) st = 5;
            else if (c == 'e' || c == 'E') { if (st == 4) return 0; st = 6; }
            else return 0;
            break;
        case 6:
            if (c == '+' || c == '-') st = 7;
            else if (digit) st = 8;
            else return 0;
            break;
        default: /* 7, 8 */
            if (digit) st = 8;
            else return 0;
        }
        if (st >= 4)
            *is_float = 1;
    }
    return (st == 2 || st == 3 || st == 5 || st == 8) ? 2 : 1;
}

/* int(tok) or float(tok) of a whole number token; NULL without an exception: not here. */
static PyObject *
number_value(int kind, const void *data, Py_ssize_t s, Py_ssize_t e, int is_float)
{
    char small[64];
    Py_ssize_t len = e - s;
    char *buf = small;
    PyObject *v;
    if (len >= (Py_ssize_t)sizeof(small)) {
        buf = PyMem_Malloc((size_t)len + 1);
        if (buf == NULL)
            return PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < len; i++)
        buf[i] = (char)PyUnicode_READ(kind, data, s + i);
    buf[len] = 0;
    if (!is_float && len <= 18)
        v = PyLong_FromLongLong(strtoll(buf, NULL, 10));
    else if (!is_float)
        v = PyLong_FromString(buf, NULL, 10);
    else {
        double d = PyOS_string_to_double(buf, NULL, NULL);
        v = (d == -1.0 && PyErr_Occurred()) ? NULL : PyFloat_FromDouble(d);
    }
    if (buf != small)
        PyMem_Free(buf);
    if (v == NULL && PyErr_ExceptionMatches(PyExc_ValueError))
        PyErr_Clear(); /* e.g. the int digit limit: let the Python parser decide */
    return v;
}

/* The end of the run of plain characters of a string quoted by ``q`` in text[pos:]. */
static inline Py_ssize_t
plain_run_q(PyObject *text, Py_ssize_t pos, Py_UCS4 q)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    for (; pos < n; pos++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, pos);
        if (c == q || c == '\\' || c < 0x20)
            break;
    }
    return pos;
}

static inline Py_ssize_t
plain_run(PyObject *text, Py_ssize_t pos)
{
    return plain_run_q(text, pos, '"');
}

/* The open string's quote character ('"', or '\'' in LLM mode). */
static inline Py_UCS4
quote_char(Core *self)
{
    return PyUnicode_GET_LENGTH(self->quote) == 1 ? PyUnicode_READ_CHAR(self->quote, 0) : 0;
}

/* Append a new string (steals it; NULL: an error is set) to the open string's pieces. */
static int
append_new(Core *self, PyObject *piece)
{
    if (piece == NULL)
        return -1;
    int r = PyList_Append(self->pieces, piece);
    Py_DECREF(piece);
    return r;
}

static int
append_char(Core *self, Py_UCS4 c)
{
    return append_new(self, PyUnicode_FromOrdinal((int)c));
}

static int
append_piece(Core *self, PyObject *text, Py_ssize_t s, Py_ssize_t e)
{
    return append_new(self, PyUnicode_Substring(text, s, e));
}

/* A high surrogate not followed by its low half stands alone. */
static int
flush_hi(Core *self)
{
    if (self->hi < 0)
        return 0;
    Py_UCS4 hi = (Py_UCS4)self->hi;
    self->hi = -1;
    return append_char(self, hi);
}

static int
hexval(Py_UCS4 c)
{
    if (c >= '0' && c <= '9') return (int)(c - '0');
    if (c >= 'a' && c <= 'f') return (int)(c - 'a' + 10);
    if (c >= 'A' && c <= 'F') return (int)(c - 'A' + 10);
    return -1;
}

/* Inside a string from ``pos`` (_string()).  Returns the next index, or -1 on error;
 * sets *bail when it stopped before something the Python parser must handle. */
static Py_ssize_t
c_string(Core *self, PyObject *text, Py_ssize_t pos, PyObject *events, int *bail)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_UCS4 q = quote_char(self);
    for (;;) {
        Py_ssize_t e = plain_run_q(text, pos, q);
        if (e > pos) {
            if (flush_hi(self) < 0 || append_piece(self, text, pos, e) < 0)
                return -1;
        }
        if (e >= n)
            return n;
        Py_UCS4 c = PyUnicode_READ(kind, data, e);
        if (c == q) {
            if (!self->str_is_key && PyList_GET_SIZE(self->stack) == 0) {
                *bail = 1; /* a top-level string ends: the Python side */
                return e;
            }
            if (flush_hi(self) < 0)
                return -1;
            PyObject *value;
            if (PyList_GET_SIZE(self->pieces) == 1) {
                value = PyList_GET_ITEM(self->pieces, 0);
                Py_INCREF(value);
            }
            else
                value = PyUnicode_Join(S_EMPTY, self->pieces);
            if (value == NULL)
                return -1;
            self->in_string = 0;
            if (set_obj(&self->pieces, PyList_New(0)) < 0) {
                Py_DECREF(value);
                return -1;
            }
            int r;
            if (self->str_is_key)
                r = set_key(self, value);
            else {
                r = put(self, value, events);
                Py_DECREF(value);
            }
            return r < 0 ? -1 : e + 1;
        }
        if (c != '\\') {
            *bail = 1;
            return e;
        }
        if (e + 1 >= n) {
            if (hold(self, text, e, n, HELD_ESCAPE) < 0)
                return -1;
            return n;
        }
        Py_UCS4 k = PyUnicode_READ(kind, data, e + 1);
        if (k == 'u') {
            int code = 0;
            Py_ssize_t i;
            for (i = e + 2; i < e + 6 && i < n; i++) {
                int h = hexval(PyUnicode_READ(kind, data, i));
                if (h < 0) {
                    *bail = 1;
                    return e;
                }
                code = code * 16 + h;
            }
            if (i < e + 6) {
                if (hold(self, text, e, n, HELD_ESCAPE) < 0)
                    return -1;
                return n;
            }
            pos = e + 6;
            if (self->hi >= 0) {
                if (code >= 0xDC00 && code <= 0xDFFF) {
                    Py_UCS4 full = 0x10000 + (((Py_UCS4)self->hi - 0xD800) << 10) + (code - 0xDC00);
                    self->hi = -1;
                    if (append_char(self, full) < 0)
                        return -1;
                    continue;
                }
                if (flush_hi(self) < 0)
                    return -1;
            }
            if (code >= 0xD800 && code <= 0xDBFF)
                self->hi = code;
            else if (append_char(self, (Py_UCS4)code) < 0)
                return -1;
            continue;
        }
        Py_UCS4 ch;
        switch (k) {
        case '"': ch = '"'; break;
        case '\\': ch = '\\'; break;
        case '/': ch = '/'; break;
        case 'b': ch = '\b'; break;
        case 'f': ch = '\f'; break;
        case 'n': ch = '\n'; break;
        case 'r': ch = '\r'; break;
        case 't': ch = '\t'; break;
        case '\'':
            if (q == '\'') { /* \' in a single-quoted string (LLM mode) */
                ch = '\'';
                break;
            }
            /* fall through */
        default:
            *bail = 1;
            return e;
        }
        if (flush_hi(self) < 0 || append_char(self, ch) < 0)
            return -1;
        pos = e + 2;
    }
}

/* A string value or key starting at the quote at ``pos``. */
static Py_ssize_t
c_string_start(Core *self, PyObject *text, Py_ssize_t pos, int is_key, PyObject *events,
               int *bail)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_UCS4 q = PyUnicode_READ(kind, data, pos);
    Py_ssize_t e = plain_run_q(text, pos + 1, q);
    if (e < n && PyUnicode_READ(kind, data, e) == q) { /* a simple string, all here */
        PyObject *s = PyUnicode_Substring(text, pos + 1, e);
        if (s == NULL)
            return -1;
        if (is_key)
            return set_key(self, s) < 0 ? -1 : e + 1;
        int r = put(self, s, events);
        Py_DECREF(s);
        return r < 0 ? -1 : e + 1;
    }
    if (is_key) {
        if (start_string(self, 1, PyTuple_New(0)) < 0) /* a key's path is () */
            return -1;
    }
    else if (start_string(self, 0, child_path(self)) < 0)
        return -1;
    if (q == '\'') {
        Py_INCREF(S_SQUOTE);
        set_obj(&self->quote, S_SQUOTE);
    }
    return c_string(self, text, pos + 1, events, bail);
}

static Py_ssize_t
c_literal(Core *self, PyObject *text, Py_ssize_t pos, PyObject *events, int *bail)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_UCS4 c = PyUnicode_READ(kind, data, pos);
    const char *word = c == 't' ? "true" : c == 'f' ? "false" : "null";
    PyObject *value = c == 't' ? Py_True : c == 'f' ? Py_False : Py_None;
    Py_ssize_t len = (Py_ssize_t)strlen(word), i;
    for (i = 0; i < len && pos + i < n; i++) {
        if (PyUnicode_READ(kind, data, pos + i) != (Py_UCS4)word[i]) {
            *bail = 1;
            return pos;
        }
    }
    if (i < len) {
        if (hold(self, text, pos, n, HELD_LITERAL) < 0)
            return -1;
        return n;
    }
    return put(self, value, events) < 0 ? -1 : pos + len;
}

static Py_ssize_t
c_number(Core *self, PyObject *text, Py_ssize_t pos, PyObject *events, int *bail)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t e = pos;
    for (; e < n; e++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, e);
        if (!((c >= '0' && c <= '9') || c == 'e' || c == 'E' || c == '.' || c == '+' ||
              c == '-'))
            break;
    }
    int is_float;
    int shape = number_shape(kind, data, pos, e, &is_float);
    if (e - pos > self->max_number_length || shape == 0) {
        *bail = 1;
        return pos;
    }
    if (self->lax && e < n && e - pos <= 2) {
        Py_UCS4 x = PyUnicode_READ(kind, data, e);
        if ((x == 'x' || x == 'X') && PyUnicode_READ(kind, data, e - 1) == '0') {
            *bail = 1; /* a hex number (LLM mode): the Python side */
            return pos;
        }
    }
    if (e >= n) {
        if (hold(self, text, pos, n, HELD_NUMBER) < 0)
            return -1;
        return n;
    }
    if (shape != 2) {
        *bail = 1;
        return pos;
    }
    PyObject *v = number_value(kind, data, pos, e, is_float);
    if (v == NULL) {
        if (PyErr_Occurred())
            return -1;
        *bail = 1;
        return pos;
    }
    int r = put(self, v, events);
    Py_DECREF(v);
    return r < 0 ? -1 : e;
}

static inline int
double_quoted(Core *self)
{
    return PyUnicode_GET_LENGTH(self->quote) == 1 && PyUnicode_READ_CHAR(self->quote, 0) == '"';
}

/* _skip_comment(): inside a comment (LLM mode) from ``pos``; returns where it ends. */
static Py_ssize_t
c_skip_comment(Core *self, PyObject *text, Py_ssize_t pos)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    if (self->in_comment == 1) { /* to the end of the line, the newline included */
        for (; pos < n; pos++) {
            if (PyUnicode_READ(kind, data, pos) == '\n') {
                self->in_comment = 0;
                return pos + 1;
            }
        }
        return n;
    }
    if (self->comment_star && pos < n && PyUnicode_READ(kind, data, pos) == '/') {
        self->in_comment = 0;
        return pos + 1;
    }
    for (Py_ssize_t i = pos; i + 1 < n; i++) {
        if (PyUnicode_READ(kind, data, i) == '*' && PyUnicode_READ(kind, data, i + 1) == '/') {
            self->in_comment = 0;
            return i + 2;
        }
    }
    self->comment_star = n > pos && PyUnicode_READ(kind, data, n - 1) == '*';
    return n;
}

/* The common part of _run().  Returns where it stopped (len(text) when done), -1 on error. */
static Py_ssize_t
c_run(Core *self, PyObject *text, Py_ssize_t pos, PyObject *events)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    int bail = 0;
    if (self->in_comment)
        pos = c_skip_comment(self, text, pos);
    while (pos < n && !bail) {
        if (self->in_string) {
            pos = c_string(self, text, pos, events, &bail);
            if (pos < 0)
                return -1;
            continue;
        }
        Py_UCS4 c = PyUnicode_READ(kind, data, pos);
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            pos++;
            continue;
        }
        Py_ssize_t depth = PyList_GET_SIZE(self->stack);
        int st = self->state;
        if (depth == 0)
            return pos; /* a top-level value starts or ended: the Python side */
        if (c == '/' && self->comments) { /* _comment(): LLM mode */
            if (pos + 1 >= n) {
                if (hold(self, text, pos, n, HELD_SLASH) < 0)
                    return -1;
                return n;
            }
            Py_UCS4 k = PyUnicode_READ(kind, data, pos + 1);
            if (k != '/' && k != '*')
                return pos; /* the Python side reports it */
            self->in_comment = k == '/' ? 1 : 2;
            self->comment_star = 0;
            pos = c_skip_comment(self, text, pos + 2);
            continue;
        }
        PyObject *top = top_of(self);
        int is_obj = PyDict_CheckExact(top);
        /* A closing bracket that matches the innermost container (not the top-level one,
         * whose end is a document boundary for the Python side). */
        int closes = depth > 1 && (is_obj ? c == '}' && (st == ST_KEY_OR_CLOSE ||
                                                         st == ST_COMMA_OR_CLOSE ||
                                                         (st == ST_KEY && self->trailing_commas))
                                          : c == ']' && (st == ST_VALUE_OR_CLOSE ||
                                                         st == ST_COMMA_OR_CLOSE ||
                                                         (st == ST_VALUE && self->trailing_commas &&
                                                          n - pos < self->bulk_threshold)));
        if (closes) {
            if (close_container(self, events) < 0)
                return -1;
            pos++;
            continue;
        }
        switch (st) {
        case ST_COMMA_OR_CLOSE:
            if (c != ',')
                return pos;
            pos++;
            self->state = is_obj ? ST_KEY : ST_VALUE;
            break;
        case ST_VALUE:
        case ST_VALUE_OR_CLOSE:
            if (n - pos >= self->bulk_threshold && pos >= self->bulk_block)
                return pos; /* the bulk path may load a run of members here */
            if (c == '"' || (c == '\'' && self->single_quotes))
                pos = c_string_start(self, text, pos, 0, events, &bail);
            else if (c == '{' || c == '[') {
                if (depth >= self->max_depth)
                    return pos;
                if (open_container(self, c == '{', events) < 0)
                    return -1;
                pos++;
            }
            else if (c == '-' || (c >= '0' && c <= '9'))
                pos = c_number(self, text, pos, events, &bail);
            else if (c == 't' || c == 'f' || c == 'n')
                pos = c_literal(self, text, pos, events, &bail);
            else
                return pos;
            break;
        case ST_KEY_OR_CLOSE:
        case ST_KEY:
            if (c == '\'' && self->single_quotes) { /* (no bulk attempt, as in _run) */
                pos = c_string_start(self, text, pos, 1, events, &bail);
                break;
            }
            if (self->unquoted_keys && c < 0x80 &&
                (Py_UNICODE_ISALPHA(c) || c == '_' || c == '$')) {
                /* an unquoted key (LLM mode): [A-Za-z_$][A-Za-z0-9_$]* */
                Py_ssize_t e = pos + 1;
                for (; e < n; e++) {
                    Py_UCS4 k = PyUnicode_READ(kind, data, e);
                    if (!(k < 0x80 && (Py_UNICODE_ISALNUM(k) || k == '_' || k == '$')))
                        break;
                }
                if (e - pos > self->max_key_length)
                    return pos; /* the Python side reports the limit */
                if (e >= n) {
                    if (hold(self, text, pos, n, HELD_IDENT) < 0)
                        return -1;
                    pos = n;
                    break;
                }
                pos = set_key(self, PyUnicode_Substring(text, pos, e)) < 0 ? -1 : e;
                break;
            }
            if (c != '"')
                return pos;
            if (n - pos >= self->bulk_threshold && pos >= self->bulk_block)
                return pos;
            pos = c_string_start(self, text, pos, 1, events, &bail);
            break;
        case ST_COLON:
            if (c != ':')
                return pos;
            pos++;
            self->state = ST_VALUE;
            break;
        default:
            return pos;
        }
        if (pos < 0)
            return -1;
    }
    return pos;
}

/* UTF-8 length of text[s:e] (surrogates count 3, like "surrogatepass"). */
static Py_ssize_t
utf8_len(PyObject *text, Py_ssize_t s, Py_ssize_t e)
{
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t nb = e - s;
    if (PyUnicode_IS_ASCII(text))
        return nb;
    /* one tight loop per kind (the compiler vectorises them) */
    if (kind == PyUnicode_1BYTE_KIND) {
        const Py_UCS1 *u = (const Py_UCS1 *)data;
        for (Py_ssize_t i = s; i < e; i++)
            nb += u[i] >> 7;
    }
    else if (kind == PyUnicode_2BYTE_KIND) {
        const Py_UCS2 *u = (const Py_UCS2 *)data;
        for (Py_ssize_t i = s; i < e; i++)
            nb += (u[i] >= 0x80) + (u[i] >= 0x800);
    }
    else {
        const Py_UCS4 *u = (const Py_UCS4 *)data;
        for (Py_ssize_t i = s; i < e; i++)
            nb += (u[i] >= 0x80) + (u[i] >= 0x800) + (u[i] >= 0x10000);
    }
    return nb;
}


static int
all_ready(Core *self)
{
    return self->stack && self->prefixes && self->key && self->pieces && self->str_path &&
           self->held && self->root && self->error && self->result && self->pending && PyBytes_CheckExact(self->pending) && self->schema && self->candidate &&
           self->quote && PyUnicode_CheckExact(self->quote) &&
           PyList_CheckExact(self->stack) && PyList_CheckExact(self->prefixes) &&
           PyList_CheckExact(self->pieces) && PyTuple_CheckExact(self->str_path) &&
           PyUnicode_CheckExact(self->held);
}

static PyObject *
string_events(Core *self, PyObject *events)
{
    if (!self->announced) {
        self->announced = 1;
        if (emit(events, EV_STARTED, self->str_path, S_STRING) < 0)
            return NULL;
    }
    Py_ssize_t np = PyList_GET_SIZE(self->pieces);
    if (np > self->grew_from) {
        PyObject *grown;
        if (np - self->grew_from == 1) {
            grown = PyList_GET_ITEM(self->pieces, self->grew_from);
            Py_INCREF(grown);
        }
        else {
            PyObject *tail = PyList_GetSlice(self->pieces, self->grew_from, np);
            if (tail == NULL)
                return NULL;
            grown = PyUnicode_Join(S_EMPTY, tail);
            Py_DECREF(tail);
            if (grown == NULL)
                return NULL;
        }
        int r = emit(events, EV_GREW, self->str_path, grown);
        Py_DECREF(grown);
        if (r < 0)
            return NULL;
    }
    return events;
}

/* SchemaTracker.track(events): the paths started and completed (for field_states()). */
static int
track(Core *self, PyObject *events)
{
    PyObject *sets[2] = {NULL, NULL};
    static const char *names[2] = {"started", "completed"};
    PyObject *tracker = NULL;
    int r = 0;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(events) && r == 0; i++) {
        PyObject *ev = PyList_GET_ITEM(events, i);
        int which = Py_TYPE(ev) == (PyTypeObject *)EV_STARTED     ? 0
                    : Py_TYPE(ev) == (PyTypeObject *)EV_COMPLETED ? 1
                                                                  : -1;
        if (which < 0)
            continue;
        if (sets[which] == NULL) {
            if (tracker == NULL && (tracker = PyObject_GetAttrString((PyObject *)self,
                                                                      "_tracker")) == NULL) {
                r = -1;
                break;
            }
            sets[which] = PyObject_GetAttrString(tracker, names[which]);
            if (sets[which] == NULL || !PySet_Check(sets[which])) {
                if (sets[which] != NULL)
                    PyErr_SetString(PyExc_TypeError, "field tracking needs sets");
                r = -1;
                break;
            }
        }
        r = PySet_Add(sets[which], PyTuple_GET_ITEM(ev, 0));
    }
    Py_XDECREF(sets[0]);
    Py_XDECREF(sets[1]);
    Py_XDECREF(tracker);
    return r;
}

/* feed() of a str chunk, or of text decoded from bytes (``decoded``: the Python side is
 * then _feed_str, which skips the check for a pending UTF-8 sequence). */
static PyObject *
feed_text(Core *self, PyObject *chunk, int decoded)
{
    PyObject *fallback = decoded ? S_FEED_STR : S_FEED_PY;
    Py_ssize_t clen = PyUnicode_GET_LENGTH(chunk);
    if (self->hot && clen > 0 && plain_run(chunk, 0) == clen) {
        /* Inside a string, nothing pending: the chunk is all string text. */
        Py_ssize_t nb = utf8_len(chunk, 0, clen);
        if (self->used + nb > self->max_bytes)
            return PyObject_CallMethodOneArg((PyObject *)self, fallback, chunk);
        self->used += nb;
        self->consumed += nb;
        self->col += clen;
        if (PyList_Append(self->pieces, chunk) < 0)
            return NULL;
        if (self->str_is_key)
            return PyList_New(0);
        PyObject *events;
        if (self->announced) { /* the usual case: one event, no list growth */
            PyObject *grew = event(EV_GREW, self->str_path, chunk);
            if (grew == NULL || (events = PyList_New(1)) == NULL) {
                Py_XDECREF(grew);
                return NULL;
            }
            PyList_SET_ITEM(events, 0, grew);
        }
        else {
            if ((events = PyList_New(0)) == NULL)
                return NULL;
            self->announced = 1;
            if (emit(events, EV_STARTED, self->str_path, S_STRING) < 0 ||
                emit(events, EV_GREW, self->str_path, chunk) < 0)
                goto fail_hot;
        }
        if (self->schema != Py_None && track(self, events) < 0)
            goto fail_hot;
        return events;
    fail_hot:
        Py_DECREF(events);
        return NULL;
    }
    if (!self->c_ok || self->error != Py_None || self->result != Py_None ||
        (!decoded && PyBytes_GET_SIZE(self->pending) != 0) || self->stopped ||
        self->candidate != Py_None || self->seeking || clen == 0)
        return PyObject_CallMethodOneArg((PyObject *)self, fallback, chunk);
    /* _feed_head() */
    Py_ssize_t nbytes = utf8_len(chunk, 0, clen);
    if (!self->multiple_values) {
        if (self->used + nbytes > self->max_bytes)
            return PyObject_CallMethodOneArg((PyObject *)self, fallback, chunk);
        self->used += nbytes;
    }
    PyObject *text;
    Py_ssize_t held_len = PyUnicode_GET_LENGTH(self->held);
    if (held_len) {
        text = PyUnicode_Concat(self->held, chunk);
        if (text == NULL)
            return NULL;
        if (set_obj(&self->held, (Py_INCREF(S_EMPTY), S_EMPTY)) < 0)
            return NULL;
        self->held_kind = HELD_NONE;
    }
    else {
        text = chunk;
        Py_INCREF(text);
    }
    PyObject *events = PyList_New(0);
    if (events == NULL)
        goto fail;
    self->bulk_block = 0;
    self->doc_start = 0;
    self->grew_from = PyList_GET_SIZE(self->pieces);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    Py_ssize_t pos = c_run(self, text, 0, events);
    if (pos < 0)
        goto fail;
    if (pos < n || self->multiple_values) {
        /* The Python side parses the rest (_feed_body), then does the tail. */
        if (pos < n) {
            PyObject *idx = PyLong_FromSsize_t(pos);
            PyObject *r = idx == NULL ? NULL
                                      : PyObject_CallMethodObjArgs((PyObject *)self, S_FEED_BODY,
                                                                   text, idx, events, NULL);
            Py_XDECREF(idx);
            if (r == NULL)
                goto fail;
            Py_DECREF(r);
        }
        PyObject *known = PyLong_FromSsize_t(text == chunk ? nbytes : -1);
        PyObject *r = known == NULL ? NULL
                                    : PyObject_CallMethodObjArgs((PyObject *)self, S_FEED_TAIL,
                                                                 text, events, known, NULL);
        Py_XDECREF(known);
        if (r == NULL)
            goto fail;
        Py_DECREF(r);
        goto done;
    }
    /* _feed_tail() */
    if (self->in_string && !self->str_is_key && string_events(self, events) == NULL)
        goto fail;
    held_len = PyUnicode_GET_LENGTH(self->held);
    Py_ssize_t done = n - held_len;
    if (held_len || text != chunk)
        nbytes = utf8_len(text, 0, done);
    {
        int kind = PyUnicode_KIND(text);
        const void *data = PyUnicode_DATA(text);
        Py_ssize_t last_nl = -1, nl = 0;
        for (Py_ssize_t i = 0; i < done; i++) {
            if (PyUnicode_READ(kind, data, i) == '\n') {
                nl++;
                last_nl = i;
            }
        }
        if (nl) {
            self->line += nl;
            self->col = done - last_nl - 1;
        }
        else
            self->col += done;
    }
    self->consumed += nbytes;
    if (self->schema != Py_None && track(self, events) < 0)
        goto fail;
done:
    self->hot = self->in_string && self->held_kind == HELD_NONE && self->hi < 0 &&
                double_quoted(self) && self->candidate == Py_None && PyBytes_GET_SIZE(self->pending) == 0;
    Py_DECREF(text);
    return events;
fail:
    Py_XDECREF(events);
    Py_DECREF(text);
    return NULL;
}

static PyObject *
core_feed(Core *self, PyObject *chunk)
{
    if (PyUnicode_CheckExact(chunk) && all_ready(self))
        return feed_text(self, chunk, 0);
    if (!PyBytes_CheckExact(chunk) || !all_ready(self) || self->error != Py_None ||
        self->result != Py_None)
        return PyObject_CallMethodOneArg((PyObject *)self, S_FEED_PY, chunk);
    /* UTF-8 bytes: decode incrementally here (a sequence cut by the end of the chunk waits
     * in _pending), then parse the text like a str chunk.  Invalid UTF-8 goes to the
     * Python side, which parses the valid part first and reports the bad byte. */
    PyObject *data = chunk;
    Py_INCREF(data);
    if (PyBytes_GET_SIZE(self->pending)) {
        Py_SETREF(data, PyBytes_FromStringAndSize(NULL, PyBytes_GET_SIZE(self->pending) +
                                                            PyBytes_GET_SIZE(chunk)));
        if (data == NULL)
            return NULL;
        memcpy(PyBytes_AS_STRING(data), PyBytes_AS_STRING(self->pending),
               (size_t)PyBytes_GET_SIZE(self->pending));
        memcpy(PyBytes_AS_STRING(data) + PyBytes_GET_SIZE(self->pending),
               PyBytes_AS_STRING(chunk), (size_t)PyBytes_GET_SIZE(chunk));
    }
    Py_ssize_t used = 0;
    PyObject *text =
        PyUnicode_DecodeUTF8Stateful(PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data), "strict",
                                     &used);
    if (text == NULL) {
        Py_DECREF(data);
        if (!PyErr_ExceptionMatches(PyExc_UnicodeDecodeError))
            return NULL;
        PyErr_Clear();
        return PyObject_CallMethodOneArg((PyObject *)self, S_FEED_PY, chunk);
    }
    PyObject *rest = PyBytes_FromStringAndSize(PyBytes_AS_STRING(data) + used,
                                               PyBytes_GET_SIZE(data) - used);
    Py_DECREF(data);
    if (set_obj(&self->pending, rest) < 0) {
        Py_DECREF(text);
        return NULL;
    }
    PyObject *r = PyUnicode_GET_LENGTH(text) ? feed_text(self, text, 1) : PyList_New(0);
    Py_DECREF(text);
    return r;
}

/* _join_pieces(): the open string's pieces become one string, the text shown last grown
 * in place when nobody but the parser holds it (PyUnicode_Append resizes a string whose
 * only reference is the caller's), so snapshots after every chunk are O(length) in all. */
static int
join_pieces(Core *self)
{
    PyObject *pieces = self->pieces;
    Py_ssize_t np = PyList_GET_SIZE(pieces);
    if (np == 0)
        return PyList_Append(pieces, S_EMPTY);
    PyObject *acc = PyList_GET_ITEM(pieces, 0);
    Py_INCREF(acc);
    PyObject *rest;
    if (np == 2) { /* the usual case: what the last feed added */
        rest = PyList_GET_ITEM(pieces, 1);
        Py_INCREF(rest);
    }
    else {
        PyObject *tail = PyList_GetSlice(pieces, 1, np);
        rest = tail == NULL ? NULL : PyUnicode_Join(S_EMPTY, tail);
        Py_XDECREF(tail);
    }
    if (rest == NULL || PyList_SetSlice(pieces, 0, np, NULL) < 0)
        goto fail;
    Py_ssize_t depth = PyList_GET_SIZE(self->stack);
    if (PyUnicode_GET_LENGTH(acc) < 512) {
        /* short: a copy costs less than letting go of the shown text first */
        Py_SETREF(acc, PyUnicode_Concat(acc, rest));
        Py_DECREF(rest);
        if (acc == NULL)
            return -1;
        int r = PyList_Append(pieces, acc);
        Py_DECREF(acc);
        return r;
    }
    if (depth) {
        PyObject *top = PyList_GET_ITEM(self->stack, depth - 1);
        if (PyDict_CheckExact(top)) {
            if (PyDict_GetItemWithError(top, self->key) == acc &&
                PyDict_SetItem(top, self->key, Py_None) < 0)
                goto fail;
            if (PyErr_Occurred())
                goto fail;
        }
        else if (self->prov && PyList_GET_SIZE(top) &&
                 PyList_GET_ITEM(top, PyList_GET_SIZE(top) - 1) == acc) {
            Py_INCREF(Py_None);
            if (PyList_SetItem(top, PyList_GET_SIZE(top) - 1, Py_None) < 0)
                goto fail;
        }
    }
    PyUnicode_Append(&acc, rest); /* acc is NULL on error */
    Py_DECREF(rest);
    if (acc == NULL)
        return -1;
    int r = PyList_Append(pieces, acc);
    Py_DECREF(acc);
    return r;
fail:
    Py_XDECREF(rest);
    Py_DECREF(acc);
    return -1;
}

static PyObject *
core_snapshot(Core *self, PyObject *Py_UNUSED(ignored))
{
    /* _snapshot_py() has two equivalent branches for an open string: one when strings
     * show directly, one after the extraction checks (which also marks a dict's slot). */
    int direct = self->show_strings;
    if (all_ready(self) && (!self->in_string || self->str_is_key) && self->candidate == Py_None &&
        !self->seeking &&
        (self->hold_numbers || (self->held_kind != HELD_NUMBER && self->held_kind != HELD_LITERAL)) &&
        (PyList_GET_SIZE(self->stack) || self->state == ST_END)) {
        /* Between tokens, nothing held back to show: the live value as it is. */
        Py_INCREF(self->root);
        return self->root;
    }
    if (!(self->in_string && !self->str_is_key && all_ready(self) &&
          (direct || (self->partial_strings && self->candidate == Py_None && !self->seeking))))
        return PyObject_CallMethodNoArgs((PyObject *)self, S_SNAPSHOT_PY);
    /* The common case while a model writes text: show the open string in place. */
    PyObject *pieces = self->pieces;
    if (PyList_GET_SIZE(pieces) != 1 && join_pieces(self) < 0)
        return NULL;
    PyObject *s = PyList_GET_ITEM(pieces, 0);
    if (PyList_GET_SIZE(self->stack) == 0) {
        Py_INCREF(s);
        return s;
    }
    PyObject *top = top_of(self);
    int r;
    if (PyDict_CheckExact(top)) {
        r = PyDict_SetItem(top, self->key, s);
        if (!direct)
            self->prov = 1;
    }
    else {
        if (self->prov)
            r = PyList_SetItem(top, PyList_GET_SIZE(top) - 1, (Py_INCREF(s), s));
        else
            r = PyList_Append(top, s);
        self->prov = 1;
    }
    if (r < 0)
        return NULL;
    Py_INCREF(self->root);
    return self->root;
}

/* _copy_state(proto): start as a copy of ``proto``, a parser built for the same options
 * and never fed (see _Parser.__init__): its fields and its __dict__, with mutable parts
 * of our own.  The Python-side parts (a deque of documents, the spine list, extraction,
 * a schema tracker) are made by _fresh_parts() unless they are the two plain ones. */
static PyObject *
core_copy_state(Core *self, PyObject *proto_obj)
{
    if (!PyObject_TypeCheck(proto_obj, Py_TYPE(self))) {
        PyErr_SetString(PyExc_TypeError, "_copy_state: the prototype is not of this class");
        return NULL;
    }
    Core *proto = (Core *)proto_obj;
    memcpy((char *)self + offsetof(Core, state), (char *)proto + offsetof(Core, state),
           offsetof(Core, stack) - offsetof(Core, state));
#define COPY_FIELD(f) Py_XINCREF(proto->f); Py_XSETREF(self->f, proto->f);
    CORE_OBJECTS(COPY_FIELD)
#undef COPY_FIELD
    if (set_obj(&self->stack, PyList_New(0)) < 0 || set_obj(&self->prefixes, PyList_New(0)) < 0 ||
        set_obj(&self->pieces, PyList_New(0)) < 0)
        return NULL;
    PyObject *mine = PyObject_GenericGetDict((PyObject *)self, NULL);
    PyObject *theirs = mine == NULL ? NULL : PyObject_GenericGetDict(proto_obj, NULL);
    int r = theirs == NULL ? -1 : PyDict_Update(mine, theirs);
    Py_XDECREF(theirs);
    if (r < 0) {
        Py_XDECREF(mine);
        return NULL;
    }
    PyObject *x = PyDict_GetItemWithError(mine, S_X);
    PyObject *tracker = x == NULL ? NULL : PyDict_GetItemWithError(mine, S_TRACKER);
    if (tracker == NULL) {
        Py_DECREF(mine);
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_AttributeError, "_copy_state: the prototype lacks _x or _tracker");
        return NULL;
    }
    if (x != Py_None || tracker != Py_None) {
        Py_DECREF(mine);
        return PyObject_CallMethodNoArgs((PyObject *)self, S_FRESH_PARTS);
    }
    PyObject *done = PyObject_CallNoArgs(DEQUE);
    PyObject *spine = PyList_New(0);
    r = (done == NULL || spine == NULL || PyDict_SetItem(mine, S_DONE, done) < 0 ||
         PyDict_SetItem(mine, S_SPINE, spine) < 0) ? -1 : 0;
    Py_XDECREF(done);
    Py_XDECREF(spine);
    Py_DECREF(mine);
    if (r < 0)
        return NULL;
    Py_RETURN_NONE;
}

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

static PyMethodDef core_methods[] = {
    {"feed", (PyCFunction)core_feed, METH_O, feed_doc},
    {"snapshot", (PyCFunction)core_snapshot, METH_NOARGS, snapshot_doc},
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
    .tp_methods = core_methods,
};

/* completed_members(events, prefix, members, base): streaming._completed_members_py. */
static PyObject *
py_completed_members(PyObject *mod, PyObject *args)
{
    PyObject *events, *prefix, *members;
    Py_ssize_t base;
    if (!PyArg_ParseTuple(args, "O!O!On:completed_members", &PyList_Type, &events,
                          &PyTuple_Type, &prefix, &members, &base))
        return NULL;
    if (EV_COMPLETED == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "setup() was not called");
        return NULL;
    }
    if (PyDict_CheckExact(members)) {
        Py_ssize_t i = 0;
        PyObject *k, *v;
        while (PyDict_Next(members, &i, &k, &v)) {
            PyObject *path = path_plus(prefix, k);
            if (path == NULL)
                return NULL;
            int r = emit(events, EV_COMPLETED, path, v);
            Py_DECREF(path);
            if (r < 0)
                return NULL;
        }
        Py_RETURN_NONE;
    }
    if (!PyList_CheckExact(members)) {
        PyErr_SetString(PyExc_TypeError, "completed_members: members must be a dict or a list");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(members); i++) {
        PyObject *path = path_plus_index(prefix, base + i);
        if (path == NULL)
            return NULL;
        int r = emit(events, EV_COMPLETED, path, PyList_GET_ITEM(members, i));
        Py_DECREF(path);
        if (r < 0)
            return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
py_setup(PyObject *mod, PyObject *args)
{
    PyObject *started, *grew, *completed;
    if (!PyArg_ParseTuple(args, "O!O!O!:setup", &PyType_Type, &started, &PyType_Type, &grew,
                          &PyType_Type, &completed))
        return NULL;
    PyObject *classes[3] = {started, grew, completed};
    for (int i = 0; i < 3; i++) {
        if (!PyType_IsSubtype((PyTypeObject *)classes[i], &PyTuple_Type)) {
            PyErr_SetString(PyExc_TypeError, "event classes must be tuple subclasses");
            return NULL;
        }
    }
    Py_INCREF(started);
    Py_INCREF(grew);
    Py_INCREF(completed);
    Py_XSETREF(EV_STARTED, started);
    Py_XSETREF(EV_GREW, grew);
    Py_XSETREF(EV_COMPLETED, completed);
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
     "setup(ValueStarted, StringGrew, ValueCompleted): the event classes to emit."},
    {NULL}
};

static struct PyModuleDef moduledef = {
    PyModuleDef_HEAD_INIT, "_speedups", "C accelerator for jsonvisor.parsers.", -1,
    module_methods,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    if (PyType_Ready(&CoreType) < 0)
        return NULL;
    S_OBJECT = PyUnicode_InternFromString("object");
    S_ARRAY = PyUnicode_InternFromString("array");
    S_STRING = PyUnicode_InternFromString("string");
    S_EMPTY = PyUnicode_InternFromString("");
    S_DQUOTE = PyUnicode_InternFromString("\"");
    S_SQUOTE = PyUnicode_InternFromString("'");
    S_FEED_PY = PyUnicode_InternFromString("_feed_py");
    S_FEED_STR = PyUnicode_InternFromString("_feed_str");
    S_SCHEMA_CHECK = PyUnicode_InternFromString("_schema_check");
    S_CONTAINER = PyUnicode_InternFromString("container");
    S_TRACK = PyUnicode_InternFromString("_track");
    S_SNAPSHOT_PY = PyUnicode_InternFromString("_snapshot_py");
    S_FEED_BODY = PyUnicode_InternFromString("_feed_body");
    S_FEED_TAIL = PyUnicode_InternFromString("_feed_tail");
    S_SET_KEY = PyUnicode_InternFromString("_set_key");
    S_X = PyUnicode_InternFromString("_x");
    S_TRACKER = PyUnicode_InternFromString("_tracker");
    S_DONE = PyUnicode_InternFromString("_done");
    S_SPINE = PyUnicode_InternFromString("_spine");
    S_FRESH_PARTS = PyUnicode_InternFromString("_fresh_parts");
    if (!S_OBJECT || !S_ARRAY || !S_STRING || !S_EMPTY || !S_DQUOTE || !S_SQUOTE || !S_FEED_PY || !S_FEED_STR || !S_SCHEMA_CHECK || !S_CONTAINER || !S_TRACK || !S_SNAPSHOT_PY ||
        !S_FEED_BODY || !S_FEED_TAIL || !S_SET_KEY || !S_X || !S_TRACKER || !S_DONE || !S_SPINE ||
        !S_FRESH_PARTS)
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
    return m;
}
