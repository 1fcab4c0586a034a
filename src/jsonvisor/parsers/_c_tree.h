/* Stage: the value under construction (the stack of open containers, inserting values,
 * opening and closing containers, strings and keys starting).
 * Part of the unity build of _speedups.c (included once, in order). */

static inline PyObject *
top_of(Core *self)
{
    return PyList_GET_ITEM(self->stack, PyList_GET_SIZE(self->stack) - 1);
}

static inline PyObject *
top_prefix(Core *self)
{
    return PyList_GET_ITEM(self->prefixes, PyList_GET_SIZE(self->prefixes) - 1);
}

/* The slot the next value goes to, in the (non-empty) stack's top: the container's path
 * (borrowed) and the key (borrowed), or with ``*key`` NULL the index. */
static PyObject *
current_slot(Core *self, PyObject **key, Py_ssize_t *index)
{
    PyObject *top = top_of(self);
    *key = NULL;
    *index = -1;
    if (PyDict_CheckExact(top))
        *key = self->key;
    else
        *index = self->prov ? PyList_GET_SIZE(top) - 1 : PyList_GET_SIZE(top);
    return top_prefix(self);
}

/* _child_path(): the path of the value that comes next. */
static PyObject *
child_path(Core *self)
{
    if (PyList_GET_SIZE(self->stack) == 0) {
        Py_INCREF(EMPTY_TUPLE);
        return EMPTY_TUPLE;
    }
    PyObject *key;
    Py_ssize_t index;
    PyObject *prefix = current_slot(self, &key, &index);
    return path_of(prefix, key, index);
}

/* Store ``value`` at the current slot of the (non-empty) stack's top: _insert(). */
static int
insert(Core *self, PyObject *value)
{
    PyObject *top = top_of(self);
    int r;
    if (PyDict_CheckExact(top))
        r = PyDict_SetItem(top, self->key, value);
    else if (self->prov)
        r = PyList_SetItem(top, PyList_GET_SIZE(top) - 1, (Py_INCREF(value), value));
    else
        r = PyList_Append(top, value);
    self->prov = 0;
    return r;
}

/* _put() with a non-empty stack (and no schema). Steals nothing. */
/* With a schema, the C half decides alone where CompiledSchema._quick (see _remember)
 * has the answer for a path, and calls back into Python otherwise. */

/* The key of ``path`` in the schema's tables: array indices as None.  New reference. */
static PyObject *
quick_key(PyObject *path)
{
    Py_ssize_t n = PyTuple_GET_SIZE(path), i;
    for (i = 0; i < n && !PyLong_CheckExact(PyTuple_GET_ITEM(path, i)); i++)
        ;
    if (i == n) {
        Py_INCREF(path);
        return path;
    }
    PyObject *key = PyTuple_New(n);
    if (key == NULL)
        return NULL;
    for (i = 0; i < n; i++) {
        PyObject *part = PyTuple_GET_ITEM(path, i);
        if (PyLong_CheckExact(part))
            part = Py_None;
        Py_INCREF(part);
        PyTuple_SET_ITEM(key, i, part);
    }
    return key;
}

/* Do paths ``a`` (or NULL) and ``b`` have one key in the schema's tables: as long, the
 * same keys, and indices where the other has indices (the members of one array)? */
static int
same_shape(PyObject *a, PyObject *b)
{
    if (a == b)
        return 1;
    if (a == NULL || !PyTuple_CheckExact(a) || PyTuple_GET_SIZE(a) != PyTuple_GET_SIZE(b))
        return 0;
    for (Py_ssize_t i = PyTuple_GET_SIZE(a) - 1; i >= 0; i--) { /* (last parts differ most) */
        PyObject *x = PyTuple_GET_ITEM(a, i), *y = PyTuple_GET_ITEM(b, i);
        if (x == y || (PyLong_CheckExact(x) && PyLong_CheckExact(y)))
            continue;
        if (!PyUnicode_CheckExact(x) || !PyUnicode_CheckExact(y) || PyUnicode_Compare(x, y) != 0)
            return 0;
    }
    return 1;
}

/* ``path`` in table ``which`` (0 types, 1 keys, 2 containers, 3 children by the parent's
 * path): a borrowed reference, or NULL when it is absent (no error set) or on an error
 * (set).  The answer last found in each table is kept with its path, one for each
 * length of path modulo QWAYS: the members of an array ask for one key in turn, and a
 * document's few shapes (the top level, an item, its list of tags) take turns. */
