/* Stage: feed() (str and UTF-8 bytes, positions, the hot path inside a string).
 * Part of the unity build of _speedups.c (included once, in order). */



/* The held token and the chunk, as one str.  Both ASCII (a held token always is, and so
 * are ASCII bytes read in place): copied in, without making the chunk a str first. */
static PyObject *
held_plus(PyObject *held, Text *t)
{
    if (!t->ascii || !PyUnicode_IS_ASCII(held)) {
        PyObject *c = text_str(t);
        return c == NULL ? NULL : PyUnicode_Concat(held, c);
    }
    Py_ssize_t h = PyUnicode_GET_LENGTH(held);
    PyObject *s = PyUnicode_New(h + t->n, 127);
    if (s == NULL)
        return NULL;
    memcpy(PyUnicode_1BYTE_DATA(s), PyUnicode_1BYTE_DATA(held), (size_t)h);
    memcpy(PyUnicode_1BYTE_DATA(s) + h, t->data, (size_t)t->n);
    return s;
}

/* The hot path's events when the last feed's were one StringGrew (the text of a string
 * that goes on): that list and that event, when nobody holds either any more, become
 * this feed's, the event now of ``piece``.  NULL when they cannot (no error set). */
static PyObject *
grew_again(Core *self, PyObject *piece)
{
    PyObject *l = self->spare;
    if (l == NULL || Py_REFCNT(l) != 1 || PyList_GET_SIZE(l) != 1)
        return NULL;
    EventObject *e = (EventObject *)PyList_GET_ITEM(l, 0);
    if (Py_REFCNT(e) != 1 || Py_TYPE(e) != (PyTypeObject *)EV_GREW)
        return NULL;
    PyObject *first = e->first, *second = e->second, *key = e->key;
    Py_INCREF(self->str_path);
    Py_INCREF(piece);
    e->first = self->str_path;
    e->second = piece;
    e->key = NULL;
    e->at = -1;
    if (gc_tracked(self->str_path) && !PyObject_GC_IsTracked((PyObject *)e))
        PyObject_GC_Track(e); /* (as new_event; the text is a str) */
    Py_DECREF(first); /* (the event is whole before any decref runs arbitrary code) */
    Py_DECREF(second);
    Py_XDECREF(key);
    Py_INCREF(l);
    return l;
}

/* The hot path: inside a string, nothing pending, the chunk all string text. */
static PyObject *
feed_string_text(Core *self, Text *chunk, Py_ssize_t nb) /* (nb: its UTF-8 length) */
{
    Py_ssize_t clen = chunk->n;
    PyObject *piece = text_str(chunk);
    if (piece == NULL)
        return NULL;
    self->used += nb;
    self->consumed += nb;
    self->col += clen;
    int grown = self->str_is_key ? 0 : shown_grow(self, chunk);
    if (grown < 0 || (!grown && list_append(self->pieces, piece) < 0))
        return NULL;
    PyObject *events;
    if (self->announced && !self->str_is_key && (events = grew_again(self, piece)) != NULL)
        return events; /* (one StringGrew: nothing for a schema's tracker to keep) */
    events = feed_events(self);
    if (events == NULL || self->str_is_key)
        return events;
    if (!self->announced) {
        self->announced = 1;
        if (emit(events, EV_STARTED, self->str_path, S_STRING) < 0)
            goto fail;
    }
    if (emit(events, EV_GREW, self->str_path, piece) < 0)
        goto fail;
    if (self->schema != Py_None && track(self, events) < 0)
        goto fail;
    return events;
fail:
    Py_DECREF(events);
    return NULL;
}

static PyObject *feed_text(Core *self, Text *chunk, int decoded);

/* _quiet_now(): while looking for JSON in prose, which characters a chunk must hold to
 * matter (Extractor.quiet; 0: any). */
static int
quiet_now(Core *self)
{
    if (self->x == Py_None || !self->seeking || self->candidate != Py_None ||
        PyUnicode_GET_LENGTH(self->held) || PyBytes_GET_SIZE(self->pending))
        return 0;
    return x_quiet((XObj *)self->x);
}

/* _run() with the bulk path: the token loop, which stops where a run of whole values may
 * load at once (c_bulk_step), then goes on.  Returns where it stopped, -1 on error. */
