/* Stage: tokens (numbers, literals, strings with escapes, comments) and the token loop
 * c_run.  Part of the unity build of _speedups.c (included once, in order). */

/* Can ``c`` be part of a number token (where a number's scan stops)? */
static inline int
number_char(Py_UCS4 c)
{
    return (c >= '0' && c <= '9') || c == 'e' || c == 'E' || c == '.' || c == '+' || c == '-';
}

/* A number token's shape: 2 a whole number, 1 a valid prefix, 0 invalid.  *is_float set
 * when it has a fraction or an exponent.  (The grammar: num_step, in _c_errors.h.) */
static inline int
number_shape(int kind, const void *data, Py_ssize_t s, Py_ssize_t e, int *is_float)
{
    int st = 0;
    *is_float = 0;
    for (Py_ssize_t i = s; i < e; i++) {
        st = num_step(st, PyUnicode_READ(kind, data, i));
        if (st < 0)
            return 0;
        if (st >= 4)
            *is_float = 1;
    }
    return num_whole(st) ? 2 : 1;
}

/* float(tok) without strtod for the usual short decimals (0 when it cannot say: then
 * strtod decides).  Clinger's fast path: at most 15 significant digits w scaled by 10^k,
 * |k| <= 22, is w * 10^k or w / 10^k of two exact doubles, one correctly rounded
 * operation.  With a long double of 64 or more bits, up to 19 digits and |k| <= 27 are
 * exact in it too: one correctly rounded long double operation, then rounding to double
 * gives the correctly rounded result unless the long double lies exactly half way
 * between two doubles (then the true value might be on either side: strtod decides). */
static int
fast_double(const char *p, Py_ssize_t len, double *out)
{
    static const double P10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    const char *end = p + len;
    int neg = 0, digits = 0, scale = 0;
    unsigned long long w = 0;
    if (p < end && *p == '-') {
        neg = 1;
        p++;
    }
    for (int frac = 0;; p++) {
        if (p < end && *p == '.' && !frac) {
            frac = 1;
            continue;
        }
        if (p >= end || *p < '0' || *p > '9')
            break;
        if (w || *p != '0')
            if (++digits > 19)
                return 0;
        w = w * 10 + (unsigned)(*p - '0');
        scale -= frac;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        int eneg = 0, ev = 0;
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            eneg = *p++ == '-';
        for (; p < end && *p >= '0' && *p <= '9'; p++)
            if ((ev = ev * 10 + (*p - '0')) > 100)
                return 0;
        scale += eneg ? -ev : ev;
    }
    if (p != end)
        return 0;
    double d;
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
    if (digits <= 15 && scale >= -22 && scale <= 22) {
        d = scale < 0 ? (double)w / P10[-scale] : (double)w * P10[scale];
        *out = neg ? -d : d;
        return 1;
    }
#endif
#if defined(LDBL_MANT_DIG) && LDBL_MANT_DIG >= 64
    if (scale >= -27 && scale <= 27) {
        static const long double L10[] = { /* (exact: 5^27 < 2^64) */
            1e0L,  1e1L,  1e2L,  1e3L,  1e4L,  1e5L,  1e6L,  1e7L,  1e8L,  1e9L,
            1e10L, 1e11L, 1e12L, 1e13L, 1e14L, 1e15L, 1e16L, 1e17L, 1e18L, 1e19L,
            1e20L, 1e21L, 1e22L, 1e23L, 1e24L, 1e25L, 1e26L, 1e27L};
        long double q = L10[scale < 0 ? -scale : scale];
        long double x = scale < 0 ? (long double)w / q : (long double)w * q;
        d = (double)x;
        if (x != (long double)d) { /* not exact: is it half way between two doubles? */
            double other = nextafter(d, x > (long double)d ? INFINITY : -INFINITY);
            if (x - (long double)d == ((long double)other - (long double)d) / 2)
                return 0;
        }
        *out = neg ? -d : d;
        return 1;
    }
#endif
    (void)P10, (void)d;
    return 0;
}