static PyObject *
quick_lookup(Core *self, int which, PyObject *path)
{
    if (!PyTuple_CheckExact(self->quick) || PyTuple_GET_SIZE(self->quick) != 4)
        return NULL;
    int w = (int)(PyTuple_GET_SIZE(path) % QWAYS);
    if (self->qfor == self->quick && same_shape(self->qpath[which][w], path))
        return self->qval[which][w];
    PyObject *table = PyTuple_GET_ITEM(self->quick, which);
    if (!PyDict_CheckExact(table))
        return NULL;
    PyObject *key = quick_key(path);
    if (key == NULL)
        return NULL;
    PyObject *r = PyDict_GetItemWithError(table, key);
    Py_DECREF(key);
    if (r != NULL) { /* (not kept when absent: the table may gain it) */
        if (self->qfor != self->quick) { /* (other tables: what was kept is of no use) */
            for (int i = 0; i < 4 * QWAYS; i++) {
                Py_CLEAR(self->qpath[i / QWAYS][i % QWAYS]);
                Py_CLEAR(self->qval[i / QWAYS][i % QWAYS]);
            }
            Py_INCREF(self->quick);
            Py_XSETREF(self->qfor, self->quick);
        }
        Py_INCREF(path);
        Py_XSETREF(self->qpath[which][w], path);
        Py_INCREF(r);
        Py_XSETREF(self->qval[which][w], r);
    }
    return r;
}

/* The classes a completed value at prefix + (part,) may have to pass the schema's check
 * unchanged (None: any): a borrowed reference, or NULL when the tables do not say (no
 * error) or on an error (set).  The children table of the innermost container is kept
 * between calls (quick_lookup), so a value costs one lookup of its last part. */
static PyObject *
quick_child_types(Core *self, PyObject *prefix, PyObject *part)
{
    PyObject *children = quick_lookup(self, 3, prefix);
    if (children == NULL || !PyDict_CheckExact(children))
        return NULL;
    return PyDict_GetItemWithError(children, PyLong_CheckExact(part) ? Py_None : part);
}

/* A schema's pre-filled object from its form (schema._object_form): the template of its
 * declared keys copied, then each nested part made fresh (a new reference, or NULL). */
static PyObject *
skeleton_of(PyObject *form)
{
    if (!PyTuple_CheckExact(form) || PyTuple_GET_SIZE(form) != 2 ||
        !PyDict_CheckExact(PyTuple_GET_ITEM(form, 0)) || !PyTuple_CheckExact(PyTuple_GET_ITEM(form, 1))) {
        PyErr_SetString(PyExc_TypeError, "a schema's object form must be (dict, tuple)");
        return NULL;
    }
    PyObject *d = PyDict_Copy(PyTuple_GET_ITEM(form, 0));
    PyObject *subs = PyTuple_GET_ITEM(form, 1);
    for (Py_ssize_t i = 0; d != NULL && i < PyTuple_GET_SIZE(subs); i++) {
        PyObject *sub = PyTuple_GET_ITEM(subs, i), *how, *v;
        if (!PyTuple_CheckExact(sub) || PyTuple_GET_SIZE(sub) != 2) {
            PyErr_SetString(PyExc_TypeError, "a schema's nested part must be (name, how)");
            Py_CLEAR(d);
            break;
        }
        how = PyTuple_GET_ITEM(sub, 1);
        v = how == (PyObject *)&PyList_Type   ? PyList_New(0)
            : how == (PyObject *)&PyDict_Type ? PyDict_New()
            : PyTuple_CheckExact(how)         ? skeleton_of(how)
                                              : PyObject_CallNoArgs(how);
        if (v == NULL || PyDict_SetItem(d, PyTuple_GET_ITEM(sub, 0), v) < 0)
            Py_CLEAR(d);
        Py_XDECREF(v);
    }
    return d;
}

