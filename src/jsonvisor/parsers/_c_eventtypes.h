/* Stage: the event classes (ValueStarted, StringGrew, ValueCompleted, DocumentCompleted)
 * and paths.  events.py exports these types when the accelerator is loaded; its
 * pure-Python classes (_events_py.py) are the reference they match, tested side by side.
 *
 * An event is a small immutable object of two fields.  It is not a tuple: its path may
 * be *pending*, held as the parent's path plus the last key or index, and built (once)
 * when it is first read.  Most events are never read by anybody (a member of a large
 * array loaded whole gets a ValueCompleted each), so most paths are never built.
 *
 * An event of atomic parts (a path, a scalar) cannot be in a cycle: like CPython with such
 * tuples, it stays out of the cyclic GC, whose passes over a long event list would
 * otherwise cost more than building it.
 * Part of the unity build of _speedups.c (included once, in order). */

typedef struct {
    PyObject_HEAD
    PyObject *first;  /* the path (its prefix while pending), or DocumentCompleted's index */
    PyObject *second; /* kind, text or value */
    PyObject *key;    /* a pending path's last item when it is a key, else NULL */
    Py_ssize_t at;    /* a pending path's last item when it is an index, else -1 */
} EventObject;

static PyTypeObject EventTypes[4]; /* ValueStarted, StringGrew, ValueCompleted, DocumentCompleted */
static const char *const EVENT_FIELDS[4][2] = {
    {"path", "kind"}, {"path", "text"}, {"path", "value"}, {"index", "value"}};
static PyObject *EVENT_FIELD_NAMES[4]; /* the same, as tuples (``_fields``) */

/* "ValueCompleted" of the class named "jsonvisor.parsers.events.ValueCompleted". */
static inline const char *
event_name(PyTypeObject *tp)
{
    return tp->tp_name + sizeof("jsonvisor.parsers.events.") - 1;
}

static inline int
event_code(PyObject *e)
{
    PyTypeObject *tp = Py_TYPE(e);
    return tp >= EventTypes && tp < EventTypes + 4 ? (int)(tp - EventTypes) : -1;
}

/* Is ``o`` tracked by the cyclic GC?  (A str, int, float or None never is: no call.) */
static inline int
gc_tracked(PyObject *o)
{
    return PyType_IS_GC(Py_TYPE(o)) && PyObject_GC_IsTracked(o);
}

