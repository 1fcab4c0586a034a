/* Stage: tokens (numbers, literals, strings with escapes, comments) and the token loop
 * c_run.  Part of the unity build of _speedups.c (included once, in order). */

/* A number token's shape: 2 a whole number, 1 a valid prefix, 0 invalid.  *is_float set
 * when it has a fraction or an exponent. */
static int
number_shape(int kind, const void *data, Py_ssize_t s, Py_ssize_t e, int *is_float)
{
    int st = 0; /* 0 start, 1 '-', 2 '0', 3 int, 4 '.', 5 frac, 6 'e', 7 sign, 8 exp */
    *is_float = 0;
    for (Py_ssize_t i = s; i < e; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        int digit = c >= '0' && c <= '9';
        switch (st) {
        case 0:
            if (c == '-') st = 1;
            else if (c == '0') st = 2;
            else if (digit) st = 3;
            else return 0;
            break;
        case 1:
            if (c == '0') st = 2;
            else if (digit) st = 3;
            else return 0;
            break;
        case 2:
        case 3:
            if (digit && st == 3) st = 3;
            else if (c == '.') st = 4;
            else if (c == 'e' || c == 'E') st = 6;
            else return 0;
            break;
        case 4:
        case 5:
            if (digit) st = 5;
            else if (c == 'e' || c == 'E') { if (st == 4) return 0; st = 6; }
            else return 0;
            break;
        case 6:
            if (c == '+' || c == '-') st = 7;
            else if (digit) st = 8;
            else return 0;
            break;
        default: /* 7, 8 */
            if (digit) st = 8;
            else return 0;
        }
        if (st >= 4)
            *is_float = 1;
    }
    return (st == 2 || st == 3 || st == 5 || st == 8) ? 2 : 1;
}

/* int(tok) or float(tok) of a whole number token; NULL without an exception: not here. */
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
    if (!is_float && len <= 18)
        v = PyLong_FromLongLong(strtoll(buf, NULL, 10));
    else if (!is_float)
        v = PyLong_FromString(buf, NULL, 10);
    else {
        double d = PyOS_string_to_double(buf, NULL, NULL);
        v = (d == -1.0 && PyErr_Occurred()) ? NULL : PyFloat_FromDouble(d);
    }
    if (buf != small)
        PyMem_Free(buf);
    if (v == NULL && PyErr_ExceptionMatches(PyExc_ValueError))
        PyErr_Clear(); /* e.g. the int digit limit: let the Python parser decide */
    return v;
}

/* The end of the run of plain characters of a string quoted by ``q`` in text[pos:]. */
static inline Py_ssize_t
plain_run_q(Text *t, Py_ssize_t pos, Py_UCS4 q)
{
    Py_ssize_t n = t->n;
    int kind = t->kind;
    const void *data = t->data;
    for (; pos < n; pos++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, pos);
        if (c == q || c == '\\' || c < 0x20)
            break;
    }
    return pos;
}

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
    int r = PyList_Append(self->pieces, piece);
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

/* Inside a string from ``pos`` (_string()).  Returns the next index, or -1 on error;
 * sets *bail when it stopped before something the Python parser must handle. */