/* A fresh container for a value starting at ``path`` (CompiledSchema.container()). */
static PyObject *
new_container(Core *self, PyObject *path, int is_object)
{
    if (self->schema == Py_None || !is_object) {
        if (!is_object)
            return PyList_New(0); /* (a schema's arrays start empty) */
        /* Room for as many members as the last object closed at this depth had: the
         * objects of an array are usually alike, and the dict then never grows. */
        Py_ssize_t depth = PyList_GET_SIZE(self->stack);
        int size = depth < SIZES_KEPT ? self->sizes[depth] : 0;
        return size > 5 ? _PyDict_NewPresized(size) : PyDict_New();
    }
    PyObject *form = quick_lookup(self, 2, path);
    if (form == Py_None)
        return PyDict_New();
    if (form != NULL)
        return skeleton_of(form);
    if (PyErr_Occurred())
        return NULL;
    /* pre-filled with the schema's shape */
    return PyObject_CallMethodObjArgs(self->schema, S_CONTAINER, path, S_OBJECT, NULL);
}

/* Do the tables say that ``value`` passes unchanged, given ``classes`` (quick tables'
 * types entry, NULL when absent)?  1 yes, 0 ask the tracker, -1 error. */
static inline int
passes(PyObject *classes, PyObject *value)
{
    if (classes == NULL)
        return PyErr_Occurred() ? -1 : 0;
    return classes == Py_None        ? 1
           : PyAnySet_Check(classes) ? PySet_Contains(classes, (PyObject *)Py_TYPE(value))
                                     : 0;
}

/* With a schema, a completed value is checked (and coerced) by the schema's tracker
 * (SchemaTracker.check(path, value, False)) where the tables do not say.  Returns a new
 * reference, or NULL. */
static PyObject *
schema_checked(Core *self, PyObject *path, PyObject *value)
{
    if (self->schema == Py_None) {
        Py_INCREF(value);
        return value;
    }
    Py_ssize_t depth = PyTuple_GET_SIZE(path);
    PyObject *classes = NULL;
    if (depth && PyList_GET_SIZE(self->prefixes) &&
        PyTuple_GET_SIZE(top_prefix(self)) == depth - 1) /* a member of the innermost container */
        classes = quick_child_types(self, top_prefix(self), PyTuple_GET_ITEM(path, depth - 1));
    else
        classes = quick_lookup(self, 0, path);
    int ok = passes(classes, value);
    if (ok < 0)
        return NULL;
    if (ok) {
        Py_INCREF(value);
        return value;
    }
    return PyObject_CallMethodObjArgs(self->tracker, S_CHECK, path, value, Py_False, NULL);
}

/* schema_checked() of a member of the innermost container, at ``prefix`` (its path) and
 * ``key`` (or, NULL, ``index``): its path is built only if the tracker must look. */
static PyObject *
member_checked(Core *self, PyObject *prefix, PyObject *key, Py_ssize_t index, PyObject *value)
{
    if (self->schema == Py_None) {
        Py_INCREF(value);
        return value;
    }
    int ok = passes(quick_child_types(self, prefix, key != NULL ? key : Py_None), value);
    if (ok < 0)
        return NULL;
    if (ok) {
        Py_INCREF(value);
        return value;
    }
    PyObject *path = path_of(prefix, key, index);
    if (path == NULL)
        return NULL;
    PyObject *r = PyObject_CallMethodObjArgs(self->tracker, S_CHECK, path, value, Py_False, NULL);
    Py_DECREF(path);
    return r;
}

static int document_done(Core *self, PyObject *value, PyObject *events);

/* _put(): a value is complete at the current slot of the stack's top, or it is the
 * top-level value (which ends the document).
 * ``path``: the slot's path when the caller has it (an open string's), else NULL.
 * A string that is the top-level value or one of its members and was not announced yet
 * is announced here (the events contract: each such value that can grow starts and
 * completes exactly once). */