/* prefix + (item,) */
static PyObject *
path_plus(PyObject *prefix, PyObject *item)
{
    Py_ssize_t n = PyTuple_GET_SIZE(prefix);
    PyObject *t = PyTuple_New(n + 1);
    if (t == NULL)
        return NULL;
    int atomic = !gc_tracked(item);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *x = PyTuple_GET_ITEM(prefix, i);
        atomic = atomic && !gc_tracked(x);
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

/* The path of a slot: ``prefix`` and its key, or (``key`` NULL) its index. */
static inline PyObject *
path_of(PyObject *prefix, PyObject *key, Py_ssize_t index)
{
    return key != NULL ? path_plus(prefix, key) : path_plus_index(prefix, index);
}

/* Freed events are kept for reuse, as CPython keeps freed tuples: a large value loaded
 * at once makes thousands (a 64 KiB read of small array members about 12,000), and the
 * list that holds them is usually dropped before the next feed makes as many again.  At
 * most 16,384 are kept (1 MiB).  (Not under AddressSanitizer, so that it still sees every
 * use after free.) */
#if defined(__SANITIZE_ADDRESS__)
#define EVENT_FREE_MAX 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EVENT_FREE_MAX 0
#endif
#endif
#ifndef EVENT_FREE_MAX
#define EVENT_FREE_MAX 16384
#endif
static EventObject *event_free[EVENT_FREE_MAX + 1];
static int event_nfree;

/* A new event of class ``code``: ``first`` is the whole path (``key`` NULL, ``at`` -1), or
 * a pending path's prefix with its last key or index. */
static PyObject *
new_event(int code, PyObject *first, PyObject *key, Py_ssize_t at, PyObject *second)
{
    EventObject *e;
    if (event_nfree) {
        e = event_free[--event_nfree];
        PyObject_Init((PyObject *)e, &EventTypes[code]); /* (untracked, as it was freed) */
    }
    else if ((e = PyObject_GC_New(EventObject, &EventTypes[code])) == NULL) /* (untracked) */
        return NULL;
    Py_INCREF(first);
    Py_INCREF(second);
    Py_XINCREF(key);
    e->first = first;
    e->second = second;
    e->key = key;
    e->at = at;
    if (gc_tracked(first) || gc_tracked(second))
        PyObject_GC_Track(e); /* (keys are strings: never tracked) */
    return (PyObject *)e;
}

/* The event's first field, its path built if pending.  A borrowed reference. */
static PyObject *
event_first(EventObject *e)
{
    if (e->key != NULL || e->at >= 0) {
        PyObject *path = path_of(e->first, e->key, e->at);
        if (path == NULL)
            return NULL;
        Py_CLEAR(e->key);
        e->at = -1;
        Py_SETREF(e->first, path);
    }
    return e->first;
}

static void
event_dealloc(EventObject *e)
{
    PyObject_GC_UnTrack(e);
    Py_XDECREF(e->first);
    Py_XDECREF(e->second);
    Py_XDECREF(e->key);
    if (event_nfree < EVENT_FREE_MAX)
        event_free[event_nfree++] = e;
    else
        PyObject_GC_Del(e);
}

static int
event_traverse(EventObject *e, visitproc visit, void *arg)
{
    Py_VISIT(e->first);
    Py_VISIT(e->second);
    Py_VISIT(e->key);
    return 0;
}

static int
event_clear(EventObject *e)
{
    Py_CLEAR(e->first);
    Py_CLEAR(e->second);
    Py_CLEAR(e->key);
    e->at = -1;
    return 0;
}

/* Cls(a, b), Cls(a, b=...), Cls(**fields): as a NamedTuple of the same fields is made. */
static PyObject *
event_vectorcall(PyObject *cls, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    PyTypeObject *tp = (PyTypeObject *)cls;
    int code = (int)(tp - EventTypes);
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    PyObject *vals[2] = {NULL, NULL};
    const char *name = event_name(tp);
    if (nargs > 2) {
        PyErr_Format(PyExc_TypeError, "%s() takes 2 positional arguments but %zd were given",
                     name, nargs);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < nargs; i++)
        vals[i] = args[i];
    Py_ssize_t nk = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
    for (Py_ssize_t i = 0; i < nk; i++) {
        PyObject *kw = PyTuple_GET_ITEM(kwnames, i);
        int slot = -1;
        for (int f = 0; f < 2; f++)
            if (PyUnicode_CompareWithASCIIString(kw, EVENT_FIELDS[code][f]) == 0)
                slot = f;
        if (slot < 0) {
            PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument '%U'", name,
                         kw);
            return NULL;
        }
        if (vals[slot] != NULL) {
            PyErr_Format(PyExc_TypeError, "%s() got multiple values for argument '%s'", name,
                         EVENT_FIELDS[code][slot]);
            return NULL;
        }
        vals[slot] = args[nargs + i];
    }
    for (int f = 0; f < 2; f++)
        if (vals[f] == NULL) {
            PyErr_Format(PyExc_TypeError, "%s() missing required argument: '%s'", name,
                         EVENT_FIELDS[code][f]);
            return NULL;
        }
    return new_event(code, vals[0], NULL, -1, vals[1]);
}

static PyObject *
event_new(PyTypeObject *tp, PyObject *args, PyObject *kwargs)
{
    Py_ssize_t nargs = PyTuple_GET_SIZE(args), nk = kwargs == NULL ? 0 : PyDict_GET_SIZE(kwargs);
    PyObject *stack[4], *kwnames = NULL, *k, *v, *r;
    if (nargs > 2 || nk > 2) {
        PyErr_Format(PyExc_TypeError, "%s() takes 2 arguments", tp->tp_name);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < nargs; i++)
        stack[i] = PyTuple_GET_ITEM(args, i);
    if (nk) {
        if ((kwnames = PyTuple_New(nk)) == NULL)
            return NULL;
        Py_ssize_t pos = 0, i = 0;
        while (PyDict_Next(kwargs, &pos, &k, &v)) {
            Py_INCREF(k);
            PyTuple_SET_ITEM(kwnames, i, k);
            stack[nargs + i++] = v;
        }
    }
    r = event_vectorcall((PyObject *)tp, stack, (size_t)nargs, kwnames);
    Py_XDECREF(kwnames);
    return r;
}

