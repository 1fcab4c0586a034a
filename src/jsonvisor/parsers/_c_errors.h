/* Stage: errors.  Every JsonStreamError the C half raises is built here, as the Python
 * side's builders (_fail, _fail_here, _limit_exceeded, _doc_too_large, _record,
 * _describe, _number_too_long, _bad_number, the _EXPECTED texts) build it: the same
 * reason, expected, found, offset, line, column, excerpt, limit and truncated, so an
 * error is the same on both backends and for every chunking.  An error is raised where
 * the token loop meets it; the parser remembers it (_record) and raises it again for any
 * further input or finish().
 * Part of the unity build of _speedups.c (included once, in order). */

/* _EXPECTED: what the innermost context expects next, in words (by state). */
static const char *const EXPECTED[] = {
    "a value",                  /* ST_VALUE */
    "a value or ']'",           /* ST_VALUE_OR_CLOSE */
    "a string key or '}'",      /* ST_KEY_OR_CLOSE */
    "a string key",             /* ST_KEY */
    "':'",                      /* ST_COLON */
    "",                         /* ST_COMMA_OR_CLOSE (never asked: see expected_now) */
    "end of input (multiple_values=False allows one top-level value)", /* ST_END */
};

/* The number grammar as a state machine (mirrors streaming._NUMBER and _NUMBER_PREFIX):
 * 0 start, 1 '-', 2 '0', 3 int, 4 '.', 5 frac, 6 'e', 7 exponent sign, 8 exponent.
 * A token is a valid prefix while no step fails; a whole number ends in 2, 3, 5 or 8. */
static inline int
num_step(int st, Py_UCS4 c)
{
    int digit = c >= '0' && c <= '9';
    switch (st) {
    case 0:
        return c == '-' ? 1 : c == '0' ? 2 : digit ? 3 : -1;
    case 1:
        return c == '0' ? 2 : digit ? 3 : -1;
    case 2:
    case 3:
        return (digit && st == 3) ? 3 : c == '.' ? 4 : (c == 'e' || c == 'E') ? 6 : -1;
    case 4:
        return digit ? 5 : -1;
    case 5:
        return digit ? 5 : (c == 'e' || c == 'E') ? 6 : -1;
    case 6:
        return (c == '+' || c == '-') ? 7 : digit ? 8 : -1;
    default: /* 7, 8 */
        return digit ? 8 : -1;
    }
}

static inline int
num_whole(int st)
{
    return st == 2 || st == 3 || st == 5 || st == 8;
}

/* _NUMBER_PREFIX.match(text[s:e]).end(): the length of the longest valid number prefix. */
static Py_ssize_t
number_prefix_len(int kind, const void *data, Py_ssize_t s, Py_ssize_t e)
{
    int st = 0;
    Py_ssize_t i = s;
    for (; i < e; i++) {
        int next = num_step(st, PyUnicode_READ(kind, data, i));
        if (next < 0)
            break;
        st = next;
    }
    return i - s;
}

/* The exception class and its keyword names (set by setup()). */
static PyObject *ERR_CLASS, *ERR_KWNAMES;

/* JsonStreamError(reason, expected=, found=, offset=, line=, column=, excerpt=,
 * truncated=, limit=): a new reference, or NULL.  ``reason`` is stolen (NULL: an error
 * is set already); ``found`` and ``excerpt`` are borrowed (NULL: ""). */
static PyObject *
new_error(PyObject *reason, const char *expected, PyObject *found, Py_ssize_t offset,
          Py_ssize_t line, Py_ssize_t column, PyObject *excerpt, int truncated, const char *limit)
{
    if (reason == NULL)
        return NULL;
    PyObject *args[10] = {NULL};
    PyObject *err = NULL;
    args[1] = reason;
    args[2] = expected == NULL || !*expected ? (Py_INCREF(S_EMPTY), S_EMPTY)
                                             : PyUnicode_FromString(expected);
    args[3] = found == NULL ? S_EMPTY : found;
    Py_INCREF(args[3]);
    args[4] = PyLong_FromSsize_t(offset);
    args[5] = PyLong_FromSsize_t(line);
    args[6] = PyLong_FromSsize_t(column);
    args[7] = excerpt == NULL ? S_EMPTY : excerpt;
    Py_INCREF(args[7]);
    args[8] = truncated ? Py_True : Py_False;
    Py_INCREF(args[8]);
    args[9] = limit == NULL ? (Py_INCREF(Py_None), Py_None) : PyUnicode_InternFromString(limit);
    int ok = ERR_CLASS != NULL;
    for (int k = 1; k < 10; k++)
        ok = ok && args[k] != NULL;
    if (ok)
        err = PyObject_Vectorcall(ERR_CLASS, args + 1, 1 | PY_VECTORCALL_ARGUMENTS_OFFSET,
                                  ERR_KWNAMES);
    else if (ERR_CLASS == NULL && !PyErr_Occurred())
        PyErr_SetString(PyExc_RuntimeError, "setup() was not called");
    for (int k = 1; k < 10; k++)
        Py_XDECREF(args[k]);
    return err;
}