static int
put_at(Core *self, PyObject *path, PyObject *value, PyObject *events)
{
    if (PyList_GET_SIZE(self->stack) == 0) {
        if (PyUnicode_CheckExact(value) && !(path != NULL && self->announced) &&
            emit(events, EV_STARTED, EMPTY_TUPLE, S_STRING) < 0)
            return -1;
        PyObject *checked = schema_checked(self, EMPTY_TUPLE, value);
        if (checked == NULL)
            return -1;
        int r = document_done(self, checked, events);
        Py_DECREF(checked);
        return r;
    }
    int announce = PyUnicode_CheckExact(value) && PyList_GET_SIZE(self->stack) == 1 &&
                   !(path != NULL && self->announced);
    /* Unless the caller has it, the slot's path is left pending in its events (built if
     * read): the prefix and the key, or the index. */
    PyObject *key;
    Py_ssize_t index;
    PyObject *first = current_slot(self, &key, &index);
    Py_XINCREF(path);
    if (path != NULL) { /* the whole path */
        first = path;
        key = NULL;
        index = -1;
    }
    PyObject *e;
    if (announce) {
        if ((e = new_event(0, first, key, index, S_STRING)) == NULL ||
            list_append(events, e) < 0) {
            Py_XDECREF(e);
            Py_XDECREF(path);
            return -1;
        }
        Py_DECREF(e);
    }
    value = path != NULL ? schema_checked(self, path, value)
                         : member_checked(self, first, key, index, value);
    if (value == NULL) {
        Py_XDECREF(path);
        return -1;
    }
    /* (the event holds its own references to the prefix and the key) */
    e = new_event(2, first, key, index, value);
    Py_XDECREF(path);
    int r = -1;
    if (e != NULL) {
        r = insert(self, value);
        if (r == 0)
            r = list_append(events, e);
        Py_DECREF(e);
    }
    self->prov = 0;
    Py_DECREF(value);
    self->state = ST_COMMA_OR_CLOSE;
    return r;
}

static inline int
put(Core *self, PyObject *value, PyObject *events)
{
    return put_at(self, NULL, value, events);
}

/* _document_done(): the top-level value is complete.  With multiple values, doc_ended
 * asks the token loop to check the document's size (_check_doc_size).  In extraction
 * mode the fence finder then looks for the next value, or notes where this one was found. */
static int
document_done(Core *self, PyObject *value, PyObject *events)
{
    Py_INCREF(value);
    set_obj(&self->root, value);
    if (emit(events, EV_COMPLETED, EMPTY_TUPLE, value) < 0)
        return -1;
    PyObject *index = PyLong_FromSsize_t(self->documents);
    if (index == NULL)
        return -1;
    int r = emit(events, EV_DOCUMENT, index, value);
    Py_DECREF(index);
    if (r < 0)
        return -1;
    self->documents++;
    PyObject *ok = PyObject_CallMethodOneArg(self->done, S_APPEND, value);
    if (ok == NULL)
        return -1;
    Py_DECREF(ok);
    Py_INCREF(value);
    set_obj(&self->last_document, value);
    if (self->multiple_values) { /* the next document may start */
        self->state = ST_VALUE;
        Py_INCREF(Py_None);
        set_obj(&self->root, Py_None);
        self->doc_open = 0;
        self->doc_ended = 1;
        if (self->extract && self->x != Py_None) {
            self->seeking = 1;
            x_reset((XObj *)self->x);
        }
    }
    else {
        self->state = ST_END;
        if (self->x != Py_None)
            ((XObj *)self->x)->prose_doc = !((XObj *)self->x)->fenced;
    }
    return 0;
}

/* _close(): the innermost container closes (the top-level one ends the document). */
static int
close_container(Core *self, PyObject *events)
{
    Py_ssize_t n = PyList_GET_SIZE(self->stack);
    PyObject *container = PyList_GET_ITEM(self->stack, n - 1);
    PyObject *path = PyList_GET_ITEM(self->prefixes, n - 1);
    /* popped: the references the lists held are ours now */
    Py_SET_SIZE(self->stack, n - 1);
    Py_SET_SIZE(self->prefixes, n - 1);
    if (n - 1 < SIZES_KEPT && PyDict_CheckExact(container)) /* (for new_container) */
        self->sizes[n - 1] =
            (unsigned char)(PyDict_GET_SIZE(container) < 255 ? PyDict_GET_SIZE(container) : 255);
    self->state = ST_COMMA_OR_CLOSE;
    int r = -1;
    PyObject *checked = schema_checked(self, path, container);
    if (checked != NULL)
        r = n == 1 ? document_done(self, checked, events)
                   : emit(events, EV_COMPLETED, path, checked);
    Py_XDECREF(checked);
    Py_DECREF(container);
    Py_DECREF(path);
    return r;
}

