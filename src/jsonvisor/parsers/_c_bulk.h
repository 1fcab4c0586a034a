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

static PyObject *
py_validate(PyObject *mod, PyObject *args)
{
    PyObject *text;
    Py_ssize_t max_depth, max_number_length;
    if (!PyArg_ParseTuple(args, "Unn:validate", &text, &max_depth, &max_number_length))
        return NULL;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    const void *data = PyUnicode_DATA(text);
    int ok;
    char small[256];
    char *stack = small;
    if (max_depth + 1 > (Py_ssize_t)sizeof(small)) {
        stack = PyMem_Malloc((size_t)max_depth + 1);
        if (stack == NULL)
            return PyErr_NoMemory();
    }
    switch (PyUnicode_KIND(text)) {
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
    return PyLong_FromLong(ok);
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
