/* Stage: the parser's state (the Core object), its GC support and its creation from a
 * prototype.  Part of the unity build of _speedups.c (included once, in order). */

/* ------------------------------------------------------------------ Core */

/* How an error in extraction mode decided the trial (c_fail, c_extracting). */
enum { X_NONE = 0, X_FENCE_END, X_REJECT };

#define KEYS_KEPT 32     /* (slots; a key of up to KEY_KEPT_LEN characters is kept) */
#define KEY_KEPT_LEN 32
#define SIZES_KEPT 32   /* (depths whose objects' sizes are kept: new_container) */
#define QWAYS 4         /* (answers kept of one schema table: quick_lookup) */

typedef struct {
    PyObject_HEAD
    int state, held_kind, in_comment, quiet, doc_ended, x_verdict;
    char in_string, str_is_key, announced, prov, hot, show_strings;
    char seeking, stopped, plain_keys, multiple_values, lax, partial_strings, hold_numbers,
        single_quotes, unquoted_keys, comments, comment_star, trailing_commas,
        ready, doc_open, bulk_stop, nan_infinity, python_literals, hex_numbers, control_characters,
        unknown_escapes, extract, lenient;
    Py_ssize_t hi, used, consumed, line, col, grew_from, bulk_block, doc_start, documents, x_at;
    Py_ssize_t max_bytes, max_depth, max_number_length, max_key_length, bulk_threshold;
    PyObject *stack, *prefixes, *key, *pieces, *str_path, *held, *root, *error, *result,
        *pending, *quote, *schema, *candidate, *done, *last_document, *quick, *kt_cache,
        *x,                   /* extraction: None or an Extraction (_c_extract.h) */
        *spine, *spine_text,  /* the bulk path: containers open at the end of spine_text */
        *sep, *sep_owner,     /* (and how the last run of sep_owner's items ended) */
        *tracker, *kt,        /* a schema's SchemaTracker, the key transform (or None) */
        *spare,               /* the list feed() returned last, or NULL (feed_events) */
        *shown;               /* the open string's text as made to grow, or NULL (join_pieces) */
    Py_ssize_t shown_cap;     /* (the characters it has room for) */
    PyObject *shown_at;       /* the shown string last put at its slot (not a reference) */
    PyObject *shown_in;       /* the dict snapshot() last put it in (not a reference) ... */
    unsigned long long shown_version; /* ... and that dict's version just after */
    PyObject *keys[KEYS_KEPT]; /* keys met lately, to use again (key_text), or NULL */
    unsigned char sizes[SIZES_KEPT]; /* members of the last object closed at each depth */
    /* quick_lookup's last answers from qfor's tables, by table and length of path */
    PyObject *qfor, *qpath[4][QWAYS], *qval[4][QWAYS];
    PyObject *seen_of, *seen; /* a schema's tracker and its ``seen`` list, as track() found them */
} Core;

#define MEMBER_INT(name, field) {name, T_INT, offsetof(Core, field), 0, NULL}
#define MEMBER_BOOL(name, field) {name, T_BOOL, offsetof(Core, field), 0, NULL}
#define MEMBER_SSIZE(name, field) {name, T_PYSSIZET, offsetof(Core, field), 0, NULL}

static PyMemberDef core_members[] = {
    MEMBER_INT("_state", state),
    MEMBER_INT("_held_kind", held_kind),
    MEMBER_INT("_in_comment", in_comment),
    MEMBER_INT("_quiet", quiet),
    MEMBER_INT("_doc_ended", doc_ended),
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
    MEMBER_BOOL("_show_strings", show_strings),
    MEMBER_BOOL("_doc_open", doc_open),
    MEMBER_BOOL("_nan_infinity", nan_infinity),
    MEMBER_BOOL("_python_literals", python_literals),
    MEMBER_BOOL("_hex_numbers", hex_numbers),
    MEMBER_BOOL("_control_characters", control_characters),
    MEMBER_BOOL("_unknown_escapes", unknown_escapes),
    MEMBER_BOOL("_extract", extract),
    MEMBER_BOOL("lenient", lenient),
    MEMBER_SSIZE("_documents", documents),
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
    {NULL}
};