/* The top-level container opens (_value() with an empty stack). */
static int
open_root(Core *self, int is_object, PyObject *events)
{
    PyObject *kind = is_object ? S_OBJECT : S_ARRAY;
    PyObject *container = new_container(self, EMPTY_TUPLE, is_object);
    if (container == NULL)
        return -1;
    Py_INCREF(container);
    set_obj(&self->root, container);
    int r = (list_append(self->stack, container) < 0 ||
             list_append(self->prefixes, EMPTY_TUPLE) < 0) ? -1 : 0;
    Py_DECREF(container);
    if (r < 0)
        return -1;
    self->state = is_object ? ST_KEY_OR_CLOSE : ST_VALUE_OR_CLOSE;
    return emit(events, EV_STARTED, EMPTY_TUPLE, kind);
}

static int
open_container(Core *self, int is_object, PyObject *events)
{
    PyObject *path = child_path(self);
    if (path == NULL)
        return -1;
    PyObject *container = new_container(self, path, is_object);
    int r = -1;
    if (container == NULL)
        goto done;
    if (insert(self, container) < 0 || list_append(self->stack, container) < 0 ||
        list_append(self->prefixes, path) < 0)
        goto done;
    self->state = is_object ? ST_KEY_OR_CLOSE : ST_VALUE_OR_CLOSE;
    r = emit(events, EV_STARTED, path, is_object ? S_OBJECT : S_ARRAY);
done:
    Py_XDECREF(container);
    Py_DECREF(path);
    return r;
}

/* _drop_provisional(): take back what snapshot() put at the current slot. */
static int
drop_provisional(Core *self)
{
    int r = 0;
    if (self->prov && PyList_GET_SIZE(self->stack)) {
        PyObject *top = top_of(self);
        if (PyDict_CheckExact(top)) {
            r = PyDict_DelItem(top, self->key);
            if (r < 0 && PyErr_ExceptionMatches(PyExc_KeyError)) {
                PyErr_Clear();
                r = 0;
            }
        }
        else if (PyList_GET_SIZE(top))
            r = PyList_SetSlice(top, PyList_GET_SIZE(top) - 1, PyList_GET_SIZE(top), NULL);
    }
    self->prov = 0;
    return r;
}

/* The open string's pieces (a list only the parser holds) emptied in place, keeping its
 * storage; then ``first`` (a new reference, or NULL) becomes its only piece. */
static int
pieces_reset(PyObject *pieces, PyObject *first)
{
    PyListObject *l = (PyListObject *)pieces;
    Py_ssize_t n = Py_SIZE(l);
    if (first != NULL && n == 0) {
        int r = PyList_Append(pieces, first);
        Py_DECREF(first);
        return r;
    }
    PyObject *old0 = n ? l->ob_item[0] : NULL;
    if (first != NULL) {
        l->ob_item[0] = first;
        Py_SET_SIZE(l, 1);
    }
    else
        Py_SET_SIZE(l, 0);
    /* (the list is consistent before any decref runs arbitrary code) */
    for (Py_ssize_t i = 1; i < n; i++)
        Py_DECREF(l->ob_item[i]);
    Py_XDECREF(old0);
    return 0;
}

/* Copy ``len`` code units of kind ``ik`` to ``out`` (of kind ``ok``) from index ``at``
 * on.  A slice of a text may be of a wider kind than its characters need: then it
 * narrows. */
static inline void
copy_units(char *out, int ok, Py_ssize_t at, const void *in, int ik, Py_ssize_t len)
{
    if (ik == ok)
        memcpy(out + at * ok, in, (size_t)(len * ok));
    else if (ik > ok)
        for (Py_ssize_t j = 0; j < len; j++)
            PyUnicode_WRITE(ok, out, at + j, PyUnicode_READ(ik, in, j));
    else if (ok == PyUnicode_2BYTE_KIND) /* (then ik is 1) */
        for (Py_ssize_t j = 0; j < len; j++)
            ((Py_UCS2 *)out)[at + j] = ((const Py_UCS1 *)in)[j];
    else if (ik == PyUnicode_1BYTE_KIND)
        for (Py_ssize_t j = 0; j < len; j++)
            ((Py_UCS4 *)out)[at + j] = ((const Py_UCS1 *)in)[j];
    else
        for (Py_ssize_t j = 0; j < len; j++)
            ((Py_UCS4 *)out)[at + j] = ((const Py_UCS2 *)in)[j];
}

