/* Stage: extraction's state, the fence finder (extract.py's Extractor and Extraction).
 * Part of the unity build of _speedups.c (included once, in order).
 *
 * Extraction: one object holding what extract.Extraction and its Extractor hold (``finder``
 * is the object itself), with the same methods and attributes (tested state by state
 * against the pure-Python pair), which Core reads and runs in place (its ``_x`` field,
 * typed: None or an Extraction).  The state machine, in the
 * terms of extract.py:
 *
 *     PROSE     looking for '{' / '[' (unless fences_only) or a run of >= 3 backticks
 *     INFO      after an opening fence: blanks, an info word ("json"), blanks
 *     CLOSING   inside a fence that is not (or no longer) JSON: skip to >= 3 backticks
 *
 * A run of backticks is counted across chunks (``ticks``) and judged at the first
 * character after it, so the state after a text never depends on where chunks were cut. */

enum { X_PROSE = 0, X_INFO = 1, X_CLOSING = 2 };
#define X_MAX_INFO 32 /* an info word longer than this is not a language name */

typedef struct {
    PyObject_HEAD
    int state, info_stage, info_len;
    Py_ssize_t ticks;
    char fenced, fences_only, prose_doc, fence_closed;
    char info[X_MAX_INFO + 2]; /* the info word so far (at most X_MAX_INFO + 1 kept) */
} XObj;

static PyTypeObject XType;
#define IS_X_OR_NONE(v) ((v) == Py_None || Py_TYPE(v) == &XType)

static inline int
x_word_char(Py_UCS4 c) /* [A-Za-z0-9_+.\-] */
{
    return c < 0x80 && (Py_UNICODE_ISALNUM(c) || c == '_' || c == '+' || c == '.' || c == '-');
}

