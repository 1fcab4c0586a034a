/* The optional C accelerator of jsonvisor.llm: a server-sent-events decoder and a
 * projecting JSON reader for provider envelopes.
 *
 * Decoder: the WHATWG "Interpreting an event stream" rules on raw bytes, exactly as
 * sse.PureSSEDecoder does on decoded text (one leading BOM skipped; CRLF, LF or CR line
 * ends, also split across chunks; comments; data lines joined with "\n"; event; id kept
 * across events, ignored when it holds NUL; retry only when all ASCII digits; a field
 * without colon; one leading space stripped; dispatch on a blank line; an unterminated
 * event discarded at close).  Lines are split on bytes: CR and LF are ASCII and never part
 * of a UTF-8 sequence, and Python's UTF-8 decoder replaces invalid bytes locally (a
 * maximal subpart never swallows an ASCII byte), so decoding each field value with
 * errors="replace" gives the same text as decoding the whole stream first.
 *
 * Projection: Decoder.feed_pairs(data, projection) decodes each event's data, when it is a
 * JSON object, into a dict holding only the keys the projection names (recursively), or
 * gives the data as a str when it cannot tell the value exactly (invalid JSON, NaN, big
 * integers, escaped keys, lone surrogate escapes, a container where the projection wants
 * a scalar, ...): the caller then decodes the str with its full JSON decoder, which
 * decides.  So a projected dict always equals the full decoder's value restricted to the
 * projection.  Skipped values are validated (strictly: what stdlib json accepts) but not
 * built.
 *
 * Every read is bounds-checked against the end of its buffer; no input is trusted.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#include <string.h>

#define MAX_DEPTH 64          /* deeper JSON falls back to the Python decoder */
#define CACHE_MAX_LEN 64      /* string values up to this many bytes are cached per key */

static PyObject *EventClass;          /* sse.ServerSentEvent */
static PyObject *EventDescrs[4];      /* its member descriptors: data, event, id, retry */
static PyObject *DecodeError;         /* sse.SSEDecodeError */
static PyObject *S_message;           /* "message" */
static PyObject *S_empty;             /* "" */

/* ------------------------------------------------------------------ byte buffers */

typedef struct {
    char *p;
    Py_ssize_t len, cap;
} Buf;