/* The length and the largest character of pieces[from:], added to *len and *maxc. */
static inline void
pieces_measure(PyObject *pieces, Py_ssize_t from, Py_ssize_t *len, Py_UCS4 *maxc)
{
    for (Py_ssize_t i = from; i < PyList_GET_SIZE(pieces); i++) {
        PyObject *p = PyList_GET_ITEM(pieces, i);
        Py_UCS4 m = PyUnicode_MAX_CHAR_VALUE(p);
        *len += PyUnicode_GET_LENGTH(p);
        if (m > *maxc)
            *maxc = m;
    }
}

/* Write pieces[from:] into ``s`` (with room for them) from its index ``at`` on; returns
 * where they end. */
static inline Py_ssize_t
pieces_write(PyObject *s, PyObject *pieces, Py_ssize_t from, Py_ssize_t at)
{
    int kind = PyUnicode_KIND(s);
    char *data = (char *)PyUnicode_DATA(s);
    for (Py_ssize_t i = from; i < PyList_GET_SIZE(pieces); i++) {
        PyObject *p = PyList_GET_ITEM(pieces, i);
        Py_ssize_t plen = PyUnicode_GET_LENGTH(p);
        copy_units(data, kind, at, PyUnicode_DATA(p), PyUnicode_KIND(p), plen);
        at += plen;
    }
    return at;
}

/* ``s`` (a string the parser made with room to spare, _c_shown.h) now ends at ``n``: its
 * terminating NUL, its length, and a hash computed before forgotten. */
static inline void
text_end(PyObject *s, Py_ssize_t n)
{
    PyUnicode_WRITE(PyUnicode_KIND(s), PyUnicode_DATA(s), n, 0);
    ((PyASCIIObject *)s)->length = n;
    ((PyASCIIObject *)s)->hash = -1;
}

/* The open string's text and then text[s:e] (``t`` NULL: none), as one str: the pieces
 * joined (one piece is itself) without making the last part a piece first.  A new
 * reference. */
static PyObject *
pieces_text_with(PyObject *pieces, Text *t, Py_ssize_t s, Py_ssize_t e)
{
    Py_ssize_t np = PyList_GET_SIZE(pieces);
    Py_ssize_t tail = t == NULL ? 0 : e - s;
    if (tail == 0 && np <= 1) {
        PyObject *one = np ? PyList_GET_ITEM(pieces, 0) : S_EMPTY;
        Py_INCREF(one);
        return one;
    }
    if (np == 0)
        return text_sub(t, s, e);
    Py_ssize_t len = tail;
    Py_UCS4 maxc = tail == 0 ? 0 : t->ascii ? 0x7f : text_max_char(t, s, e);
    pieces_measure(pieces, 0, &len, &maxc);
    PyObject *out = PyUnicode_New(len, maxc);
    if (out == NULL)
        return NULL;
    Py_ssize_t at = pieces_write(out, pieces, 0, 0);
    if (tail)
        copy_units((char *)PyUnicode_DATA(out), PyUnicode_KIND(out), at,
                   (const char *)t->data + s * t->kind, t->kind, tail);
    return out;
}

/* The open string ends, its text not wanted (string_ends() without making it). */
static void
string_drop(Core *self)
{
    Py_CLEAR(self->shown);
    self->shown_at = NULL;
    pieces_reset(self->pieces, NULL);
}

/* The open string ends: its text (its pieces and text[s:e], ``t`` NULL: none), a new
 * reference, or NULL; the pieces are emptied.  The string snapshot() grew (join_pieces)
 * has room to spare: a value keeps an exact copy. */
static PyObject *
string_ends(Core *self, Text *t, Py_ssize_t s, Py_ssize_t e)
{
    PyObject *value = pieces_text_with(self->pieces, t, s, e);
    if (value != NULL && value == self->shown) {
        Py_ssize_t n = PyUnicode_GET_LENGTH(value);
        PyObject *copy = PyUnicode_New(n, PyUnicode_MAX_CHAR_VALUE(value));
        if (copy != NULL)
            memcpy(PyUnicode_DATA(copy), PyUnicode_DATA(value),
                   (size_t)(n * PyUnicode_KIND(value)));
        Py_SETREF(value, copy);
    }
    string_drop(self);
    return value;
}