#define CORE_OBJECTS(X) \
    X(stack) X(prefixes) X(key) X(pieces) X(str_path) X(held) X(root) X(error) X(result) \
    X(pending) X(quote) X(schema) X(candidate) X(done) X(last_document) X(quick) X(kt_cache) X(x) \
    X(spine) X(spine_text) X(sep) X(sep_owner) X(tracker) X(kt)

/* The object fields, as attributes (for the face's construction and pickling): each
 * keeps its type (a list, a tuple, a str, bytes, or any object) and cannot be deleted, so
 * the C backend checks them once (all_ready) and then trusts them. */
#define IS_ANY(v) 1
#define CORE_TYPED_OBJECTS(X)                                                         \
    X(stack, "_stack", PyList_CheckExact, "a list")                                   \
    X(prefixes, "_prefixes", PyList_CheckExact, "a list")                             \
    X(key, "_key", IS_ANY, "")                                                        \
    X(pieces, "_pieces", PyList_CheckExact, "a list")                                 \
    X(str_path, "_str_path", PyTuple_CheckExact, "a tuple")                           \
    X(held, "_held", PyUnicode_CheckExact, "a str")                                   \
    X(root, "_root", IS_ANY, "")                                                      \
    X(error, "_error", IS_ANY, "")                                                    \
    X(result, "_result", IS_ANY, "")                                                  \
    X(pending, "_pending", PyBytes_CheckExact, "bytes")                               \
    X(quote, "_quote", PyUnicode_CheckExact, "a str")                                 \
    X(schema, "_schema", IS_ANY, "")                                                  \
    X(candidate, "_candidate", IS_ANY, "")                                            \
    X(done, "_done", IS_ANY, "")                                                      \
    X(last_document, "_last_document", IS_ANY, "")                                    \
    X(quick, "_quick", IS_ANY, "")                                                    \
    X(kt_cache, "_kt_cache", IS_ANY, "")                                              \
    X(x, "_x", IS_X_OR_NONE, "None or an Extraction")                                 \
    X(spine, "_spine", PyList_CheckExact, "a list")                                   \
    X(spine_text, "_spine_text", IS_ANY, "")                                          \
    X(sep, "_sep", PyUnicode_CheckExact, "a str")                                     \
    X(sep_owner, "_sep_owner", IS_ANY, "")                                            \
    X(tracker, "_tracker", IS_ANY, "")                                                \
    X(kt, "_kt", IS_ANY, "")

#define FIELD_ACCESSORS(field, name, check, what)                                     \
    static PyObject *core_get_##field(Core *self, void *closure)                           \
    {                                                                                 \
        if (self->field == NULL) {                                                    \
            PyErr_SetString(PyExc_AttributeError, name);                              \
            return NULL;                                                              \
        }                                                                             \
        Py_INCREF(self->field);                                                       \
        return self->field;                                                           \
    }                                                                                 \
    static int core_set_##field(Core *self, PyObject *value, void *closure)                \
    {                                                                                 \
        if (value == NULL) {                                                          \
            PyErr_SetString(PyExc_AttributeError, "cannot delete parser field " name); \
            return -1;                                                                \
        }                                                                             \
        if (!check(value)) {                                                          \
            PyErr_Format(PyExc_TypeError, "parser field " name " must be %s, not %.100s", \
                         what, Py_TYPE(value)->tp_name);                              \
            return -1;                                                                \
        }                                                                             \
        Py_INCREF(value);                                                             \
        Py_XSETREF(self->field, value);                                               \
        return 0;                                                                     \
    }
CORE_TYPED_OBJECTS(FIELD_ACCESSORS)
#undef FIELD_ACCESSORS