/* JSON_FENCES: the info words (any case) whose fence holds JSON. */
static int
x_json_fence(XObj *x)
{
    static const char *const names[] = {"", "json", "jsonc", "json5", "jsonl", "ndjson",
                                        "js", "javascript", NULL};
    if (x->info_len > X_MAX_INFO)
        return 0;
    char low[X_MAX_INFO + 1];
    for (int i = 0; i < x->info_len; i++) {
        char c = x->info[i];
        low[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    low[x->info_len] = 0;
    for (int i = 0; names[i] != NULL; i++)
        if (strcmp(low, names[i]) == 0)
            return 1;
    return 0;
}

static inline void
x_open_info(XObj *x)
{
    x->state = X_INFO;
    x->info_len = 0;
    x->info_stage = 0;
}

/* Extractor.find(text, pos) on text[pos:n]: where a value may start (-1: not in this
 * text); *fenced says it follows a JSON fence's info line rather than a brace in prose. */
static Py_ssize_t
x_find(XObj *x, int kind, const void *data, Py_ssize_t n, Py_ssize_t pos, int *fenced)
{
    *fenced = 0;
    while (pos < n) {
        int state = x->state;
        if (x->ticks) { /* finish counting a run of backticks */
            Py_ssize_t e = pos;
            while (e < n && PyUnicode_READ(kind, data, e) == '`')
                e++;
            if (e >= n) {
                x->ticks += n - pos;
                return -1;
            }
            Py_ssize_t ticks = x->ticks + e - pos;
            pos = e;
            x->ticks = 0;
            if (ticks >= 3) {
                if (state == X_PROSE)
                    x_open_info(x);
                else if (state == X_CLOSING) {
                    /* a closing fence; one with a language right after it ("```json")
                     * opens the next block */
                    Py_UCS4 c = PyUnicode_READ(kind, data, pos);
                    int opens = c < 0x80 && Py_UNICODE_ISALPHA(c);
                    x_open_info(x);
                    if (!opens)
                        x->state = X_PROSE;
                }
            }
            continue;
        }
        if (state == X_PROSE) {
            int only = x->fences_only;
            for (; pos < n; pos++) {
                Py_UCS4 c = PyUnicode_READ(kind, data, pos);
                if (c == '`' || (!only && (c == '{' || c == '[')))
                    break;
            }
            if (pos >= n)
                return -1;
            if (PyUnicode_READ(kind, data, pos) == '`') {
                x->ticks = 1;
                pos++;
                continue;
            }
            return pos;
        }
        if (state == X_CLOSING) {
            while (pos < n && PyUnicode_READ(kind, data, pos) != '`')
                pos++;
            if (pos >= n)
                return -1;
            x->ticks = 1;
            pos++;
            continue;
        }
        /* X_INFO: blanks, a word, blanks, then the first other character decides. */
        if (x->info_stage == 0) {
            while (pos < n && (PyUnicode_READ(kind, data, pos) == ' ' ||
                               PyUnicode_READ(kind, data, pos) == '\t'))
                pos++;
            if (pos >= n)
                return -1;
            x->info_stage = 1;
        }
        if (x->info_stage == 1) {
            for (; pos < n; pos++) {
                Py_UCS4 c = PyUnicode_READ(kind, data, pos);
                if (!x_word_char(c))
                    break;
                if (x->info_len <= X_MAX_INFO)
                    x->info[x->info_len++] = (char)c;
            }
            if (pos >= n)
                return -1;
            x->info_stage = 2;
        }
        while (pos < n &&
               (PyUnicode_READ(kind, data, pos) == ' ' || PyUnicode_READ(kind, data, pos) == '\t'))
            pos++;
        if (pos >= n)
            return -1;
        if (PyUnicode_READ(kind, data, pos) == '`') { /* an empty fence: a new run */
            x->state = X_PROSE;
            continue;
        }
        if (!x_json_fence(x)) { /* ```python ... ```: prose */
            x->state = X_CLOSING;
            continue;
        }
        x->state = X_PROSE;
        x->fenced = 1;
        x->fences_only = 0;
        *fenced = 1;
        return pos;
    }
    return -1;
}

/* Extractor.quiet(): which characters a text must hold for find() to change anything
 * (1: one of `{[ ; 2: a backtick; 0: any). */
static inline int
x_quiet(XObj *x)
{
    if (x->ticks)
        return 0;
    if (x->state == X_PROSE)
        return x->fences_only ? 2 : 1;
    return x->state == X_CLOSING ? 2 : 0;
}

static inline void
x_reset(XObj *x) /* Extractor.reset() */
{
    x->state = x->fenced ? X_CLOSING : X_PROSE;
    x->ticks = 0;
    x->fenced = 0;
}

static inline void
x_skip_block(XObj *x) /* Extractor.skip_block() */
{
    x->state = X_CLOSING;
    x->ticks = 0;
    x->fenced = 0;
}

/* ------------------------------------------------------------------ the Python face */

static PyObject *
xo_find(XObj *x, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyUnicode_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "find(text: str, pos: int)");
        return NULL;
    }
    Py_ssize_t pos = PyLong_AsSsize_t(args[1]);
    if (pos == -1 && PyErr_Occurred())
        return NULL;
    PyObject *text = args[0];
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    if (pos < 0)
        pos = 0;
    int fenced = 0;
    Py_ssize_t start = x_find(x, PyUnicode_KIND(text), PyUnicode_DATA(text), n, pos, &fenced);
    return Py_BuildValue("(nO)", start, fenced ? Py_True : Py_False);
}

static PyObject *
xo_reset(XObj *x, PyObject *unused)
{
    x_reset(x);
    Py_RETURN_NONE;
}

static PyObject *
xo_skip_block(XObj *x, PyObject *unused)
{
    x_skip_block(x);
    Py_RETURN_NONE;
}

static PyObject *
xo_quiet(XObj *x, PyObject *unused)
{
    return PyLong_FromLong(x_quiet(x));
}

static PyObject *
xo_finder(XObj *x, void *closure)
{
    Py_INCREF(x);
    return (PyObject *)x;
}