static int
start_string(Core *self, int is_key, PyObject *path) /* steals ``path`` */
{
    if (set_obj(&self->str_path, path) < 0)
        return -1;
    string_drop(self); /* (what was left of the last one) */
    Py_INCREF(S_DQUOTE); /* the C half only starts double-quoted strings */
    set_obj(&self->quote, S_DQUOTE);
    self->in_string = 1;
    self->str_is_key = (char)is_key;
    self->grew_from = 0;
    self->announced = 0;
    return 0;
}

static int
hold(Core *self, Text *t, Py_ssize_t start, Py_ssize_t end, int kind)
{
    if (set_obj(&self->held, text_sub(t, start, end)) < 0)
        return -1;
    self->held_kind = kind;
    return 0;
}

/* Does ``k`` hold the text of t[s:e] from its index ``at`` on (it is long enough)? */
static inline int
text_equals(PyObject *k, Py_ssize_t at, Text *t, Py_ssize_t s, Py_ssize_t e)
{
    int kind = PyUnicode_KIND(k);
    const void *data = PyUnicode_DATA(k);
    if (kind == t->kind)
        return memcmp((const char *)data + at * kind, (const char *)t->data + s * kind,
                      (size_t)((e - s) * kind)) == 0;
    for (Py_ssize_t i = s; i < e; i++)
        if (PyUnicode_READ(kind, data, at + i - s) != PyUnicode_READ(t->kind, t->data, i))
            return 0;
    return 1;
}

/* The slot of keys[] for a key of ``n`` characters from ``a`` to ``b``. */
static inline PyObject **
key_slot(Core *self, Py_ssize_t n, Py_UCS4 a, Py_UCS4 b)
{
    return &self->keys[((size_t)n * 31u + (size_t)a * 7u + (size_t)b) % KEYS_KEPT];
}

/* A key's text t[s:e] as a str (new reference): the very str of the last time this key
 * was met, when it is still kept (a short key, by its length and its first and last
 * characters), as json.loads keeps its keys: a repeated key costs no new string, its
 * hash is computed once, and the values share it. */
static PyObject *
key_text(Core *self, Text *t, Py_ssize_t s, Py_ssize_t e)
{
    Py_ssize_t n = e - s;
    if (n == 0 || n > KEY_KEPT_LEN)
        return text_sub(t, s, e);
    PyObject **slot = key_slot(self, n, PyUnicode_READ(t->kind, t->data, s),
                               PyUnicode_READ(t->kind, t->data, e - 1));
    PyObject *k = *slot;
    if (k != NULL && PyUnicode_GET_LENGTH(k) == n && text_equals(k, 0, t, s, e)) {
        Py_INCREF(k);
        return k;
    }
    k = text_sub(t, s, e);
    if (k != NULL) {
        Py_INCREF(k);
        Py_XSETREF(*slot, k);
    }
    return k;
}

/* ``k`` (a key) is the str key_text() gives for its text from now on, when it keeps
 * such keys. */
static void
key_keep(Core *self, PyObject *k)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(k);
    if (n == 0 || n > KEY_KEPT_LEN)
        return;
    PyObject **slot = key_slot(self, n, PyUnicode_READ_CHAR(k, 0), PyUnicode_READ_CHAR(k, n - 1));
    Py_INCREF(k);
    Py_XSETREF(*slot, k);
}

/* key_text() for a key already made (stolen; NULL passes through). */
static PyObject *
key_of(Core *self, PyObject *key)
{
    if (key == NULL || PyUnicode_GET_LENGTH(key) == 0 || PyUnicode_GET_LENGTH(key) > KEY_KEPT_LEN)
        return key;
    Text t;
    text_of_str(&t, key);
    PyObject *k = key_text(self, &t, 0, t.n);
    Py_DECREF(key);
    return k;
}

/* Does ``k`` hold the open string's pieces, then text[s:e] (as long in all)? */
static int
key_equals(PyObject *k, PyObject *pieces, Text *t, Py_ssize_t s, Py_ssize_t e)
{
    Py_ssize_t at = 0;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(pieces); i++) {
        Text pt;
        text_of_str(&pt, PyList_GET_ITEM(pieces, i));
        if (!text_equals(k, at, &pt, 0, pt.n))
            return 0;
        at += pt.n;
    }
    return text_equals(k, at, t, s, e);
}