static PyObject *
event_get_first(EventObject *e, void *Py_UNUSED(closure))
{
    PyObject *r = event_first(e);
    Py_XINCREF(r);
    return r;
}

static PyObject *
event_get_second(EventObject *e, void *Py_UNUSED(closure))
{
    Py_INCREF(e->second);
    return e->second;
}

/* iter(ev): its two fields (unpacking, tuple(ev)). */
static PyObject *
event_iter(EventObject *e)
{
    PyObject *first = event_first(e);
    if (first == NULL)
        return NULL;
    PyObject *pair = PyTuple_Pack(2, first, e->second);
    if (pair == NULL)
        return NULL;
    PyObject *it = PyObject_GetIter(pair);
    Py_DECREF(pair);
    return it;
}

static Py_ssize_t
event_length(PyObject *Py_UNUSED(e))
{
    return 2;
}

/* ev[0], ev[1] and unpacking (``path, value = ev``), as when events were tuples. */
static PyObject *
event_item(EventObject *e, Py_ssize_t i)
{
    if (i == 0)
        return event_get_first(e, NULL);
    if (i == 1)
        return event_get_second(e, NULL);
    PyErr_SetString(PyExc_IndexError, "event index out of range");
    return NULL;
}

/* Equal: the same class and equal fields (an event is never equal to a tuple). */
static PyObject *
event_richcompare(PyObject *a, PyObject *b, int op)
{
    if ((op != Py_EQ && op != Py_NE) || Py_TYPE(a) != Py_TYPE(b))
        Py_RETURN_NOTIMPLEMENTED;
    EventObject *x = (EventObject *)a, *y = (EventObject *)b;
    PyObject *fx = event_first(x), *fy = fx == NULL ? NULL : event_first(y);
    if (fy == NULL)
        return NULL;
    int eq = PyObject_RichCompareBool(fx, fy, Py_EQ);
    if (eq > 0)
        eq = PyObject_RichCompareBool(x->second, y->second, Py_EQ);
    if (eq < 0)
        return NULL;
    return PyBool_FromLong(op == Py_EQ ? eq : !eq);
}

/* hash((code, first, second)), the code 0-3 in the order of EventTypes (as the Python
 * classes hash): an unhashable value makes the event unhashable. */
static Py_hash_t
event_hash(EventObject *e)
{
    PyObject *first = event_first(e);
    if (first == NULL)
        return -1;
    PyObject *code = PyLong_FromLong(event_code((PyObject *)e)); /* (a cached small int) */
    PyObject *t = code == NULL ? NULL : PyTuple_Pack(3, code, first, e->second);
    Py_XDECREF(code);
    if (t == NULL)
        return -1;
    Py_hash_t h = PyObject_Hash(t);
    Py_DECREF(t);
    return h;
}

static PyObject *
event_repr(EventObject *e)
{
    int code = event_code((PyObject *)e);
    PyObject *first = event_first(e);
    if (first == NULL)
        return NULL;
    return PyUnicode_FromFormat("%s(%s=%R, %s=%R)",
                                event_name(Py_TYPE(e)),
                                EVENT_FIELDS[code][0], first, EVENT_FIELDS[code][1], e->second);
}

static PyObject *
event_reduce(EventObject *e, PyObject *Py_UNUSED(ignored))
{
    PyObject *first = event_first(e);
    if (first == NULL)
        return NULL;
    return Py_BuildValue("O(OO)", (PyObject *)Py_TYPE(e), first, e->second);
}

static PyMethodDef event_methods[] = {
    {"__reduce__", (PyCFunction)event_reduce, METH_NOARGS, "pickle support"},
    {NULL}
};

static PySequenceMethods event_as_sequence = {
    .sq_length = event_length,
    .sq_item = (ssizeargfunc)event_item,
};

static PyGetSetDef event_getsets[4][3];

static const char *const EVENT_NAMES[4] = {
    "jsonvisor.parsers.events.ValueStarted", "jsonvisor.parsers.events.StringGrew",
    "jsonvisor.parsers.events.ValueCompleted", "jsonvisor.parsers.events.DocumentCompleted"};
