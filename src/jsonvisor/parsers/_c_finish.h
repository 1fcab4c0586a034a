/* Stage: finish(), the end of the input.  A number the end completes, the repairs of what
 * it cut off (_repair: a held number kept or dropped, a cut literal completed or dropped,
 * an open string closed, a key without a value or a trailing comma dropped, open
 * containers closed), the confidence, and the ParseResult; the texts of what was expected
 * (_expected_now) for finish(allow_partial=False).  Also the best value of a held number
 * or literal (_held_value), which snapshot() shows with hold_numbers=False: exactly what
 * finish() keeps if the input ends there.
 * Part of the unity build of _speedups.c (included once, in order).
 *
 * finish() runs here in every mode.  In extraction mode the end of the input also decides
 * the candidate value on trial (it is all there is: its events are released) and an open
 * fence (a stripped_fence repair, which does not count against the result); only a fenced
 * candidate that would replace a value found in prose (its ``saved``: it never does
 * unproven, and the value in prose is restored) is left to _finish_py().  With a schema,
 * the tracker (a Python object,
 * SchemaTracker) is called as the Python side calls it: finish(value), track(events),
 * warnings. */

static PyObject *RESULT_CLASS, *REPAIR_CLASS; /* (set by setup()) */

/* A frozen dataclass instance with ``n`` fields, built as its __init__ does (object's
 * own __setattr__), without the Python call.  Steals the values (NULL: an error is set). */
static PyObject *
frozen(PyObject *cls, int n, PyObject *const *names, PyObject **values)
{
    PyObject *obj = NULL;
    int ok = cls != NULL;
    for (int k = 0; k < n; k++)
        ok = ok && values[k] != NULL;
    if (ok)
        obj = PyBaseObject_Type.tp_new((PyTypeObject *)cls, EMPTY_TUPLE, NULL);
    else if (cls == NULL && !PyErr_Occurred())
        PyErr_SetString(PyExc_RuntimeError, "setup() was not called");
    for (int k = 0; k < n && obj != NULL; k++) {
        if (PyObject_GenericSetAttr(obj, names[k], values[k]) < 0)
            Py_CLEAR(obj);
    }
    for (int k = 0; k < n; k++)
        Py_XDECREF(values[k]);
    return obj;
}

static PyObject *S_F_VALUE, *S_F_COMPLETE, *S_F_REPAIRS, *S_F_CONFIDENCE, *S_F_EVENTS,
    *S_F_WARNINGS, *S_F_MODEL, *S_F_KIND, *S_F_PATH, *S_F_DETAIL;

/* ParseResult(value, complete, repairs, confidence, events, warnings, model), the values
 * stolen. */
static PyObject *
parse_result(PyObject *value, int complete, PyObject *repairs, const char *confidence,
             PyObject *events, PyObject *warnings, PyObject *model)
{
    PyObject *names[7] = {S_F_VALUE, S_F_COMPLETE, S_F_REPAIRS, S_F_CONFIDENCE, S_F_EVENTS,
                          S_F_WARNINGS, S_F_MODEL};
    PyObject *values[7] = {value, PyBool_FromLong(complete), repairs,
                           PyUnicode_InternFromString(confidence), events, warnings, model};
    return frozen(RESULT_CLASS, 7, names, values);
}

/* The repairs finish() made: the list of Repair objects, and whether one of them counts
 * as more than closing (confidence "low"). */
typedef struct {
    PyObject *list;
    int severe;
} Repairs;

/* Repair(kind, path, detail) added; ``path`` and ``detail`` stolen (NULL: an error). */
static int
add_repair(Repairs *fix, const char *kind, PyObject *path, PyObject *detail)
{
    PyObject *names[3] = {S_F_KIND, S_F_PATH, S_F_DETAIL};
    PyObject *values[3] = {PyUnicode_InternFromString(kind), path, detail};
    PyObject *r = frozen(REPAIR_CLASS, 3, names, values);
    if (r == NULL)
        return -1;
    int ok = PyList_Append(fix->list, r);
    Py_DECREF(r);
    if (strncmp(kind, "closed_", 7) != 0 && strcmp(kind, "dropped_comma") != 0)
        fix->severe = 1;
    return ok;
}