/* int(tok) or float(tok) of a whole number token (new reference), or NULL with the
 * exception int() raises (past sys.get_int_max_str_digits(), as on the Python side). */
static PyObject *
number_value(int kind, const void *data, Py_ssize_t s, Py_ssize_t e, int is_float)
{
    char small[64];
    Py_ssize_t len = e - s;
    char *buf = small;
    PyObject *v;
    if (len >= (Py_ssize_t)sizeof(small)) {
        buf = PyMem_Malloc((size_t)len + 1);
        if (buf == NULL)
            return PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < len; i++)
        buf[i] = (char)PyUnicode_READ(kind, data, s + i);
    buf[len] = 0;
    if (!is_float && len <= 18) { /* (fits: 18 digits, or a sign and 17) */
        long long x = 0;
        for (Py_ssize_t i = buf[0] == '-'; i < len; i++)
            x = x * 10 + (buf[i] - '0');
        v = PyLong_FromLongLong(buf[0] == '-' ? -x : x);
    }
    else if (!is_float)
        v = PyLong_FromString(buf, NULL, 10);
    else {
        double d;
        if (!fast_double(buf, len, &d))
            d = PyOS_string_to_double(buf, NULL, NULL);
        v = (d == -1.0 && PyErr_Occurred()) ? NULL : PyFloat_FromDouble(d);
    }
    if (buf != small)
        PyMem_Free(buf);
    return v;
}

/* The end of the run of plain characters of a string quoted by ``q`` in text[pos:]. */
#define PLAIN_RUN(T)                                                                  \
    do {                                                                              \
        const T *u = (const T *)t->data;                                              \
        while (pos < n && u[pos] != q && u[pos] != '\\' && u[pos] >= 0x20)            \
            pos++;                                                                    \
    } while (0)
/* The characters that end a plain run of a double-quoted string, by byte: one look each. */
static const unsigned char DQ_STOP[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    ['"'] = 1, ['\\'] = 1};

static inline Py_ssize_t
plain_run_q(Text *t, Py_ssize_t pos, Py_UCS4 q)
{
    Py_ssize_t n = t->n;
    if (t->kind == PyUnicode_1BYTE_KIND && q == '"') {
        const Py_UCS1 *u = (const Py_UCS1 *)t->data;
        while (pos < n && !DQ_STOP[u[pos]])
            pos++;
        return pos;
    }
    if (t->kind == PyUnicode_1BYTE_KIND)
        PLAIN_RUN(Py_UCS1);
    else if (t->kind == PyUnicode_2BYTE_KIND)
        PLAIN_RUN(Py_UCS2);
    else
        PLAIN_RUN(Py_UCS4);
    return pos;
}
#undef PLAIN_RUN

static inline Py_ssize_t
plain_run(Text *t, Py_ssize_t pos)
{
    return plain_run_q(t, pos, '"');
}

/* The open string's quote character ('"', or '\'' in LLM mode). */
static inline Py_UCS4
quote_char(Core *self)
{
    return PyUnicode_GET_LENGTH(self->quote) == 1 ? PyUnicode_READ_CHAR(self->quote, 0) : 0;
}

/* Append a new string (steals it; NULL: an error is set) to the open string's pieces. */
static int
append_new(Core *self, PyObject *piece)
{
    if (piece == NULL)
        return -1;
    int r = list_append(self->pieces, piece);
    Py_DECREF(piece);
    return r;
}

static int
append_char(Core *self, Py_UCS4 c)
{
    return append_new(self, PyUnicode_FromOrdinal((int)c));
}

static int
append_piece(Core *self, Text *t, Py_ssize_t s, Py_ssize_t e)
{
    return append_new(self, text_sub(t, s, e));
}