static const char *const EVENT_DOCS[4] = {
    "ValueStarted(path, kind)\n--\n\nAn object, array or string began at ``path``.",
    "StringGrew(path, text)\n--\n\nThe open string at ``path`` grew by ``text``.",
    "ValueCompleted(path, value)\n--\n\nThe value at ``path`` is complete and final.",
    "DocumentCompleted(index, value)\n--\n\nA top-level value is complete."};

/* Ready the four classes (module init). */
static int
event_types_ready(void)
{
    for (int c = 0; c < 4; c++) {
        PyTypeObject *tp = &EventTypes[c];
        event_getsets[c][0] = (PyGetSetDef){(char *)EVENT_FIELDS[c][0],
                                            (getter)event_get_first, NULL, NULL, NULL};
        event_getsets[c][1] = (PyGetSetDef){(char *)EVENT_FIELDS[c][1],
                                            (getter)event_get_second, NULL, NULL, NULL};
        event_getsets[c][2] = (PyGetSetDef){NULL};
        Py_SET_REFCNT(tp, 1);
        Py_SET_TYPE(tp, &PyType_Type);
        tp->tp_name = EVENT_NAMES[c];
        tp->tp_doc = EVENT_DOCS[c];
        tp->tp_basicsize = sizeof(EventObject);
        tp->tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC;
        tp->tp_new = event_new;
        tp->tp_vectorcall = event_vectorcall;
        tp->tp_dealloc = (destructor)event_dealloc;
        tp->tp_traverse = (traverseproc)event_traverse;
        tp->tp_clear = (inquiry)event_clear;
        tp->tp_richcompare = event_richcompare;
        tp->tp_hash = (hashfunc)event_hash;
        tp->tp_repr = (reprfunc)event_repr;
        tp->tp_as_sequence = &event_as_sequence;
        tp->tp_iter = (getiterfunc)event_iter;
        tp->tp_methods = event_methods;
        tp->tp_getset = event_getsets[c];
        if (PyType_Ready(tp) < 0)
            return -1;
        PyObject *fields = Py_BuildValue("(ss)", EVENT_FIELDS[c][0], EVENT_FIELDS[c][1]);
        if (fields == NULL || PyDict_SetItemString(tp->tp_dict, "_fields", fields) < 0 ||
            PyDict_SetItemString(tp->tp_dict, "__match_args__", fields) < 0) {
            Py_XDECREF(fields);
            return -1;
        }
        EVENT_FIELD_NAMES[c] = fields;
        PyType_Modified(tp);
    }
    return 0;
}

/* make_events(codes, fields): ``KINDS[code](*field)`` for each pair, where the codes are
 * bytes of 0-3 (the cluster's batches rebuild the events of its workers with it). */
static PyObject *
py_make_events(PyObject *mod, PyObject *args)
{
    Py_buffer codes;
    PyObject *fields;
    if (!PyArg_ParseTuple(args, "y*O!:make_events", &codes, &PyList_Type, &fields))
        return NULL;
    Py_ssize_t n = codes.len;
    PyObject *out = NULL;
    if (PyList_GET_SIZE(fields) != n) {
        PyErr_SetString(PyExc_ValueError, "make_events: as many codes as fields");
        goto done;
    }
    if ((out = PyList_New(n)) == NULL)
        goto done;
    for (Py_ssize_t i = 0; i < n; i++) {
        int code = ((const unsigned char *)codes.buf)[i];
        PyObject *f = PyList_GET_ITEM(fields, i);
        if (code > 3 || !(PyTuple_CheckExact(f) || PyList_CheckExact(f)) ||
            Py_SIZE(f) != 2) {
            PyErr_SetString(PyExc_ValueError, "make_events: codes 0-3 and pairs");
            Py_CLEAR(out);
            goto done;
        }
        PyObject *e = new_event(code, PySequence_Fast_GET_ITEM(f, 0), NULL, -1,
                                PySequence_Fast_GET_ITEM(f, 1));
        if (e == NULL) {
            Py_CLEAR(out);
            goto done;
        }
        PyList_SET_ITEM(out, i, e);
    }
done:
    PyBuffer_Release(&codes);
    return out;
}
