/* Stage: snapshot() (the live value, the open string grown in place).
 * Part of the unity build of _speedups.c (included once, in order). */

/* _join_pieces(): the open string's pieces become one string, so snapshots after every
 * chunk cost O(length) in all.
 *
 * The string shown is made with room to grow (twice its length), and the parser keeps
 * it (``shown``).  Later text is written into it in place, as PyUnicode_Append grows a
 * string only its caller holds, when nobody else can see it change: its only
 * references are the parser's two (``shown`` and the first piece) and the slot where
 * snapshot() put it, it is not interned, has no UTF-8 or wchar_t copy to go stale, and
 * the new characters fit its kind (a hash computed meanwhile is reset).  Else a new string is
 * made (the old one, if anyone holds it, stays as it was).  Returns 1 when the string
 * grew in place and is already at the current slot, 0 when snapshot() must put it
 * there, -1 on error. */
#if defined(Py_GIL_DISABLED)
#define GROW_IN_PLACE 0 /* (reference counts are not exact there) */
#else
#define GROW_IN_PLACE 1
#endif

/* A dict's version (PEP 509: a new, globally unique value at every change); where the
 * build has none, snapshot() looks the slot up. */
#define HAVE_DICT_VERSION (PY_VERSION_HEX < 0x030E0000)
static inline unsigned long long
dict_version(PyObject *d)
{
#if PY_VERSION_HEX < 0x030E0000
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#endif
    return (unsigned long long)((PyDictObject *)d)->ma_version_tag;
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
#else
    (void)d;
    return 0;
#endif
}

static int
may_grow(Core *self, PyObject *s, Py_UCS4 maxc, int *at_slot)
{
    *at_slot = 0;
    if (!GROW_IN_PLACE || s != self->shown || PyUnicode_CHECK_INTERNED(s) ||
        maxc > PyUnicode_MAX_CHAR_VALUE(s))
        return 0;
    if (!PyUnicode_IS_ASCII(s) && ((PyCompactUnicodeObject *)s)->utf8 != NULL)
        return 0;
#if PY_VERSION_HEX < 0x030C0000
    if (((PyASCIIObject *)s)->wstr != NULL)
        return 0;
#endif
    Py_ssize_t refs = 2; /* the first piece and ``shown`` */
    if (PyList_GET_SIZE(self->stack)) {
        PyObject *top = top_of(self);
        if (PyDict_CheckExact(top)) {
            if (HAVE_DICT_VERSION && top == self->shown_in &&
                dict_version(top) == self->shown_version)
                *at_slot = 1; /* (the dict has not changed since snapshot() put it there) */
            else {
                PyObject *v = PyDict_GetItemWithError(top, self->key);
                if (v == NULL && PyErr_Occurred())
                    return -1;
                *at_slot = v == s;
            }
        }
        else
            *at_slot = PyList_GET_SIZE(top) && PyList_GET_ITEM(top, PyList_GET_SIZE(top) - 1) == s;
        refs += *at_slot;
    }
    return Py_REFCNT(s) == refs;
}

/* The length and the largest character of pieces[from:]. */
static void
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

/* Write pieces[from:] into ``s`` after its text, which then ends there. */
static void
pieces_write(PyObject *s, PyObject *pieces, Py_ssize_t from)
{
    int kind = PyUnicode_KIND(s);
    char *data = (char *)PyUnicode_DATA(s);
    Py_ssize_t at = PyUnicode_GET_LENGTH(s);
    for (Py_ssize_t i = from; i < PyList_GET_SIZE(pieces); i++) {
        PyObject *p = PyList_GET_ITEM(pieces, i);
        Py_ssize_t plen = PyUnicode_GET_LENGTH(p);
        copy_units(data, kind, at, PyUnicode_DATA(p), PyUnicode_KIND(p), plen);
        at += plen;
    }
    PyUnicode_WRITE(kind, data, at, 0);
    ((PyASCIIObject *)s)->length = at;
    ((PyASCIIObject *)s)->hash = -1;
}

static int
join_pieces(Core *self)
{
    PyObject *pieces = self->pieces;
    Py_ssize_t np = PyList_GET_SIZE(pieces);
    if (np == 0)
        return PyList_Append(pieces, S_EMPTY);
    PyObject *acc = PyList_GET_ITEM(pieces, 0);
    Py_ssize_t have = PyUnicode_GET_LENGTH(acc), more = 0;
    Py_UCS4 maxc = 0;
    pieces_measure(pieces, 1, &more, &maxc);
    int at_slot = 0, grow = 0;
    if (acc == self->shown && have + more <= self->shown_cap &&
        (grow = may_grow(self, acc, maxc, &at_slot)) < 0)
        return -1;
    if (grow) {
        pieces_write(acc, pieces, 1);
        Py_INCREF(acc);
        pieces_reset(pieces, acc);
        return at_slot;
    }
    Py_UCS4 m = PyUnicode_MAX_CHAR_VALUE(acc);
    /* (room for twice the text, and at first for as much as fits in 512 bytes, so that a
     * short string grows in place to its end and stays in CPython's small-object
     * allocator, which takes objects up to 512 bytes) */
    Py_UCS4 top = m > maxc ? m : maxc;
    int size = top > 0xffff ? 4 : top > 0xff ? 2 : 1;
    Py_ssize_t head = top < 0x80 ? sizeof(PyASCIIObject) : sizeof(PyCompactUnicodeObject);
    Py_ssize_t least = (512 - head) / size - 1; /* (one for the terminating NUL) */
    Py_ssize_t cap = 2 * (have + more) < least ? least : 2 * (have + more);
    PyObject *s = PyUnicode_New(cap, top);
    if (s == NULL)
        return -1;
    ((PyASCIIObject *)s)->length = 0;
    pieces_write(s, pieces, 0);
    Py_INCREF(s);
    Py_XSETREF(self->shown, s);
    self->shown_cap = cap;
    if (pieces_reset(pieces, s) < 0)
        return -1;
    return 0;
}

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

static PyObject *
core_snapshot(Core *self, PyObject *Py_UNUSED(ignored))
{
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
        self->shown_in = top;
        self->shown_version = dict_version(top);
    }
    else {
        if (placed)
            ;
        else if (self->prov)
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