/* A borrowed reference, as a new one. */
static inline PyObject *
ref(PyObject *o)
{
    Py_INCREF(o);
    return o;
}

/* _complete_number(held): the held number as a value (new reference); NULL without an
 * error when it is not a whole number (_MISSING). */
static PyObject *
complete_number(Core *self, PyObject *held)
{
    int kind = PyUnicode_KIND(held), is_float;
    const void *data = PyUnicode_DATA(held);
    Py_ssize_t n = PyUnicode_GET_LENGTH(held);
    if (number_shape(kind, data, 0, n, &is_float) == 2)
        return number_value(kind, data, 0, n, is_float);
    if (self->hex_numbers) { /* -?0[xX][0-9a-fA-F]+ */
        Py_ssize_t i = n && PyUnicode_READ(kind, data, 0) == '-';
        if (n - i >= 3 && PyUnicode_READ(kind, data, i) == '0' &&
            (PyUnicode_READ(kind, data, i + 1) == 'x' || PyUnicode_READ(kind, data, i + 1) == 'X')) {
            for (i += 2; i < n && hexval(PyUnicode_READ(kind, data, i)) >= 0; i++)
                ;
            if (i == n)
                return PyLong_FromUnicodeObject(held, 16);
        }
    }
    return NULL;
}

/* _number_prefix(held): the longest number at the start of the held token (``1.`` -> 1),
 * a new reference; NULL without an error when there is none (_MISSING). */
static PyObject *
number_prefix(Core *self, PyObject *held)
{
    PyObject *v = complete_number(self, held);
    if (v != NULL || PyErr_Occurred())
        return v;
    int kind = PyUnicode_KIND(held);
    const void *data = PyUnicode_DATA(held);
    Py_ssize_t n = PyUnicode_GET_LENGTH(held), best = -1;
    int st = 0, is_float = 0, best_float = 0;
    for (Py_ssize_t i = 0; i < n; i++) { /* (_NUMBER.match: the longest whole number) */
        st = num_step(st, PyUnicode_READ(kind, data, i));
        if (st < 0)
            break;
        is_float |= st >= 4;
        if (num_whole(st)) {
            best = i + 1;
            best_float = is_float;
        }
    }
    return best < 0 ? NULL : number_value(kind, data, 0, best, best_float);
}

/* _literal_fit(held): the one literal the held token may complete to (1: *word and
 * *value set, the value borrowed), or 0 (none, or ambiguous). */
static int
literal_fit(Core *self, PyObject *held, const char **word, PyObject **value)
{
    static const char *const words[] = {"true", "false", "null", "NaN", "Infinity",
                                        "-Infinity", "True", "False", "None"};
    PyObject *values[] = {Py_True, Py_False, Py_None, NAN_OBJ, INF_OBJ, NINF_OBJ,
                          Py_True, Py_False, Py_None};
    int on[] = {1, 1, 1, self->nan_infinity, self->nan_infinity, self->nan_infinity,
                self->python_literals, self->python_literals, self->python_literals};
    Py_ssize_t n = PyUnicode_GET_LENGTH(held);
    int fits = 0;
    for (int w = 0; w < 9; w++) {
        Py_ssize_t len = (Py_ssize_t)strlen(words[w]), i = 0;
        if (!on[w] || n > len)
            continue;
        while (i < n && PyUnicode_READ_CHAR(held, i) == (Py_UCS4)words[w][i])
            i++;
        if (i == n) {
            fits++;
            *word = words[w];
            *value = values[w];
        }
    }
    return fits == 1;
}

/* _held_value(): the best value so far of the held number or literal (hold_numbers=False),
 * a new reference; NULL without an error when there is none (_MISSING). */
static PyObject *
held_value(Core *self)
{
    if (self->held_kind == HELD_LITERAL) {
        const char *word;
        PyObject *value;
        return literal_fit(self, self->held, &word, &value) ? ref(value) : NULL;
    }
    return number_prefix(self, self->held);
}

