/* Stage: events and paths (event tuples built without Python calls; paths of atomic
 * parts untracked from the GC), string growth, field tracking for schemas.
 * Part of the unity build of _speedups.c (included once, in order). */

#ifndef Py_TPFLAGS_MANAGED_DICT
#define Py_TPFLAGS_MANAGED_DICT 0
#endif
#ifndef Py_TPFLAGS_MANAGED_WEAKREF
#define Py_TPFLAGS_MANAGED_WEAKREF 0
#endif

/* An event: a 2-field NamedTuple instance built without calling its Python __new__.
 *
 * An event of atomic parts (a path, a scalar) cannot be in a cycle: like CPython with such
 * tuples, it stays out of the cyclic GC, whose passes over a long event list would
 * otherwise cost more than building it.  Such a class (``__slots__ = ()``: no dict, no
 * weak references) is allocated untracked and unzeroed, as tuples are; the generic
 * allocator serves any other. */
static PyObject *
event(PyObject *cls, PyObject *a, PyObject *b)
{
    PyTypeObject *tp = (PyTypeObject *)cls;
    int atomic = !PyObject_GC_IsTracked(a) && !PyObject_GC_IsTracked(b);
    PyObject *t;
    if (tp->tp_dictoffset == 0 && tp->tp_weaklistoffset == 0 &&
        !(tp->tp_flags & (Py_TPFLAGS_MANAGED_DICT | Py_TPFLAGS_MANAGED_WEAKREF)) &&
        tp->tp_itemsize == sizeof(PyObject *)) {
        t = (PyObject *)PyObject_GC_NewVar(PyTupleObject, tp, 2); /* untracked */
        if (t == NULL)
            return NULL;
        if (!atomic)
            PyObject_GC_Track(t);
    }
    else {
        t = tp->tp_alloc(tp, 2);
        if (t == NULL)
            return NULL;
        if (atomic)
            PyObject_GC_UnTrack(t);
    }
    Py_INCREF(a);
    Py_INCREF(b);
    PyTuple_SET_ITEM(t, 0, a);
    PyTuple_SET_ITEM(t, 1, b);
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
    PyObject *names[2] = {S_STARTED, S_COMPLETED}; /* (interned: the type cache finds them) */
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
            if (tracker == NULL) {
                tracker = self->tracker;
                Py_INCREF(tracker);
            }
            sets[which] = PyObject_GetAttr(tracker, names[which]);
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

/* completed_members(events, prefix, members, base): streaming._completed_members_py. */
/* A ValueCompleted for each member of a dict or list loaded whole (list items numbered
 * from ``base``), after a ValueStarted for each object, array or string member of the
 * top-level value (``prefix`` empty). */

static inline PyObject *
growing_kind(PyObject *v)
{
    return PyUnicode_CheckExact(v) ? S_STRING
           : PyDict_CheckExact(v)  ? S_OBJECT
           : PyList_CheckExact(v)  ? S_ARRAY
                                   : NULL;
}

/* The member's events into block[*at...] (a list made at its final size). */
static int
put_member(PyObject *block, Py_ssize_t *at, PyObject *path, PyObject *v, int top)
{
    PyObject *kind = top ? growing_kind(v) : NULL, *e;
    if (kind != NULL) {
        if ((e = event(EV_STARTED, path, kind)) == NULL)
            return -1;
        PyList_SET_ITEM(block, (*at)++, e);
    }
    if ((e = event(EV_COMPLETED, path, v)) == NULL)
        return -1;
    PyList_SET_ITEM(block, (*at)++, e);
    return 0;
}

/* The events of a run of members, made into a list of their exact number (no growing of
 * the events list one by one), then added to ``events`` at once. */
static int
emit_members_gc(PyObject *events, PyObject *prefix, PyObject *members, Py_ssize_t base)
{
    int top = PyTuple_GET_SIZE(prefix) == 0, is_dict = PyDict_CheckExact(members);
    if (!is_dict && !PyList_CheckExact(members)) {
        PyErr_SetString(PyExc_TypeError, "completed_members: members must be a dict or a list");
        return -1;
    }
    Py_ssize_t count = is_dict ? PyDict_GET_SIZE(members) : PyList_GET_SIZE(members), i = 0, at = 0;
    PyObject *k, *v;
    Py_ssize_t size = count;
    if (top) {
        if (is_dict)
            while (PyDict_Next(members, &i, &k, &v))
                size += growing_kind(v) != NULL;
        else
            for (i = 0; i < count; i++)
                size += growing_kind(PyList_GET_ITEM(members, i)) != NULL;
    }
    PyObject *block = PyList_New(size); /* (NULL items until filled: freed safely) */
    if (block == NULL)
        return -1;
    int r = 0;
    if (is_dict) {
        i = 0;
        while (r == 0 && PyDict_Next(members, &i, &k, &v)) {
            PyObject *path = path_plus(prefix, k);
            r = path == NULL ? -1 : put_member(block, &at, path, v, top);
            Py_XDECREF(path);
        }
    }
    else
        for (i = 0; r == 0 && i < count; i++) {
            PyObject *path = path_plus_index(prefix, base + i);
            r = path == NULL ? -1 : put_member(block, &at, path, PyList_GET_ITEM(members, i), top);
            Py_XDECREF(path);
        }
    if (r == 0) {
        Py_ssize_t n = PyList_GET_SIZE(events);
        r = PyList_SetSlice(events, n, n, block);
    }
    Py_DECREF(block);
    return r;
}

/* A run of members makes two or three objects each.  The cyclic GC is held off while
 * they are made (one collection at most afterwards, not one every few hundred objects,
 * each walking the growing events list). */
static int
emit_members(PyObject *events, PyObject *prefix, PyObject *members, Py_ssize_t base)
{
    int was_enabled = PyGC_Disable();
    int r = emit_members_gc(events, prefix, members, base);
    if (was_enabled)
        PyGC_Enable();
    return r;
}

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
    if (emit_members(events, prefix, members, base) < 0)
        return NULL;
    Py_RETURN_NONE;
}
