/* The routing engine's rules, compiled (part of scanpath): Rules.pick mirrors
 * routing.engine.resolve for the rules of one code, lowered to a flat program by
 * routing.program.lower (which documents the program's layout). pick answers with the index of
 * the outcome (routing.program.Program.outcomes) that resolve's Decision would be, or None when
 * it declines: a condition it does not run here (an IPv6 client address, a query that is not a
 * dict or mapping proxy), a time its zone callback cannot express, any unexpected value. The
 * caller then runs resolve. pick never records an error: for a visit of Visit's declared types,
 * a rule that would raise in resolve makes pick decline, so resolve reports it.
 *
 * tests/native/test_rules.py holds pick to resolve on generated rules, visits and times.
 */
#include "native.h"

enum { K_ANY_OF, K_LANGUAGE, K_IP, K_QUERY, K_TIME, K_DAYS, K_DATES, K_VISITOR, K_NTH };
enum { T_REDIRECT, T_SPLIT, T_APP };
enum { VF_DEVICE, VF_OS, VF_BROWSER, VF_LANGUAGES, VF_COUNTRY, VF_REGION, VF_CITY, VF_IP, VF_QUERY, VF_FIELDS };
#define DATE_ORDINAL_1970 719163 /* date(1970, 1, 1).toordinal() */
#define DECLINE 2                /* a condition's answer: neither true nor false, ask resolve */
#define MAX_VARIANTS 256         /* more and pick declines (the schema allows 200) */

typedef struct {
    int kind;
    int field;         /* K_ANY_OF: the Visit field; K_TIME: start minute */
    int fold;          /* K_ANY_OF: casefold the value first */
    long long a, b, c; /* K_TIME: end; K_DAYS: mask, carry; K_DATES: first, last (0 = open), carry;
                          K_VISITOR: -1 either, 1 first, 0 returning; K_NTH: low, high (-1 = open) */
    PyObject *values;  /* K_ANY_OF, K_LANGUAGE: frozenset; K_QUERY: tuple of (name, True|False|frozenset) */
    uint32_t *starts, *ends; /* K_IP: merged IPv4 ranges */
    Py_ssize_t ranges;
} Cond;

typedef struct {
    Cond *conds;
    Py_ssize_t n_conds;
    PyObject *cap_key; /* str or NULL */
    long long cap;
    int target;
    Py_ssize_t outcome;       /* T_REDIRECT */
    PyObject *salt;           /* T_SPLIT: bytes */
    double *weights;          /* T_SPLIT */
    PyObject **variant_keys;  /* T_SPLIT: str or NULL per variant */
    long long *variant_caps;  /* T_SPLIT */
    Py_ssize_t *variant_outs; /* T_SPLIT */
    Py_ssize_t n_variants;
    Py_ssize_t ios, android, web; /* T_APP: outcome indices, -1 = not configured */
} RuleC;

typedef struct {
    PyObject_HEAD
    RuleC *rules;
    Py_ssize_t n_rules;
    PyObject *offset_fn; /* UTC µs -> the zone's offset in seconds (int) */
    PyObject *point_fn;  /* routing.engine.assignment_point */
    PyObject *ipv4_type;
    long long offset_second; /* the UTC second offset belongs to, or LLONG_MIN */
    long long offset;
} Rules;

static PyObject *s_casefold, *s_lower;

static void free_rules(Rules *self) {
    for (Py_ssize_t i = 0; i < self->n_rules; i++) {
        RuleC *r = &self->rules[i];
        for (Py_ssize_t j = 0; j < r->n_conds; j++) {
            Py_XDECREF(r->conds[j].values);
            PyMem_Free(r->conds[j].starts);
            PyMem_Free(r->conds[j].ends);
        }
        PyMem_Free(r->conds);
        Py_XDECREF(r->cap_key);
        Py_XDECREF(r->salt);
        if (r->variant_keys != NULL)
            for (Py_ssize_t j = 0; j < r->n_variants; j++)
                Py_XDECREF(r->variant_keys[j]);
        PyMem_Free(r->variant_keys);
        PyMem_Free(r->weights);
        PyMem_Free(r->variant_caps);
        PyMem_Free(r->variant_outs);
    }
    PyMem_Free(self->rules);
    self->rules = NULL;
    self->n_rules = 0;
}

