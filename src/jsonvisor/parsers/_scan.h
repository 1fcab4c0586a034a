/* The bulk path's boundary scanners, instantiated per string kind by _speedups.c:
 * define SCHAR (the code unit type) and SNAME(x) (the function name for x) first.
 *
 * Exact equivalents of fastpath.scan_value_end, container_spine and scan_members (which
 * use regular expressions): a string is '"' ... '"' with '\' escaping any one character;
 * brackets of either kind nest alike; a scalar is a run of characters other than white
 * space, ',', ':', brackets and '"'.  Nothing here allocates except the spine list. */

#define S_WS(ch) ((ch) == ' ' || (ch) == '\t' || (ch) == '\n' || (ch) == '\r')
#define S_BRACKET(ch) ((ch) == '[' || (ch) == ']' || (ch) == '{' || (ch) == '}')
#define S_OPEN(ch) ((ch) == '[' || (ch) == '{')
#define S_SCALAR_CH(ch) (!S_WS(ch) && (ch) != ',' && (ch) != ':' && !S_BRACKET(ch) && (ch) != '"')

/* End (exclusive) of the string whose quote is at s[i], or -1 if it does not end before n. */
static Py_ssize_t
SNAME(string_end)(const SCHAR *s, Py_ssize_t i, Py_ssize_t n)
{
    for (i++; i < n; i++) {
        if (s[i] == '"')
            return i + 1;
        if (s[i] == '\\')
            i++;
    }
    return -1;
}

/* The next bracket at or after i outside strings, or -1 (none, or an unterminated string). */
static Py_ssize_t
SNAME(next_bracket)(const SCHAR *s, Py_ssize_t i, Py_ssize_t n)
{
    while (i < n) {
        SCHAR c = s[i];
        if (S_BRACKET(c))
            return i;
        if (c == '"') {
            i = SNAME(string_end)(s, i, n);
            if (i < 0)
                return -1;
        }
        else
            i++;
    }
    return -1;
}

/* fastpath.scan_value_end */
static Py_ssize_t
SNAME(value_end)(const SCHAR *s, Py_ssize_t pos, Py_ssize_t limit, Py_ssize_t cap)
{
    SCHAR c = s[pos];
    if (S_OPEN(c)) {
        if (cap < 1)
            return -2;
        Py_ssize_t depth = 1, p = pos + 1;
        for (;;) {
            p = SNAME(next_bracket)(s, p, limit);
            if (p < 0)
                return -1;
            if (S_OPEN(s[p])) {
                if (++depth > cap)
                    return -2;
            }
            else if (--depth == 0)
                return p + 1;
            p++;
        }
    }
    if (c == '"')
        return SNAME(string_end)(s, pos, limit);
    Py_ssize_t e = pos;
    while (e < limit && S_SCALAR_CH(s[e]))
        e++;
    if (e == pos)
        return -1;
    return e < limit ? e : -1;
}

/* fastpath.container_spine: appends positions to ``spine``; returns the too-deep opener's
 * position, -1 (none) or -3 (error set).  An empty list: the container closed. */
static Py_ssize_t
SNAME(spine)(const SCHAR *s, Py_ssize_t n, Py_ssize_t pos, Py_ssize_t cap, PyObject *spine)
{
    if (append_index(spine, pos) < 0)
        return -3;
    if (cap < 1)
        return pos;
    Py_ssize_t p = pos + 1;
    for (;;) {
        p = SNAME(next_bracket)(s, p, n);
        if (p < 0)
            return -1;
        if (S_OPEN(s[p])) {
            if (PyList_GET_SIZE(spine) >= cap)
                return p;
            if (append_index(spine, p) < 0)
                return -3;
        }
        else {
            Py_ssize_t k = PyList_GET_SIZE(spine) - 1;
            if (PyList_SetSlice(spine, k, k + 1, NULL) < 0)
                return -3;
            if (k == 0)
                return -1;
        }
        p++;
    }
}

static inline Py_ssize_t
SNAME(skip_ws)(const SCHAR *s, Py_ssize_t p, Py_ssize_t n)
{
    while (p < n && S_WS(s[p]))
        p++;
    return p;
}

/* fastpath.scan_members: returns end; sets *closed and *open_at. */
static Py_ssize_t
SNAME(members)(const SCHAR *s, Py_ssize_t pos, int in_object, Py_ssize_t n, Py_ssize_t cap,
               int *closed, Py_ssize_t *open_at)
{
    SCHAR close = in_object ? '}' : ']';
    Py_ssize_t last = -1, p = pos;
    *closed = 0;
    *open_at = -1;
    for (;;) {
        if (!in_object) {
            /* _SCALAR_RUN: scalar members, each followed by a comma */
            for (;;) {
                Py_ssize_t q = SNAME(skip_ws)(s, p, n), e;
                if (q >= n)
                    break;
                if (s[q] == '"') {
                    e = SNAME(string_end)(s, q, n);
                    if (e < 0)
                        break;
                }
                else {
                    e = q;
                    while (e < n && S_SCALAR_CH(s[e]))
                        e++;
                    if (e == q)
                        break;
                }
                e = SNAME(skip_ws)(s, e, n);
                if (e >= n || s[e] != ',')
                    break;
                p = e + 1;
            }
            if (p > pos)
                last = p - 1;
        }
        p = SNAME(skip_ws)(s, p, n);
        if (p >= n)
            break;
        if (in_object) {
            if (s[p] != '"')
                break;
            Py_ssize_t e = SNAME(string_end)(s, p, n);
            if (e < 0)
                break;
            p = SNAME(skip_ws)(s, e, n);
            if (p >= n || s[p] != ':')
                break;
            p = SNAME(skip_ws)(s, p + 1, n);
            if (p >= n)
                break;
        }
        Py_ssize_t e = SNAME(value_end)(s, p, n, cap);
        if (e < 0) {
            if (S_OPEN(s[p]))
                *open_at = p;
            return last;
        }
        p = SNAME(skip_ws)(s, e, n);
        if (p >= n)
            break;
        if (s[p] == ',') {
            last = p++;
            continue;
        }
        if (s[p] == close) {
            *closed = 1;
            return p;
        }
        break;
    }
    return last;
}

#undef S_WS
#undef S_BRACKET
#undef S_OPEN
#undef S_SCALAR_CH
#undef SCHAR
#undef SNAME