/* The open key ends: string_ends() (its pieces, then text[s:e]), as key_text() would
 * give it, the kept str of this key when it is one (then no new string is made). */
static PyObject *
key_ends(Core *self, Text *t, Py_ssize_t s, Py_ssize_t e)
{
    PyObject *pieces = self->pieces;
    Py_ssize_t np = PyList_GET_SIZE(pieces), n = e - s;
    for (Py_ssize_t i = 0; i < np; i++)
        n += PyUnicode_GET_LENGTH(PyList_GET_ITEM(pieces, i));
    if (n == 0 || n > KEY_KEPT_LEN)
        return string_ends(self, t, s, e);
    if (np == 0) { /* all of it in this text */
        string_drop(self);
        return key_text(self, t, s, e);
    }
    PyObject *last = PyList_GET_ITEM(pieces, np - 1);
    if (PyUnicode_GET_LENGTH(PyList_GET_ITEM(pieces, 0)) == 0 || PyUnicode_GET_LENGTH(last) == 0)
        return key_of(self, string_ends(self, t, s, e)); /* (an empty piece: made, then kept) */
    Py_UCS4 a = PyUnicode_READ_CHAR(PyList_GET_ITEM(pieces, 0), 0);
    Py_UCS4 b = e > s ? PyUnicode_READ(t->kind, t->data, e - 1)
                      : PyUnicode_READ_CHAR(last, PyUnicode_GET_LENGTH(last) - 1);
    PyObject **slot = key_slot(self, n, a, b);
    PyObject *k = *slot;
    if (k != NULL && PyUnicode_GET_LENGTH(k) == n && key_equals(k, pieces, t, s, e)) {
        Py_INCREF(k);
        string_drop(self);
        return k;
    }
    k = string_ends(self, t, s, e);
    if (k != NULL) {
        Py_INCREF(k);
        Py_XSETREF(*slot, k);
    }
    return k;
}

/* A key is complete: plain keys are stored, others go through _set_key (transforms). */
static int
set_key(Core *self, PyObject *key) /* steals ``key`` */
{
    if (key == NULL)
        return -1;
    int known = self->plain_keys;
    if (!known && PyList_GET_SIZE(self->prefixes)) { /* a key the schema knows: no warning */
        PyObject *allowed = quick_lookup(self, 1, top_prefix(self));
        if (allowed == Py_None)
            known = 1;
        else if (allowed != NULL && PyDict_CheckExact(allowed)) {
            /* the schema's own str for the key, kept as the key is (key_keep), so that
             * its next lookups here and in a pre-filled object are by identity */
            PyObject *own = PyDict_GetItemWithError(allowed, key);
            known = own != NULL ? 1 : PyErr_Occurred() ? -1 : 0;
            if (own != NULL && own != key && PyUnicode_CheckExact(own)) {
                Py_INCREF(own);
                Py_SETREF(key, own);
                key_keep(self, key);
            }
        }
        if (known < 0 || (allowed == NULL && PyErr_Occurred())) {
            Py_DECREF(key);
            return -1;
        }
    }
    if (!known && PyDict_CheckExact(self->kt_cache)) { /* a key transform, no schema */
        PyObject *out = PyDict_GetItemWithError(self->kt_cache, key);
        if (out != NULL) {
            Py_INCREF(out);
            Py_SETREF(key, out);
            known = 1;
        }
        else if (PyErr_Occurred()) {
            Py_DECREF(key);
            return -1;
        }
    }
    if (known) {
        set_obj(&self->key, key);
        self->state = ST_COLON;
        return 0;
    }
    /* _set_key(): the key transform, then the schema's tracker notes the key */
    if (self->kt != Py_None) {
        Py_SETREF(key, PyObject_CallOneArg(self->kt, key));
        if (key == NULL)
            return -1;
    }
    if (self->tracker != Py_None) {
        PyObject *r = PyObject_CallMethodObjArgs(self->tracker, S_KEY, top_prefix(self), key, NULL);
        if (r == NULL) {
            Py_DECREF(key);
            return -1;
        }
        Py_DECREF(r);
    }
    set_obj(&self->key, key);
    self->state = ST_COLON;
    return 0;
}
