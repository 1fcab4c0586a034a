/* Stage: the bulk path's step (streaming.py's _bulk_step and what it calls).
 * Part of the unity build of _speedups.c (included once, in order).
 *
 * Where the token loop (c_run) stops with bulk_stop set, at least bulk_threshold
 * characters are left where a top-level value, an array item or an object's key starts.
 * The run of whole values there is found by the boundary scanners (_c_bulk.h), checked
 * strictly (validate) and loaded in one call (orjson or ujson, strict_load), then put in
 * place and reported (a ValueCompleted per member, after a ValueStarted for each growing
 * member of the top-level value).  A value that does not end in the text yields its
 * *spine*, every container open at the end (spine, spine_text): later attempts stop
 * before it, and a walk stops past max_depth.  So every text costs O(its length). */

/* The text's identity, for the spine (a fact about one text, never reset). */
static inline PyObject *
text_id(Text *t)
{
    return t->bytes != NULL ? t->bytes : t->str;
}

/* _bulk_limit(): where a run of whole members from ``pos`` must end, the next container
 * known to stay open to the end of the text (``pos`` itself: none can start here). */
static Py_ssize_t
bulk_limit(Core *self, Text *t, Py_ssize_t pos)
{
    if (self->spine_text != text_id(t))
        return t->n;
    PyObject *spine = self->spine;
    Py_ssize_t lo = 0, hi = PyList_GET_SIZE(spine);
    while (lo < hi) {
        Py_ssize_t mid = lo + (hi - lo) / 2;
        if (PyLong_AsSsize_t(PyList_GET_ITEM(spine, mid)) < pos)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < PyList_GET_SIZE(spine) ? PyLong_AsSsize_t(PyList_GET_ITEM(spine, lo)) : t->n;
}

/* _learn_spine(): the container at ``pos`` does not end in the text (or nests past
 * ``cap``). */
static int
learn_spine(Core *self, Text *t, Py_ssize_t pos, Py_ssize_t cap)
{
    PyObject *id = text_id(t);
    if (self->spine_text == id && PyList_GET_SIZE(self->spine) &&
        PyLong_AsSsize_t(PyList_GET_ITEM(self->spine, 0)) <= pos)
        return 0; /* already known */
    PyObject *spine = PyList_New(0);
    if (spine == NULL)
        return -1;
    Py_ssize_t deep = SCAN_DISPATCH(t->kind, spine_ucs1(t->data, t->n, pos, cap, spine),
                                    spine_ucs2(t->data, t->n, pos, cap, spine),
                                    spine_ucs4(t->data, t->n, pos, cap, spine));
    if (deep == -3) {
        Py_DECREF(spine);
        return -1;
    }
    set_obj(&self->spine, spine);
    Py_INCREF(id);
    set_obj(&self->spine_text, id);
    if (deep >= 0 && self->bulk_block < deep) /* past max_depth: the token path refuses it */
        self->bulk_block = deep;
    return 0;
}

/* fastpath.strict_loads() of text[s:e], wrapped in ``open`` and its closing bracket
 * unless ``open`` is 0: the value, or NULL with no error set when it is not strictly
 * valid JSON within ``depth`` levels and max_number_length (NotFast), or NULL with an
 * error.  ASCII goes to the loader as bytes. */
static PyObject *
strict_slice(Core *self, Text *t, Py_ssize_t s, Py_ssize_t e, char open, Py_ssize_t depth)
{
    Py_ssize_t wrap = open ? 1 : 0, len = e - s + 2 * wrap;
    PyObject *slice;
    int kind;
    void *data;
    if (!wrap && s == 0 && e == t->n && (t->bytes != NULL || t->str != NULL)) {
        slice = t->bytes != NULL ? t->bytes : t->str; /* the whole text, as it is */
        Py_INCREF(slice);
        kind = t->kind;
        data = (void *)t->data;
    }
    else if (t->ascii) {
        slice = PyBytes_FromStringAndSize(NULL, len);
        if (slice == NULL)
            return NULL;
        data = PyBytes_AS_STRING(slice);
        memcpy((char *)data + wrap, (const char *)t->data + s, (size_t)(e - s));
        kind = PyUnicode_1BYTE_KIND;
    }
    else {
        PyObject *sub = PyUnicode_Substring(t->str, s, e);
        if (sub == NULL || !wrap)
            slice = sub;
        else { /* (the same kind as the canonical slice: still canonical) */
            slice = PyUnicode_New(len, PyUnicode_MAX_CHAR_VALUE(sub));
            if (slice != NULL && PyUnicode_CopyCharacters(slice, 1, sub, 0, e - s) < 0)
                Py_CLEAR(slice);
            Py_DECREF(sub);
        }
        if (slice == NULL)
            return NULL;
        kind = PyUnicode_KIND(slice);
        data = PyUnicode_DATA(slice);
    }
    if (wrap) {
        Py_UCS4 close = open == '[' ? ']' : '}';
        if (t->ascii) {
            ((char *)data)[0] = open;
            ((char *)data)[len - 1] = (char)close;
        }
        else {
            PyUnicode_WRITE(kind, data, 0, (Py_UCS4)open);
            PyUnicode_WRITE(kind, data, len - 1, close);
        }
    }
    int verdict = validate_units(kind, data, len, depth, self->max_number_length);
    if (verdict <= 0) {
        Py_DECREF(slice);
        return NULL;
    }
    return strict_load(slice, verdict);
}

/* _transform_keys(): the key transform applied to every object key in a whole value. */
static PyObject *
transform_keys(PyObject *value, PyObject *kt)
{
    int is_dict = PyDict_CheckExact(value);
    if (!is_dict && !PyList_CheckExact(value)) {
        Py_INCREF(value);
        return value;
    }
    if (Py_EnterRecursiveCall(" in a key transform"))
        return NULL;
    PyObject *out;
    if (is_dict) {
        out = PyDict_New();
        PyObject *k, *v;
        Py_ssize_t i = 0;
        while (out != NULL && PyDict_Next(value, &i, &k, &v)) {
            PyObject *nk = PyObject_CallOneArg(kt, k);
            PyObject *nv = nk == NULL ? NULL : transform_keys(v, kt);
            if (nv == NULL || PyDict_SetItem(out, nk, nv) < 0)
                Py_CLEAR(out);
            Py_XDECREF(nk);
            Py_XDECREF(nv);
        }
    }
    else {
        Py_ssize_t n = PyList_GET_SIZE(value);
        out = PyList_New(n);
        for (Py_ssize_t i = 0; out != NULL && i < n; i++) {
            PyObject *nv = transform_keys(PyList_GET_ITEM(value, i), kt);
            if (nv == NULL)
                Py_CLEAR(out);
            else
                PyList_SET_ITEM(out, i, nv);
        }
    }
    Py_LeaveRecursiveCall();
    return out;
}

/* _whole(): a top-level value loaded in one step, keys transformed, filled and checked by
 * the schema's tracker.  New reference. */
static PyObject *
whole_value(Core *self, PyObject *value)
{
    Py_INCREF(value);
    if (self->kt != Py_None)
        Py_SETREF(value, transform_keys(value, self->kt));
    if (value != NULL && self->tracker != Py_None)
        Py_SETREF(value, PyObject_CallMethodObjArgs(self->tracker, S_WHOLE, EMPTY_TUPLE,
                                                    value, NULL));
    return value;
}

/* _whole_document(): a top-level value loaded in one step.  Its members are still
 * reported one by one, so a consumer of the top level sees the same events for every
 * chunking (with a schema, only the keys from the input, not its placeholders). */
static int
whole_document(Core *self, PyObject *loaded, PyObject *events)
{
    int was_dict = PyDict_CheckExact(loaded);
    PyObject *keys = was_dict && self->tracker != Py_None ? PyDict_Keys(loaded) : NULL;
    if (was_dict && self->tracker != Py_None && keys == NULL)
        return -1;
    PyObject *value = whole_value(self, loaded);
    int r = value == NULL ? -1 : 0;
    if (r == 0 && was_dict && PyDict_CheckExact(value)) {
        r = emit(events, EV_STARTED, EMPTY_TUPLE, S_OBJECT);
        if (r == 0 && keys == NULL)
            r = emit_members(events, EMPTY_TUPLE, value, 0);
        else if (r == 0) {
            PyObject *only = PyDict_New();
            for (Py_ssize_t i = 0; only != NULL && i < PyList_GET_SIZE(keys); i++) {
                PyObject *k = PyList_GET_ITEM(keys, i);
                PyObject *kk = self->kt != Py_None ? PyObject_CallOneArg(self->kt, k)
                                                   : PyObject_Str(k);
                PyObject *v = kk == NULL ? NULL : PyObject_GetItem(value, kk);
                if (v == NULL || PyDict_SetItem(only, kk, v) < 0)
                    Py_CLEAR(only);
                Py_XDECREF(kk);
                Py_XDECREF(v);
            }
            r = only == NULL ? -1 : emit_members(events, EMPTY_TUPLE, only, 0);
            Py_XDECREF(only);
        }
    }
    else if (r == 0 && PyList_CheckExact(value)) {
        r = emit(events, EV_STARTED, EMPTY_TUPLE, S_ARRAY);
        if (r == 0)
            r = emit_members(events, EMPTY_TUPLE, value, 0);
    }
    else if (r == 0 && PyUnicode_CheckExact(value))
        r = emit(events, EV_STARTED, EMPTY_TUPLE, S_STRING);
    if (r == 0)
        r = document_done(self, value, events);
    Py_XDECREF(value);
    Py_XDECREF(keys);
    return r;
}

/* _add_members(): a run of whole members loaded, put in the open container ``top``. */
static int
add_members(Core *self, PyObject *top, PyObject *loaded, int in_object, PyObject *events)
{
    PyObject *prefix = top_prefix(self);
    Py_INCREF(prefix);
    Py_INCREF(loaded);
    if (self->kt != Py_None)
        Py_SETREF(loaded, transform_keys(loaded, self->kt));
    if (loaded != NULL && self->tracker != Py_None) {
        PyObject *base = PyLong_FromSsize_t(in_object ? PyDict_GET_SIZE(top) : PyList_GET_SIZE(top));
        Py_SETREF(loaded, base == NULL ? NULL
                                       : PyObject_CallMethodObjArgs(self->tracker, S_MEMBERS, prefix,
                                                                    loaded, in_object ? Py_True : Py_False,
                                                                    base, NULL));
        Py_XDECREF(base);
    }
    int r = -1;
    if (loaded != NULL) {
        Py_ssize_t base = in_object ? PyDict_GET_SIZE(top) : PyList_GET_SIZE(top);
        r = in_object ? PyDict_Update(top, loaded)
                      : PyList_SetSlice(top, PY_SSIZE_T_MAX, PY_SSIZE_T_MAX, loaded);
        if (r == 0)
            r = emit_members(events, prefix, loaded, base);
    }
    Py_XDECREF(loaded);
    Py_DECREF(prefix);
    return r;
}

/* _bulk_document(): load a whole top-level value at ``pos`` in one call if it is all
 * here.  Returns the index after it, ``pos`` when nothing loaded, -1 on error. */
static Py_ssize_t
bulk_document(Core *self, Text *t, Py_ssize_t pos, PyObject *events)
{
    int kind = t->kind;
    const void *data = t->data;
    Py_ssize_t n = t->n;
    Py_UCS4 c = PyUnicode_READ(kind, data, pos);
    if (c != '{' && c != '[')
        return pos;
    Py_ssize_t limit = bulk_limit(self, t, pos);
    if (limit == pos)
        return pos;
    if (!self->multiple_values && limit == n) { /* the rest of the text as the value */
        Py_ssize_t e = n;
        while (e > pos) {
            Py_UCS4 k = PyUnicode_READ(kind, data, e - 1);
            if (k != ' ' && k != '\t' && k != '\n' && k != '\r')
                break;
            e--;
        }
        Py_UCS4 last = e > 0 ? PyUnicode_READ(kind, data, e - 1) : 0;
        if (last == ']' || last == '}') {
            PyObject *value = strict_slice(self, t, pos, n, 0, self->max_depth);
            if (value != NULL) {
                int r = whole_document(self, value, events);
                Py_DECREF(value);
                return r < 0 ? -1 : n;
            }
            if (PyErr_Occurred())
                return -1;
        }
    }
    Py_ssize_t end = SCAN_DISPATCH(kind, value_end_ucs1(data, pos, limit, self->max_depth),
                                   value_end_ucs2(data, pos, limit, self->max_depth),
                                   value_end_ucs4(data, pos, limit, self->max_depth));
    if (end < 0)
        return learn_spine(self, t, pos, self->max_depth) < 0 ? -1 : pos;
    PyObject *value = strict_slice(self, t, pos, end, 0, self->max_depth);
    if (value == NULL) {
        if (PyErr_Occurred())
            return -1;
        self->bulk_block = end;
        return pos;
    }
    int r = whole_document(self, value, events);
    Py_DECREF(value);
    return r < 0 ? -1 : end;
}

/* str.rfind(sep, s, e) on the text's code units (-1: not there). */
static Py_ssize_t
text_rfind(Text *t, PyObject *sep, Py_ssize_t s, Py_ssize_t e)
{
    Py_ssize_t m = PyUnicode_GET_LENGTH(sep);
    int kind = PyUnicode_KIND(sep);
    const void *d = PyUnicode_DATA(sep);
    if (m == 0)
        return e >= s ? e : -1;
    for (Py_ssize_t i = e - m; i >= s; i--) {
        Py_ssize_t j = 0;
        while (j < m && PyUnicode_READ(t->kind, t->data, i + j) == PyUnicode_READ(kind, d, j))
            j++;
        if (j == m)
            return i;
    }
    return -1;
}

/* _bulk_members(): load the run of whole members at ``pos`` of the open container in one
 * call.  Returns the index after it, ``pos`` when nothing loaded, -1 on error. */
static Py_ssize_t
bulk_members(Core *self, Text *t, Py_ssize_t pos, int in_object, PyObject *events)
{
    Py_ssize_t limit = bulk_limit(self, t, pos);
    if (limit == pos) /* the member here does not end in this text */
        return pos;
    PyObject *top = top_of(self);
    Py_ssize_t depth_left = self->max_depth - PyList_GET_SIZE(self->stack) + 1;
    if (self->prov && drop_provisional(self) < 0)
        return -1;
    if (!in_object && self->sep_owner == top && PyUnicode_GET_LENGTH(self->sep)) {
        /* Items of one array tend to be separated alike ("}, {" ...): guess the last
         * boundary from the separator seen last time.  Only a strict parse of the whole
         * slice accepts the guess, which proves it is a boundary at this depth. */
        Py_ssize_t hit = text_rfind(t, self->sep, pos, limit);
        for (int attempt = 0; attempt < 2; attempt++) {
            Py_ssize_t comma = hit + 1;
            if (comma <= pos)
                break;
            PyObject *loaded = strict_slice(self, t, pos, comma, '[', depth_left);
            if (loaded == NULL) {
                if (PyErr_Occurred())
                    return -1;
                hit = text_rfind(t, self->sep, pos, hit);
                continue;
            }
            int r = add_members(self, top, loaded, 0, events);
            Py_DECREF(loaded);
            if (r < 0)
                return -1;
            self->state = ST_VALUE;
            return comma + 1;
        }
    }
    int closed = 0;
    Py_ssize_t open_at = -1;
    const void *d = t->data;
    Py_ssize_t cap = depth_left - 1;
    Py_ssize_t end = SCAN_DISPATCH(t->kind, members_ucs1(d, pos, in_object, limit, cap, &closed, &open_at),
                                   members_ucs2(d, pos, in_object, limit, cap, &closed, &open_at),
                                   members_ucs4(d, pos, in_object, limit, cap, &closed, &open_at));
    if (open_at >= 0 && learn_spine(self, t, open_at, cap) < 0)
        return -1;
    if (end < 0)
        return pos;
    PyObject *loaded = strict_slice(self, t, pos, end, in_object ? '{' : '[', depth_left);
    if (loaded == NULL) {
        if (PyErr_Occurred())
            return -1;
        self->bulk_block = end;
        return pos;
    }
    int r = add_members(self, top, loaded, in_object, events);
    Py_DECREF(loaded);
    if (r < 0)
        return -1;
    if (closed) {
        if (close_container(self, events) < 0)
            return -1;
    }
    else {
        self->state = in_object ? ST_KEY : ST_VALUE;
        if (!in_object && pos < end && end + 5 <= t->n) {
            if (set_obj(&self->sep, text_sub(t, end - 1, end + 5)) < 0)
                return -1;
            Py_INCREF(top);
            set_obj(&self->sep_owner, top);
        }
    }
    return end + 1;
}

/* _bulk_step(): what the token loop does where it stopped with bulk_stop: load a run of
 * whole values if one is there.  Returns the index after it, ``pos`` when nothing loaded
 * (the token path goes on), -1 on error.  The token loop checks the size of a document
 * this ended (doc_ended) where it goes on. */
static Py_ssize_t
c_bulk_step(Core *self, Text *t, Py_ssize_t pos, PyObject *events)
{
    if (PyList_GET_SIZE(self->stack) == 0)
        return bulk_document(self, t, pos, events);
    return bulk_members(self, t, pos, PyDict_CheckExact(top_of(self)), events);
}
