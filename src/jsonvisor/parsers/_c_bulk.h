/* Stage: the bulk path's C helpers (validate, boundary scanners), for fastpath.py.
 * Part of the unity build of _speedups.c (included once, in order; not compiled alone). */

/* ------------------------------------------------------------------ validate */

#define VKIND 1
#define VCHAR Py_UCS1
#define VNAME validate_ucs1
#include "_validate.h"
#define VKIND 2
#define VCHAR Py_UCS2
#define VNAME validate_ucs2
#include "_validate.h"
#define VKIND 4
#define VCHAR Py_UCS4
#define VNAME validate_ucs4
#include "_validate.h"

/* validate() of the code units data[0:n] of a str of ``kind``: 0 not valid, 1 valid, 2
 * valid with a long integer (see _validate.h), -1 out of memory (an error is set). */
static int
validate_units(int kind, const void *data, Py_ssize_t n, Py_ssize_t max_depth,
               Py_ssize_t max_number_length)
{
    int ok;
    char small[256];
    char *stack = small;
    if (max_depth + 1 > (Py_ssize_t)sizeof(small)) {
        stack = PyMem_Malloc((size_t)max_depth + 1);
        if (stack == NULL) {
            PyErr_NoMemory();
            return -1;
        }
    }
    switch (kind) {
    case PyUnicode_1BYTE_KIND:
        ok = validate_ucs1(data, n, max_depth, max_number_length, stack);
        break;
    case PyUnicode_2BYTE_KIND:
        ok = validate_ucs2(data, n, max_depth, max_number_length, stack);
        break;
    default:
        ok = validate_ucs4(data, n, max_depth, max_number_length, stack);
        break;
    }
    if (stack != small)
        PyMem_Free(stack);
    return ok;
}

static PyObject *
py_validate(PyObject *mod, PyObject *args)
{
    PyObject *text;
    Py_ssize_t max_depth, max_number_length;
    if (!PyArg_ParseTuple(args, "Unn:validate", &text, &max_depth, &max_number_length))
        return NULL;
    int ok = validate_units(PyUnicode_KIND(text), PyUnicode_DATA(text), PyUnicode_GET_LENGTH(text),
                            max_depth, max_number_length);
    return ok < 0 ? NULL : PyLong_FromLong(ok);
}

/* fastpath.strict_loads of ``slice`` (a str, or ASCII bytes) after a validator said
 * ``verdict`` (1 or 2): orjson when it is exact for the text, else (or when orjson refuses
 * it) ujson.  Steals ``slice``.  NULL with no error set: not loaded (the caller goes on
 * without the fast path). */
static PyObject *
strict_load(PyObject *slice, int verdict)
{
    if (slice == NULL)
        return NULL;
    PyObject *value = NULL;
    if (verdict == 1 && ORJSON_LOADS != NULL) {
        value = PyObject_CallOneArg(ORJSON_LOADS, slice);
        if (value == NULL && PyErr_ExceptionMatches(PyExc_Exception))
            PyErr_Clear(); /* an overflow to inf, a lone surrogate: ujson is exact there */
    }
    if (value == NULL && !PyErr_Occurred() && UJSON_LOADS != NULL) {
        value = PyObject_CallOneArg(UJSON_LOADS, slice);
        if (value == NULL && PyErr_ExceptionMatches(PyExc_Exception))
            PyErr_Clear();
    }
    Py_DECREF(slice);
    return value;
}

/* ------------------------------------------------------------------ scan (bulk path) */

static int
append_index(PyObject *list, Py_ssize_t i)
{
    PyObject *v = PyLong_FromSsize_t(i);
    if (v == NULL)
        return -1;
    int r = PyList_Append(list, v);
    Py_DECREF(v);
    return r;
}

#define SCHAR Py_UCS1
#define SNAME(x) x##_ucs1
#include "_scan.h"
#define SCHAR Py_UCS2
#define SNAME(x) x##_ucs2
#include "_scan.h"
#define SCHAR Py_UCS4
#define SNAME(x) x##_ucs4
#include "_scan.h"

#define SCAN_DISPATCH(kind, call1, call2, call4) \
    ((kind) == PyUnicode_1BYTE_KIND ? (call1) : (kind) == PyUnicode_2BYTE_KIND ? (call2) : (call4))

static PyObject *
py_scan_value_end(PyObject *mod, PyObject *args)
{
    PyObject *text;
    Py_ssize_t pos, limit, cap;
    if (!PyArg_ParseTuple(args, "Unnn:scan_value_end", &text, &pos, &limit, &cap))
        return NULL;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    if (limit > n)
        limit = n;
    if (pos < 0 || pos >= limit)
        return PyLong_FromLong(-1);
    int kind = PyUnicode_KIND(text);
    const void *d = PyUnicode_DATA(text);
    Py_ssize_t r = SCAN_DISPATCH(kind, value_end_ucs1(d, pos, limit, cap),
                                 value_end_ucs2(d, pos, limit, cap),
                                 value_end_ucs4(d, pos, limit, cap));
    return PyLong_FromSsize_t(r);
}

static PyObject *
py_container_spine(PyObject *mod, PyObject *args)
{
    PyObject *text;
    Py_ssize_t pos, cap;
    if (!PyArg_ParseTuple(args, "Unn:container_spine", &text, &pos, &cap))
        return NULL;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    if (pos < 0 || pos >= n) {
        PyErr_SetString(PyExc_IndexError, "container_spine: position out of range");
        return NULL;
    }
    PyObject *spine = PyList_New(0);
    if (spine == NULL)
        return NULL;
    int kind = PyUnicode_KIND(text);
    const void *d = PyUnicode_DATA(text);
    Py_ssize_t deep = SCAN_DISPATCH(kind, spine_ucs1(d, n, pos, cap, spine),
                                    spine_ucs2(d, n, pos, cap, spine),
                                    spine_ucs4(d, n, pos, cap, spine));
    if (deep == -3) {
        Py_DECREF(spine);
        return NULL;
    }
    return Py_BuildValue("Nn", spine, deep);
}

static PyObject *
py_scan_members(PyObject *mod, PyObject *args)
{
    PyObject *text;
    Py_ssize_t pos, limit, cap, open_at = -1, end = -1;
    int in_object, closed = 0;
    if (!PyArg_ParseTuple(args, "Unpnn:scan_members", &text, &pos, &in_object, &limit, &cap))
        return NULL;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    if (limit > n)
        limit = n;
    if (pos >= 0 && pos <= limit) {
        int kind = PyUnicode_KIND(text);
        const void *d = PyUnicode_DATA(text);
        end = SCAN_DISPATCH(kind, members_ucs1(d, pos, in_object, limit, cap, &closed, &open_at),
                            members_ucs2(d, pos, in_object, limit, cap, &closed, &open_at),
                            members_ucs4(d, pos, in_object, limit, cap, &closed, &open_at));
    }
    return Py_BuildValue("nNn", end, PyBool_FromLong(closed), open_at);
}