static int
buf_reserve(Buf *b, Py_ssize_t extra)
{
    if (extra > PY_SSIZE_T_MAX - b->len) {
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t need = b->len + extra;
    if (need <= b->cap)
        return 0;
    Py_ssize_t cap = b->cap ? b->cap : 256;
    while (cap < need) {
        if (cap > PY_SSIZE_T_MAX / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    char *q = PyMem_Realloc(b->p, (size_t)cap);
    if (q == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    b->p = q;
    b->cap = cap;
    return 0;
}

static int
buf_append(Buf *b, const char *s, Py_ssize_t n)
{
    if (n <= 0)
        return 0;
    if (buf_reserve(b, n) < 0)
        return -1;
    memcpy(b->p + b->len, s, (size_t)n);
    b->len += n;
    return 0;
}

static void
buf_free(Buf *b)
{
    PyMem_Free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

static PyObject *
decode_replace(const char *s, Py_ssize_t n)
{
    if (n <= 0) {
        Py_INCREF(S_empty);
        return S_empty;
    }
    return PyUnicode_DecodeUTF8(s, n, "replace");
}

/* ------------------------------------------------------------------ projections */

enum { SPEC_SCALAR = 0, SPEC_OBJECT = 1, SPEC_ARRAY = 2 };

typedef struct Spec {
    int kind;
    Py_ssize_t n;            /* OBJECT: number of keys */
    PyObject **keys;         /* OBJECT: the key strings (owned) */
    struct Spec **subs;      /* OBJECT: one per key; ARRAY: subs[0], the element spec */
    PyObject **cache;        /* OBJECT: per key, the last short string value (owned) */
} Spec;

static void
spec_free(Spec *s)
{
    if (s == NULL)
        return;
    Py_ssize_t n = s->kind == SPEC_ARRAY ? 1 : s->n;
    if (s->subs != NULL) {
        for (Py_ssize_t i = 0; i < n; i++)
            spec_free(s->subs[i]);
    }
    if (s->keys != NULL) {
        for (Py_ssize_t i = 0; i < s->n; i++)
            Py_XDECREF(s->keys[i]);
    }
    if (s->cache != NULL) {
        for (Py_ssize_t i = 0; i < s->n; i++)
            Py_XDECREF(s->cache[i]);
    }
    PyMem_Free(s->keys);
    PyMem_Free(s->subs);
    PyMem_Free(s->cache);
    PyMem_Free(s);
}

static Spec *
spec_compile(PyObject *obj, int depth)
{
    if (depth > MAX_DEPTH) {
        PyErr_SetString(PyExc_ValueError, "projection nested too deeply (or cyclic)");
        return NULL;
    }
    Spec *s = PyMem_Calloc(1, sizeof(Spec));
    if (s == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    if (obj == Py_None) {
        s->kind = SPEC_SCALAR;
        return s;
    }
    if (PyList_Check(obj)) {
        if (PyList_GET_SIZE(obj) != 1) {
            PyErr_SetString(PyExc_ValueError, "a projection list holds exactly one spec");
            goto fail;
        }
        s->kind = SPEC_ARRAY;
        s->subs = PyMem_Calloc(1, sizeof(Spec *));
        if (s->subs == NULL) {
            PyErr_NoMemory();
            goto fail;
        }
        s->subs[0] = spec_compile(PyList_GET_ITEM(obj, 0), depth + 1);
        if (s->subs[0] == NULL)
            goto fail;
        return s;
    }
    if (!PyDict_Check(obj)) {
        PyErr_SetString(PyExc_TypeError, "a projection is None, a dict or a one-item list");
        goto fail;
    }
    s->kind = SPEC_OBJECT;
    s->n = PyDict_GET_SIZE(obj);
    Py_ssize_t n = s->n ? s->n : 1;
    s->keys = PyMem_Calloc((size_t)n, sizeof(PyObject *));
    s->subs = PyMem_Calloc((size_t)n, sizeof(Spec *));
    s->cache = PyMem_Calloc((size_t)n, sizeof(PyObject *));
    if (s->keys == NULL || s->subs == NULL || s->cache == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    Py_ssize_t pos = 0, i = 0;
    PyObject *key, *value;
    while (PyDict_Next(obj, &pos, &key, &value)) {
        if (!PyUnicode_Check(key) || !PyUnicode_IS_ASCII(key)) {
            PyErr_SetString(PyExc_TypeError, "projection keys are ASCII strings");
            goto fail;
        }
        Py_INCREF(key);
        s->keys[i] = key;
        s->subs[i] = spec_compile(value, depth + 1);
        i++;
        if (s->subs[i - 1] == NULL)
            goto fail;
    }
    return s;
fail:
    spec_free(s);
    return NULL;
}

/* A template: the shape of one hot event, aligned with the projection.  Per key of the
 * spec node: the key must be absent, or its value is captured, or equals a constant
 * string, or is null (or absent), or is an object / a one-item array of objects matching
 * a child template.  A JSON object matches when every key the projection reads is as the
 * template says (keys the projection does not read are skipped): its projection is then
 * exactly the template filled with the captures. */
enum { TK_ABSENT = 0, TK_CAPTURE, TK_OPTIONAL, TK_CONST_STR, TK_CONST_NULL, TK_OBJECT, TK_ARRAY1 };
#define MAX_CAPTURES 16

typedef struct Tmpl {
    Spec *spec;                 /* the (object) spec node this node is aligned with */
    int *kind;                  /* per spec key */
    Py_ssize_t *slot;           /* TK_CAPTURE / TK_OPTIONAL: capture index */
    PyObject **konst;           /* TK_CONST_STR: the ASCII string (owned) */
    struct Tmpl **subs;         /* TK_OBJECT / TK_ARRAY1: the child template */
    unsigned long long required;
} Tmpl;

static void
tmpl_free(Tmpl *t)
{
    if (t == NULL)
        return;
    Py_ssize_t n = t->spec ? t->spec->n : 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (t->konst)
            Py_XDECREF(t->konst[i]);
        if (t->subs)
            tmpl_free(t->subs[i]);
    }
    PyMem_Free(t->kind);
    PyMem_Free(t->slot);
    PyMem_Free(t->konst);
    PyMem_Free(t->subs);
    PyMem_Free(t);
}

static Tmpl *
tmpl_compile(PyObject *obj, Spec *spec, Py_ssize_t *ncaps, int depth)
{
    if (depth > MAX_DEPTH || !PyDict_Check(obj) || spec->kind != SPEC_OBJECT) {
        PyErr_SetString(PyExc_TypeError, "a template is a dict where the projection has one");
        return NULL;
    }
    if (spec->n > 64) {
        PyErr_SetString(PyExc_ValueError, "a templated object reads at most 64 keys");
        return NULL;
    }
    Tmpl *t = PyMem_Calloc(1, sizeof(Tmpl));
    if (t == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    t->spec = spec;
    size_t n = spec->n ? (size_t)spec->n : 1;
    t->kind = PyMem_Calloc(n, sizeof(int));
    t->slot = PyMem_Calloc(n, sizeof(Py_ssize_t));
    t->konst = PyMem_Calloc(n, sizeof(PyObject *));
    t->subs = PyMem_Calloc(n, sizeof(Tmpl *));
    if (!t->kind || !t->slot || !t->konst || !t->subs) {
        PyErr_NoMemory();
        goto fail;
    }
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    while (PyDict_Next(obj, &pos, &key, &value)) {
        Py_ssize_t k = -1;
        for (Py_ssize_t i = 0; i < spec->n; i++) {
            int eq = PyObject_RichCompareBool(spec->keys[i], key, Py_EQ);
            if (eq < 0)
                goto fail;
            if (eq) {
                k = i;
                break;
            }
        }
        if (k < 0) {
            PyErr_Format(PyExc_ValueError, "template key %R is not in the projection", key);
            goto fail;
        }
        Spec *sub = spec->subs[k];
        if (value == Py_Ellipsis || (PyTuple_Check(value) && PyTuple_GET_SIZE(value) == 1 &&
                                     PyTuple_GET_ITEM(value, 0) == Py_Ellipsis)) {
            if (*ncaps >= MAX_CAPTURES) {
                PyErr_SetString(PyExc_ValueError, "too many captures in a template");
                goto fail;
            }
            t->kind[k] = value == Py_Ellipsis ? TK_CAPTURE : TK_OPTIONAL;
            t->slot[k] = (*ncaps)++;
        } else if (value == Py_None) {
            t->kind[k] = TK_CONST_NULL;
        } else if (PyUnicode_Check(value) && PyUnicode_IS_COMPACT_ASCII(value)) {
            t->kind[k] = TK_CONST_STR;
            Py_INCREF(value);
            t->konst[k] = value;
        } else if (PyDict_Check(value)) {
            t->kind[k] = TK_OBJECT;
            t->subs[k] = tmpl_compile(value, sub, ncaps, depth + 1);
            if (t->subs[k] == NULL)
                goto fail;
        } else if (PyList_Check(value) && PyList_GET_SIZE(value) == 1 && sub->kind == SPEC_ARRAY) {
            t->kind[k] = TK_ARRAY1;
            t->subs[k] = tmpl_compile(PyList_GET_ITEM(value, 0), sub->subs[0], ncaps, depth + 1);
            if (t->subs[k] == NULL)
                goto fail;
        } else {
            PyErr_Format(PyExc_TypeError, "bad template value for key %R", key);
            goto fail;
        }
        if (t->kind[k] != TK_CONST_NULL && t->kind[k] != TK_OPTIONAL)
            t->required |= 1ULL << k;
    }
    return t;
fail:
    tmpl_free(t);
    return NULL;
}

typedef struct {
    PyObject_HEAD
    Spec *root;
    Py_ssize_t ntmpl;
    Tmpl **tmpls;
    Py_ssize_t *ncaps;
    Py_ssize_t last;  /* the template that matched last: tried first */
} ProjectionObject;

static PyTypeObject ProjectionType;

static void
projection_dealloc(ProjectionObject *self)
{
    for (Py_ssize_t i = 0; i < self->ntmpl; i++)
        tmpl_free(self->tmpls[i]);
    PyMem_Free(self->tmpls);
    PyMem_Free(self->ncaps);
    spec_free(self->root);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
projection_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    PyObject *spec, *templates = NULL;
    static char *kwlist[] = {"spec", "templates", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|O:Projection", kwlist, &spec, &templates))
        return NULL;
    if (!PyDict_Check(spec)) {
        PyErr_SetString(PyExc_TypeError, "the top of a projection is a dict");
        return NULL;
    }
    ProjectionObject *self = (ProjectionObject *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->root = spec_compile(spec, 0);
    if (self->root == NULL) {
        Py_DECREF(self);
        return NULL;
    }
    if (templates == NULL || templates == Py_None)
        return (PyObject *)self;
    PyObject *seq = PySequence_Fast(templates, "templates must be a sequence of dicts");
    if (seq == NULL) {
        Py_DECREF(self);
        return NULL;
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    self->tmpls = PyMem_Calloc(n ? (size_t)n : 1, sizeof(Tmpl *));
    self->ncaps = PyMem_Calloc(n ? (size_t)n : 1, sizeof(Py_ssize_t));
    if (self->tmpls == NULL || self->ncaps == NULL) {
        Py_DECREF(seq);
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        self->tmpls[i] = tmpl_compile(PySequence_Fast_GET_ITEM(seq, i), self->root,
                                      &self->ncaps[i], 0);
        if (self->tmpls[i] == NULL) {
            Py_DECREF(seq);
            Py_DECREF(self);
            return NULL;
        }
        self->ntmpl = i + 1;
    }
    Py_DECREF(seq);
    return (PyObject *)self;
}

/* ------------------------------------------------------------------ JSON reading */

/* A reader returns NULL with no exception set to say "fall back" (the value cannot be
 * projected exactly), or NULL with an exception set on a real error (MemoryError). */
typedef struct {
    const unsigned char *p;
    const unsigned char *end;
} Cur;

static inline void
skip_ws(Cur *c)
{
    while (c->p < c->end) {
        unsigned char b = *c->p;
        if (b != ' ' && b != '\t' && b != '\n' && b != '\r')
            return;
        c->p++;
    }
}

static inline int
hexval(unsigned char b)
{
    if (b >= '0' && b <= '9')
        return b - '0';
    if (b >= 'a' && b <= 'f')
        return b - 'a' + 10;
    if (b >= 'A' && b <= 'F')
        return b - 'A' + 10;
    return -1;
}

/* At the opening quote: find the closing one.  Returns 0 and sets *close (the quote),
 * *escaped; -1 on invalid JSON (raw control character, bad escape, no end). */
static int
scan_string(Cur *c, const unsigned char **close, int *escaped)
{
    const unsigned char *p = c->p + 1, *end = c->end;
    *escaped = 0;
    while (p < end) {
        unsigned char b = *p;
        if (b == '"') {
            *close = p;
            return 0;
        }
        if (b == '\\') {
            *escaped = 1;
            if (end - p < 2)
                return -1;
            unsigned char e = p[1];
            if (e == 'u') {
                if (end - p < 6)
                    return -1;
                for (int k = 2; k < 6; k++) {
                    if (hexval(p[k]) < 0)
                        return -1;
                }
                p += 6;
                continue;
            }
            if (e != '"' && e != '\\' && e != '/' && e != 'b' && e != 'f' && e != 'n' &&
                e != 'r' && e != 't')
                return -1;
            p += 2;
            continue;
        }
        if (b < 0x20)
            return -1;
        p++;
    }
    return -1;
}

static int
read_hex4(const unsigned char *p)
{
    return (hexval(p[0]) << 12) | (hexval(p[1]) << 8) | (hexval(p[2]) << 4) | hexval(p[3]);
}

static void
put_utf8(Buf *b, unsigned int cp)
{
    /* room was reserved by the caller (4 bytes per escape at most) */
    char *o = b->p + b->len;
    if (cp < 0x80) {
        o[0] = (char)cp;
        b->len += 1;
    } else if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        b->len += 2;
    } else if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        b->len += 3;
    } else {
        o[0] = (char)(0xF0 | (cp >> 18));
        o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[3] = (char)(0x80 | (cp & 0x3F));
        b->len += 4;
    }
}

/* The string's text between the quotes [s, e), escapes resolved. */
static PyObject *
unescape(const unsigned char *s, const unsigned char *e)
{
    Buf b = {NULL, 0, 0};
    /* the text never grows: an escape (>= 2 bytes) gives at most 3 bytes, a pair 4 */
    Py_ssize_t n = e - s;
    if (buf_reserve(&b, n + 4) < 0)
        return NULL;
    const unsigned char *p = s;
    while (p < e) {
        const unsigned char *q = p;
        while (q < e && *q != '\\')
            q++;
        memcpy(b.p + b.len, p, (size_t)(q - p));
        b.len += q - p;
        if (q >= e)
            break;
        /* scan_string checked the escape's shape and length */
        unsigned char x = q[1];
        if (x == 'u') {
            unsigned int cp = (unsigned int)read_hex4(q + 2);
            p = q + 6;
            if (cp >= 0xDC00 && cp <= 0xDFFF)
                goto fallback; /* a lone low surrogate */
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (e - p < 6 || p[0] != '\\' || p[1] != 'u')
                    goto fallback; /* a lone high surrogate */
                unsigned int lo = (unsigned int)read_hex4(p + 2);
                if (lo < 0xDC00 || lo > 0xDFFF)
                    goto fallback;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                p += 6;
            }
            put_utf8(&b, cp);
            continue;
        }
        char out;
        switch (x) {
        case 'b': out = '\b'; break;
        case 'f': out = '\f'; break;
        case 'n': out = '\n'; break;
        case 'r': out = '\r'; break;
        case 't': out = '\t'; break;
        default: out = (char)x; break; /* " \ / */
        }
        b.p[b.len++] = out;
        p = q + 2;
    }
    PyObject *r = decode_replace(b.p, b.len);
    buf_free(&b);
    return r;
fallback:
    buf_free(&b);
    return NULL;
}

/* A string value; `cache` (may be NULL) holds the last short one seen in this slot. */
static PyObject *
read_string(Cur *c, PyObject **cache)
{
    const unsigned char *close;
    int escaped;
    if (scan_string(c, &close, &escaped) < 0)
        return NULL;
    const unsigned char *s = c->p + 1;
    Py_ssize_t n = close - s;
    c->p = close + 1;
    if (escaped)
        return unescape(s, close);
    if (cache != NULL && n <= CACHE_MAX_LEN) {
        PyObject *old = *cache;
        if (old != NULL && PyUnicode_GET_LENGTH(old) == n && PyUnicode_IS_COMPACT_ASCII(old) &&
            memcmp(PyUnicode_DATA(old), s, (size_t)n) == 0) {
            Py_INCREF(old);
            return old;
        }
        PyObject *r = decode_replace((const char *)s, n);
        if (r != NULL && PyUnicode_IS_COMPACT_ASCII(r)) {
            Py_INCREF(r);
            Py_XSETREF(*cache, r);
        }
        return r;
    }
    return decode_replace((const char *)s, n);
}

/* Scan a JSON number; returns 0 and sets *isint, or -1 when it is not one. */
static int
scan_number(Cur *c, const unsigned char **stop, int *isint)
{
    const unsigned char *p = c->p, *end = c->end;
    *isint = 1;
    if (p < end && *p == '-')
        p++;
    if (p >= end)
        return -1;
    if (*p == '0') {
        p++;
    } else if (*p >= '1' && *p <= '9') {
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    } else {
        return -1;
    }
    if (p < end && *p == '.') {
        *isint = 0;
        p++;
        if (p >= end || !(*p >= '0' && *p <= '9'))
            return -1;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        *isint = 0;
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || !(*p >= '0' && *p <= '9'))
            return -1;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    *stop = p;
    return 0;
}

static PyObject *
read_number(Cur *c)
{
    const unsigned char *stop;
    int isint;
    if (scan_number(c, &stop, &isint) < 0)
        return NULL;
    const unsigned char *p = c->p;
    Py_ssize_t n = stop - p;
    c->p = stop;
    if (isint) {
        int neg = *p == '-';
        Py_ssize_t digits = n - neg;
        if (digits > 18)
            return NULL; /* big: the Python decoder decides */
        long long v = 0;
        for (const unsigned char *q = p + neg; q < stop; q++)
            v = v * 10 + (*q - '0');
        return PyLong_FromLongLong(neg ? -v : v);
    }
    char tmp[64];
    if (n >= (Py_ssize_t)sizeof(tmp))
        return NULL;
    memcpy(tmp, p, (size_t)n);
    tmp[n] = '\0';
    char *endp = NULL;
    double d = PyOS_string_to_double(tmp, &endp, NULL);
    if (d == -1.0 && PyErr_Occurred())
        return NULL;
    if (endp != tmp + n)
        return NULL;
    return PyFloat_FromDouble(d);
}

static int
match_literal(Cur *c, const char *word, Py_ssize_t n)
{
    if (c->end - c->p < n || memcmp(c->p, word, (size_t)n) != 0)
        return -1;
    c->p += n;
    return 0;
}

/* Validate one value and step over it; 0, or -1 when it is not valid strict JSON. */
static int
skip_value(Cur *c, int depth)
{
    if (depth > MAX_DEPTH)
        return -1;
    skip_ws(c);
    if (c->p >= c->end)
        return -1;
    unsigned char b = *c->p;
    if (b == '"') {
        const unsigned char *close;
        int escaped;
        if (scan_string(c, &close, &escaped) < 0)
            return -1;
        c->p = close + 1;
        return 0;
    }
    if (b == '{' || b == '[') {
        unsigned char closer = b == '{' ? '}' : ']';
        c->p++;
        skip_ws(c);
        if (c->p < c->end && *c->p == closer) {
            c->p++;
            return 0;
        }
        for (;;) {
            if (b == '{') {
                skip_ws(c);
                if (c->p >= c->end || *c->p != '"')
                    return -1;
                const unsigned char *close;
                int escaped;
                if (scan_string(c, &close, &escaped) < 0)
                    return -1;
                c->p = close + 1;
                skip_ws(c);
                if (c->p >= c->end || *c->p != ':')
                    return -1;
                c->p++;
            }
            if (skip_value(c, depth + 1) < 0)
                return -1;
            skip_ws(c);
            if (c->p >= c->end)
                return -1;
            if (*c->p == ',') {
                c->p++;
                continue;
            }
            if (*c->p == closer) {
                c->p++;
                return 0;
            }
            return -1;
        }
    }
    if (b == 't')
        return match_literal(c, "true", 4);
    if (b == 'f')
        return match_literal(c, "false", 5);
    if (b == 'n')
        return match_literal(c, "null", 4);
    const unsigned char *stop;
    int isint;
    if (scan_number(c, &stop, &isint) < 0)
        return -1;
    c->p = stop;
    return 0;
}

static PyObject *project_value(Cur *c, Spec *spec, PyObject **cache, int depth);

static PyObject *
project_object(Cur *c, Spec *spec, int depth)
{
    c->p++; /* '{' */
    PyObject *d = PyDict_New();
    if (d == NULL)
        return NULL;
    skip_ws(c);
    if (c->p < c->end && *c->p == '}') {
        c->p++;
        return d;
    }
    for (;;) {
        skip_ws(c);
        if (c->p >= c->end || *c->p != '"')
            goto fallback;
        const unsigned char *close;
        int escaped;
        if (scan_string(c, &close, &escaped) < 0)
            goto fallback;
        const unsigned char *ks = c->p + 1;
        Py_ssize_t kn = close - ks;
        c->p = close + 1;
        if (escaped)
            goto fallback; /* "\u0069d" is "id": leave escaped keys to Python */
        Py_ssize_t found = -1;
        for (Py_ssize_t i = 0; i < spec->n; i++) {
            PyObject *k = spec->keys[i];
            if (PyUnicode_GET_LENGTH(k) == kn && memcmp(PyUnicode_DATA(k), ks, (size_t)kn) == 0) {
                found = i;
                break;
            }
        }
        skip_ws(c);
        if (c->p >= c->end || *c->p != ':')
            goto fallback;
        c->p++;
        if (found >= 0) {
            PyObject *v = project_value(c, spec->subs[found], &spec->cache[found], depth + 1);
            if (v == NULL)
                goto fail;
            int r = PyDict_SetItem(d, spec->keys[found], v); /* a later duplicate wins */
            Py_DECREF(v);
            if (r < 0)
                goto fail;
        } else if (skip_value(c, depth + 1) < 0) {
            goto fallback;
        }
        skip_ws(c);
        if (c->p >= c->end)
            goto fallback;
        if (*c->p == ',') {
            c->p++;
            continue;
        }
        if (*c->p == '}') {
            c->p++;
            return d;
        }
        goto fallback;
    }
fallback:
fail:
    Py_DECREF(d);
    return NULL;
}

static PyObject *
project_array(Cur *c, Spec *spec, int depth)
{
    c->p++; /* '[' */
    PyObject *list = PyList_New(0);
    if (list == NULL)
        return NULL;
    skip_ws(c);
    if (c->p < c->end && *c->p == ']') {
        c->p++;
        return list;
    }
    for (;;) {
        PyObject *v = project_value(c, spec->subs[0], NULL, depth + 1);
        if (v == NULL)
            goto fail;
        int r = PyList_Append(list, v);
        Py_DECREF(v);
        if (r < 0)
            goto fail;
        skip_ws(c);
        if (c->p >= c->end)
            goto fail;
        if (*c->p == ',') {
            c->p++;
            continue;
        }
        if (*c->p == ']') {
            c->p++;
            return list;
        }
        goto fail;
    }
fail:
    Py_DECREF(list);
    return NULL;
}

static PyObject *
project_value(Cur *c, Spec *spec, PyObject **cache, int depth)
{
    if (depth > MAX_DEPTH)
        return NULL;
    skip_ws(c);
    if (c->p >= c->end)
        return NULL;
    unsigned char b = *c->p;
    switch (b) {
    case '{':
        return spec->kind == SPEC_OBJECT ? project_object(c, spec, depth) : NULL;
    case '[':
        return spec->kind == SPEC_ARRAY ? project_array(c, spec, depth) : NULL;
    case '"':
        return read_string(c, cache);
    case 't':
        if (match_literal(c, "true", 4) < 0)
            return NULL;
        Py_RETURN_TRUE;
    case 'f':
        if (match_literal(c, "false", 5) < 0)
            return NULL;
        Py_RETURN_FALSE;
    case 'n':
        if (match_literal(c, "null", 4) < 0)
            return NULL;
        Py_RETURN_NONE;
    default:
        return read_number(c);
    }
}

/* 1: the object at c->p matches t (captures stored), 0: it does not, -1: error. */
static int
match_object(Cur *c, Tmpl *t, PyObject **caps, int depth)
{
    Spec *spec = t->spec;
    unsigned long long seen = 0;
    if (depth > MAX_DEPTH)
        return 0;
    c->p++; /* '{' */
    skip_ws(c);
    if (c->p < c->end && *c->p == '}') {
        c->p++;
        return (t->required & ~seen) == 0;
    }
    for (;;) {
        skip_ws(c);
        if (c->p >= c->end || *c->p != '"')
            return 0;
        const unsigned char *close;
        int escaped;
        if (scan_string(c, &close, &escaped) < 0)
            return 0;
        const unsigned char *ks = c->p + 1;
        Py_ssize_t kn = close - ks;
        c->p = close + 1;
        if (escaped)
            return 0;
        Py_ssize_t k = -1;
        for (Py_ssize_t i = 0; i < spec->n; i++) {
            PyObject *key = spec->keys[i];
            if (PyUnicode_GET_LENGTH(key) == kn &&
                memcmp(PyUnicode_DATA(key), ks, (size_t)kn) == 0) {
                k = i;
                break;
            }
        }
        skip_ws(c);
        if (c->p >= c->end || *c->p != ':')
            return 0;
        c->p++;
        if (k < 0) {
            if (skip_value(c, depth + 1) < 0)
                return 0;
        } else {
            unsigned long long bit = 1ULL << k;
            if (seen & bit)
                return 0; /* a duplicate key: leave it to the general path */
            seen |= bit;
            skip_ws(c);
            if (c->p >= c->end)
                return 0;
            unsigned char b = *c->p;
            switch (t->kind[k]) {
            case TK_CAPTURE:
            case TK_OPTIONAL: {
                if (b == '{' || b == '[')
                    return 0;
                PyObject *v = project_value(c, spec->subs[k], &spec->cache[k], depth + 1);
                if (v == NULL)
                    return PyErr_Occurred() ? -1 : 0;
                caps[t->slot[k]] = v;
                break;
            }
            case TK_CONST_STR: {
                if (b != '"' || scan_string(c, &close, &escaped) < 0 || escaped)
                    return 0;
                PyObject *want = t->konst[k];
                Py_ssize_t n = close - (c->p + 1);
                if (PyUnicode_GET_LENGTH(want) != n ||
                    memcmp(PyUnicode_DATA(want), c->p + 1, (size_t)n) != 0)
                    return 0;
                c->p = close + 1;
                break;
            }
            case TK_CONST_NULL:
                if (match_literal(c, "null", 4) < 0)
                    return 0;
                break;
            case TK_OBJECT: {
                if (b != '{')
                    return 0;
                int r = match_object(c, t->subs[k], caps, depth + 1);
                if (r != 1)
                    return r;
                break;
            }
            case TK_ARRAY1: {
                if (b != '[')
                    return 0;
                c->p++;
                skip_ws(c);
                if (c->p >= c->end || *c->p != '{')
                    return 0;
                int r = match_object(c, t->subs[k], caps, depth + 1);
                if (r != 1)
                    return r;
                skip_ws(c);
                if (c->p >= c->end || *c->p != ']')
                    return 0;
                c->p++;
                break;
            }
            default: /* TK_ABSENT: the projection reads this key, the template has none */
                return 0;
            }
        }
        skip_ws(c);
        if (c->p >= c->end)
            return 0;
        if (*c->p == ',') {
            c->p++;
            continue;
        }
        if (*c->p == '}') {
            c->p++;
            return (t->required & ~seen) == 0;
        }
        return 0;
    }
}

/* (template index, captures...) when a template matches; NULL without exception if none. */
static PyObject *
match_templates(const char *s, Py_ssize_t n, ProjectionObject *proj)
{
    for (Py_ssize_t a = 0; a < proj->ntmpl; a++) {
        Py_ssize_t i = (proj->last + a) % proj->ntmpl;
        PyObject *caps[MAX_CAPTURES] = {NULL};
        Py_ssize_t ncaps = proj->ncaps[i];
        Cur c = {(const unsigned char *)s, (const unsigned char *)s + n};
        skip_ws(&c);
        int r = 0;
        if (c.p < c.end && *c.p == '{') {
            r = match_object(&c, proj->tmpls[i], caps, 0);
            if (r == 1) {
                skip_ws(&c);
                if (c.p != c.end)
                    r = 0;
            }
        }
        if (r == 1) {
            PyObject *tuple = PyTuple_New(ncaps + 1);
            if (tuple == NULL)
                r = -1;
            else {
                PyTuple_SET_ITEM(tuple, 0, PyLong_FromSsize_t(i));
                if (PyTuple_GET_ITEM(tuple, 0) == NULL) {
                    Py_DECREF(tuple);
                    r = -1;
                } else {
                    for (Py_ssize_t j = 0; j < ncaps; j++) {
                        PyObject *v = caps[j] ? caps[j] : Py_None;
                        if (caps[j] == NULL)
                            Py_INCREF(Py_None);
                        caps[j] = NULL;
                        PyTuple_SET_ITEM(tuple, j + 1, v);
                    }
                    proj->last = i;
                    return tuple;
                }
            }
        }
        for (Py_ssize_t j = 0; j < ncaps; j++)
            Py_XDECREF(caps[j]);
        if (r < 0)
            return NULL;
    }
    return NULL;
}

/* The projected dict, NULL without exception to fall back, NULL with one on error. */
static PyObject *
project(const char *s, Py_ssize_t n, Spec *root)
{
    Cur c = {(const unsigned char *)s, (const unsigned char *)s + n};
    skip_ws(&c);
    if (c.p >= c.end || *c.p != '{')
        return NULL;
    PyObject *v = project_value(&c, root, NULL, 0);
    if (v == NULL)
        return NULL;
    skip_ws(&c);
    if (c.p != c.end) {
        Py_DECREF(v);
        return NULL;
    }
    return v;
}

static PyObject *
py_project(PyObject *module, PyObject *args)
{
    Py_buffer view;
    PyObject *proj;
    if (!PyArg_ParseTuple(args, "y*O:project", &view, &proj))
        return NULL;
    if (!PyObject_TypeCheck(proj, &ProjectionType) || ((ProjectionObject *)proj)->root == NULL) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_TypeError, "project() needs a Projection");
        return NULL;
    }
    ProjectionObject *po = (ProjectionObject *)proj;
    PyObject *r = po->ntmpl ? match_templates(view.buf, view.len, po) : NULL;
    if (r == NULL && !PyErr_Occurred())
        r = project(view.buf, view.len, po->root);
    PyBuffer_Release(&view);
    if (r == NULL && !PyErr_Occurred())
        Py_RETURN_NONE;
    return r;
}

/* ------------------------------------------------------------------ the decoder */

typedef struct {
    PyObject_HEAD
    Py_ssize_t max_line;
    int started;           /* the BOM check is done */
    int skip_lf;           /* the last chunk ended with CR: drop a leading LF */
    int closed;
    int busy;
    unsigned char bom[3];  /* the first bytes, until they tell whether a BOM starts */
    int bom_len;
    Buf line;              /* the unterminated line */
    Buf data;              /* the data lines, joined with "\n" */
    int has_data;
    Buf event;             /* the event type of the current block */
    PyObject *block_retry; /* this block's retry (int), or NULL */
    PyObject *last_event_id; /* str or None */
    PyObject *retry;         /* int or None */
    PyObject *event_name;    /* cache: the last event type string */
} DecoderObject;

typedef struct {
    DecoderObject *d;
    PyObject *out;
    ProjectionObject *proj; /* NULL: no projection */
    int pairs;
} Sink;

static PyObject *
event_type(DecoderObject *self)
{
    if (self->event.len == 0) {
        Py_INCREF(S_message);
        return S_message;
    }
    PyObject *old = self->event_name;
    if (old != NULL && PyUnicode_IS_COMPACT_ASCII(old) &&
        PyUnicode_GET_LENGTH(old) == self->event.len &&
        memcmp(PyUnicode_DATA(old), self->event.p, (size_t)self->event.len) == 0) {
        Py_INCREF(old);
        return old;
    }
    PyObject *r = decode_replace(self->event.p, self->event.len);
    if (r != NULL && PyUnicode_IS_COMPACT_ASCII(r) && self->event.len <= CACHE_MAX_LEN) {
        Py_INCREF(r);
        Py_XSETREF(self->event_name, r);
    }
    return r;
}

static PyObject *
make_event(PyObject *data, PyObject *type, PyObject *id, PyObject *retry)
{
    PyObject *values[4] = {data, type, id, retry};
    if (EventDescrs[0] == NULL)
        return PyObject_CallFunctionObjArgs(EventClass, data, type, id, retry, NULL);
    /* A frozen slotted dataclass: fill its slots through their member descriptors (what
     * its __init__ does with object.__setattr__), without running Python code. */
    PyTypeObject *tp = (PyTypeObject *)EventClass;
    PyObject *obj = tp->tp_alloc(tp, 0);
    if (obj == NULL)
        return NULL;
    for (int i = 0; i < 4; i++) {
        if (Py_TYPE(EventDescrs[i])->tp_descr_set(EventDescrs[i], obj, values[i]) < 0) {
            Py_DECREF(obj);
            return NULL;
        }
    }
    return obj;
}

static int
dispatch(Sink *k)
{
    DecoderObject *self = k->d;
    int has = self->has_data;
    PyObject *retry = self->block_retry;
    self->block_retry = NULL;
    self->has_data = 0;
    int rc = 0;
    if (has) {
        PyObject *type = event_type(self);
        PyObject *item = NULL;
        if (type == NULL) {
            rc = -1;
        } else if (k->pairs) {
            PyObject *value = NULL;
            if (k->proj != NULL && k->proj->ntmpl)
                value = match_templates(self->data.p, self->data.len, k->proj);
            if (value == NULL && !PyErr_Occurred() && k->proj != NULL)
                value = project(self->data.p, self->data.len, k->proj->root);
            if (value == NULL && !PyErr_Occurred())
                value = decode_replace(self->data.p, self->data.len);
            if (value != NULL) {
                item = PyTuple_Pack(2, type, value);
                Py_DECREF(value);
            }
        } else {
            PyObject *data = decode_replace(self->data.p, self->data.len);
            if (data != NULL) {
                item = make_event(data, type, self->last_event_id, retry ? retry : Py_None);
                Py_DECREF(data);
            }
        }
        Py_XDECREF(type);
        if (item == NULL) {
            rc = -1;
        } else {
            rc = PyList_Append(k->out, item);
            Py_DECREF(item);
        }
    }
    Py_XDECREF(retry);
    self->data.len = 0;
    self->event.len = 0;
    return rc;
}

static int
name_is(const char *s, Py_ssize_t n, const char *word, Py_ssize_t wn)
{
    return n == wn && memcmp(s, word, (size_t)wn) == 0;
}

static int
process_line(Sink *k, const char *s, Py_ssize_t n)
{
    DecoderObject *self = k->d;
    if (n == 0)
        return dispatch(k);
    if (s[0] == ':')
        return 0;
    const char *colon = memchr(s, ':', (size_t)n);
    Py_ssize_t nlen = colon ? colon - s : n;
    const char *v = colon ? colon + 1 : s + n;
    Py_ssize_t vlen = (s + n) - v;
    if (colon && vlen > 0 && v[0] == ' ') {
        v++;
        vlen--;
    }
    if (name_is(s, nlen, "data", 4)) {
        if (self->has_data && buf_append(&self->data, "\n", 1) < 0)
            return -1;
        self->has_data = 1;
        return buf_append(&self->data, v, vlen);
    }
    if (name_is(s, nlen, "event", 5)) {
        self->event.len = 0;
        return buf_append(&self->event, v, vlen);
    }
    if (name_is(s, nlen, "id", 2)) {
        if (vlen > 0 && memchr(v, '\0', (size_t)vlen) != NULL)
            return 0;
        PyObject *id = decode_replace(v, vlen);
        if (id == NULL)
            return -1;
        Py_SETREF(self->last_event_id, id);
        return 0;
    }
    if (name_is(s, nlen, "retry", 5)) {
        if (vlen == 0)
            return 0;
        for (Py_ssize_t i = 0; i < vlen; i++) {
            if (v[i] < '0' || v[i] > '9')
                return 0;
        }
        PyObject *text = PyUnicode_FromStringAndSize(v, vlen);
        if (text == NULL)
            return -1;
        PyObject *num = PyLong_FromUnicodeObject(text, 10);
        Py_DECREF(text);
        if (num == NULL) {
            if (!PyErr_ExceptionMatches(PyExc_ValueError))
                return -1;
            PyErr_Clear(); /* past int's digit limit: not a valid retry */
            return 0;
        }
        Py_INCREF(num);
        Py_XSETREF(self->block_retry, num);
        Py_SETREF(self->retry, num);
        return 0;
    }
    return 0;
}

/* Process the bytes [s, s+n) of the (BOM-checked) stream. */
static int
process(Sink *k, const char *s, Py_ssize_t n)
{
    DecoderObject *self = k->d;
    const char *p = s, *end = s + n;
    if (n == 0)
        return 0;
    if (self->skip_lf) {
        self->skip_lf = 0;
        if (*p == '\n')
            p++;
    }
    /* the next CR and LF at or after p (end: none), found by memchr and kept while ahead */
    const char *next_cr = NULL, *next_lf = NULL;
    while (p < end) {
        if (next_cr == NULL || next_cr < p) {
            next_cr = memchr(p, '\r', (size_t)(end - p));
            if (next_cr == NULL)
                next_cr = end;
        }
        if (next_lf == NULL || next_lf < p) {
            next_lf = memchr(p, '\n', (size_t)(end - p));
            if (next_lf == NULL)
                next_lf = end;
        }
        const char *eol = next_cr < next_lf ? next_cr : next_lf;
        if (eol >= end) {
            if (buf_append(&self->line, p, end - p) < 0)
                return -1;
            if (self->line.len > self->max_line) {
                PyErr_Format(DecodeError, "line longer than %zd bytes", self->max_line);
                return -1;
            }
            return 0;
        }
        int rc;
        if (self->line.len) {
            if (buf_append(&self->line, p, eol - p) < 0)
                return -1;
            Py_ssize_t len = self->line.len;
            self->line.len = 0; /* process_line never touches the line buffer */
            rc = process_line(k, self->line.p, len);
        } else {
            rc = process_line(k, p, eol - p);
        }
        if (rc < 0)
            return -1;
        if (*eol == '\r') {
            if (eol + 1 < end) {
                if (eol[1] == '\n')
                    eol++;
            } else {
                self->skip_lf = 1;
            }
        }
        p = eol + 1;
    }
    return 0;
}

static const unsigned char BOM[3] = {0xEF, 0xBB, 0xBF};

static PyObject *
decoder_run(DecoderObject *self, PyObject *data, ProjectionObject *proj, int pairs)
{
    if (self->closed) {
        PyErr_SetString(PyExc_RuntimeError, "feed() after close()");
        return NULL;
    }
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError, "feed() while feeding");
        return NULL;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(data, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    PyObject *out = PyList_New(0);
    if (out == NULL) {
        PyBuffer_Release(&view);
        return NULL;
    }
    Sink k = {self, out, proj, pairs};
    const char *s = view.buf;
    Py_ssize_t n = view.len;
    int rc = 0;
    self->busy = 1;
    if (!self->started && n > 0) {
        Py_ssize_t take = 3 - self->bom_len;
        if (take > n)
            take = n;
        unsigned char head[3];
        memcpy(head, self->bom, (size_t)self->bom_len);
        memcpy(head + self->bom_len, s, (size_t)take);
        Py_ssize_t total = self->bom_len + take;
        if (memcmp(head, BOM, (size_t)total) == 0) {
            if (total < 3) { /* maybe a BOM: wait for more */
                memcpy(self->bom, head, (size_t)total);
                self->bom_len = (int)total;
                s += n;
                n = 0;
            } else {
                self->started = 1;
                self->bom_len = 0;
                s += take;
                n -= take;
            }
        } else {
            self->started = 1;
            int held = self->bom_len;
            self->bom_len = 0;
            rc = process(&k, (const char *)self->bom, held);
        }
    }
    if (rc == 0)
        rc = process(&k, s, n);
    self->busy = 0;
    PyBuffer_Release(&view);
    if (rc < 0) {
        Py_DECREF(out);
        return NULL;
    }
    return out;
}

static PyObject *
decoder_feed(DecoderObject *self, PyObject *data)
{
    return decoder_run(self, data, NULL, 0);
}

static PyObject *
decoder_feed_pairs(DecoderObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "feed_pairs(data, projection)");
        return NULL;
    }
    ProjectionObject *proj = NULL;
    if (args[1] != Py_None) {
        if (!PyObject_TypeCheck(args[1], &ProjectionType)) {
            PyErr_SetString(PyExc_TypeError, "projection must be a Projection or None");
            return NULL;
        }
        proj = (ProjectionObject *)args[1];
    }
    return decoder_run(self, args[0], proj, 1);
}

static void
decoder_reset(DecoderObject *self)
{
    self->line.len = 0;
    self->data.len = 0;
    self->has_data = 0;
    self->event.len = 0;
    self->bom_len = 0;
    Py_CLEAR(self->block_retry);
}

static PyObject *
decoder_close(DecoderObject *self, PyObject *Py_UNUSED(ignored))
{
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError, "close() while feeding");
        return NULL;
    }
    self->closed = 1;
    decoder_reset(self);
    return PyList_New(0);
}

static PyObject *
decoder_pending(DecoderObject *self, void *Py_UNUSED(closure))
{
    return PyBool_FromLong(self->line.len || self->bom_len || self->has_data ||
                           self->event.len || self->block_retry != NULL);
}

static PyObject *
decoder_last_event_id(DecoderObject *self, void *Py_UNUSED(closure))
{
    Py_INCREF(self->last_event_id);
    return self->last_event_id;
}

static PyObject *
decoder_retry(DecoderObject *self, void *Py_UNUSED(closure))
{
    Py_INCREF(self->retry);
    return self->retry;
}

static PyObject *
decoder_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    Py_ssize_t max_line = 16 * 1024 * 1024;
    static char *kwlist[] = {"max_line_length", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|$n:Decoder", kwlist, &max_line))
        return NULL;
    DecoderObject *self = (DecoderObject *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->max_line = max_line;
    Py_INCREF(Py_None);
    self->last_event_id = Py_None;
    Py_INCREF(Py_None);
    self->retry = Py_None;
    return (PyObject *)self;
}

static void
decoder_dealloc(DecoderObject *self)
{
    buf_free(&self->line);
    buf_free(&self->data);
    buf_free(&self->event);
    Py_XDECREF(self->block_retry);
    Py_XDECREF(self->last_event_id);
    Py_XDECREF(self->retry);
    Py_XDECREF(self->event_name);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef decoder_methods[] = {
    {"feed", (PyCFunction)decoder_feed, METH_O,
     "feed(bytes) -> list[ServerSentEvent]: the events the bytes complete."},
    {"feed_pairs", (PyCFunction)(void (*)(void))decoder_feed_pairs, METH_FASTCALL,
     "feed_pairs(bytes, projection) -> list[(event type, data)]: data is a projected dict\n"
     "when the event's data is a JSON object the projection reads exactly, else a str."},
    {"close", (PyCFunction)decoder_close, METH_NOARGS,
     "End of stream: an unterminated event is discarded; returns []."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef decoder_getset[] = {
    {"pending", (getter)decoder_pending, NULL, "an unterminated line or event is buffered", NULL},
    {"last_event_id", (getter)decoder_last_event_id, NULL, "the last event id seen", NULL},
    {"retry", (getter)decoder_retry, NULL, "the latest valid retry value", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject DecoderType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "jsonvisor.llm._sse.Decoder",
    .tp_basicsize = sizeof(DecoderObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Incremental text/event-stream decoder on bytes (see sse.PureSSEDecoder).",
    .tp_new = decoder_new,
    .tp_dealloc = (destructor)decoder_dealloc,
    .tp_methods = decoder_methods,
    .tp_getset = decoder_getset,
};

static PyTypeObject ProjectionType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "jsonvisor.llm._sse.Projection",
    .tp_basicsize = sizeof(ProjectionObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Projection(spec): the keys of a JSON object to read, compiled.\n\n"
              "spec maps each key to None (a scalar: a container there means fall back),\n"
              "to a dict (an object, projected the same way) or to [spec] (an array whose\n"
              "items are read by spec).",
    .tp_new = projection_new,
    .tp_dealloc = (destructor)projection_dealloc,
};

/* ------------------------------------------------------------------ slot makers */

#define MAKER_MAX 8

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyTypeObject *cls;
    Py_ssize_t n;
    PyObject *descrs[MAKER_MAX];
} MakerObject;

static PyObject *
maker_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    MakerObject *self = (MakerObject *)callable;
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (nargs != self->n || (kwnames != NULL && PyTuple_GET_SIZE(kwnames) != 0)) {
        PyErr_Format(PyExc_TypeError, "%s maker takes %zd positional arguments",
                     self->cls->tp_name, self->n);
        return NULL;
    }
    PyObject *obj = self->cls->tp_alloc(self->cls, 0);
    if (obj == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < nargs; i++) {
        if (Py_TYPE(self->descrs[i])->tp_descr_set(self->descrs[i], obj, args[i]) < 0) {
            Py_DECREF(obj);
            return NULL;
        }
    }
    return obj;
}

/* Check that cls is a plain slotted class whose `names` are member descriptors. */
static int
slot_descrs(PyObject *cls, PyObject *names, PyObject **out, Py_ssize_t max, Py_ssize_t *n)
{
    if (!PyType_Check(cls) || ((PyTypeObject *)cls)->tp_new != PyBaseObject_Type.tp_new ||
        ((PyTypeObject *)cls)->tp_alloc != PyType_GenericAlloc) {
        PyErr_SetString(PyExc_TypeError, "a slot maker needs a plain slotted class");
        return -1;
    }
    PyObject *seq = PySequence_Fast(names, "field names must be a sequence");
    if (seq == NULL)
        return -1;
    Py_ssize_t count = PySequence_Fast_GET_SIZE(seq);
    if (count > max) {
        Py_DECREF(seq);
        PyErr_SetString(PyExc_ValueError, "too many fields");
        return -1;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *d = PyObject_GetAttr(cls, PySequence_Fast_GET_ITEM(seq, i));
        if (d == NULL) {
            for (Py_ssize_t j = 0; j < i; j++)
                Py_CLEAR(out[j]);
            Py_DECREF(seq);
            return -1;
        }
        if (!Py_IS_TYPE(d, &PyMemberDescr_Type) || Py_TYPE(d)->tp_descr_set == NULL) {
            Py_DECREF(d);
            for (Py_ssize_t j = 0; j < i; j++)
                Py_CLEAR(out[j]);
            Py_DECREF(seq);
            PyErr_SetString(PyExc_TypeError, "a field is not a slot");
            return -1;
        }
        out[i] = d;
    }
    Py_DECREF(seq);
    *n = count;
    return 0;
}

static PyObject *
maker_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    PyObject *cls, *names;
    static char *kwlist[] = {"cls", "fields", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OO:SlotMaker", kwlist, &cls, &names))
        return NULL;
    MakerObject *self = (MakerObject *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->vectorcall = maker_vectorcall;
    if (slot_descrs(cls, names, self->descrs, MAKER_MAX, &self->n) < 0) {
        Py_DECREF(self);
        return NULL;
    }
    Py_INCREF(cls);
    self->cls = (PyTypeObject *)cls;
    return (PyObject *)self;
}

static void
maker_dealloc(MakerObject *self)
{
    for (Py_ssize_t i = 0; i < self->n; i++)
        Py_XDECREF(self->descrs[i]);
    Py_XDECREF(self->cls);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyTypeObject MakerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "jsonvisor.llm._sse.SlotMaker",
    .tp_basicsize = sizeof(MakerObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_doc = "SlotMaker(cls, fields): a fast positional constructor for a slotted (frozen)\n"
              "dataclass that fills its slots as its __init__ would (no __post_init__).",
    .tp_new = maker_new,
    .tp_dealloc = (destructor)maker_dealloc,
    .tp_call = PyVectorcall_Call,
    .tp_vectorcall_offset = offsetof(MakerObject, vectorcall),
};

/* ------------------------------------------------------------------ module */

static PyObject *
py_setup(PyObject *module, PyObject *args)
{
    PyObject *event_cls, *error_cls;
    if (!PyArg_ParseTuple(args, "OO:setup", &event_cls, &error_cls))
        return NULL;
    Py_INCREF(event_cls);
    Py_XSETREF(EventClass, event_cls);
    Py_INCREF(error_cls);
    Py_XSETREF(DecodeError, error_cls);
    for (int i = 0; i < 4; i++)
        Py_CLEAR(EventDescrs[i]);
    PyObject *names = Py_BuildValue("(ssss)", "data", "event", "id", "retry");
    if (names == NULL)
        return NULL;
    Py_ssize_t n;
    PyObject *descrs[4] = {NULL, NULL, NULL, NULL};
    if (slot_descrs(event_cls, names, descrs, 4, &n) == 0 && n == 4) {
        for (int i = 0; i < 4; i++)
            EventDescrs[i] = descrs[i];
    } else {
        PyErr_Clear(); /* not slotted: call the class */
        for (int i = 0; i < 4; i++)
            Py_CLEAR(descrs[i]);
    }
    Py_DECREF(names);
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"setup", py_setup, METH_VARARGS,
     "setup(ServerSentEvent, SSEDecodeError): the classes the decoder makes and raises."},
    {"project", py_project, METH_VARARGS,
     "project(data: bytes, projection) -> tuple | dict | None: (template index, captures...)\n"
     "when a template matches, else the JSON object's projection, or None when it cannot\n"
     "be read exactly (the full decoder decides)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "jsonvisor.llm._sse",
    .m_doc = "C accelerator of jsonvisor.llm: SSE decoding and projected envelope reading.",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC
PyInit__sse(void)
{
    if (PyType_Ready(&DecoderType) < 0 || PyType_Ready(&ProjectionType) < 0 ||
        PyType_Ready(&MakerType) < 0)
        return NULL;
    S_message = PyUnicode_InternFromString("message");
    S_empty = PyUnicode_FromStringAndSize("", 0);
    if (S_message == NULL || S_empty == NULL)
        return NULL;
    PyObject *m = PyModule_Create(&module_def);
    if (m == NULL)
        return NULL;
    Py_INCREF(&DecoderType);
    Py_INCREF(&ProjectionType);
    Py_INCREF(&MakerType);
    if (PyModule_AddObject(m, "Decoder", (PyObject *)&DecoderType) < 0 ||
        PyModule_AddObject(m, "Projection", (PyObject *)&ProjectionType) < 0 ||
        PyModule_AddObject(m, "SlotMaker", (PyObject *)&MakerType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