/* A high surrogate not followed by its low half stands alone. */
static int
flush_hi(Core *self)
{
    if (self->hi < 0)
        return 0;
    Py_UCS4 hi = (Py_UCS4)self->hi;
    self->hi = -1;
    return append_char(self, hi);
}

static int
hexval(Py_UCS4 c)
{
    if (c >= '0' && c <= '9') return (int)(c - '0');
    if (c >= 'a' && c <= 'f') return (int)(c - 'a' + 10);
    if (c >= 'A' && c <= 'F') return (int)(c - 'A' + 10);
    return -1;
}

/* Inside a string from ``pos`` (_string()).  Returns the next index, or -1 on error
 * (raised); sets *bail when it stopped before something the Python parser must handle
 * (the end of a top-level string in extraction mode, an error extraction decides). */
static Py_ssize_t
c_string(Core *self, Text *t, Py_ssize_t pos, PyObject *events, int *bail)
{
    Py_ssize_t n = t->n;
    int kind = t->kind;
    const void *data = t->data;
    Py_UCS4 q = quote_char(self);
    for (;;) {
        Py_ssize_t e = plain_run_q(t, pos, q);
        Py_UCS4 c = e < n ? PyUnicode_READ(kind, data, e) : 0;
        if (e < n && c == q) { /* the string ends: its pieces and text[pos:e] */
            if (flush_hi(self) < 0)
                return -1;
            PyObject *value = self->str_is_key ? key_ends(self, t, pos, e)
                                               : string_ends(self, t, pos, e);
            if (value == NULL)
                return -1;
            self->in_string = 0;
            int r;
            if (self->str_is_key)
                r = set_key(self, value);
            else { /* (the string's path, made when it started, is the slot's; at the top
                    * level the string is the document) */
                r = put_at(self, self->str_path, value, events);
                Py_DECREF(value);
            }
            return r < 0 ? -1 : e + 1;
        }
        if (e > pos && (flush_hi(self) < 0 || append_piece(self, t, pos, e) < 0))
            return -1;
        if (e >= n)
            return n;
        if (c != '\\') { /* a raw control character */
            if (!self->control_characters)
                return c_fail_s(self, t, e, e, "unescaped control character in string",
                                "'\\\\' escape", bail);
            if (flush_hi(self) < 0 || append_char(self, c) < 0) /* LLM mode: kept as it is */
                return -1;
            pos = e + 1;
            continue;
        }
        if (e + 1 >= n) {
            if (hold(self, t, e, n, HELD_ESCAPE) < 0)
                return -1;
            return n;
        }
        Py_UCS4 k = PyUnicode_READ(kind, data, e + 1);
        if (k == 'u') {
            int code = 0;
            Py_ssize_t i;
            for (i = e + 2; i < e + 6 && i < n; i++) {
                int h = hexval(PyUnicode_READ(kind, data, i));
                if (h < 0)
                    return c_fail_s(self, t, e, i, "invalid \\u escape", "a hex digit", bail);
                code = code * 16 + h;
            }
            if (i < e + 6) {
                if (hold(self, t, e, n, HELD_ESCAPE) < 0)
                    return -1;
                return n;
            }
            pos = e + 6;
            if (self->hi >= 0) {
                if (code >= 0xDC00 && code <= 0xDFFF) {
                    Py_UCS4 full = 0x10000 + (((Py_UCS4)self->hi - 0xD800) << 10) + (code - 0xDC00);
                    self->hi = -1;
                    if (append_char(self, full) < 0)
                        return -1;
                    continue;
                }
                if (flush_hi(self) < 0)
                    return -1;
            }
            if (code >= 0xD800 && code <= 0xDBFF)
                self->hi = code;
            else if (append_char(self, (Py_UCS4)code) < 0)
                return -1;
            continue;
        }
        Py_UCS4 ch;
        switch (k) {
        case '"': ch = '"'; break;
        case '\\': ch = '\\'; break;
        case '/': ch = '/'; break;
        case 'b': ch = '\b'; break;
        case 'f': ch = '\f'; break;
        case 'n': ch = '\n'; break;
        case 'r': ch = '\r'; break;
        case 't': ch = '\t'; break;
        case '\'':
            if (q == '\'') { /* \' in a single-quoted string (LLM mode) */
                ch = '\'';
                break;
            }
            /* fall through */
        default:
            if (!self->unknown_escapes)
                return c_fail_s(self, t, e, e + 1, "invalid escape",
                                "one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u", bail);
            ch = k; /* JSON5: the character itself */
        }
        if (flush_hi(self) < 0 || append_char(self, ch) < 0)
            return -1;
        pos = e + 2;
    }
}

