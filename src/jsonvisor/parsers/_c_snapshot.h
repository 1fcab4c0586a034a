/* Stage: snapshot() (the live value, the open string grown in place).
 * Part of the unity build of _speedups.c (included once, in order). */

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
    if (PyUnicode_GET_LENGTH(acc) < 512) {
        /* short: a copy costs less than letting go of the shown text first */
        PyObject *all = pieces_text(pieces);
        if (all == NULL)
            return -1;
        return pieces_reset(pieces, all);
    }
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
    if (rest == NULL)
        goto fail;
    pieces_reset(pieces, NULL);
    Py_ssize_t depth = PyList_GET_SIZE(self->stack);
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
