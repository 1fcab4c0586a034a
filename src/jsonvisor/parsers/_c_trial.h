/* Stage: extraction at the parser's level (streaming.py's _extracting, _begin_trial,
 * _flush_trial, _reject_trial and _reset_document).
 * Part of the unity build of _speedups.c (included once, in order).
 *
 * In extraction mode every value found is a *candidate* (an extract.Candidate, on
 * trial): its events are held back in its list until it proves to be JSON, at the first
 * double-quoted string beginning in it or value completing in it, both points in the
 * text.  One that fails before that is dropped and seeking resumes at the character that
 * failed it; an exceeded limit always raises.  A fenced candidate after a value found in
 * prose replaces that value only once proven (``saved`` keeps it until then). */

/* Candidate.proven(): 1, 0, or -1 on error. */
static int
candidate_proven(Core *self)
{
    PyObject *r = PyObject_CallMethodNoArgs(self->candidate, S_PROVEN);
    if (r == NULL)
        return -1;
    int yes = PyObject_IsTrue(r);
    Py_DECREF(r);
    return yes;
}

/* Where the value on trial's events go (its list), or ``events`` without one.  New
 * reference. */
static PyObject *
trial_sink(Core *self, PyObject *events)
{
    if (self->candidate == Py_None) {
        Py_INCREF(events);
        return events;
    }
    PyObject *sink = PyObject_GetAttr(self->candidate, S_EVENTS);
    if (sink != NULL && !PyList_CheckExact(sink)) {
        PyErr_SetString(PyExc_TypeError, "a candidate's events must be a list");
        Py_CLEAR(sink);
    }
    return sink;
}

/* _flush_trial(): the candidate is JSON: its events are released. */
static int
flush_trial(Core *self, PyObject *events)
{
    PyObject *held = trial_sink(self, events);
    if (held == NULL)
        return -1;
    Py_ssize_t n = PyList_GET_SIZE(events);
    int r = PyList_SetSlice(events, n, n, held);
    Py_DECREF(held);
    Py_INCREF(Py_None);
    set_obj(&self->candidate, Py_None);
    return r;
}

/* A value on trial that has proven to be JSON is released (_feed_tail, _extracting). */
static int
flush_if_proven(Core *self, PyObject *events)
{
    if (self->candidate == Py_None)
        return 0;
    int proven = candidate_proven(self);
    return proven < 0 ? -1 : proven ? flush_trial(self, events) : 0;
}

/* _reset_document(): forget a candidate value that turned out not to be JSON. */
static int
reset_document(Core *self)
{
    if (PyList_SetSlice(self->stack, 0, PyList_GET_SIZE(self->stack), NULL) < 0 ||
        PyList_SetSlice(self->prefixes, 0, PyList_GET_SIZE(self->prefixes), NULL) < 0)
        return -1;
    PyObject *fields[] = {Py_None, Py_None, Py_None, Py_None, S_DQUOTE, S_EMPTY};
    PyObject **slots[] = {&self->key, &self->root, &self->error, &self->candidate, &self->quote,
                          &self->held};
    for (size_t k = 0; k < sizeof(fields) / sizeof(fields[0]); k++) {
        Py_INCREF(fields[k]);
        set_obj(slots[k], fields[k]);
    }
    Py_INCREF(Py_None);
    set_obj(&self->sep_owner, Py_None);
    pieces_reset(self->pieces, NULL);
    self->state = ST_VALUE;
    self->prov = 0;
    self->in_string = 0;
    self->hi = -1;
    self->in_comment = 0;
    self->held_kind = HELD_NONE;
    self->bulk_block = 0;
    self->doc_open = 0;
    return 0;
}

/* _begin_trial(): the finder found a value; it goes on trial.  A fenced one after a value
 * found in prose may replace that value: what to restore is kept (``saved``) and the
 * parser starts afresh. */
static int
begin_trial(Core *self, int fenced, PyObject *events)
{
    self->seeking = 0;
    PyObject *saved = Py_None;
    Py_INCREF(saved);
    if (fenced && self->documents && !self->multiple_values) {
        if (self->tracker != Py_None && track(self, events) < 0) /* (the value in prose) */
            goto fail;
        PyObject *done = PySequence_List(self->done);
        PyObject *tracked = done == NULL ? NULL
                            : self->tracker == Py_None
                                ? (Py_INCREF(Py_None), Py_None)
                                : PyObject_CallMethodNoArgs(self->tracker, S_SAVE);
        PyObject *documents = tracked == NULL ? NULL : PyLong_FromSsize_t(self->documents);
        Py_SETREF(saved, documents == NULL ? NULL
                                           : PyTuple_Pack(5, self->root, documents,
                                                          self->last_document, done, tracked));
        Py_XDECREF(done);
        Py_XDECREF(tracked);
        Py_XDECREF(documents);
        if (saved == NULL || reset_document(self) < 0)
            goto fail;
        PyObject *r = PyObject_CallMethodNoArgs(self->done, S_CLEAR);
        if (r == NULL)
            goto fail;
        Py_DECREF(r);
        self->documents = 0;
        Py_INCREF(Py_None);
        set_obj(&self->last_document, Py_None);
        ((XObj *)self->x)->prose_doc = 0;
    }
    PyObject *candidate = PyObject_CallFunctionObjArgs(CANDIDATE, fenced ? Py_True : Py_False,
                                                       saved, NULL);
    Py_DECREF(saved);
    return set_obj(&self->candidate, candidate);
fail:
    Py_XDECREF(saved);
    return -1;
}