static void Rules_dealloc(Rules *self) {
    free_rules(self);
    Py_XDECREF(self->offset_fn);
    Py_XDECREF(self->point_fn);
    Py_XDECREF(self->ipv4_type);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int bad_program(const char *what) {
    PyErr_Format(PyExc_ValueError, "not a rules program: %s (see routing.program)", what);
    return -1;
}

/* item i of tuple t as a C long long, or -1 with an error set */
static int item_ll(PyObject *t, Py_ssize_t i, long long *out) {
    *out = PyLong_AsLongLong(PyTuple_GET_ITEM(t, i));
    return (*out == -1 && PyErr_Occurred()) ? -1 : 0;
}

static int lower_ranges(Cond *c, PyObject *starts, PyObject *ends) {
    if (!PyTuple_Check(starts) || !PyTuple_Check(ends) || PyTuple_GET_SIZE(starts) != PyTuple_GET_SIZE(ends))
        return bad_program("ip ranges");
    c->ranges = PyTuple_GET_SIZE(starts);
    c->starts = PyMem_Calloc((size_t)c->ranges + 1, sizeof(uint32_t));
    c->ends = PyMem_Calloc((size_t)c->ranges + 1, sizeof(uint32_t));
    if (c->starts == NULL || c->ends == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < c->ranges; i++) {
        long long s, e;
        if (item_ll(starts, i, &s) < 0 || item_ll(ends, i, &e) < 0)
            return -1;
        if (s < 0 || e < s || e > 0xFFFFFFFFLL || (i > 0 && s <= (long long)c->ends[i - 1]))
            return bad_program("ip ranges must be sorted, merged IPv4 integers");
        c->starts[i] = (uint32_t)s;
        c->ends[i] = (uint32_t)e;
    }
    return 0;
}

static int lower_condition(Cond *c, PyObject *t) {
    if (!PyTuple_Check(t) || PyTuple_GET_SIZE(t) < 2)
        return bad_program("a condition is a tuple (kind, ...)");
    long long kind;
    if (item_ll(t, 0, &kind) < 0)
        return -1;
    c->kind = (int)kind;
    Py_ssize_t n = PyTuple_GET_SIZE(t);
    long long v;
    switch (kind) {
    case K_ANY_OF: /* (kind, field, fold, frozenset) */
        if (n != 4 || item_ll(t, 1, &v) < 0 || !PyFrozenSet_CheckExact(PyTuple_GET_ITEM(t, 3)))
            return PyErr_Occurred() ? -1 : bad_program("any-of");
        if (v < 0 || v >= VF_FIELDS || v == VF_LANGUAGES || v == VF_IP || v == VF_QUERY)
            return bad_program("any-of field");
        c->field = (int)v;
        c->fold = PyObject_IsTrue(PyTuple_GET_ITEM(t, 2));
        c->values = Py_NewRef(PyTuple_GET_ITEM(t, 3));
        return 0;
    case K_LANGUAGE: /* (kind, frozenset) */
        if (n != 2 || !PyFrozenSet_CheckExact(PyTuple_GET_ITEM(t, 1)))
            return bad_program("language");
        c->values = Py_NewRef(PyTuple_GET_ITEM(t, 1));
        return 0;
    case K_IP: /* (kind, v4 starts, v4 ends) */
        if (n != 3)
            return bad_program("ip");
        return lower_ranges(c, PyTuple_GET_ITEM(t, 1), PyTuple_GET_ITEM(t, 2));
    case K_QUERY: /* (kind, ((name, True | False | frozenset), ...)) */
        if (n != 2 || !PyTuple_Check(PyTuple_GET_ITEM(t, 1)))
            return bad_program("query");
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(PyTuple_GET_ITEM(t, 1)); i++) {
            PyObject *test = PyTuple_GET_ITEM(PyTuple_GET_ITEM(t, 1), i);
            if (!PyTuple_Check(test) || PyTuple_GET_SIZE(test) != 2 || !PyUnicode_Check(PyTuple_GET_ITEM(test, 0)))
                return bad_program("query test");
            PyObject *wanted = PyTuple_GET_ITEM(test, 1);
            if (wanted != Py_True && wanted != Py_False && !PyFrozenSet_CheckExact(wanted))
                return bad_program("query test");
        }
        c->values = Py_NewRef(PyTuple_GET_ITEM(t, 1));
        return 0;
    case K_TIME: /* (kind, start, end) */
        if (n != 3 || item_ll(t, 1, &v) < 0 || item_ll(t, 2, &c->a) < 0)
            return PyErr_Occurred() ? -1 : bad_program("time");
        c->field = (int)v;
        return 0;
    case K_DAYS:    /* (kind, mask, carry) */
    case K_VISITOR: /* (kind, -1 | 0 | 1) */
    case K_NTH:     /* (kind, low, high | -1) */
        if (n < 2 || item_ll(t, 1, &c->a) < 0 || (n > 2 && item_ll(t, 2, &c->b) < 0))
            return PyErr_Occurred() ? -1 : bad_program("days, visitor or nth_scan");
        return 0;
    case K_DATES: /* (kind, first ordinal | 0, last ordinal | 0, carry) */
        if (n != 4 || item_ll(t, 1, &c->a) < 0 || item_ll(t, 2, &c->b) < 0 || item_ll(t, 3, &c->c) < 0)
            return PyErr_Occurred() ? -1 : bad_program("dates");
        return 0;
    default:
        return bad_program("unknown condition kind");
    }
}