/* A string value or key starting at the quote at ``pos``. */
static Py_ssize_t
c_string_start(Core *self, Text *t, Py_ssize_t pos, int is_key, PyObject *events,
               int *bail)
{
    Py_ssize_t n = t->n;
    int kind = t->kind;
    const void *data = t->data;
    Py_UCS4 q = PyUnicode_READ(kind, data, pos);
    Py_ssize_t e = plain_run_q(t, pos + 1, q);
    int simple = e < n && PyUnicode_READ(kind, data, e) == q;
    if (q == '"' && (is_key || !simple) && self->candidate != Py_None &&
        PyObject_SetAttr(self->candidate, S_QUOTED, Py_True) < 0)
        return -1; /* a value on trial is JSON (Candidate.quoted, as _run/_start_string) */
    if (simple) { /* a simple string, all here */
        PyObject *s = is_key ? key_text(self, t, pos + 1, e) : text_sub(t, pos + 1, e);
        if (s == NULL)
            return -1;
        if (is_key)
            return set_key(self, s) < 0 ? -1 : e + 1;
        int r = put(self, s, events);
        Py_DECREF(s);
        return r < 0 ? -1 : e + 1;
    }
    if (is_key) {
        if (start_string(self, 1, PyTuple_New(0)) < 0) /* a key's path is () */
            return -1;
    }
    else if (start_string(self, 0, child_path(self)) < 0)
        return -1;
    if (q == '\'') {
        Py_INCREF(S_SQUOTE);
        set_obj(&self->quote, S_SQUOTE);
    }
    if (e > pos + 1 && (flush_hi(self) < 0 || append_piece(self, t, pos + 1, e) < 0))
        return -1;
    return c_string(self, t, e, events, bail);
}

/* A literal: true/false/null, and with the tolerances NaN, Infinity, -Infinity, True,
 * False, None (_literal() over the options' table).  A prefix of one at the end of the
 * text is held; anything else is an error. */
