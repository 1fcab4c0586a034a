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