static PyGetSetDef core_getset[] = {
#define FIELD_GETSET(field, name, check, what) \
    {name, (getter)core_get_##field, (setter)core_set_##field, NULL, NULL},
    CORE_TYPED_OBJECTS(FIELD_GETSET)
#undef FIELD_GETSET
    {NULL}
};

/* A parser whose fields were never set (made without __init__ or __setstate__). */
static PyObject *
not_ready(void)
{
    PyErr_SetString(PyExc_RuntimeError, "the parser was not initialised (its fields are unset)");
    return NULL;
}

/* Every object field set (after that they stay set, each of its type). */
static int
all_ready(Core *self)
{
    if (self->ready)
        return 1;
#define FIELD_SET(field, name, check, what) && self->field != NULL
    self->ready = 1 CORE_TYPED_OBJECTS(FIELD_SET);
#undef FIELD_SET
    return self->ready;
}

static int
core_traverse(Core *self, visitproc visit, void *arg)
{
#define VISIT_FIELD(f) Py_VISIT(self->f);
    CORE_OBJECTS(VISIT_FIELD)
#undef VISIT_FIELD
    Py_VISIT(self->spare);
    Py_VISIT(self->shown);
    for (int i = 0; i < 4 * QWAYS; i++) /* (the tables' values may be containers) */
        Py_VISIT(self->qval[i / QWAYS][i % QWAYS]);
    Py_VISIT(self->seen_of);
    Py_VISIT(self->seen);
    return 0;
}

static int
core_clear(Core *self)
{
#define CLEAR_FIELD(f) Py_CLEAR(self->f);
    CORE_OBJECTS(CLEAR_FIELD)
#undef CLEAR_FIELD
    Py_CLEAR(self->spare);
    Py_CLEAR(self->shown);
    for (int i = 0; i < KEYS_KEPT; i++)
        Py_CLEAR(self->keys[i]);
    Py_CLEAR(self->qfor);
    for (int i = 0; i < 4 * QWAYS; i++) {
        Py_CLEAR(self->qpath[i / QWAYS][i % QWAYS]);
        Py_CLEAR(self->qval[i / QWAYS][i % QWAYS]);
    }
    Py_CLEAR(self->seen_of);
    Py_CLEAR(self->seen);
    return 0;
}

static void
core_dealloc(Core *self)
{
    PyObject_GC_UnTrack(self);
    core_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
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

/* A new, empty list for feed() to return its events in.  The list the last feed()
 * returned is used again when nobody else holds it any more (its caller let it go), as
 * PyUnicode_Append grows a string that only it holds: a feed allocates no list.  A list
 * grown past a small size is let go (a whole document's events are not kept). */
static PyObject *
feed_events(Core *self)
{
    PyObject *l = self->spare;
    if (l != NULL && Py_REFCNT(l) == 1 && ((PyListObject *)l)->allocated <= 64) {
        PyListObject *o = (PyListObject *)l;
        Py_ssize_t n = Py_SIZE(o);
        Py_SET_SIZE(o, 0); /* (empty before any decref runs arbitrary code) */
        for (Py_ssize_t i = 0; i < n; i++)
            Py_DECREF(o->ob_item[i]);
        Py_INCREF(l);
        return l;
    }
    if ((l = PyList_New(0)) == NULL)
        return NULL;
    Py_INCREF(l);
    Py_XSETREF(self->spare, l);
    return l;
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
        set_obj(&self->pieces, PyList_New(0)) < 0 || set_obj(&self->done, PyObject_CallNoArgs(DEQUE)) < 0)
        return NULL;
    PyObject *mine = PyObject_GenericGetDict((PyObject *)self, NULL);
    PyObject *theirs = mine == NULL ? NULL : PyObject_GenericGetDict(proto_obj, NULL);
    int r = theirs == NULL ? -1 : PyDict_Update(mine, theirs);
    Py_XDECREF(theirs);
    if (r < 0) {
        Py_XDECREF(mine);
        return NULL;
    }
    Py_DECREF(mine);
    if (set_obj(&self->spine, PyList_New(0)) < 0)
        return NULL;
    Py_INCREF(Py_None);
    set_obj(&self->spine_text, Py_None);
    Py_INCREF(Py_None);
    set_obj(&self->sep_owner, Py_None);
    if (self->x != Py_None && set_obj(&self->x, PyObject_CallNoArgs((PyObject *)&XType)) < 0)
        return NULL; /* (extraction: a fence finder of our own) */
    if (self->tracker != Py_None) /* a schema: a tracker of our own */
        r = set_obj(&self->tracker, PyObject_CallMethodNoArgs(self->tracker, S_FRESH));
    if (r < 0)
        return NULL;
    Py_RETURN_NONE;
}
