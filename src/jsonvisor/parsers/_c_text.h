/* Stage: the text being parsed.  Part of the unity build of _speedups.c (included once,
 * in order).
 *
 * A str chunk, text decoded from bytes, or an ASCII bytes chunk read in place: its bytes
 * are the code units of a 1-byte-kind str, so the scanners read them as they are and a
 * str is only made where one is needed (a string's piece, a held token, a call into the
 * Python side).  Token chunks of bytes then cost what the same chunks as str cost. */

typedef struct {
    int kind;            /* PyUnicode_1BYTE_KIND, 2BYTE or 4BYTE */
    const void *data;    /* the code units */
    Py_ssize_t n;        /* how many */
    char ascii;          /* all below 0x80 */
    char owned;          /* ``str`` was made by text_str() and is released by text_release() */
    PyObject *str;       /* the text as a str (borrowed unless owned), or NULL: not made yet */
    PyObject *bytes;     /* ASCII bytes read in place: the bytes object (borrowed), or NULL */
} Text;

static void
text_of_str(Text *t, PyObject *s)
{
    t->kind = PyUnicode_KIND(s);
    t->data = PyUnicode_DATA(s);
    t->n = PyUnicode_GET_LENGTH(s);
    t->ascii = (char)PyUnicode_IS_ASCII(s);
    t->owned = 0;
    t->str = s;
    t->bytes = NULL;
}

static void
text_of_ascii_bytes(Text *t, PyObject *b)
{
    t->kind = PyUnicode_1BYTE_KIND;
    t->data = PyBytes_AS_STRING(b);
    t->n = PyBytes_GET_SIZE(b);
    t->ascii = 1;
    t->owned = 0;
    t->str = NULL;
    t->bytes = b;
}

/* Is every byte below 0x80? */
static int
all_ascii(const char *p, Py_ssize_t n)
{
    unsigned char acc = 0;
    for (Py_ssize_t i = 0; i < n; i++) /* (no early exit: the compiler vectorises it) */
        acc |= (unsigned char)p[i];
    return acc < 0x80;
}

/* A str of the ASCII code units p[0:len]. */
static PyObject *
ascii_str(const char *p, Py_ssize_t len)
{
    if (len == 1)
        return PyUnicode_FromOrdinal((unsigned char)p[0]); /* (a cached one) */
    PyObject *s = PyUnicode_New(len, 127);
    if (s != NULL && len)
        memcpy(PyUnicode_DATA(s), p, (size_t)len);
    return s;
}

/* The text as a str: a borrowed reference (made on first use), or NULL with an error. */
static PyObject *
text_str(Text *t)
{
    if (t->str == NULL) {
        t->str = ascii_str((const char *)t->data, t->n);
        t->owned = t->str != NULL;
    }
    return t->str;
}

static void
text_release(Text *t)
{
    if (t->owned) {
        Py_CLEAR(t->str);
        t->owned = 0;
    }
}

/* text[s:e] as a new str. */
static PyObject *
text_sub(Text *t, Py_ssize_t s, Py_ssize_t e)
{
    if (t->str != NULL)
        return PyUnicode_Substring(t->str, s, e);
    return ascii_str((const char *)t->data + s, e - s);
}

/* A short UTF-8 text decoded by hand (the codec's set-up costs more than a token's few
 * bytes): the str of p[0:*used], where *used stops before a sequence cut by the end.
 * NULL, with no error set, for anything but plain valid UTF-8 or a long text: the caller
 * then asks the codec, which decides (and words any error) exactly as before. */
#define UTF8_SMALL 64
static PyObject *
utf8_small(const unsigned char *p, Py_ssize_t n, Py_ssize_t *used)
{
    if (n > UTF8_SMALL)
        return NULL;
    Py_UCS4 buf[UTF8_SMALL], maxc = 0;
    Py_ssize_t k = 0, i = 0;
    while (i < n) {
        unsigned c = p[i];
        Py_UCS4 cp;
        int len;
        if (c < 0x80) {
            buf[k++] = c;
            if (c > maxc)
                maxc = c;
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF)
            len = 2, cp = c & 0x1F;
        else if (c >= 0xE0 && c <= 0xEF)
            len = 3, cp = c & 0x0F;
        else if (c >= 0xF0 && c <= 0xF4)
            len = 4, cp = c & 0x07;
        else
            return NULL;
        if (i + len > n) { /* cut by the end: wait, when what is there may still be valid */
            if (i + 1 < n && (c == 0xE0 || c == 0xED || c == 0xF0 || c == 0xF4))
                return NULL; /* (its second byte has a narrower range: the codec judges) */
            for (Py_ssize_t j = i + 1; j < n; j++)
                if ((p[j] & 0xC0) != 0x80)
                    return NULL;
            break;
        }
        for (int j = 1; j < len; j++) {
            unsigned b = p[i + j];
            if ((b & 0xC0) != 0x80)
                return NULL;
            cp = (cp << 6) | (b & 0x3F);
        }
        if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
            return NULL;
        buf[k++] = cp;
        if (cp > maxc)
            maxc = cp;
        i += len;
    }
    PyObject *s = PyUnicode_New(k, maxc);
    if (s == NULL)
        return NULL;
    int kind = PyUnicode_KIND(s);
    void *out = PyUnicode_DATA(s);
    for (Py_ssize_t j = 0; j < k; j++)
        PyUnicode_WRITE(kind, out, j, buf[j]);
    *used = i;
    return s;
}

/* How many newlines text[:end] holds (*count), and where the last one is (*last). */
static inline void
newlines(Text *t, Py_ssize_t end, Py_ssize_t *count, Py_ssize_t *last)
{
    if (t->kind == PyUnicode_1BYTE_KIND) {
        const char *d = (const char *)t->data, *p = d, *stop = d + end;
        while ((p = memchr(p, '\n', (size_t)(stop - p))) != NULL) {
            ++*count;
            *last = p - d;
            if (++p >= stop)
                break;
        }
        return;
    }
    int kind = t->kind;
    for (Py_ssize_t i = 0; i < end; i++)
        if (PyUnicode_READ(kind, t->data, i) == '\n') {
            ++*count;
            *last = i;
        }
}

/* The largest character of text[s:e] (0 when empty). */
static Py_UCS4
text_max_char(Text *t, Py_ssize_t s, Py_ssize_t e)
{
    int kind = t->kind;
    const void *data = t->data;
    Py_UCS4 m = 0;
    for (Py_ssize_t i = s; i < e; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (c > m)
            m = c;
    }
    return m;
}

/* UTF-8 length of text[s:e] (surrogates count 3, like "surrogatepass"). */
static Py_ssize_t
utf8_len(Text *t, Py_ssize_t s, Py_ssize_t e)
{
    int kind = t->kind;
    const void *data = t->data;
    Py_ssize_t nb = e - s;
    if (t->ascii)
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

/* Does the text hold any of the (ASCII) characters of ``chars``? */
static int
holds_any(Text *t, const char *chars)
{
    int kind = t->kind;
    const void *data = t->data;
    for (Py_ssize_t i = 0; i < t->n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (c < 0x80 && c != 0 && strchr(chars, (int)c) != NULL)
            return 1;
    }
    return 0;
}