/* _reject_trial(): the candidate is not JSON: forget it, restore a value in prose it
 * would have replaced, and look again (past the rest of its block when it was fenced). */
static int
reject_trial(Core *self)
{
    PyObject *candidate = self->candidate;
    Py_INCREF(candidate);
    PyObject *saved = NULL, *fenced = NULL;
    int r = -1;
    if (reset_document(self) < 0 || (saved = PyObject_GetAttr(candidate, S_SAVED)) == NULL ||
        (fenced = PyObject_GetAttr(candidate, S_FENCED)) == NULL)
        goto done;
    XObj *x = (XObj *)self->x;
    if (saved != Py_None) {
        if (!PyTuple_CheckExact(saved) || PyTuple_GET_SIZE(saved) != 5) {
            PyErr_SetString(PyExc_TypeError, "a candidate's saved value must be a 5-tuple");
            goto done;
        }
        Py_ssize_t documents = PyLong_AsSsize_t(PyTuple_GET_ITEM(saved, 1));
        if (documents < 0 && PyErr_Occurred())
            goto done;
        PyObject *root = PyTuple_GET_ITEM(saved, 0), *last = PyTuple_GET_ITEM(saved, 2);
        Py_INCREF(root);
        set_obj(&self->root, root);
        Py_INCREF(last);
        set_obj(&self->last_document, last);
        self->documents = documents;
        if (self->tracker != Py_None) {
            PyObject *ok = PyObject_CallMethodOneArg(self->tracker, S_RESTORE,
                                                     PyTuple_GET_ITEM(saved, 4));
            if (ok == NULL)
                goto done;
            Py_DECREF(ok);
        }
        PyObject *ok = PyObject_CallMethodNoArgs(self->done, S_CLEAR);
        if (ok == NULL)
            goto done;
        Py_DECREF(ok);
        ok = PyObject_CallMethodOneArg(self->done, S_EXTEND, PyTuple_GET_ITEM(saved, 3));
        if (ok == NULL)
            goto done;
        Py_DECREF(ok);
        self->state = ST_END;
        x->prose_doc = 1;
        x->fences_only = 1;
    }
    self->seeking = 1;
    int is_fenced = PyObject_IsTrue(fenced);
    if (is_fenced < 0)
        goto done;
    if (is_fenced)
        x_skip_block(x);
    r = 0;
done:
    Py_XDECREF(saved);
    Py_XDECREF(fenced);
    Py_DECREF(candidate);
    return r;
}

static Py_ssize_t c_run_bulk(Core *self, Text *t, Py_ssize_t pos, PyObject *events);

/* _extracting(): the text from ``pos`` in extraction mode: the finder looks for a value
 * (seeking), which goes on trial; its tokens run (c_run_bulk) into the candidate's list,
 * which is released once it is proven; an error decides the trial (c_fail's verdict).
 * Returns the length of the text, or -1 on error. */
static Py_ssize_t
c_extracting(Core *self, Text *t, Py_ssize_t pos, PyObject *events)
{
    Py_ssize_t n = t->n;
    for (;;) {
        if (self->seeking) {
            if (pos >= n)
                return n;
            int fenced = 0;
            Py_ssize_t start = x_find((XObj *)self->x, t->kind, t->data, n, pos, &fenced);
            if (start < 0)
                return n;
            if (begin_trial(self, fenced, events) < 0)
                return -1;
            pos = start;
        }
        PyObject *sink = trial_sink(self, events);
        if (sink == NULL)
            return -1;
        self->x_verdict = X_NONE;
        Py_ssize_t at = c_run_bulk(self, t, pos, sink);
        Py_DECREF(sink);
        if (at < 0)
            return -1;
        if (self->x_verdict == X_FENCE_END) {
            /* The closing fence came before the value closed: the end of the input. */
            self->x_verdict = X_NONE;
            self->stopped = 1;
            ((XObj *)self->x)->fence_closed = 1;
            if (self->candidate != Py_None && flush_trial(self, events) < 0)
                return -1;
            return n;
        }
        if (self->x_verdict == X_REJECT) {
            self->x_verdict = X_NONE;
            if (reject_trial(self) < 0)
                return -1;
            pos = self->x_at;
            continue;
        }
        if (flush_if_proven(self, events) < 0)
            return -1;
        if (at >= n || self->stopped)
            return n;
        if (!self->seeking) { /* (the token loop stops early only for the above) */
            PyErr_SetString(PyExc_SystemError, "extraction: the token loop stopped early");
            return -1;
        }
        pos = at;
    }
}