static Py_ssize_t
c_literal(Core *self, Text *t, Py_ssize_t pos, PyObject *events, int *bail)
{
    Py_ssize_t n = t->n;
    int kind = t->kind;
    const void *data = t->data;
    const char *words[2];
    PyObject *values[2];
    int nw = 0;
    switch (PyUnicode_READ(kind, data, pos)) {
    case 't': words[nw] = "true"; values[nw++] = Py_True; break;
    case 'f': words[nw] = "false"; values[nw++] = Py_False; break;
    case 'n': words[nw] = "null"; values[nw++] = Py_None; break;
    case 'N': /* (the order of the options' table: NaN, then None) */
        if (self->nan_infinity) { words[nw] = "NaN"; values[nw++] = NAN_OBJ; }
        if (self->python_literals) { words[nw] = "None"; values[nw++] = Py_None; }
        break;
    case 'I':
        if (self->nan_infinity) { words[nw] = "Infinity"; values[nw++] = INF_OBJ; }
        break;
    case '-':
        if (self->nan_infinity) { words[nw] = "-Infinity"; values[nw++] = NINF_OBJ; }
        break;
    case 'T':
        if (self->python_literals) { words[nw] = "True"; values[nw++] = Py_True; }
        break;
    case 'F':
        if (self->python_literals) { words[nw] = "False"; values[nw++] = Py_False; }
        break;
    }
    if (nw == 0) /* no literal starts so here: _value()'s error */
        return c_fail_s(self, t, pos, pos, "unexpected character", EXPECTED[self->state], bail);
    int prefix = 0; /* the text ends inside one of the words */
    Py_ssize_t longest = 0;
    for (int w = 0; w < nw; w++) {
        Py_ssize_t len = (Py_ssize_t)strlen(words[w]), i;
        for (i = 0; i < len && pos + i < n; i++)
            if (PyUnicode_READ(kind, data, pos + i) != (Py_UCS4)words[w][i])
                break;
        if (i == len)
            return put(self, values[w], events) < 0 ? -1 : pos + len;
        if (pos + i == n)
            prefix = 1;
        if (len > longest)
            longest = len;
    }
    if (prefix) {
        if (hold(self, t, pos, n, HELD_LITERAL) < 0)
            return -1;
        return n;
    }
    /* The error is at the first character that differs from the first word (in the
     * piece of text as long as the longest word). */
    Py_ssize_t seg = n - pos < longest ? n - pos : longest;
    Py_ssize_t len0 = (Py_ssize_t)strlen(words[0]), i = 0;
    while (i < seg && i < len0 && PyUnicode_READ(kind, data, pos + i) == (Py_UCS4)words[0][i])
        i++;
    if (i == seg || i == len0)
        i = seg;
    PyObject *reason = nw == 1 ? PyUnicode_FromFormat("invalid literal (expected '%s')", words[0])
                               : PyUnicode_FromFormat("invalid literal (expected '%s' or '%s')",
                                                      words[0], words[1]);
    return c_fail(self, t, pos, pos + i, reason, "", NULL, bail);
}

/* A hex number (LLM mode): -?0[xX][0-9a-fA-F]*, at ``pos`` (_lenient_number()). */
static Py_ssize_t
c_hex_number(Core *self, Text *t, Py_ssize_t pos, PyObject *events, int *bail)
{
    Py_ssize_t n = t->n;
    int kind = t->kind;
    const void *data = t->data;
    Py_ssize_t e = pos + (PyUnicode_READ(kind, data, pos) == '-') + 2;
    while (e < n && hexval(PyUnicode_READ(kind, data, e)) >= 0)
        e++;
    if (e - pos > self->max_number_length)
        return number_too_long(self, t, pos, bail);
    if (e >= n) {
        if (hold(self, t, pos, n, HELD_NUMBER) < 0)
            return -1;
        return n;
    }
    Py_UCS4 last = PyUnicode_READ(kind, data, e - 1);
    if (last == 'x' || last == 'X')
        return c_fail_s(self, t, pos, e, "incomplete hex number", "a hex digit", bail);
    char small[64], *buf = small;
    Py_ssize_t len = e - pos;
    if (len >= (Py_ssize_t)sizeof(small) && (buf = PyMem_Malloc((size_t)len + 1)) == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < len; i++)
        buf[i] = (char)PyUnicode_READ(kind, data, pos + i);
    buf[len] = 0;
    PyObject *v = PyLong_FromString(buf, NULL, 16); /* int(tok, 16): the 0x prefix allowed */
    if (buf != small)
        PyMem_Free(buf);
    if (v == NULL)
        return -1;
    int r = put(self, v, events);
    Py_DECREF(v);
    return r < 0 ? -1 : e;
}

