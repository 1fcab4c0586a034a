/* Stage: the open string as snapshot() shows it, grown in place (join_pieces, and the
 * hot path of feed() writing a string's next text straight into it: shown_grow).
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
        text_end(acc, pieces_write(acc, pieces, 1, have));
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
    text_end(s, pieces_write(s, pieces, 0, 0));
    Py_INCREF(s);
    Py_XSETREF(self->shown, s);
    self->shown_at = NULL; /* (not at its slot yet) */
    self->shown_cap = cap;
    if (pieces_reset(pieces, s) < 0)
        return -1;
    return 0;
}

/* ``s`` is at the current slot now (snapshot() put it there, or shown_grow() found it
 * there): what shown_placed() looks at later. */
static inline void
shown_noted(Core *self, PyObject *s)
{
    PyObject *top = top_of(self);
    self->shown_at = s;
    if (PyDict_CheckExact(top)) {
        self->shown_in = top;
        self->shown_version = dict_version(top);
    }
}

/* Is the shown string ``s`` still at the current slot, as snapshot() or shown_grow() left
 * it, by a look that costs nothing (0: not known; snapshot() then puts it there)? */
static inline int
shown_placed(Core *self, PyObject *s)
{
    if (s != self->shown || s != self->shown_at || PyList_GET_SIZE(self->stack) == 0)
        return 0;
    PyObject *top = top_of(self);
    if (PyDict_CheckExact(top))
        return HAVE_DICT_VERSION && top == self->shown_in &&
               dict_version(top) == self->shown_version;
    return self->prov && PyList_GET_SIZE(top) && PyList_GET_ITEM(top, PyList_GET_SIZE(top) - 1) == s;
}

/* feed()'s hot path: the chunk, all string text of the open string value, written straight
 * into the shown string when the pieces are just that string and it may grow in place
 * (may_grow) with room for it.  1 when it did (the pieces are unchanged), 0 when the
 * chunk must become a piece, -1 on error. */
static int
shown_grow(Core *self, Text *chunk)
{
    PyObject *s = self->shown;
    if (s == NULL || PyList_GET_SIZE(self->pieces) != 1 || PyList_GET_ITEM(self->pieces, 0) != s ||
        PyUnicode_GET_LENGTH(s) + chunk->n > self->shown_cap)
        return 0;
    Py_UCS4 maxc = chunk->ascii ? 0x7f : text_max_char(chunk, 0, chunk->n);
    int at_slot, grow = may_grow(self, s, maxc, &at_slot);
    if (grow <= 0)
        return grow;
    int kind = PyUnicode_KIND(s);
    char *data = (char *)PyUnicode_DATA(s);
    Py_ssize_t at = PyUnicode_GET_LENGTH(s);
    copy_units(data, kind, at, chunk->data, chunk->kind, chunk->n);
    text_end(s, at + chunk->n);
    if (at_slot) /* (found there: by the version, or a look) */
        shown_noted(self, s);
    return 1;
}