static Py_ssize_t
c_string(Core *self, Text *t, Py_ssize_t pos, PyObject *events, int *bail)
{
    Py_ssize_t n = t->n;
    int kind = t->kind;
    const void *data = t->data;
    Py_UCS4 q = quote_char(self);
    for (;;) {
        Py_ssize_t e = plain_run_q(t, pos, q);
        if (e > pos) {
            if (flush_hi(self) < 0 || append_piece(self, t, pos, e) < 0)
                return -1;
        }
        if (e >= n)
            return n;
        Py_UCS4 c = PyUnicode_READ(kind, data, e);
        if (c == q) {
            if (!self->str_is_key && PyList_GET_SIZE(self->stack) == 0) {
                *bail = 1; /* a top-level string ends: the Python side */
                return e;
            }
            if (flush_hi(self) < 0)
                return -1;
            PyObject *value = pieces_text(self->pieces);
            if (value == NULL)
                return -1;
            self->in_string = 0;
            pieces_reset(self->pieces, NULL);
            int r;
            if (self->str_is_key)
                r = set_key(self, value);
            else { /* (the string's path, made when it started, is the slot's) */
                r = put_at(self, self->str_path, value, events);
                Py_DECREF(value);
            }
            return r < 0 ? -1 : e + 1;
        }
        if (c != '\\') { /* a raw control character */
            if (!self->control_characters) {
                *bail = 1; /* the Python side reports it */
                return e;
            }
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
                if (h < 0) {
                    *bail = 1;
                    return e;
                }
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
            if (!self->unknown_escapes) {
                *bail = 1; /* the Python side reports it */
                return e;
            }
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
    if (e < n && PyUnicode_READ(kind, data, e) == q) { /* a simple string, all here */
        PyObject *s = text_sub(t, pos + 1, e);
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
    return c_string(self, t, pos + 1, events, bail);
}

/* A literal: true/false/null, and with the tolerances NaN, Infinity, -Infinity, True,
 * False, None (_literal() over the options' table).  A prefix of one at the end of the
 * text is held; anything else is the Python side's (which reports it). */
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
    int prefix = 0; /* the text ends inside one of the words */
    for (int w = 0; w < nw; w++) {
        Py_ssize_t len = (Py_ssize_t)strlen(words[w]), i;
        for (i = 0; i < len && pos + i < n; i++)
            if (PyUnicode_READ(kind, data, pos + i) != (Py_UCS4)words[w][i])
                break;
        if (i == len)
            return put(self, values[w], events) < 0 ? -1 : pos + len;
        if (pos + i == n)
            prefix = 1;
    }
    if (!prefix) {
        *bail = 1;
        return pos;
    }
    if (hold(self, t, pos, n, HELD_LITERAL) < 0)
        return -1;
    return n;
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
    if (e - pos > self->max_number_length) {
        *bail = 1; /* the Python side reports the limit */
        return pos;
    }
    if (e >= n) {
        if (hold(self, t, pos, n, HELD_NUMBER) < 0)
            return -1;
        return n;
    }
    Py_UCS4 last = PyUnicode_READ(kind, data, e - 1);
    if (last == 'x' || last == 'X') {
        *bail = 1; /* no digit: the Python side reports it */
        return pos;
    }
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

static Py_ssize_t
c_number(Core *self, Text *t, Py_ssize_t pos, PyObject *events, int *bail)
{
    Py_ssize_t n = t->n;
    int kind = t->kind;
    const void *data = t->data;
    Py_ssize_t e = pos;
    for (; e < n; e++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, e);
        if (!((c >= '0' && c <= '9') || c == 'e' || c == 'E' || c == '.' || c == '+' ||
              c == '-'))
            break;
    }
    int is_float;
    int shape = number_shape(kind, data, pos, e, &is_float);
    if (e - pos > self->max_number_length || shape == 0) {
        *bail = 1;
        return pos;
    }
    if (self->lax && e < n && e - pos <= 2) { /* _lenient_number(): LLM mode */
        Py_UCS4 x = PyUnicode_READ(kind, data, e);
        if ((x == 'x' || x == 'X') && PyUnicode_READ(kind, data, e - 1) == '0' &&
            (e - pos == 1 || PyUnicode_READ(kind, data, pos) == '-')) {
            if (self->hex_numbers)
                return c_hex_number(self, t, pos, events, bail);
            *bail = 1;
            return pos;
        }
        if (x == 'I' && e - pos == 1 && PyUnicode_READ(kind, data, pos) == '-' &&
            self->nan_infinity)
            return c_literal(self, t, pos, events, bail); /* -Infinity */
    }
    if (e >= n) {
        if (hold(self, t, pos, n, HELD_NUMBER) < 0)
            return -1;
        return n;
    }
    if (shape != 2) {
        *bail = 1;
        return pos;
    }
    PyObject *v = number_value(kind, data, pos, e, is_float);
    if (v == NULL) {
        if (PyErr_Occurred())
            return -1;
        *bail = 1;
        return pos;
    }
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

/* The common part of _run().  Returns where it stopped (len(text) when done), -1 on error. */
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
        if (depth == 0) {
            /* The top-level value starts here.  An array or object opens here when the
             * mode has no document boundaries (c_top); the rest (scalars, multiple
             * values, extraction, what follows the value) is the Python side's. */
            if (!(self->c_top || self->c_docs) || st != ST_VALUE || (c != '{' && c != '['))
                return pos;
            if (self->c_docs && !self->doc_open) { /* a document starts here */
                self->doc_open = 1;
                self->doc_start = pos;
                self->used = 0;
            }
            if (n - pos >= self->bulk_threshold && pos >= self->bulk_block) {
                if (self->c_top && self->plain_keys && !self->whole_tried) {
                    Py_ssize_t r = whole_root(self, t, pos, events);
                    if (r != pos) {
                        if (r < 0)
                            return -1;
                        pos = r;
                        continue;
                    }
                }
                self->bulk_stop = 1; /* the bulk path's scan (_bulk_step) */
                return pos;
            }
            if (open_root(self, c == '{', events) < 0)
                return -1;
            pos++;
            continue;
        }
        if (c == '/' && self->comments) { /* _comment(): LLM mode */
            if (pos + 1 >= n) {
                if (hold(self, t, pos, n, HELD_SLASH) < 0)
                    return -1;
                return n;
            }
            Py_UCS4 k = PyUnicode_READ(kind, data, pos + 1);
            if (k != '/' && k != '*')
                return pos; /* the Python side reports it */
            self->in_comment = k == '/' ? 1 : 2;
            self->comment_star = 0;
            pos = c_skip_comment(self, t, pos + 2);
            continue;
        }
        PyObject *top = top_of(self);
        int is_obj = PyDict_CheckExact(top);
        /* A closing bracket that matches the innermost container (not the top-level one,
         * whose end is a document boundary for the Python side). */
        int closes = (depth > 1 || self->c_top || self->c_docs) && (is_obj ? c == '}' && (st == ST_KEY_OR_CLOSE ||
                                                         st == ST_COMMA_OR_CLOSE ||
                                                         (st == ST_KEY && self->trailing_commas))
                                          : c == ']' && (st == ST_VALUE_OR_CLOSE ||
                                                         st == ST_COMMA_OR_CLOSE ||
                                                         (st == ST_VALUE && self->trailing_commas &&
                                                          n - pos < self->bulk_threshold)));
        if (closes) {
            if (close_container(self, events) < 0)
                return -1;
            pos++;
            if (depth == 1 && self->c_docs) { /* a document ended: _check_doc_size() */
                if (self->used + utf8_len(t, self->doc_start, pos) > self->max_bytes)
                    return raise_doc_too_large(self, t);
                self->used = 0;
            }
            continue;
        }
        switch (st) {
        case ST_COMMA_OR_CLOSE:
            if (c != ',')
                return pos;
            pos++;
            self->state = is_obj ? ST_KEY : ST_VALUE;
            break;
        case ST_VALUE:
        case ST_VALUE_OR_CLOSE:
            if (n - pos >= self->bulk_threshold && pos >= self->bulk_block && !is_obj) {
                self->bulk_stop = 1; /* a run of the array's items may load here */
                return pos;
            }
            if (c == '"' || (c == '\'' && self->single_quotes))
                pos = c_string_start(self, t, pos, 0, events, &bail);
            else if (c == '{' || c == '[') {
                if (depth >= self->max_depth)
                    return pos;
                if (open_container(self, c == '{', events) < 0)
                    return -1;
                pos++;
            }
            else if (c == '-' || (c >= '0' && c <= '9'))
                pos = c_number(self, t, pos, events, &bail);
            else if (c == 't' || c == 'f' || c == 'n' ||
                     (self->lax && (c == 'N' || c == 'I' || c == 'T' || c == 'F')))
                pos = c_literal(self, t, pos, events, &bail);
            else
                return pos;
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
                if (e - pos > self->max_key_length)
                    return pos; /* the Python side reports the limit */
                if (e >= n) {
                    if (hold(self, t, pos, n, HELD_IDENT) < 0)
                        return -1;
                    pos = n;
                    break;
                }
                pos = set_key(self, text_sub(t, pos, e)) < 0 ? -1 : e;
                break;
            }
            if (c != '"')
                return pos;
            if (n - pos >= self->bulk_threshold && pos >= self->bulk_block) {
                self->bulk_stop = 1; /* a run of the object's members may load here */
                return pos;
            }
            pos = c_string_start(self, t, pos, 1, events, &bail);
            break;
        case ST_COLON:
            if (c != ':')
                return pos;
            pos++;
            self->state = ST_VALUE;
            break;
        default:
            return pos;
        }
        if (pos < 0)
            return -1;
    }
    return pos;
}