/* Raise ``err`` (stolen; NULL: an error is set already). */
static int
raise_error(PyObject *err)
{
    if (err != NULL) {
        PyErr_SetObject((PyObject *)Py_TYPE(err), err);
        Py_DECREF(err);
    }
    return -1;
}

/* _record(): the parser keeps the error (raised again for any further input) and leaves
 * the hot path.  Steals ``err`` and raises it. */
static int
record(Core *self, PyObject *err)
{
    if (err == NULL)
        return -1;
    Py_INCREF(err);
    Py_XSETREF(self->error, err);
    self->hot = 0;
    return raise_error(err);
}

/* _describe(text, i): the character at ``i`` in words. */
static PyObject *
describe(Text *t, Py_ssize_t i)
{
    if (i >= t->n)
        return PyUnicode_FromString("end of input");
    Py_UCS4 c = PyUnicode_READ(t->kind, t->data, i);
    if (Py_UNICODE_ISPRINTABLE(c) && c != ' ') {
        PyObject *s = PyUnicode_FromOrdinal((int)c);
        PyObject *r = s == NULL ? NULL : PyObject_Repr(s);
        Py_XDECREF(s);
        return r;
    }
    char buf[16];
    snprintf(buf, sizeof(buf), "U+%04X", (unsigned int)c);
    return PyUnicode_FromString(buf);
}

/* _chars_within(text[s:], nbytes): how many characters from ``s`` fit in ``nbytes`` bytes
 * of UTF-8 (surrogates count 3, like "surrogatepass"). */
static Py_ssize_t
chars_within(Text *t, Py_ssize_t s, Py_ssize_t nbytes)
{
    Py_ssize_t n = t->n - s;
    if (t->ascii)
        return nbytes < n ? nbytes : n;
    int kind = t->kind;
    const void *data = t->data;
    Py_ssize_t k = 0, used = 0;
    for (; k < n; k++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, s + k);
        used += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
        if (used > nbytes)
            break;
    }
    return k;
}

static Py_ssize_t c_fail(Core *self, Text *t, Py_ssize_t at, Py_ssize_t i, PyObject *reason,
                         const char *expected, const char *limit, int *bail);

/* _doc_too_large(text): the open (or just ended) document, begun at ``doc_start`` of the
 * text after ``used`` bytes of earlier texts, goes past max_bytes: the error is at the
 * character holding its first byte too many, whatever the chunking.  Raises; -1. */
static int
doc_too_large(Core *self, Text *t)
{
    Py_ssize_t start = self->doc_start;
    Py_ssize_t i = start + chars_within(t, start, self->max_bytes - self->used);
    c_fail(self, t, -1, i,
           PyUnicode_FromFormat("document larger than max_bytes=%zd", self->max_bytes), "",
           "max_bytes", NULL);
    return -1;
}

static int candidate_proven(Core *self);