static int outcome_index(PyObject *t, Py_ssize_t i, Py_ssize_t *out) {
    long long v;
    if (item_ll(t, i, &v) < 0)
        return -1;
    *out = (Py_ssize_t)v;
    return 0;
}

static int lower_target(RuleC *r, PyObject *t) {
    long long kind;
    if (!PyTuple_Check(t) || PyTuple_GET_SIZE(t) < 2 || item_ll(t, 0, &kind) < 0)
        return PyErr_Occurred() ? -1 : bad_program("a target is a tuple (kind, ...)");
    r->target = (int)kind;
    if (kind == T_REDIRECT)
        return outcome_index(t, 1, &r->outcome);
    if (kind == T_APP) {
        if (PyTuple_GET_SIZE(t) != 4)
            return bad_program("app target");
        return outcome_index(t, 1, &r->ios) < 0 || outcome_index(t, 2, &r->android) < 0 ||
                       outcome_index(t, 3, &r->web) < 0
                   ? -1
                   : 0;
    }
    if (kind != T_SPLIT || PyTuple_GET_SIZE(t) != 3 || !PyBytes_Check(PyTuple_GET_ITEM(t, 1)) ||
        !PyTuple_Check(PyTuple_GET_ITEM(t, 2)))
        return bad_program("split target: (kind, salt, ((weight, cap key | None, cap, outcome), ...))");
    PyObject *variants = PyTuple_GET_ITEM(t, 2);
    Py_ssize_t n = PyTuple_GET_SIZE(variants);
    r->salt = Py_NewRef(PyTuple_GET_ITEM(t, 1));
    r->n_variants = n;
    r->weights = PyMem_Calloc((size_t)n + 1, sizeof(double));
    r->variant_keys = PyMem_Calloc((size_t)n + 1, sizeof(PyObject *));
    r->variant_caps = PyMem_Calloc((size_t)n + 1, sizeof(long long));
    r->variant_outs = PyMem_Calloc((size_t)n + 1, sizeof(Py_ssize_t));
    if (!r->weights || !r->variant_keys || !r->variant_caps || !r->variant_outs) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *v = PyTuple_GET_ITEM(variants, i);
        if (!PyTuple_Check(v) || PyTuple_GET_SIZE(v) != 4 || !PyFloat_CheckExact(PyTuple_GET_ITEM(v, 0)))
            return bad_program("variant");
        r->weights[i] = PyFloat_AS_DOUBLE(PyTuple_GET_ITEM(v, 0));
        PyObject *key = PyTuple_GET_ITEM(v, 1);
        r->variant_keys[i] = key == Py_None ? NULL : Py_NewRef(key);
        if (item_ll(v, 2, &r->variant_caps[i]) < 0 || outcome_index(v, 3, &r->variant_outs[i]) < 0)
            return -1;
    }
    return 0;
}