static PyObject *
xo_in_fence(XObj *x, void *closure)
{
    return PyBool_FromLong(x->fenced || x->state == X_INFO);
}

static PyObject *
xo_info(XObj *x, void *closure)
{
    return PyUnicode_FromStringAndSize(x->info, x->info_len);
}

/* Pickling (the process offload pickles parsers): the state as a tuple. */
static PyObject *
xo_reduce(XObj *x, PyObject *unused)
{
    return Py_BuildValue("(O()(iiniiiis#))", (PyObject *)Py_TYPE(x), x->state, x->info_stage,
                         x->ticks, x->fenced, x->fences_only, x->prose_doc, x->fence_closed,
                         x->info, (Py_ssize_t)x->info_len);
}

static PyObject *
xo_setstate(XObj *x, PyObject *state)
{
    int st, stage, fenced, only, prose, closed;
    Py_ssize_t ticks, len;
    const char *info;
    if (!PyArg_ParseTuple(state, "iiniiiis#:__setstate__", &st, &stage, &ticks, &fenced, &only,
                          &prose, &closed, &info, &len))
        return NULL;
    if (st < X_PROSE || st > X_CLOSING || stage < 0 || stage > 2 || ticks < 0 || len < 0 ||
        len > X_MAX_INFO + 1) {
        PyErr_SetString(PyExc_ValueError, "Extraction.__setstate__: not an extraction state");
        return NULL;
    }
    x->state = st;
    x->info_stage = stage;
    x->ticks = ticks;
    x->fenced = (char)(fenced != 0);
    x->fences_only = (char)(only != 0);
    x->prose_doc = (char)(prose != 0);
    x->fence_closed = (char)(closed != 0);
    memcpy(x->info, info, (size_t)len);
    x->info_len = (int)len;
    Py_RETURN_NONE;
}

static PyMethodDef x_methods[] = {
    {"find", (PyCFunction)(void (*)(void))xo_find, METH_FASTCALL,
     "find(text, pos) -> (start, fenced): see extract.Extractor.find"},
    {"reset", (PyCFunction)xo_reset, METH_NOARGS, "see extract.Extractor.reset"},
    {"skip_block", (PyCFunction)xo_skip_block, METH_NOARGS, "see extract.Extractor.skip_block"},
    {"quiet", (PyCFunction)xo_quiet, METH_NOARGS, "see extract.Extractor.quiet"},
    {"__reduce__", (PyCFunction)xo_reduce, METH_NOARGS, NULL},
    {"__setstate__", (PyCFunction)xo_setstate, METH_O, NULL},
    {NULL}
};

static PyMemberDef x_members[] = {
    {"fenced", T_BOOL, offsetof(XObj, fenced), 0, NULL},
    {"fences_only", T_BOOL, offsetof(XObj, fences_only), 0, NULL},
    {"prose_doc", T_BOOL, offsetof(XObj, prose_doc), 0, NULL},
    {"fence_closed", T_BOOL, offsetof(XObj, fence_closed), 0, NULL},
    {"_state", T_INT, offsetof(XObj, state), READONLY, NULL},
    {"_info_stage", T_INT, offsetof(XObj, info_stage), READONLY, NULL},
    {"_ticks", T_PYSSIZET, offsetof(XObj, ticks), READONLY, NULL},
    {NULL}
};

static PyGetSetDef x_getset[] = {
    {"finder", (getter)xo_finder, NULL, "the fence finder: this object", NULL},
    {"in_fence", (getter)xo_in_fence, NULL, "see extract.Extractor.in_fence", NULL},
    {"_info", (getter)xo_info, NULL, NULL, NULL},
    {NULL}
};

static PyTypeObject XType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "jsonvisor.parsers._speedups.Extraction",
    .tp_doc = "Extraction(): extract.Extraction and its Extractor (``finder``) in one C object.",
    .tp_basicsize = sizeof(XObj),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_methods = x_methods,
    .tp_members = x_members,
    .tp_getset = x_getset,
};
