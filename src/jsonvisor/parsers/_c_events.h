/* Stage: emitting events (see _c_eventtypes.h for the classes), string growth, runs of
 * members loaded whole, field tracking for schemas.
 * Part of the unity build of _speedups.c (included once, in order). */

/* An event of class ``cls`` (one of EventTypes) with its whole path. */
static inline PyObject *
event(PyObject *cls, PyObject *a, PyObject *b)
{
    return new_event((int)((PyTypeObject *)cls - EventTypes), a, NULL, -1, b);
}

static int
emit(PyObject *events, PyObject *cls, PyObject *a, PyObject *b)
{
    PyObject *e = event(cls, a, b);
    if (e == NULL)
        return -1;
    int r = list_append(events, e);
    Py_DECREF(e);
    return r;
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

/* SchemaTracker.track(events): keep the events that start or complete a value in the
 * tracker's ``seen`` list (their paths go into its sets when field_states() asks, or
 * with multiple values when a document completes: SchemaTracker.note()). */
static int
track(Core *self, PyObject *events)
{
    PyObject *seen = NULL;
    int r = 0;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(events) && r == 0; i++) {
        PyObject *ev = PyList_GET_ITEM(events, i);
        int code = event_code(ev);
        if (code == 3) { /* DocumentCompleted */
            if (self->multiple_values) {
                PyObject *ok = PyObject_CallMethodNoArgs(self->tracker, S_NOTE);
                r = ok == NULL ? -1 : 0;
                Py_XDECREF(ok);
            }
            continue;
        }
        if (code != 0 && code != 2) /* (not ValueStarted or ValueCompleted) */
            continue;
        if (seen == NULL) {
            if (self->seen_of == self->tracker) { /* (its list, found before) */
                seen = self->seen;
                Py_INCREF(seen);
            }
            else {
                seen = PyObject_GetAttr(self->tracker, S_SEEN);
                if (seen == NULL || !PyList_CheckExact(seen)) {
                    if (seen != NULL)
                        PyErr_SetString(PyExc_TypeError, "field tracking needs a list");
                    r = -1;
                    break;
                }
                /* (a tracker keeps its list: SchemaTracker.seen is never rebound) */
                Py_INCREF(self->tracker);
                Py_XSETREF(self->seen_of, self->tracker);
                Py_INCREF(seen);
                Py_XSETREF(self->seen, seen);
            }
        }
        r = list_append(seen, ev);
    }
    Py_XDECREF(seen);
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

/* The member's events into block[*at...] (a list made at its final size), their path
 * pending: ``prefix`` and the member's key (or, with ``key`` NULL, its index). */
static int
put_member(PyObject *block, Py_ssize_t *at, PyObject *prefix, PyObject *key, Py_ssize_t index,
           PyObject *v, int top)
{
    PyObject *kind = top ? growing_kind(v) : NULL, *e;
    if (kind != NULL) {
        if ((e = new_event(0, prefix, key, index, kind)) == NULL)
            return -1;
        PyList_SET_ITEM(block, (*at)++, e);
    }
    if ((e = new_event(2, prefix, key, index, v)) == NULL)
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
        while (r == 0 && PyDict_Next(members, &i, &k, &v))
            r = put_member(block, &at, prefix, k, -1, v, top);
    }
    else
        for (i = 0; r == 0 && i < count; i++)
            r = put_member(block, &at, prefix, NULL, base + i, PyList_GET_ITEM(members, i), top);
    if (r == 0) {
        Py_ssize_t n = PyList_GET_SIZE(events);
        r = PyList_SetSlice(events, n, n, block);
    }
    Py_DECREF(block);
    return r;
}

/* A run of members makes an event or two each.  The cyclic GC is held off while
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
    if (emit_members(events, prefix, members, base) < 0)
        return NULL;
    Py_RETURN_NONE;
}