static inline int
ascii_letter(Py_UCS4 c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* _hold_cut_token(): a number or literal the closing fence at text[i] cut short is held,
 * as the end of the input would leave it (finish() keeps or drops it, whether it came in
 * one chunk or snapshot() already showed its first part).  Once stopped, a held token is
 * not joined to later input, nor left out of the positions (feed_text). */
static int
hold_cut_token(Core *self, Text *t, Py_ssize_t i)
{
    if (self->state != ST_VALUE && self->state != ST_VALUE_OR_CLOSE)
        return 0;
    Py_ssize_t start = i;
    for (; start > 0; start--) {
        Py_UCS4 c = PyUnicode_READ(t->kind, t->data, start - 1);
        if (!(ascii_letter(c) || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'))
            break;
    }
    if (start == i)
        return 0;
    Py_UCS4 c = PyUnicode_READ(t->kind, t->data, start);
    int letter = ascii_letter(c) || (c == '-' && start + 1 < i &&
                                     ascii_letter(PyUnicode_READ(t->kind, t->data, start + 1)));
    return hold(self, t, start, i, letter ? HELD_LITERAL : HELD_NUMBER);
}

/* _fail(text, i, reason, expected, limit=): the error at text[i], raised and remembered.
 * Returns -1.  ``reason`` is stolen.
 *
 * In extraction mode (``bail`` given) an error may decide the trial instead, as
 * _extracting() does with the error _run() raised: a failure at a '`' inside an open
 * container of a fenced value (not in a string) is the fence closing around an unfinished
 * value, which ends the input (X_FENCE_END); any other failure but an exceeded limit in a
 * value on trial that has not proven to be JSON rejects it, and seeking resumes at the
 * failing character (X_REJECT, x_at).  c_fail then sets *bail and the verdict and returns
 * ``at``, where the token that met it starts (the state as it was there); the token loop
 * returns to c_extracting(), which acts on the verdict. */
static Py_ssize_t
c_fail(Core *self, Text *t, Py_ssize_t at, Py_ssize_t i, PyObject *reason, const char *expected,
       const char *limit, int *bail)
{
    if (reason == NULL)
        return -1;
    if (limit == NULL && self->multiple_values && self->doc_open &&
        self->used + (i > self->doc_start ? utf8_len(t, self->doc_start, i) : 0) > self->max_bytes) {
        Py_DECREF(reason); /* a document too long before its error */
        Py_ssize_t start = self->doc_start;
        i = start + chars_within(t, start, self->max_bytes - self->used);
        reason = PyUnicode_FromFormat("document larger than max_bytes=%zd", self->max_bytes);
        if (reason == NULL)
            return -1;
        expected = "";
        limit = "max_bytes";
    }
    if (self->extract && bail != NULL) {
        if (i < t->n && PyUnicode_READ(t->kind, t->data, i) == '`' && ((XObj *)self->x)->fenced &&
            PyList_GET_SIZE(self->stack) && !self->in_string) {
            self->x_verdict = X_FENCE_END;
            if (hold_cut_token(self, t, i) < 0) {
                Py_DECREF(reason);
                return -1;
            }
        }
        else if (limit == NULL && self->candidate != Py_None) {
            int proven = candidate_proven(self);
            if (proven < 0) {
                Py_DECREF(reason);
                return -1;
            }
            if (!proven) {
                self->x_verdict = X_REJECT;
                self->x_at = i;
            }
        }
        if (self->x_verdict) {
            Py_DECREF(reason);
            *bail = 1;
            return at;
        }
    }
    const void *data = t->data;
    int kind = t->kind;
    Py_ssize_t nl = 0, last_nl = -1;
    for (Py_ssize_t k = 0; k < i && k < t->n; k++) {
        if (PyUnicode_READ(kind, data, k) == '\n') {
            nl++;
            last_nl = k;
        }
    }
    Py_ssize_t column = nl ? i - last_nl : self->col + i + 1;
    Py_ssize_t from = i > 20 ? i - 20 : 0, to = i + 20 < t->n ? i + 20 : t->n;
    PyObject *found = describe(t, i);
    PyObject *excerpt = found == NULL ? NULL : text_sub(t, from < to ? from : to, to);
    if (excerpt == NULL) {
        Py_DECREF(reason);
        Py_XDECREF(found);
        return -1;
    }
    PyObject *err = new_error(reason, expected, found, self->consumed + utf8_len(t, 0, i),
                              self->line + nl, column, excerpt, 0, limit);
    Py_DECREF(found);
    Py_DECREF(excerpt);
    return record(self, err);
}

static inline Py_ssize_t
c_fail_s(Core *self, Text *t, Py_ssize_t at, Py_ssize_t i, const char *reason,
         const char *expected, int *bail)
{
    return c_fail(self, t, at, i, PyUnicode_FromString(reason), expected, NULL, bail);
}

/* The held token's length in UTF-8 bytes. */
static Py_ssize_t
held_bytes(Core *self)
{
    Text h;
    text_of_str(&h, self->held);
    return utf8_len(&h, 0, h.n);
}

/* _fail_here(reason, expected=, truncated=, sticky=): an error just after the input
 * consumed so far (the held token included).  A new reference (remembered unless it is
 * a truncation or not sticky), or NULL. */
static PyObject *
fail_here(Core *self, const char *reason, const char *expected, int truncated, int sticky)
{
    Py_ssize_t held_len = PyUnicode_GET_LENGTH(self->held);
    PyObject *found = truncated ? PyUnicode_FromString("end of input") : NULL;
    PyObject *excerpt = PyUnicode_Substring(self->held, held_len > 20 ? held_len - 20 : 0, held_len);
    PyObject *err = NULL;
    if (excerpt != NULL && (found != NULL || !truncated))
        err = new_error(PyUnicode_FromString(reason), expected, found,
                        self->consumed + held_bytes(self), self->line,
                        self->col + held_len + 1, excerpt, truncated, NULL);
    Py_XDECREF(found);
    Py_XDECREF(excerpt);
    if (err != NULL && !truncated && sticky) {
        Py_INCREF(err);
        Py_XSETREF(self->error, err);
        self->hot = 0;
    }
    return err;
}

/* _limit_exceeded(): the input (one document with multiple values) goes past max_bytes
 * just after what was consumed so far.  Raises; -1. */
static int
limit_exceeded(Core *self)
{
    PyObject *reason = PyUnicode_FromFormat("%s larger than max_bytes=%zd",
                                            self->multiple_values ? "document" : "input",
                                            self->max_bytes);
    return record(self, new_error(reason, "", NULL, self->consumed + held_bytes(self),
                                  self->line, self->col + PyUnicode_GET_LENGTH(self->held) + 1,
                                  NULL, 0, "max_bytes"));
}

/* _decode()'s error: the bytes bad[:len] are not UTF-8 (found: "byte ff", "bytes e2 28").
 * Raises; -1. */
static int
invalid_utf8(Core *self, const char *bad, Py_ssize_t len)
{
    char *text = PyMem_Malloc((size_t)len * 3 + 8);
    if (text == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    char *w = text + sprintf(text, "byte%s", len > 1 ? "s" : "");
    for (Py_ssize_t k = 0; k < len; k++)
        w += sprintf(w, " %02x", (unsigned int)(unsigned char)bad[k]);
    PyObject *found = PyUnicode_FromString(text);
    PyMem_Free(text);
    if (found == NULL)
        return -1;
    PyObject *err = new_error(PyUnicode_FromString("invalid UTF-8"), "UTF-8 encoded text", found,
                              self->consumed + held_bytes(self), self->line,
                              self->col + PyUnicode_GET_LENGTH(self->held) + 1, NULL, 0, NULL);
    Py_DECREF(found);
    return record(self, err);
}

/* _number_too_long(text, pos). */
static Py_ssize_t
number_too_long(Core *self, Text *t, Py_ssize_t pos, int *bail)
{
    return c_fail(self, t, pos, pos,
                  PyUnicode_FromFormat("number longer than max_number_length=%zd",
                                       self->max_number_length),
                  "", "max_number_length", bail);
}

/* _bad_number(text, pos, tok): the number token text[pos:e] is not a number. */
static Py_ssize_t
bad_number(Core *self, Text *t, Py_ssize_t pos, Py_ssize_t e, int *bail)
{
    int kind = t->kind;
    const void *data = t->data;
    Py_ssize_t good = number_prefix_len(kind, data, pos, e), at = pos + good;
    if (at == e) /* a valid start cut short: '-', '1.', '1e+' */
        return c_fail_s(self, t, pos, at, "incomplete number", "a digit", bail);
    Py_UCS4 c = PyUnicode_READ(kind, data, at);
    if (c >= '0' && c <= '9')
        return c_fail_s(self, t, pos, at, "leading zero in number",
                        "'.', 'e' or the end of the number", bail);
    Py_UCS4 before = PyUnicode_READ(kind, data, at - 1); /* (good >= 1: '-' or a digit) */
    if (before == '-' || before == '.' || before == 'e' || before == 'E' || before == '+')
        return c_fail_s(self, t, pos, at, "invalid number", "a digit", bail);
    return c_fail_s(self, t, pos, at, "invalid number", "the end of the number", bail);
}
