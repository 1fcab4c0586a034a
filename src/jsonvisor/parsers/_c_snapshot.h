/* Stage: snapshot() (the live value, the open string grown in place).
 * Part of the unity build of _speedups.c (included once, in order). */

/* _empty_snapshot(): what to show before a value starts: None, or the schema's skeleton. */
static PyObject *
empty_snapshot(Core *self)
{
    if (self->schema == Py_None)
        Py_RETURN_NONE;
    return PyObject_CallMethodNoArgs(self->tracker, S_SKELETON);
}

/* What _snapshot_py() shows of a held number or literal (hold_numbers=False): its best
 * value so far (_held_value) at the current slot, marked provisional. */
static PyObject *
held_snapshot(Core *self)
{
    PyObject *shown = held_value(self);
    if (shown == NULL) {
        if (PyErr_Occurred())
            return NULL;
        return PyList_GET_SIZE(self->stack) ? ref(self->root) : empty_snapshot(self);
    }
    if (PyList_GET_SIZE(self->stack) == 0)
        return shown;
    PyObject *top = top_of(self);
    int r;
    if (PyDict_CheckExact(top))
        r = PyDict_SetItem(top, self->key, shown);
    else if (self->prov)
        r = PyList_SetItem(top, PyList_GET_SIZE(top) - 1, ref(shown));
    else
        r = PyList_Append(top, shown);
    Py_DECREF(shown);
    if (r < 0)
        return NULL;
    self->prov = 1;
    return ref(self->root);
}

/* (METH_FASTCALL, not METH_NOARGS: CPython 3.11 specialises a call of the bound method
 * ``snap = parser.snapshot; snap()`` only for the former: about 7 ns a call less) */
static PyObject *
core_snapshot(Core *self, PyObject *const *Py_UNUSED(args), Py_ssize_t nargs)
{
    if (nargs != 0)
        return PyErr_Format(PyExc_TypeError, "snapshot() takes no arguments (%zd given)", nargs);
    /* _snapshot_py() has two equivalent branches for an open string: one when strings
     * show directly, one after the extraction checks (which also marks a dict's slot). */
    int direct = self->show_strings;
    if (!all_ready(self))
        return not_ready();
    int plain = self->candidate == Py_None && !self->seeking; /* no extraction state */
    int in_value = self->in_string && !self->str_is_key;      /* an open string value */
    if (!plain && !(in_value && direct)) {
        /* Extraction: a value on trial is not shown (the value in prose it would replace
         * is); nothing is before a value is found; else as without extraction. */
        if (self->candidate != Py_None) {
            PyObject *saved = PyObject_GetAttr(self->candidate, S_SAVED);
            if (saved == NULL)
                return NULL;
            if (saved == Py_None) {
                Py_DECREF(saved);
                return empty_snapshot(self);
            }
            if (PyTuple_CheckExact(saved) && PyTuple_GET_SIZE(saved) > 0) {
                PyObject *shown = PyTuple_GET_ITEM(saved, 0);
                Py_INCREF(shown);
                Py_DECREF(saved);
                return shown;
            }
            Py_DECREF(saved);
            PyErr_SetString(PyExc_TypeError, "a candidate's saved value must be a tuple");
            return NULL;
        }
        if (PyList_GET_SIZE(self->stack) == 0 && (self->multiple_values || self->documents == 0))
            return empty_snapshot(self);
        plain = 1; /* (seeking a fence after a value in prose: that value) */
    }
    if (plain && !in_value) {
        if (!self->hold_numbers &&
            (self->held_kind == HELD_NUMBER || self->held_kind == HELD_LITERAL))
            return held_snapshot(self);
        /* Between tokens, nothing held back to show: the live value as it is. */
        if (PyList_GET_SIZE(self->stack) || self->state == ST_END)
            return ref(self->root);
        return empty_snapshot(self); /* (no value started) */
    }
    if (plain && in_value && !self->partial_strings) /* (not shown until it closes) */
        return PyList_GET_SIZE(self->stack) ? ref(self->root) : empty_snapshot(self);
    /* The common case while a model writes text: show the open string in place. */
    PyObject *pieces = self->pieces;
    int placed = 0; /* (the string grew in place, at the current slot) */
    if (PyList_GET_SIZE(pieces) != 1 && (placed = join_pieces(self)) < 0)
        return NULL;
    PyObject *s = PyList_GET_ITEM(pieces, 0);
    if (!placed)
        placed = shown_placed(self, s); /* (feed() grew it there: shown_grow) */
    if (PyList_GET_SIZE(self->stack) == 0) {
        Py_INCREF(s);
        return s;
    }
    PyObject *top = top_of(self);
    int r = 0;
    if (PyDict_CheckExact(top)) {
        if (!placed)
            r = PyDict_SetItem(top, self->key, s);
        if (!direct)
            self->prov = 1;
    }
    else {
        if (!placed)
            r = self->prov ? PyList_SetItem(top, PyList_GET_SIZE(top) - 1, (Py_INCREF(s), s))
                           : PyList_Append(top, s);
        self->prov = 1;
    }
    if (r < 0)
        return NULL;
    shown_noted(self, s);
    Py_INCREF(self->root);
    return self->root;
}