/* A number at ``pos`` (_value(), and in LLM mode _lenient_number() first). */
static Py_ssize_t
c_number(Core *self, Text *t, Py_ssize_t pos, PyObject *events, int *bail)
{
    Py_ssize_t n = t->n;
    int kind = t->kind;
    const void *data = t->data;
    Py_UCS4 first = PyUnicode_READ(kind, data, pos);
    if (self->lax) {
        Py_ssize_t z = pos + (first == '-'); /* "0x", "0X", "-0x", "-0X" */
        if (self->hex_numbers && z + 1 < n && PyUnicode_READ(kind, data, z) == '0') {
            Py_UCS4 x = PyUnicode_READ(kind, data, z + 1);
            if (x == 'x' || x == 'X')
                return c_hex_number(self, t, pos, events, bail);
        }
        if (self->nan_infinity && first == '-' && pos + 1 < n &&
            PyUnicode_READ(kind, data, pos + 1) == 'I')
            return c_literal(self, t, pos, events, bail); /* -Infinity */
    }
    Py_ssize_t e = pos;
    for (; e < n; e++) {
        if (!number_char(PyUnicode_READ(kind, data, e)))
            break;
    }
    if (e - pos > self->max_number_length)
        return number_too_long(self, t, pos, bail);
    int is_float;
    int shape = number_shape(kind, data, pos, e, &is_float);
    if (e >= n) { /* the number may go on in the next chunk */
        if (shape == 0)
            return bad_number(self, t, pos, e, bail);
        if (hold(self, t, pos, n, HELD_NUMBER) < 0)
            return -1;
        return n;
    }
    if (shape != 2)
        return bad_number(self, t, pos, e, bail);
    PyObject *v = number_value(kind, data, pos, e, is_float);
    if (v == NULL)
        return -1;
    int r = put(self, v, events);
    Py_DECREF(v);
    return r < 0 ? -1 : e;
}

static inline int
double_quoted(Core *self)
{
    return PyUnicode_GET_LENGTH(self->quote) == 1 && PyUnicode_READ_CHAR(self->quote, 0) == '"';
}

/* _skip_comment(): inside a comment (LLM mode) from ``pos``; returns where it ends. */
static Py_ssize_t
c_skip_comment(Core *self, Text *t, Py_ssize_t pos)
{
    Py_ssize_t n = t->n;
    int kind = t->kind;
    const void *data = t->data;
    if (self->in_comment == 1) { /* to the end of the line, the newline included */
        for (; pos < n; pos++) {
            if (PyUnicode_READ(kind, data, pos) == '\n') {
                self->in_comment = 0;
                return pos + 1;
            }
        }
        return n;
    }
    if (self->comment_star && pos < n && PyUnicode_READ(kind, data, pos) == '/') {
        self->in_comment = 0;
        return pos + 1;
    }
    for (Py_ssize_t i = pos; i + 1 < n; i++) {
        if (PyUnicode_READ(kind, data, i) == '*' && PyUnicode_READ(kind, data, i + 1) == '/') {
            self->in_comment = 0;
            return i + 2;
        }
    }
    self->comment_star = n > pos && PyUnicode_READ(kind, data, n - 1) == '*';
    return n;
}

/* _value(): the value starting at text[pos], ``c``, inside a container or at the top
 * level. */
static inline Py_ssize_t
c_value(Core *self, Text *t, Py_ssize_t pos, Py_UCS4 c, PyObject *events, int *bail)
{
    Py_ssize_t depth = PyList_GET_SIZE(self->stack);
    if (c == '"' || (c == '\'' && self->single_quotes))
        return c_string_start(self, t, pos, 0, events, bail);
    if (c == '{' || c == '[') {
        if (depth >= self->max_depth)
            return c_fail(self, t, pos, pos,
                          PyUnicode_FromFormat("nesting deeper than max_depth=%zd", self->max_depth),
                          "", "max_depth", bail);
        if ((depth ? open_container(self, c == '{', events) : open_root(self, c == '{', events)) < 0)
            return -1;
        return pos + 1;
    }
    if (c == '-' || (c >= '0' && c <= '9'))
        return c_number(self, t, pos, events, bail);
    if (c == 't' || c == 'f' || c == 'n' ||
        (self->lax && (c == 'N' || c == 'I' || c == 'T' || c == 'F')))
        return c_literal(self, t, pos, events, bail);
    if (c == ']' && self->trailing_commas && self->state == ST_VALUE && depth &&
        PyList_CheckExact(top_of(self))) { /* _lenient_value(): a trailing comma before ']' */
        return close_container(self, events) < 0 ? -1 : pos + 1;
    }
    return c_fail_s(self, t, pos, pos, "unexpected character", EXPECTED[self->state], bail);
}

