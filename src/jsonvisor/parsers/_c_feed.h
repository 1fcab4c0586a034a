/* Stage: feed() (str and UTF-8 bytes, positions, the hot path inside a string).
 * Part of the unity build of _speedups.c (included once, in order). */

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
    self->whole_tried = 0;
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