/* _incomplete(): is the input cut off (finish(allow_partial=False) refuses it)? */
static int
incomplete(Core *self)
{
    if (self->multiple_values)
        return PyList_GET_SIZE(self->stack) || self->in_string || PyUnicode_GET_LENGTH(self->held);
    return self->state != ST_END || PyUnicode_GET_LENGTH(self->held);
}

/* _expected_now(): what the input should have gone on with. */
static const char *
expected_now(Core *self)
{
    if (self->in_string)
        return "'\"' to close the string";
    int held_number = 0, is_float;
    if (self->held_kind == HELD_NUMBER)
        held_number = number_shape(PyUnicode_KIND(self->held), PyUnicode_DATA(self->held), 0,
                                   PyUnicode_GET_LENGTH(self->held), &is_float) == 2;
    if (PyList_GET_SIZE(self->stack) && (self->state == ST_COMMA_OR_CLOSE || held_number))
        return PyDict_CheckExact(top_of(self)) ? "',' or '}'" : "',' or ']'";
    return EXPECTED[self->state];
}

/* _repair(): close off what the end of the input cut, listing each repair. */
static int
repair(Core *self, Repairs *fix, PyObject *events)
{
    PyObject *held = ref(self->held), *path = NULL;
    int kind = self->held_kind, r = -1;
    set_obj(&self->held, ref(S_EMPTY));
    self->held_kind = HELD_NONE;
    int dropped = kind == HELD_LITERAL;
    if (kind == HELD_LITERAL) {
        /* LLM mode completes a cut literal when only one fits; with hold_numbers=False the
         * value snapshot() showed is kept (numbers too), so finish() never takes it back. */
        int complete = !self->hold_numbers || self->lenient;
        const char *word;
        PyObject *value;
        if (complete && literal_fit(self, held, &word, &value)) {
            if ((path = child_path(self)) == NULL || put_at(self, path, value, events) < 0 ||
                add_repair(fix, "completed_literal", ref(path),
                           PyUnicode_FromFormat("completed %R to '%s'", held, word)) < 0)
                goto done;
            kind = HELD_NONE;
            dropped = 0;
        }
    }
    else if (kind == HELD_IDENT && PyList_GET_SIZE(self->stack)) {
        if (add_repair(fix, "dropped_key", path_plus(top_prefix(self), held),
                       PyUnicode_FromFormat("dropped incomplete key %R", held)) < 0)
            goto done;
        dropped = 1;
    }
    if (kind == HELD_NUMBER) {
        PyObject *number =
            self->hold_numbers ? complete_number(self, held) : number_prefix(self, held);
        if (number != NULL) { /* cut off: it may have had more digits */
            path = child_path(self);
            int bad = path == NULL || put_at(self, path, number, events) < 0;
            Py_DECREF(number);
            if (bad || add_repair(fix, "kept_number", ref(path),
                                  PyUnicode_FromFormat("kept number %R cut off by the end of input",
                                                       held)) < 0)
                goto done;
        }
        else {
            if (PyErr_Occurred())
                goto done;
            dropped = 1;
            if (drop_provisional(self) < 0 ||
                add_repair(fix, "dropped_value", child_path(self),
                           PyUnicode_FromFormat("dropped incomplete number %R", held)) < 0)
                goto done;
        }
    }
    else if (kind == HELD_LITERAL) {
        if (drop_provisional(self) < 0 ||
            add_repair(fix, "dropped_value", child_path(self),
                       PyUnicode_FromFormat("dropped incomplete literal %R", held)) < 0)
            goto done;
    }
    if (self->in_string) {
        if (kind == HELD_ESCAPE || self->hi >= 0) {
            if (add_repair(fix, "dropped_escape", ref(self->str_path),
                           PyUnicode_FromString("dropped an incomplete escape")) < 0)
                goto done;
            self->hi = -1;
        }
        PyObject *value = string_ends(self, NULL, 0, 0); /* (as c_string() ends a string) */
        if (value == NULL)
            goto done;
        self->in_string = 0;
        int bad;
        if (self->str_is_key) {
            bad = add_repair(fix, "dropped_key", path_plus(top_prefix(self), value),
                             PyUnicode_FromFormat("dropped incomplete key %R", value)) < 0;
            self->state = ST_COMMA_OR_CLOSE;
        }
        else
            bad = add_repair(fix, "closed_string", ref(self->str_path),
                             PyUnicode_FromString("closed an open string")) < 0 ||
                  put_at(self, self->str_path, value, events) < 0; /* (announced) */
        Py_DECREF(value);
        if (bad)
            goto done;
    }
    if (PyList_GET_SIZE(self->stack)) {
        int st = self->state;
        int in_object = PyDict_CheckExact(top_of(self));
        if (dropped)
            ;
        else if (st == ST_COLON || (st == ST_VALUE && in_object)) {
            if (add_repair(fix, "dropped_key", path_plus(top_prefix(self), self->key),
                           PyUnicode_FromFormat("dropped key %R with no value", self->key)) < 0)
                goto done;
        }
        else if (st == ST_KEY || (st == ST_VALUE && !in_object)) {
            if (add_repair(fix, "dropped_comma", ref(top_prefix(self)),
                           PyUnicode_FromString("dropped a trailing comma")) < 0)
                goto done;
        }
        while (PyList_GET_SIZE(self->stack)) {
            int obj = PyDict_CheckExact(top_of(self));
            if (add_repair(fix, obj ? "closed_object" : "closed_array", ref(top_prefix(self)),
                           PyUnicode_FromString(obj ? "closed an open object"
                                                    : "closed an open array")) < 0 ||
                close_container(self, events) < 0)
                goto done;
        }
    }
    r = 0;
done:
    Py_XDECREF(path);
    Py_DECREF(held);
    return r;
}