/* _check_doc_size(): with multiple values, the document that just ended at ``pos`` must
 * fit in max_bytes (then the next one counts from 0). */
static inline int
doc_size_check(Core *self, Text *t, Py_ssize_t pos)
{
    if (self->doc_ended < 0)
        return 0;
    self->doc_ended = -1;
    if (self->used + utf8_len(t, self->doc_start, pos) > self->max_bytes)
        return doc_too_large(self, t);
    self->used = 0;
    return 0;
}

/* _run(): the token loop.  Returns where it stopped (len(text) when done), -1 on error
 * (raised where it was met).  It stops early where the bulk path may load a run of whole
 * values (bulk_stop: c_bulk_step decides, then the loop goes on) and, in extraction mode,
 * where a document ended and the finder looks for the next one (seeking) or an error
 * decided the trial (x_verdict): c_extracting() goes on from there. */
static Py_ssize_t
c_run(Core *self, Text *t, Py_ssize_t pos, PyObject *events)
{
    Py_ssize_t n = t->n;
    int kind = t->kind;
    const void *data = t->data;
    int bail = 0;
    self->bulk_stop = 0;
    if (self->in_comment)
        pos = c_skip_comment(self, t, pos);
    while (pos < n && !bail) {
        if (self->doc_ended >= 0) { /* a document ended: its size; extraction seeks again */
            if (doc_size_check(self, t, pos) < 0)
                return -1;
            if (self->seeking)
                return pos;
        }
        if (self->in_string) {
            pos = c_string(self, t, pos, events, &bail);
            if (pos < 0)
                return -1;
            continue;
        }
        Py_UCS4 c = PyUnicode_READ(kind, data, pos);
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            pos++;
            continue;
        }
        Py_ssize_t depth = PyList_GET_SIZE(self->stack);
        int st = self->state;
        if (c == '/' && self->comments && !(st == ST_END && self->extract)) { /* _comment() */
            if (pos + 1 >= n) {
                if (hold(self, t, pos, n, HELD_SLASH) < 0)
                    return -1;
                return n;
            }
            Py_UCS4 k = PyUnicode_READ(kind, data, pos + 1);
            if (k != '/' && k != '*') {
                pos = c_fail_s(self, t, pos, pos + 1, "unexpected character after '/'",
                               "'/' or '*'", &bail);
                if (pos < 0)
                    return -1;
                continue;
            }
            self->in_comment = k == '/' ? 1 : 2;
            self->comment_star = 0;
            pos = c_skip_comment(self, t, pos + 2);
            continue;
        }
        if (depth == 0) {
            /* The top level: one value then nothing, or documents (multiple_values); in
             * extraction mode, prose after the value. */
            if (st == ST_END) {
                if (!self->extract)
                    return c_fail_s(self, t, pos, pos, "extra data after the top-level value",
                                    EXPECTED[ST_END], NULL);
                XObj *x = (XObj *)self->x; /* trailing prose ("Hope this helps!") */
                if (x->prose_doc) { /* a fenced block after it would still win */
                    self->seeking = 1;
                    x->fences_only = 1;
                    return pos;
                }
                self->stopped = 1;
                x->fence_closed = c == '`';
                return n;
            }
            if (st != ST_VALUE)
                return pos;
            if (self->multiple_values && !self->doc_open) { /* a document starts here */
                self->doc_open = 1;
                self->doc_start = pos;
                self->used = 0;
            }
            if ((c == '{' || c == '[') && n - pos >= self->bulk_threshold &&
                pos >= self->bulk_block) {
                self->bulk_stop = 1; /* the bulk path's step (c_bulk_step) */
                return pos;
            }
            pos = c_value(self, t, pos, c, events, &bail);
            if (pos < 0)
                return -1;
            continue;
        }
        PyObject *top = top_of(self);
        int is_obj = PyDict_CheckExact(top);
        /* A closing bracket that matches the innermost container. */
        int closes = is_obj ? c == '}' && (st == ST_KEY_OR_CLOSE || st == ST_COMMA_OR_CLOSE ||
                                           (st == ST_KEY && self->trailing_commas))
                            : c == ']' && (st == ST_VALUE_OR_CLOSE || st == ST_COMMA_OR_CLOSE);
        if (closes) {
            if (close_container(self, events) < 0)
                return -1;
            pos++;
            continue;
        }
        switch (st) {
        case ST_COMMA_OR_CLOSE:
            if (c != ',') {
                pos = c_fail_s(self, t, pos, pos, "unexpected character",
                               is_obj ? "',' or '}'" : "',' or ']'", &bail);
                break;
            }
            pos++;
            self->state = is_obj ? ST_KEY : ST_VALUE;
            break;
        case ST_VALUE:
        case ST_VALUE_OR_CLOSE:
            if (n - pos >= self->bulk_threshold && pos >= self->bulk_block && !is_obj) {
                self->bulk_stop = 1; /* a run of the array's items may load here */
                return pos;
            }
            pos = c_value(self, t, pos, c, events, &bail);
            break;
        case ST_KEY_OR_CLOSE:
        case ST_KEY:
            if (c == '\'' && self->single_quotes) { /* (no bulk attempt, as in _run) */
                pos = c_string_start(self, t, pos, 1, events, &bail);
                break;
            }
            if (self->unquoted_keys && c < 0x80 &&
                (Py_UNICODE_ISALPHA(c) || c == '_' || c == '$')) {
                /* an unquoted key (LLM mode): [A-Za-z_$][A-Za-z0-9_$]* */
                Py_ssize_t e = pos + 1;
                for (; e < n; e++) {
                    Py_UCS4 k = PyUnicode_READ(kind, data, e);
                    if (!(k < 0x80 && (Py_UNICODE_ISALNUM(k) || k == '_' || k == '$')))
                        break;
                }
                if (e - pos > self->max_key_length) {
                    pos = c_fail(self, t, pos, pos,
                                 PyUnicode_FromFormat("unquoted key longer than max_key_length=%zd",
                                                      self->max_key_length),
                                 "", "max_key_length", &bail);
                    break;
                }
                if (e >= n) {
                    if (hold(self, t, pos, n, HELD_IDENT) < 0)
                        return -1;
                    pos = n;
                    break;
                }
                pos = set_key(self, key_text(self, t, pos, e)) < 0 ? -1 : e;
                break;
            }
            if (c != '"') {
                pos = c_fail_s(self, t, pos, pos, c == '}' ? "trailing comma" : "unexpected character",
                               EXPECTED[st], &bail);
                break;
            }
            if (n - pos >= self->bulk_threshold && pos >= self->bulk_block) {
                self->bulk_stop = 1; /* a run of the object's members may load here */
                return pos;
            }
            pos = c_string_start(self, t, pos, 1, events, &bail);
            break;
        case ST_COLON:
            if (c != ':') {
                pos = c_fail_s(self, t, pos, pos, "unexpected character", "':' after key", &bail);
                break;
            }
            pos++;
            self->state = ST_VALUE;
            break;
        default:
            return pos;
        }
        if (pos < 0)
            return -1;
    }
    if (self->doc_ended >= 0 && doc_size_check(self, t, pos) < 0)
        return -1;
    return pos;
}