/* Rules(program, offset_fn, point_fn, ipv4_type); program: ((conditions, cap key | None, cap,
 * target), ...) */
static int Rules_init(Rules *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"program", "offset_fn", "point_fn", "ipv4_type", NULL};
    PyObject *program, *offset_fn, *point_fn, *ipv4_type;
    if (self->offset_fn != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Rules is initialised once");
        return -1;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!OOO!", kwlist, &PyTuple_Type, &program, &offset_fn, &point_fn,
                                     &PyType_Type, &ipv4_type))
        return -1;
    self->offset_fn = Py_NewRef(offset_fn);
    self->point_fn = Py_NewRef(point_fn);
    self->ipv4_type = Py_NewRef(ipv4_type);
    self->offset_second = LLONG_MIN;
    Py_ssize_t n = PyTuple_GET_SIZE(program);
    self->rules = PyMem_Calloc((size_t)n + 1, sizeof(RuleC));
    if (self->rules == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    self->n_rules = n;
    for (Py_ssize_t i = 0; i < n; i++) {
        RuleC *r = &self->rules[i];
        PyObject *t = PyTuple_GET_ITEM(program, i);
        if (!PyTuple_Check(t) || PyTuple_GET_SIZE(t) != 4 || !PyTuple_Check(PyTuple_GET_ITEM(t, 0)))
            return bad_program("a rule is (conditions, cap key, cap, target)");
        PyObject *conds = PyTuple_GET_ITEM(t, 0), *key = PyTuple_GET_ITEM(t, 1);
        r->n_conds = PyTuple_GET_SIZE(conds);
        r->conds = PyMem_Calloc((size_t)r->n_conds + 1, sizeof(Cond));
        if (r->conds == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        for (Py_ssize_t j = 0; j < r->n_conds; j++)
            if (lower_condition(&r->conds[j], PyTuple_GET_ITEM(conds, j)) < 0)
                return -1;
        r->cap_key = key == Py_None ? NULL : Py_NewRef(key);
        if (item_ll(t, 2, &r->cap) < 0 || lower_target(r, PyTuple_GET_ITEM(t, 3)) < 0)
            return -1;
    }
    return 0;
}

/* ---- one scan ------------------------------------------------------------------------------ */

typedef struct {
    PyObject *visit; /* a Visit */
    long long day;   /* local days since 1970-01-01 */
    int minute;      /* local minute of the day */
    long long prior;
    PyObject *caps; /* dict */
} Scan;

static long long floor_div(long long a, long long b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

/* 1 if the casefolded (or raw) Visit field is in c->values, 0 if not, -1 on error */
static int any_of(const Cond *c, const Scan *s) {
    PyObject *value = PyTuple_GET_ITEM(s->visit, c->field);
    if (value == Py_None)
        return 0;
    if (!c->fold)
        return PySet_Contains(c->values, value);
    if (!PyUnicode_Check(value))
        return DECLINE;
    PyObject *folded = PyObject_CallMethodNoArgs(value, s_casefold);
    if (folded == NULL)
        return -1;
    int found = PySet_Contains(c->values, folded);
    Py_DECREF(folded);
    return found;
}

static int language_in(const Cond *c, const Scan *s) {
    PyObject *languages = PyTuple_GET_ITEM(s->visit, VF_LANGUAGES);
    if (!PyTuple_Check(languages))
        return DECLINE;
    if (PyTuple_GET_SIZE(languages) == 0)
        return 0;
    PyObject *first = PyTuple_GET_ITEM(languages, 0);
    if (!PyUnicode_Check(first))
        return DECLINE;
    PyObject *tag = PyObject_CallMethodNoArgs(first, s_lower);
    if (tag == NULL)
        return -1;
    int found = 0;
    while (PyUnicode_GET_LENGTH(tag) > 0) {
        found = PySet_Contains(c->values, tag);
        if (found != 0)
            break;
        Py_ssize_t cut = PyUnicode_FindChar(tag, '-', 0, PyUnicode_GET_LENGTH(tag), -1);
        if (cut < 0) { /* -1: not found; -2: error */
            found = cut == -2 ? -1 : 0;
            break;
        }
        Py_SETREF(tag, PyUnicode_Substring(tag, 0, cut));
        if (tag == NULL)
            return -1;
    }
    Py_DECREF(tag);
    return found;
}

static int ip_in(const Rules *self, const Cond *c, const Scan *s) {
    PyObject *ip = PyTuple_GET_ITEM(s->visit, VF_IP);
    if (ip == Py_None)
        return 0;
    if (Py_TYPE(ip) != (PyTypeObject *)self->ipv4_type)
        return DECLINE; /* IPv6 (and IPv4-mapped): resolve's IpIn */
    PyObject *number = PyNumber_Long(ip);
    if (number == NULL)
        return -1;
    unsigned long long n = PyLong_AsUnsignedLongLong(number);
    Py_DECREF(number);
    if (n == (unsigned long long)-1 && PyErr_Occurred())
        return -1;
    Py_ssize_t lo = 0, hi = c->ranges; /* bisect_right(starts, n) */
    while (lo < hi) {
        Py_ssize_t mid = (lo + hi) / 2;
        if (n < c->starts[mid])
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo > 0 && n <= c->ends[lo - 1];
}

static int query_match(const Cond *c, const Scan *s) {
    PyObject *query = PyTuple_GET_ITEM(s->visit, VF_QUERY);
    int is_dict = PyDict_Check(query);
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(c->values); i++) {
        PyObject *test = PyTuple_GET_ITEM(c->values, i);
        PyObject *name = PyTuple_GET_ITEM(test, 0), *wanted = PyTuple_GET_ITEM(test, 1), *value;
        if (is_dict) {
            value = Py_XNewRef(PyDict_GetItemWithError(query, name));
            if (value == NULL && PyErr_Occurred())
                return -1;
        } else if (PyObject_TypeCheck(query, &PyDictProxy_Type)) {
            value = PyObject_GetItem(query, name);
            if (value == NULL) {
                if (!PyErr_ExceptionMatches(PyExc_KeyError))
                    return -1;
                PyErr_Clear();
            }
        } else {
            return DECLINE;
        }
        int holds;
        if (wanted == Py_True)
            holds = value != NULL;
        else if (wanted == Py_False)
            holds = value == NULL;
        else
            holds = value == NULL ? 0 : PySet_Contains(wanted, value);
        Py_XDECREF(value);
        if (holds != 1)
            return holds;
    }
    return 1;
}

/* 1, 0, -1 (error) or DECLINE */
static int holds(const Rules *self, const Cond *c, const Scan *s) {
    switch (c->kind) {
    case K_ANY_OF:
        return any_of(c, s);
    case K_LANGUAGE:
        return language_in(c, s);
    case K_IP:
        return ip_in(self, c, s);
    case K_QUERY:
        return query_match(c, s);
    case K_TIME:
        return c->field < c->a ? (c->field <= s->minute && s->minute < c->a)
                               : (s->minute >= c->field || s->minute < c->a);
    case K_DAYS: {
        long long day = s->minute < c->b ? s->day - 1 : s->day;
        int weekday = (int)(((day + 3) % 7 + 7) % 7); /* 1970-01-01 was a Thursday (3) */
        return (c->a >> weekday) & 1;
    }
    case K_DATES: {
        long long ordinal = (s->minute < c->c ? s->day - 1 : s->day) + DATE_ORDINAL_1970;
        if (ordinal < 1)
            return DECLINE; /* before date.min: resolve's error */
        return (c->a == 0 || c->a <= ordinal) && (c->b == 0 || ordinal <= c->b);
    }
    case K_VISITOR:
        return c->a < 0 || (s->prior <= 0) == (c->a == 1);
    case K_NTH: {
        long long ordinal = s->prior + 1;
        return ordinal >= c->a && (c->b < 0 || ordinal <= c->b);
    }
    default:
        return DECLINE;
    }
}

/* caps[key] >= cap (a missing key counts 0): 1, 0, -1 */
static int used_up(PyObject *caps, PyObject *key, long long cap) {
    PyObject *used = PyDict_GetItemWithError(caps, key);
    if (used == NULL)
        return PyErr_Occurred() ? -1 : 0 >= cap;
    long long n = PyLong_AsLongLong(used);
    if (n == -1 && PyErr_Occurred())
        return -1;
    return n >= cap;
}

/* pick_weighted of routing.engine, with the same floating-point steps. -1: none; -2: error */
static Py_ssize_t pick_weighted(double point, const double *weights, Py_ssize_t n, const char *blocked) {
    Py_ssize_t candidates[MAX_VARIANTS], count = 0;
    for (Py_ssize_t i = 0; i < n; i++)
        if (weights[i] > 0)
            candidates[count++] = i;
    const double below_one = nextafter(1.0, 0.0);
    while (count > 0) {
        double total = 0.0;
        for (Py_ssize_t i = 0; i < count; i++)
            total += weights[candidates[i]];
        double target = point * total, start = 0.0;
        Py_ssize_t chosen = candidates[count - 1], at = count - 1, i;
        for (i = 0; i < count; i++) {
            if (target < start + weights[candidates[i]]) {
                chosen = candidates[i];
                at = i;
                break;
            }
            start += weights[candidates[i]];
        }
        if (i == count)
            start -= weights[chosen];
        if (!blocked[chosen])
            return chosen;
        double next = (target - start) / weights[chosen];
        point = next < 0.0 ? 0.0 : next; /* max(x, 0.0) then min(x, below_one) */
        if (point > below_one)
            point = below_one;
        memmove(&candidates[at], &candidates[at + 1], (size_t)(count - at - 1) * sizeof(Py_ssize_t));
        count--;
    }
    return -1;
}

/* the outcome of a split for this scan: >= 0, -1 (every variant blocked), -2 error, -3 decline */
static Py_ssize_t split_outcome(const Rules *self, const RuleC *r, const Scan *s, PyObject *subject) {
    if (r->n_variants > MAX_VARIANTS)
        return -3;
    char blocked[MAX_VARIANTS] = {0};
    for (Py_ssize_t i = 0; i < r->n_variants; i++) {
        if (r->variant_keys[i] == NULL)
            continue;
        int up = used_up(s->caps, r->variant_keys[i], r->variant_caps[i]);
        if (up < 0)
            return -2;
        blocked[i] = (char)up;
    }
    PyObject *args[] = {r->salt, subject};
    PyObject *got = PyObject_Vectorcall(self->point_fn, args, 2, NULL);
    if (got == NULL)
        return -2;
    double point = PyFloat_AsDouble(got);
    Py_DECREF(got);
    if (point == -1.0 && PyErr_Occurred())
        return -2;
    Py_ssize_t chosen = pick_weighted(point, r->weights, r->n_variants, blocked);
    return chosen < 0 ? -1 : r->variant_outs[chosen];
}

/* the zone's offset at now_us (seconds), asked once per UTC second */
static int offset_at(Rules *self, long long now_us, long long *offset) {
    long long second = floor_div(now_us, 1000000);
    if (second != self->offset_second) {
        PyObject *us = PyLong_FromLongLong(second * 1000000);
        if (us == NULL)
            return -1;
        PyObject *got = PyObject_CallOneArg(self->offset_fn, us);
        Py_DECREF(us);
        if (got == NULL)
            return -1;
        long long value = PyLong_AsLongLong(got);
        Py_DECREF(got);
        if (value == -1 && PyErr_Occurred())
            return -1;
        self->offset = value;
        self->offset_second = second;
    }
    *offset = self->offset;
    return 0;
}

static Py_ssize_t pick(PyObject *rules_obj, PyObject *visit, long long now_us, long long prior, PyObject *caps,
                      PyObject *subject) {
    Rules *self = (Rules *)rules_obj;
    if (!PyTuple_Check(visit) || PyTuple_GET_SIZE(visit) <= VF_QUERY || !PyDict_Check(caps))
        return -1;
    long long offset;
    if (offset_at(self, now_us, &offset) < 0) {
        PyErr_Clear(); /* a time the zone cannot express: resolve reports it */
        return -1;
    }
    long long local_s = floor_div(now_us, 1000000) + offset;
    Scan s = {.visit = visit, .day = floor_div(local_s, 86400), .prior = prior, .caps = caps};
    s.minute = (int)((local_s - s.day * 86400) / 60);
    for (Py_ssize_t i = 0; i < self->n_rules; i++) {
        const RuleC *r = &self->rules[i];
        int all = 1;
        for (Py_ssize_t j = 0; j < r->n_conds && all == 1; j++)
            all = holds(self, &r->conds[j], &s);
        if (all < 0)
            return -2;
        if (all == DECLINE)
            return -1;
        if (!all)
            continue;
        if (r->cap_key != NULL) {
            int up = used_up(caps, r->cap_key, r->cap);
            if (up < 0)
                return -2;
            if (up)
                continue;
        }
        if (r->target == T_REDIRECT)
            return r->outcome;
        if (r->target == T_APP) {
            PyObject *os = PyTuple_GET_ITEM(visit, VF_OS);
            Py_ssize_t app = -1;
            if (os != Py_None) {
                if (!PyUnicode_Check(os))
                    return -1;
                PyObject *folded = PyObject_CallMethodNoArgs(os, s_casefold);
                if (folded == NULL)
                    return -2;
                if (PyUnicode_CompareWithASCIIString(folded, "ios") == 0)
                    app = r->ios;
                else if (PyUnicode_CompareWithASCIIString(folded, "android") == 0)
                    app = r->android;
                Py_DECREF(folded);
            }
            return app >= 0 ? app : r->web;
        }
        Py_ssize_t chosen = split_outcome(self, r, &s, subject);
        if (chosen == -2)
            return -2;
        if (chosen == -3)
            return -1;
        if (chosen >= 0)
            return chosen;
    }
    return 0; /* the default */
}

/* The outcome index resolve would give (>= 0), or -1 when pick declines (an error inside counts
 * as declining: resolve meets it again and reports it). Exported to scan.c. subject: what
 * assigns variants (the visitor hash, else the scan id). */
Py_ssize_t rules_pick(PyObject *rules, PyObject *visit, long long now_us, long long prior, PyObject *caps,
                      PyObject *subject) {
    Py_ssize_t got = pick(rules, visit, now_us, prior, caps, subject);
    if (got == -2) {
        PyErr_Clear();
        return -1;
    }
    return got;
}

static PyObject *Rules_pick(Rules *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 5) {
        PyErr_SetString(PyExc_TypeError, "pick(visit, now_us, prior, caps, subject)");
        return NULL;
    }
    long long now_us = PyLong_AsLongLong(args[1]), prior;
    if ((now_us == -1 && PyErr_Occurred()) || ((prior = PyLong_AsLongLong(args[2])) == -1 && PyErr_Occurred()))
        return NULL;
    if (!PyUnicode_Check(args[4])) {
        PyErr_SetString(PyExc_TypeError, "the subject must be str");
        return NULL;
    }
    Py_ssize_t got = rules_pick((PyObject *)self, args[0], now_us, prior, args[3], args[4]);
    if (got == -1)
        Py_RETURN_NONE;
    return PyLong_FromSsize_t(got);
}

static PyMethodDef Rules_methods[] = {
    {"pick", (PyCFunction)(void (*)(void))Rules_pick, METH_FASTCALL,
     "pick(visit, now_us, prior, caps, subject) -> int | None: the outcome resolve would give, None to ask it."},
    {NULL, NULL, 0, NULL},
};

PyTypeObject RulesType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "scanroute.native.scanpath.Rules",
    .tp_basicsize = sizeof(Rules),
    .tp_dealloc = (destructor)Rules_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A code's rules, compiled (see rules.c).",
    .tp_methods = Rules_methods,
    .tp_init = (initproc)Rules_init,
    .tp_new = PyType_GenericNew,
};

int rules_init_strings(void) {
    INTERN(s_casefold, "casefold");
    INTERN(s_lower, "lower");
    return 0;
}