/* finish(*, allow_partial=True): _finish_py() in C. */
static PyObject *
core_finish(Core *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    int allow_partial = 1;
    Py_ssize_t nkw = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
    if (nargs) {
        PyErr_Format(PyExc_TypeError, "finish() takes no positional arguments (%zd given)", nargs);
        return NULL;
    }
    for (Py_ssize_t k = 0; k < nkw; k++) {
        PyObject *name = PyTuple_GET_ITEM(kwnames, k);
        if (!PyUnicode_Check(name) || PyUnicode_CompareWithASCIIString(name, "allow_partial") != 0) {
            PyErr_Format(PyExc_TypeError, "finish() got an unexpected keyword argument %R", name);
            return NULL;
        }
        if ((allow_partial = PyObject_IsTrue(args[k])) < 0)
            return NULL;
    }
    if (!all_ready(self))
        return not_ready();
    if (self->error != Py_None) {
        raise_error(ref(self->error));
        return NULL;
    }
    if (self->result != Py_None)
        return ref(self->result);
    self->hot = 0;
    int pending = PyBytes_GET_SIZE(self->pending) != 0;
    if (self->state == ST_END && self->schema == Py_None && !pending && !self->multiple_values &&
        self->x == Py_None) {
        /* one whole value and nothing after it: nothing to repair or report */
        PyObject *result = parse_result(ref(self->root), 1, ref(EMPTY_TUPLE), "high",
                                        ref(EMPTY_TUPLE), ref(EMPTY_TUPLE), ref(Py_None));
        if (result == NULL)
            return NULL;
        set_obj(&self->result, ref(result));
        return result;
    }
    if (pending && !allow_partial) {
        raise_error(fail_here(self, "input ends inside a UTF-8 sequence", "", 1, 1));
        return NULL;
    }
    PyObject *events = PyList_New(0), *value = NULL, *model = NULL, *warnings = NULL;
    Repairs fix = {PyList_New(0), 0};
    PyObject *tracker = NULL, *result = NULL, *cut = NULL;
    if (events == NULL || fix.list == NULL)
        goto done;
    if (self->candidate != Py_None) {
        /* An unproven fenced value never replaces one in prose (_reject_trial() restores
         * that); another candidate never proved itself, but it is all there is. */
        PyObject *saved = PyObject_GetAttr(self->candidate, S_SAVED);
        int r = saved == NULL ? -1 : saved != Py_None ? reject_trial(self)
                                                      : flush_trial(self, events);
        Py_XDECREF(saved);
        if (r < 0)
            goto done;
    }
    if (self->held_kind == HELD_NUMBER && PyList_GET_SIZE(self->stack) == 0) {
        PyObject *number = complete_number(self, self->held);
        if (number != NULL) { /* the end of input is a delimiter */
            set_obj(&self->held, ref(S_EMPTY));
            self->held_kind = HELD_NONE;
            int r = put(self, number, events);
            Py_DECREF(number);
            if (r < 0)
                goto done;
        }
        else if (PyErr_Occurred())
            goto done;
    }
    if (!allow_partial && incomplete(self)) {
        raise_error(fail_here(self, "unexpected end of input", expected_now(self), 1, 1));
        goto done;
    }
    if (pending) /* _cut_path(): where the input ends */
        cut = ref(self->in_string && !self->str_is_key ? self->str_path
                  : PyList_GET_SIZE(self->prefixes) ? top_prefix(self) : EMPTY_TUPLE);
    if (repair(self, &fix, events) < 0)
        goto done;
    if (self->multiple_values)
        value = PyList_GET_SIZE(self->stack) ? self->root : self->last_document;
    else
        value = self->documents ? self->root : Py_None;
    Py_INCREF(value);
    if (self->documents == 0 && PyList_GET_SIZE(fix.list) == 0 &&
        add_repair(&fix, "no_value", ref(EMPTY_TUPLE),
                   PyUnicode_FromString("no JSON value in the input")) < 0)
        goto done;
    if (cut != NULL) { /* the input (bytes) ends inside a character: it is dropped */
        int r = add_repair(&fix, "dropped_bytes", cut,
                           PyUnicode_FromString("dropped an incomplete UTF-8 sequence"));
        cut = NULL;
        if (r < 0)
            goto done;
    }
    int counted = PyList_GET_SIZE(fix.list) != 0;
    const char *confidence = !counted ? "high" : fix.severe ? "low" : "medium";
    if (self->x != Py_None) { /* an unterminated JSON fence (not counted) */
        XObj *x = (XObj *)self->x;
        if ((x->fenced || x->state == X_INFO) && !x->fence_closed &&
            add_repair(&fix, "stripped_fence", ref(EMPTY_TUPLE),
                       PyUnicode_FromString("stripped an unterminated ``` fence")) < 0)
            goto done;
    }
    if (self->schema != Py_None) { /* the tracker's side: checks, warnings, the model */
        tracker = self->tracker;
        Py_INCREF(tracker);
        PyObject *pair = PyObject_CallMethodOneArg(tracker, S_FINISH, value);
        PyObject *items = pair == NULL ? NULL : PySequence_Tuple(pair);
        Py_XDECREF(pair);
        if (items == NULL)
            goto done;
        if (PyTuple_GET_SIZE(items) != 2) {
            Py_DECREF(items);
            PyErr_SetString(PyExc_ValueError, "SchemaTracker.finish() must return (value, model)");
            goto done;
        }
        Py_SETREF(value, ref(PyTuple_GET_ITEM(items, 0)));
        model = ref(PyTuple_GET_ITEM(items, 1));
        Py_DECREF(items);
        PyObject *r = PyObject_CallMethodOneArg(tracker, S_TRACK_METHOD, events);
        if (r == NULL)
            goto done;
        Py_DECREF(r);
        PyObject *list = PyObject_GetAttr(tracker, S_WARNINGS);
        warnings = list == NULL ? NULL : PySequence_Tuple(list);
        Py_XDECREF(list);
        if (warnings == NULL)
            goto done;
    }
    result = parse_result(value, !counted, PyList_AsTuple(fix.list), confidence,
                          PyList_AsTuple(events), warnings != NULL ? warnings : ref(EMPTY_TUPLE),
                          model != NULL ? model : ref(Py_None));
    value = model = warnings = NULL; /* (stolen) */
    if (result != NULL)
        set_obj(&self->result, ref(result));
done:
    Py_XDECREF(cut);
    Py_XDECREF(value);
    Py_XDECREF(model);
    Py_XDECREF(warnings);
    Py_XDECREF(tracker);
    Py_XDECREF(events);
    Py_XDECREF(fix.list);
    return result;
}