static Py_ssize_t
c_run_bulk(Core *self, Text *t, Py_ssize_t pos, PyObject *events)
{
    Py_ssize_t n = t->n;
    pos = c_run(self, t, pos, events);
    while (pos >= 0 && pos < n && self->bulk_stop) {
        self->bulk_stop = 0;
        Py_ssize_t after = c_bulk_step(self, t, pos, events);
        if (after < 0)
            return -1;
        if (after <= pos) { /* nothing loaded: the token path, no second attempt here */
            after = pos;
            if (self->bulk_block < pos + 1)
                self->bulk_block = pos + 1;
        }
        pos = c_run(self, t, after, events);
    }
    return pos;
}

/* A chunk that goes past max_bytes (one value): what fits is parsed, then the rest is
 * refused at its first byte too many (_feed_text()), the same error for every chunking. */
static PyObject *
feed_past_limit(Core *self, Text *chunk, int decoded)
{
    Py_ssize_t fits = chars_within(chunk, 0, self->max_bytes - self->used);
    if (fits > 0) {
        Text part;
        if (chunk->str != NULL) {
            PyObject *s = PyUnicode_Substring(chunk->str, 0, fits);
            if (s == NULL)
                return NULL;
            text_of_str(&part, s);
            part.owned = 1;
        }
        else { /* ASCII bytes read in place */
            part = *chunk;
            part.n = fits;
            part.bytes = NULL;
        }
        PyObject *r = feed_text(self, &part, decoded);
        text_release(&part);
        if (r == NULL)
            return NULL;
        Py_DECREF(r);
    }
    limit_exceeded(self);
    return NULL;
}

/* A chunk that only goes on with a held number ("4293" after "0.01"): it joins the held
 * token and nothing else changes, as the token loop would leave it (held again, nothing
 * consumed, no event).  NULL, with no error, when the token loop must look (the number
 * would be malformed or too long, or so long that the bulk path might try it). */
static PyObject *
feed_held_number(Core *self, Text *chunk)
{
    const Py_UCS1 *u = (const Py_UCS1 *)chunk->data;
    for (Py_ssize_t i = 0; i < chunk->n; i++)
        if (!number_char(u[i]))
            return NULL;
    Py_ssize_t n = PyUnicode_GET_LENGTH(self->held) + chunk->n;
    if (n > self->max_number_length || n >= self->bulk_threshold)
        return NULL;
    PyObject *joined = held_plus(self->held, chunk);
    if (joined == NULL)
        return NULL;
    int is_float;
    if (number_shape(PyUnicode_1BYTE_KIND, PyUnicode_DATA(joined), 0, n, &is_float) == 0) {
        Py_DECREF(joined);
        return NULL;
    }
    PyObject *events = feed_events(self);
    if (events == NULL) {
        Py_DECREF(joined);
        return NULL;
    }
    self->used += chunk->n;
    Py_SETREF(self->held, joined);
    return events;
}

/* feed() of a text: a str chunk, text decoded from bytes, or ASCII bytes read in place
 * (``decoded``: not a str chunk, see feed_python).  The parser has no error and no
 * result yet (core_feed). */
static PyObject *
feed_text(Core *self, Text *chunk, int decoded)
{
    Py_ssize_t clen = chunk->n, nb;
    if (self->hot && clen > 0 && plain_run(chunk, 0) == clen &&
        self->used + (nb = utf8_len(chunk, 0, clen)) <= self->max_bytes)
        return feed_string_text(self, chunk, nb);
    if (self->held_kind == HELD_NUMBER && chunk->ascii && clen > 0 && !self->stopped &&
        !self->extract && !self->multiple_values && self->candidate == Py_None &&
        self->used + clen <= self->max_bytes && (decoded || PyBytes_GET_SIZE(self->pending) == 0)) {
        PyObject *events = feed_held_number(self, chunk);
        if (events != NULL || PyErr_Occurred())
            return events;
    }
    if (!decoded && PyBytes_GET_SIZE(self->pending) != 0) {
        raise_error(fail_here(self, "str chunk while a UTF-8 sequence from bytes is incomplete",
                              "", 0, 1));
        return NULL;
    }
    if (clen == 0)
        return feed_events(self);
    /* Text that leaves the state as it is: trailing prose after the value, or prose the
     * extractor passes over (none of the characters it looks for; _quiet_now). */
    int pass_over = 0;
    if (self->candidate == Py_None && PyUnicode_GET_LENGTH(self->held) == 0) {
        if (self->stopped)
            pass_over = 1;
        else if (self->seeking && self->quiet)
            pass_over = !holds_any(chunk, self->quiet == 1 ? "`{[" : "`");
    }
    /* _feed_head() */
    Py_ssize_t nbytes = utf8_len(chunk, 0, clen);
    if (!self->multiple_values) {
        if (self->used + nbytes > self->max_bytes)
            return feed_past_limit(self, chunk, decoded);
        self->used += nbytes;
    }
    Text joined, *t = chunk; /* the held token and the chunk, or the chunk */
    /* (both ASCII and shorter than the bulk path's threshold, so that it cannot run over
     * them: joined here, a str made only if wanted) */
    char room[256];
    Py_ssize_t held_len = PyUnicode_GET_LENGTH(self->held);
    if (held_len && !self->stopped) { /* (once stopped, a held token stays as it is) */
        if (chunk->ascii && PyUnicode_IS_ASCII(self->held) &&
            held_len + clen <= (Py_ssize_t)sizeof(room) && held_len + clen < self->bulk_threshold) {
            memcpy(room, PyUnicode_1BYTE_DATA(self->held), (size_t)held_len);
            memcpy(room + held_len, chunk->data, (size_t)clen);
            joined = (Text){.kind = PyUnicode_1BYTE_KIND, .data = room, .n = held_len + clen,
                            .ascii = 1, .owned = 0, .str = NULL, .bytes = NULL};
        }
        else {
            PyObject *s = held_plus(self->held, chunk);
            if (s == NULL)
                return NULL;
            text_of_str(&joined, s);
            joined.owned = 1;
        }
        t = &joined;
        if (set_obj(&self->held, (Py_INCREF(S_EMPTY), S_EMPTY)) < 0)
            goto fail_text;
        self->held_kind = HELD_NONE;
    }
    PyObject *events = feed_events(self);
    if (events == NULL)
        goto fail_text;
    self->bulk_block = 0;
    self->doc_start = 0;
    self->grew_from = PyList_GET_SIZE(self->pieces);
    Py_ssize_t n = t->n;
    Py_ssize_t pos = pass_over || self->stopped ? n
                     : self->extract           ? c_extracting(self, t, 0, events)
                                               : c_run_bulk(self, t, 0, events);
    if (pos < 0)
        goto fail;
    if (pos < n) {
        PyErr_SetString(PyExc_SystemError, "feed: the token loop stopped early");
        goto fail;
    }
    /* _feed_tail(): the open string's events (held back with a value on trial, which is
     * released once proven), then positions and counts. */
    if (self->in_string && !self->str_is_key) {
        PyObject *sink = trial_sink(self, events);
        PyObject *r = sink == NULL ? NULL : string_events(self, sink);
        Py_XDECREF(sink);
        if (r == NULL)
            goto fail;
    }
    if (flush_if_proven(self, events) < 0)
        goto fail;
    /* (a token the closing fence cut, held once stopped, is not at the end) */
    held_len = self->stopped ? 0 : PyUnicode_GET_LENGTH(self->held);
    Py_ssize_t done = n - held_len;
    if (self->multiple_values && self->doc_open) { /* the open document's bytes so far */
        Py_ssize_t seen = utf8_len(t, self->doc_start, n); /* (the held token too) */
        if (self->used + seen > self->max_bytes) {
            doc_too_large(self, t);
            goto fail;
        }
        self->used += seen - utf8_len(t, done, n);
    }
    if (held_len || t != chunk)
        nbytes = utf8_len(t, 0, done);
    {
        Py_ssize_t last_nl = -1, nl = 0;
        newlines(t, done, &nl, &last_nl);
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
    self->quiet = quiet_now(self);
    self->hot = self->in_string && self->held_kind == HELD_NONE && self->hi < 0 &&
                double_quoted(self) && self->candidate == Py_None && PyBytes_GET_SIZE(self->pending) == 0;
    if (t != chunk)
        text_release(t);
    return events;
fail:
    Py_XDECREF(events);
fail_text:
    if (t != chunk)
        text_release(t);
    return NULL;
}

/* _decode()'s error: data[start:end] is not UTF-8.  The valid text before it is parsed
 * first, then the bad bytes are reported where they start, whatever the chunking. */
static PyObject *
feed_invalid_utf8(Core *self, PyObject *data, Py_ssize_t start, Py_ssize_t end)
{
    if (set_obj(&self->pending, PyBytes_FromStringAndSize(NULL, 0)) < 0)
        return NULL;
    if (start > 0) {
        PyObject *good = PyUnicode_DecodeUTF8(PyBytes_AS_STRING(data), start, "strict");
        if (good == NULL)
            return NULL;
        Text g;
        text_of_str(&g, good);
        PyObject *r = feed_text(self, &g, 1);
        Py_DECREF(good);
        if (r == NULL)
            return NULL;
        Py_DECREF(r);
    }
    invalid_utf8(self, PyBytes_AS_STRING(data) + start, end - start);
    return NULL;
}

static PyObject *
core_feed(Core *self, PyObject *chunk)
{
    Text t;
    PyObject *r;
    if (!all_ready(self))
        return not_ready();
    if (self->error != Py_None) { /* the same error for any further input */
        Py_INCREF(self->error);
        raise_error(self->error);
        return NULL;
    }
    if (self->result != Py_None) {
        raise_error(fail_here(self, "input after finish()", "", 0, 0));
        return NULL;
    }
    if (PyUnicode_CheckExact(chunk)) {
        text_of_str(&t, chunk);
        return feed_text(self, &t, 0);
    }
    if (!PyBytes_CheckExact(chunk)) {
        /* a str subclass: its text; bytes-like (a bytes subclass, bytearray, memoryview):
         * its bytes; anything else is refused */
        PyObject *as;
        if (PyUnicode_Check(chunk))
            as = PyObject_Str(chunk);
        else if (PyBytes_Check(chunk) || PyByteArray_Check(chunk) || PyMemoryView_Check(chunk))
            as = PyBytes_FromObject(chunk);
        else
            return PyErr_Format(PyExc_TypeError, "feed() takes str or bytes, not %.200s",
                                Py_TYPE(chunk)->tp_name);
        if (as != NULL && !PyUnicode_CheckExact(as) && !PyBytes_CheckExact(as)) /* (a str()
            returning a subclass: its text as a str) */
            Py_SETREF(as, PyUnicode_FromKindAndData(PyUnicode_KIND(as), PyUnicode_DATA(as),
                                                    PyUnicode_GET_LENGTH(as)));
        if (as == NULL)
            return NULL;
        r = core_feed(self, as);
        Py_DECREF(as);
        return r;
    }
    if (PyBytes_GET_SIZE(self->pending) == 0 &&
        all_ascii(PyBytes_AS_STRING(chunk), PyBytes_GET_SIZE(chunk))) {
        /* ASCII: its bytes are its text, read in place */
        if (PyBytes_GET_SIZE(chunk) == 0)
            return feed_events(self);
        text_of_ascii_bytes(&t, chunk);
        r = feed_text(self, &t, 1);
        text_release(&t);
        return r;
    }
    /* UTF-8 bytes: decode incrementally here (a sequence cut by the end of the chunk waits
     * in _pending), then parse the text like a str chunk. */
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
    PyObject *text = utf8_small((const unsigned char *)PyBytes_AS_STRING(data),
                                PyBytes_GET_SIZE(data), &used);
    if (text == NULL && !PyErr_Occurred())
        text = PyUnicode_DecodeUTF8Stateful(PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data),
                                            "strict", &used);
    if (text == NULL) {
        Py_ssize_t start = 0, end = 0;
        if (PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) {
            PyObject *type, *value, *tb;
            PyErr_Fetch(&type, &value, &tb);
            PyErr_NormalizeException(&type, &value, &tb);
            int ok = value != NULL && PyUnicodeDecodeError_GetStart(value, &start) == 0 &&
                     PyUnicodeDecodeError_GetEnd(value, &end) == 0;
            if (ok) {
                Py_XDECREF(type);
                Py_XDECREF(value);
                Py_XDECREF(tb);
                r = feed_invalid_utf8(self, data, start, end);
                Py_DECREF(data);
                return r;
            }
            if (!PyErr_Occurred())
                PyErr_Restore(type, value, tb);
            else {
                Py_XDECREF(type);
                Py_XDECREF(value);
                Py_XDECREF(tb);
            }
        }
        Py_DECREF(data);
        return NULL;
    }
    PyObject *rest = PyBytes_FromStringAndSize(PyBytes_AS_STRING(data) + used,
                                               PyBytes_GET_SIZE(data) - used);
    Py_DECREF(data);
    if (set_obj(&self->pending, rest) < 0) {
        Py_DECREF(text);
        return NULL;
    }
    if (PyUnicode_GET_LENGTH(text)) {
        text_of_str(&t, text);
        r = feed_text(self, &t, 1);
    }
    else
        r = feed_events(self);
    Py_DECREF(text);
    return r;
}
