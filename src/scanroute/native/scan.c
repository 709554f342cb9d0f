/* Scan ids, visitor hashes and the whole answer to a scan of a plain code, compiled (part of
 * scanpath). Each mirrors a Python reference that stays in use where this module is missing and
 * for everything it declines:
 *
 *   new_scan_id()             capture.event.new_scan_id (the same 24-character format)
 *   keyed_hash(...)           capture.privacy.keyed_hash_python (the same digest)
 *   PlainScan.answer(...)     redirect.handler.ScanHandler.decide for a route with a plan
 *                             (redirect.route.plain_plan: active, no rules, nothing counted,
 *                             no expiry, no coupon, no pass-through, a plain redirect)
 *   ScanPath.scan(...)        the edge's hot path up to the reply for a plain code: the
 *                             context, RouteCache.get and PlainScan.answer
 *   PlainScan.answer_routed   the same for a code with rules or counts (redirect.route.
 *                             routed_plan), routed by rules.c's Rules, counted in
 *                             MemoryCounters' dictionaries
 *   PlainScan.finish(...)     the end of ScanHandler.decide (Location, reply, event) for a
 *                             recorded redirect without coupon or pass-through that Python
 *                             decided (rules, counters)
 *
 * tests/native/ compares each with its reference.
 */
#include "native.h"

#include <pthread.h>
#include <sys/random.h>
#include <time.h>

static const char ALPHABET[] = "0123456789abcdefghijklmnopqrstuv"; /* base32hex, lower case */
#define RANDOM_BYTES (15 * 512)
#define SCAN_ID_CHARS 24
#define MAX_SLUG_CHARS 64

static unsigned char random_bytes[RANDOM_BYTES];
static size_t random_pos = RANDOM_BYTES;

static PyObject *empty_caps; /* the caps of a code that counts nothing: {} (never changed) */
static PyObject *s_routed_plan, *s_move_to_end;
static PyObject *s_copy, *s_update, *s_hexdigest, *s_redirect, *s_location, *s_no_body, *s_nothing;

/* A forked child must not hand out its parent's ids. */
static void forget_random_bytes(void) { random_pos = RANDOM_BYTES; }

static int take_random(const unsigned char **out) {
    if (random_pos + 15 > RANDOM_BYTES) {
        size_t filled = 0;
        while (filled < RANDOM_BYTES) {
            ssize_t got = getrandom(random_bytes + filled, RANDOM_BYTES - filled, 0);
            if (got < 0) {
                if (errno == EINTR)
                    continue;
                PyErr_SetFromErrno(PyExc_OSError);
                return -1;
            }
            filled += (size_t)got;
        }
        random_pos = 0;
    }
    *out = random_bytes + random_pos;
    random_pos += 15;
    return 0;
}

/* The scan id of now into out (48-bit millisecond clock + 72 random bits, base32hex) and the
 * time in microseconds. The GIL is held throughout: no two callers share random bytes. */
static int scan_id(char out[SCAN_ID_CHARS], long long *now_us) {
    struct timespec ts;
    const unsigned char *rnd;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) {
        PyErr_SetFromErrno(PyExc_OSError);
        return -1;
    }
    if (take_random(&rnd) < 0)
        return -1;
    uint64_t ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    uint64_t ms = (ns / 1000000u) & 0xFFFFFFFFFFFFu;
    uint64_t high = ms >> 3;
    for (int i = 0; i < 9; i++)
        out[i] = ALPHABET[(high >> (40 - 5 * i)) & 31];
    out[9] = ALPHABET[((ms & 7) << 2) | (rnd[0] & 3)];
    for (int i = 1; i < 15; i++)
        out[9 + i] = ALPHABET[rnd[i] & 31];
    *now_us = (long long)(ns / 1000u);
    return 0;
}

static PyObject *py_new_scan_id(PyObject *module, PyObject *unused) {
    char id[SCAN_ID_CHARS];
    long long now_us;
    if (scan_id(id, &now_us) < 0)
        return NULL;
    return PyUnicode_FromStringAndSize(id, SCAN_ID_CHARS);
}

/* UTF-8 with lone surrogates passed through, as str.encode("utf-8", "surrogatepass"). */
static PyObject *utf8(PyObject *text) {
    if (PyUnicode_IS_ASCII(text))
        return PyBytes_FromStringAndSize((const char *)PyUnicode_DATA(text), PyUnicode_GET_LENGTH(text));
    return PyUnicode_AsEncodedString(text, "utf-8", "surrogatepass");
}

/* hexdigest of a copy of keyed, updated with (workspace as >q, len(ip) as >I, ip, user agent). */
static PyObject *keyed_hash(PyObject *keyed, long long workspace, PyObject *ip, PyObject *ua) {
    if (!PyUnicode_Check(ip) || !PyUnicode_Check(ua)) {
        PyErr_SetString(PyExc_TypeError, "the truncated address and the user agent must be str");
        return NULL;
    }
    PyObject *ip_b = utf8(ip), *ua_b = NULL, *message = NULL, *copy = NULL, *digest = NULL;
    if (ip_b == NULL || (ua_b = utf8(ua)) == NULL)
        goto done;
    Py_ssize_t ip_len = PyBytes_GET_SIZE(ip_b), ua_len = PyBytes_GET_SIZE(ua_b);
    if (ip_len > 0xFFFFFFFFLL) {
        PyErr_SetString(PyExc_OverflowError, "address too long");
        goto done;
    }
    message = PyBytes_FromStringAndSize(NULL, 12 + ip_len + ua_len);
    if (message == NULL)
        goto done;
    unsigned char *m = (unsigned char *)PyBytes_AS_STRING(message);
    uint64_t ws = (uint64_t)workspace;
    for (int i = 0; i < 8; i++)
        m[i] = (unsigned char)(ws >> (56 - 8 * i));
    for (int i = 0; i < 4; i++)
        m[8 + i] = (unsigned char)((uint64_t)ip_len >> (24 - 8 * i));
    memcpy(m + 12, PyBytes_AS_STRING(ip_b), (size_t)ip_len);
    memcpy(m + 12 + ip_len, PyBytes_AS_STRING(ua_b), (size_t)ua_len);
    copy = PyObject_CallMethodNoArgs(keyed, s_copy);
    if (copy == NULL)
        goto done;
    PyObject *updated = PyObject_CallMethodOneArg(copy, s_update, message);
    if (updated == NULL)
        goto done;
    Py_DECREF(updated);
    digest = PyObject_CallMethodNoArgs(copy, s_hexdigest);
    if (digest != NULL && !PyUnicode_CheckExact(digest))
        Py_SETREF(digest, PyObject_Str(digest));
done:
    Py_XDECREF(ip_b);
    Py_XDECREF(ua_b);
    Py_XDECREF(message);
    Py_XDECREF(copy);
    return digest;
}

static PyObject *py_keyed_hash(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "keyed_hash(keyed, workspace_id, truncated_ip, user_agent)");
        return NULL;
    }
    long long workspace = PyLong_AsLongLong(args[1]);
    if (workspace == -1 && PyErr_Occurred())
        return NULL;
    return keyed_hash(args[0], workspace, args[2], args[3]);
}

/* ---- PlainScan ------------------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    PyObject *event_type;   /* capture.event.ScanEvent */
    PyObject *encode;       /* capture.event.encode_event */
    PyObject *reply_type;   /* redirect.handler.Reply */
    PyObject *context_type; /* capture.context.ScanContext */
    PyObject *host_fn;      /* redirect.handler._host: the referer's host */
    PyObject *headers;      /* tuple: the redirect's headers after Location */
    long long day_start;    /* [day_start, day_end): the UTC day keyed belongs to (µs) */
    long long day_end;
    PyObject *keyed; /* BLAKE2b keyed with that day's salt, or None */
    PyObject *previous; /* ... with the day before's salt (history: a visitor seen before midnight), or None */
    /* MemoryCounters' state (set_counters), NULL without: counted codes then take Python's path */
    PyObject *history;   /* OrderedDict (code id, visitor hash) -> scans, most recent last */
    PyObject *loaded;    /* set of code ids whose history is loaded */
    PyObject *caps;      /* dict code id -> dict cap key -> uses */
    Py_ssize_t history_size;
} PlainScan;

/* Context fields, in capture.context.ScanContext's order. */
enum { C_VISIT, C_METHOD, C_PATH, C_SLUG, C_UA, C_IP, C_IP_TRUNCATED, C_AGENT, C_BOT, C_GEO, C_REFERER,
       C_REFUSED, C_OPTED_OUT, C_QUERY, C_FIELDS };
enum { V_LANGUAGES = 3 };
/* Plan fields, in redirect.route.plain_plan's order. */
enum { P_WORKSPACE, P_CODE, P_CAMPAIGN, P_PLACEMENT, P_CREATIVE, P_BASE_FIELDS };
enum { P_PREFIX = P_BASE_FIELDS, P_SUFFIX, P_PLAIN, P_FIELDS };

static void PlainScan_dealloc(PlainScan *self) {
    Py_XDECREF(self->event_type);
    Py_XDECREF(self->encode);
    Py_XDECREF(self->reply_type);
    Py_XDECREF(self->context_type);
    Py_XDECREF(self->host_fn);
    Py_XDECREF(self->headers);
    Py_XDECREF(self->keyed);
    Py_XDECREF(self->previous);
    Py_XDECREF(self->history);
    Py_XDECREF(self->loaded);
    Py_XDECREF(self->caps);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int PlainScan_init(PlainScan *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"event_type", "encode", "reply_type", "context_type", "host_fn", "headers", NULL};
    PyObject *event_type, *encode, *reply_type, *context_type, *host_fn, *headers;
    if (self->event_type != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "PlainScan is initialised once");
        return -1;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOO!O!OO!", kwlist, &event_type, &encode, &PyType_Type,
                                     &reply_type, &PyType_Type, &context_type, &host_fn, &PyTuple_Type, &headers))
        return -1;
    if (!PyType_IsSubtype((PyTypeObject *)reply_type, &PyTuple_Type) ||
        !PyType_IsSubtype((PyTypeObject *)context_type, &PyTuple_Type)) {
        PyErr_SetString(PyExc_TypeError, "reply_type and context_type must be tuple subclasses");
        return -1;
    }
    self->event_type = Py_NewRef(event_type);
    self->encode = Py_NewRef(encode);
    self->reply_type = Py_NewRef(reply_type);
    self->context_type = Py_NewRef(context_type);
    self->host_fn = Py_NewRef(host_fn);
    self->headers = Py_NewRef(headers);
    self->keyed = Py_NewRef(Py_None);
    self->previous = Py_NewRef(Py_None);
    self->day_start = self->day_end = 0;
    return 0;
}

static PyObject *PlainScan_set_day(PlainScan *self, PyObject *args) {
    long long start, end;
    PyObject *keyed, *previous = Py_None;
    if (!PyArg_ParseTuple(args, "LLO|O", &start, &end, &keyed, &previous))
        return NULL;
    Py_SETREF(self->keyed, Py_NewRef(keyed));
    Py_SETREF(self->previous, Py_NewRef(previous));
    self->day_start = start;
    self->day_end = end;
    Py_RETURN_NONE;
}

/* The Location: prefix + id + suffix, or plain when prefix is None (no id appended). */
static PyObject *location_of(PyObject *prefix, PyObject *suffix, PyObject *plain, PyObject *sid) {
    if (prefix == Py_None)
        return Py_NewRef(plain);
    if (!PyUnicode_Check(prefix) || !PyUnicode_Check(suffix)) {
        PyErr_SetString(PyExc_TypeError, "the location's prefix and suffix must be str");
        return NULL;
    }
    PyObject *parts = PyTuple_Pack(3, prefix, sid, suffix);
    if (parts == NULL)
        return NULL;
    PyObject *joined = PyUnicode_Join(s_nothing, parts);
    Py_DECREF(parts);
    return joined;
}

/* location.encode("latin-1", "replace") */
static PyObject *latin1(PyObject *text) {
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "the location must be str");
        return NULL;
    }
    if (PyUnicode_KIND(text) == PyUnicode_1BYTE_KIND)
        return PyBytes_FromStringAndSize((const char *)PyUnicode_1BYTE_DATA(text), PyUnicode_GET_LENGTH(text));
    return PyUnicode_AsEncodedString(text, "latin-1", "replace");
}

static PyObject *redirect_reply(PlainScan *self, PyObject *location) {
    PyObject *encoded = latin1(location);
    if (encoded == NULL)
        return NULL;
    PyObject *first = PyTuple_Pack(2, s_location, encoded);
    Py_DECREF(encoded);
    if (first == NULL)
        return NULL;
    Py_ssize_t n = PyTuple_GET_SIZE(self->headers);
    PyObject *headers = PyList_New(1 + n);
    if (headers == NULL) {
        Py_DECREF(first);
        return NULL;
    }
    PyList_SET_ITEM(headers, 0, first);
    for (Py_ssize_t i = 0; i < n; i++)
        PyList_SET_ITEM(headers, 1 + i, Py_NewRef(PyTuple_GET_ITEM(self->headers, i)));
    PyObject *status = PyLong_FromLong(302);
    PyObject *items[] = {status, headers, s_no_body, s_redirect};
    PyObject *reply = status ? named_tuple(self->reply_type, items, 4) : NULL;
    Py_XDECREF(status);
    Py_DECREF(headers);
    return reply;
}

/* What the event says about the scan's outcome, besides the context and the code. */
typedef struct {
    PyObject *sid;       /* str */
    long long now_us;
    PyObject *location;  /* str: dest */
    PyObject *visitor;   /* str or None */
    PyObject *returning; /* bool */
    PyObject *rule;      /* int or None */
    PyObject *variant;   /* str or None */
    PyObject *caps;      /* list */
} Outcome;

/* The encoded scan event: ScanHandler._event of a redirect, in ScanEvent's field order. */
static PyObject *event_line(PlainScan *self, PyObject *ctx, PyObject *base, const Outcome *out) {
    PyObject *agent = PyTuple_GET_ITEM(ctx, C_AGENT), *bot = PyTuple_GET_ITEM(ctx, C_BOT);
    PyObject *geo = PyTuple_GET_ITEM(ctx, C_GEO), *slug = PyTuple_GET_ITEM(ctx, C_SLUG);
    PyObject *referer = PyTuple_GET_ITEM(ctx, C_REFERER);
    PyObject *languages = PyTuple_GET_ITEM(PyTuple_GET_ITEM(ctx, C_VISIT), V_LANGUAGES);
    int precise = PyTuple_GET_ITEM(ctx, C_REFUSED) != Py_True;
    PyObject *owned[12] = {NULL};
    PyObject *line = NULL;
    int k = 0;
#define OWN(expr)                        \
    do {                                 \
        if ((owned[k] = (expr)) == NULL) \
            goto done;                   \
        k++;                             \
    } while (0)
    if (!PyUnicode_Check(slug) || !PyTuple_Check(languages)) {
        PyErr_SetString(PyExc_TypeError, "not a scan context");
        return NULL;
    }
    OWN(PyUnicode_GET_LENGTH(slug) > MAX_SLUG_CHARS ? PyUnicode_Substring(slug, 0, MAX_SLUG_CHARS)
                                                    : Py_NewRef(slug));
    PyObject *short_slug = owned[0];
    OWN(PyLong_FromLongLong(out->now_us));
    PyObject *ts = owned[1];
    OWN(PyObject_GetAttr(agent, s_device));
    PyObject *device = owned[2];
    OWN(PyObject_GetAttr(agent, s_os));
    PyObject *os = owned[3];
    OWN(PyObject_GetAttr(agent, s_browser));
    PyObject *browser = owned[4];
    OWN(PyObject_GetAttr(geo, s_country));
    PyObject *country = owned[5];
    OWN(precise ? PyObject_GetAttr(geo, s_region) : Py_NewRef(Py_None));
    PyObject *region = owned[6];
    OWN(precise ? PyObject_GetAttr(geo, s_city) : Py_NewRef(Py_None));
    PyObject *city = owned[7];
    OWN(precise ? PyObject_GetAttr(geo, s_asn) : Py_NewRef(Py_None));
    PyObject *asn = owned[8];
    OWN(PyObject_GetAttr(bot, s_is_bot));
    PyObject *is_bot = owned[9];
    OWN(PyObject_GetAttr(bot, s_kind));
    PyObject *bot_kind = owned[10];
    OWN(referer == Py_None ? Py_NewRef(Py_None) : PyObject_CallOneArg(self->host_fn, referer));
    PyObject *ref_host = owned[11];
    PyObject *lang = PyTuple_GET_SIZE(languages) ? PyTuple_GET_ITEM(languages, 0) : Py_None;
    PyObject *args[] = {
        out->sid, PyTuple_GET_ITEM(base, P_WORKSPACE), short_slug, ts, s_redirect,
        PyTuple_GET_ITEM(base, P_CODE), out->location, out->rule, out->variant,
        PyTuple_GET_ITEM(base, P_CAMPAIGN), PyTuple_GET_ITEM(base, P_PLACEMENT), PyTuple_GET_ITEM(base, P_CREATIVE),
        device, os, browser, lang, country, region, city, asn, PyTuple_GET_ITEM(ctx, C_IP_TRUNCATED),
        out->visitor, out->returning, is_bot, bot_kind, ref_host, PyTuple_GET_ITEM(ctx, C_REFUSED), out->caps,
        Py_None /* coupon: codes that issue them take the Python path */,
    };
    PyObject *event = PyObject_Vectorcall(self->event_type, args, sizeof(args) / sizeof(args[0]), NULL);
    if (event != NULL) {
        line = PyObject_CallOneArg(self->encode, event);
        Py_DECREF(event);
    }
done:
    for (int i = 0; i < k; i++)
        Py_DECREF(owned[i]);
    return line;
#undef OWN
}

static int check_context(PlainScan *self, PyObject *ctx, PyObject *base, Py_ssize_t base_fields) {
    if (Py_TYPE(ctx) != (PyTypeObject *)self->context_type || PyTuple_GET_SIZE(ctx) != C_FIELDS ||
        !PyTuple_CheckExact(base) || PyTuple_GET_SIZE(base) != base_fields) {
        PyErr_SetString(PyExc_TypeError, "needs a ScanContext and the route's plan (see scan.c)");
        return -1;
    }
    return 0;
}

/* (reply, line) of a redirect to location that is recorded (line None otherwise). */
static PyObject *reply_and_line(PlainScan *self, PyObject *ctx, PyObject *base, const Outcome *out, int record) {
    PyObject *reply = redirect_reply(self, out->location);
    if (reply == NULL)
        return NULL;
    PyObject *line = record ? event_line(self, ctx, base, out) : Py_NewRef(Py_None);
    if (line == NULL) {
        Py_DECREF(reply);
        return NULL;
    }
    PyObject *answer = PyTuple_Pack(2, reply, line);
    Py_DECREF(reply);
    Py_DECREF(line);
    return answer;
}

static PyObject *PlainScan_answer(PlainScan *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "answer(ctx, plan, head)");
        return NULL;
    }
    PyObject *ctx = args[0], *plan = args[1];
    int head = PyObject_IsTrue(args[2]);
    if (head < 0 || check_context(self, ctx, plan, P_FIELDS) < 0)
        return NULL;
    char id[SCAN_ID_CHARS];
    long long now_us;
    if (scan_id(id, &now_us) < 0)
        return NULL;
    int record = !head && PyTuple_GET_ITEM(ctx, C_OPTED_OUT) != Py_True;
    if (record && (now_us < self->day_start || now_us >= self->day_end))
        Py_RETURN_NONE; /* another UTC day: the caller takes its salt and answers this one */
    PyObject *truncated = PyTuple_GET_ITEM(ctx, C_IP_TRUNCATED), *answer = NULL, *caps = NULL;
    Outcome out = {.now_us = now_us, .visitor = NULL, .returning = Py_False, .rule = Py_None, .variant = Py_None};
    out.sid = PyUnicode_FromStringAndSize(id, SCAN_ID_CHARS);
    if (out.sid == NULL)
        return NULL;
    out.location = location_of(PyTuple_GET_ITEM(plan, P_PREFIX), PyTuple_GET_ITEM(plan, P_SUFFIX),
                               PyTuple_GET_ITEM(plan, P_PLAIN), out.sid);
    if (out.location == NULL)
        goto done;
    if (record && truncated != Py_None && self->keyed != Py_None) {
        long long ws = PyLong_AsLongLong(PyTuple_GET_ITEM(plan, P_WORKSPACE));
        if (ws == -1 && PyErr_Occurred())
            goto done;
        out.visitor = keyed_hash(self->keyed, ws, truncated, PyTuple_GET_ITEM(ctx, C_UA));
        if (out.visitor == NULL)
            goto done;
    } else {
        out.visitor = Py_NewRef(Py_None);
    }
    if ((caps = PyList_New(0)) == NULL)
        goto done;
    out.caps = caps;
    answer = reply_and_line(self, ctx, plan, &out, record);
done:
    Py_DECREF(out.sid);
    Py_XDECREF(out.location);
    Py_XDECREF(out.visitor);
    Py_XDECREF(caps);
    return answer;
}

/* Routed plan fields, in redirect.route.routed_plan's order (the base first); an outcome's fields. */
enum { R_RULES = P_BASE_FIELDS, R_OUTCOMES, R_FIELDS };
enum { O_PREFIX, O_SUFFIX, O_PLAIN, O_RULE, O_VARIANT, O_FIELDS };
enum { V_VISITOR = 9 };

static PyObject *PlainScan_set_counters(PlainScan *self, PyObject *args) {
    PyObject *history, *loaded, *caps;
    Py_ssize_t size;
    if (!PyArg_ParseTuple(args, "O!O!O!n", &PyDict_Type, &history, &PySet_Type, &loaded, &PyDict_Type, &caps, &size))
        return NULL;
    Py_XSETREF(self->history, Py_NewRef(history));
    Py_XSETREF(self->loaded, Py_NewRef(loaded));
    Py_XSETREF(self->caps, Py_NewRef(caps));
    self->history_size = size;
    Py_RETURN_NONE;
}

/* Routed plan fields (redirect.route.routed_plan) after the rules and outcomes; an outcome's cap keys. */
enum { K_CODE_ID = R_FIELDS, K_HISTORY, K_CAPPED, K_LIMIT, K_FIELDS };
enum { O_CAP_KEYS = O_FIELDS };
static PyObject *s_popitem, *s_limit;

/* history[(code, visitor)] or 0 */
static int history_get(PlainScan *self, PyObject *code, PyObject *visitor, long long *count) {
    *count = 0;
    if (visitor == Py_None)
        return 0;
    PyObject *key = PyTuple_Pack(2, code, visitor);
    if (key == NULL)
        return -1;
    PyObject *got = PyDict_GetItemWithError(self->history, key);
    Py_DECREF(key);
    if (got == NULL)
        return PyErr_Occurred() ? -1 : 0;
    *count = PyLong_AsLongLong(got);
    return *count == -1 && PyErr_Occurred() ? -1 : 0;
}

/* MemoryCounters._remember(key, history.get(key, 0) + 1) */
static int history_add(PlainScan *self, PyObject *code, PyObject *visitor) {
    long long count;
    if (history_get(self, code, visitor, &count) < 0)
        return -1;
    PyObject *key = PyTuple_Pack(2, code, visitor), *value = PyLong_FromLongLong(count + 1), *moved = NULL;
    int failed = key == NULL || value == NULL || PyObject_SetItem(self->history, key, value) < 0 ||
                 (moved = PyObject_CallMethodOneArg(self->history, s_move_to_end, key)) == NULL;
    Py_XDECREF(moved);
    Py_XDECREF(key);
    Py_XDECREF(value);
    while (!failed && PyDict_GET_SIZE(self->history) > self->history_size) {
        PyObject *popped = PyObject_CallMethodObjArgs(self->history, s_popitem, Py_False, NULL);
        failed = popped == NULL;
        Py_XDECREF(popped);
    }
    return failed ? -1 : 0;
}

/* caps[code][key] += 1 for each key (MemoryCounters.record_now) */
static int caps_add(PlainScan *self, PyObject *code, PyObject *keys) {
    if (PyList_GET_SIZE(keys) == 0)
        return 0;
    PyObject *counts = PyDict_GetItemWithError(self->caps, code);
    if (counts == NULL) {
        if (PyErr_Occurred() || (counts = PyDict_New()) == NULL)
            return -1;
        int failed = PyDict_SetItem(self->caps, code, counts);
        Py_DECREF(counts); /* held by self->caps */
        if (failed < 0)
            return -1;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(keys); i++) {
        PyObject *key = PyList_GET_ITEM(keys, i), *old = PyDict_GetItemWithError(counts, key);
        long long n = 0;
        if (old == NULL && PyErr_Occurred())
            return -1;
        if (old != NULL && (n = PyLong_AsLongLong(old)) == -1 && PyErr_Occurred())
            return -1;
        PyObject *next = PyLong_FromLongLong(n + 1);
        if (next == NULL || PyDict_SetItem(counts, key, next) < 0) {
            Py_XDECREF(next);
            return -1;
        }
        Py_DECREF(next);
    }
    return 0;
}

/* answer_routed(ctx, routed_plan, head): the whole answer to a scan of an active code without
 * expiry, coupon or query pass-through that has rules or counts (visitor history, caps, a scan
 * limit): routes with rules.c's Rules and, for a code that counts, reads and counts in
 * MemoryCounters' own dictionaries (set_counters) as its record_now does. None when the UTC day
 * changed (the caller takes its salts); False when Python must answer (counts without the
 * counters' state or not loaded yet, the scan limit reached, pick declined, an app page). */
static PyObject *PlainScan_answer_routed(PlainScan *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "answer_routed(ctx, routed_plan, head)");
        return NULL;
    }
    PyObject *ctx = args[0], *plan = args[1];
    int head = PyObject_IsTrue(args[2]);
    if (head < 0 || check_context(self, ctx, plan, K_FIELDS) < 0)
        return NULL;
    PyObject *rules = PyTuple_GET_ITEM(plan, R_RULES), *outcomes = PyTuple_GET_ITEM(plan, R_OUTCOMES);
    PyObject *code = PyTuple_GET_ITEM(plan, K_CODE_ID);
    int needs_history = PyTuple_GET_ITEM(plan, K_HISTORY) == Py_True;
    int capped = PyTuple_GET_ITEM(plan, K_CAPPED) == Py_True;
    long long limit = PyLong_AsLongLong(PyTuple_GET_ITEM(plan, K_LIMIT));
    if (limit == -1 && PyErr_Occurred())
        return NULL;
    if (self->history == NULL && (needs_history || capped || limit >= 0))
        Py_RETURN_FALSE; /* counts, but not in this process's memory (Redis): Python's */
    if ((rules != Py_None && Py_TYPE(rules) != &RulesType) || !PyTuple_Check(outcomes)) {
        PyErr_SetString(PyExc_TypeError, "not a routed plan (see redirect.route.routed_plan)");
        return NULL;
    }
    char id[SCAN_ID_CHARS];
    long long now_us;
    if (scan_id(id, &now_us) < 0)
        return NULL;
    if (now_us < self->day_start || now_us >= self->day_end)
        Py_RETURN_NONE;
    int record = !head && PyTuple_GET_ITEM(ctx, C_OPTED_OUT) != Py_True;
    int human = 0;
    if (record) {
        PyObject *is_bot = PyObject_GetAttr(PyTuple_GET_ITEM(ctx, C_BOT), s_is_bot);
        if (is_bot == NULL)
            return NULL;
        human = is_bot != Py_True;
        Py_DECREF(is_bot);
    }
    PyObject *truncated = PyTuple_GET_ITEM(ctx, C_IP_TRUNCATED), *visit = PyTuple_GET_ITEM(ctx, C_VISIT);
    PyObject *ua = PyTuple_GET_ITEM(ctx, C_UA), *answer = NULL, *caps = NULL, *yesterday = NULL;
    Outcome out = {.now_us = now_us, .visitor = NULL, .location = NULL};
    out.sid = PyUnicode_FromStringAndSize(id, SCAN_ID_CHARS);
    if (out.sid == NULL)
        return NULL;
    long long ws = PyLong_AsLongLong(PyTuple_GET_ITEM(plan, P_WORKSPACE));
    if (ws == -1 && PyErr_Occurred())
        goto done;
    out.visitor = truncated != Py_None && self->keyed != Py_None ? keyed_hash(self->keyed, ws, truncated, ua)
                                                                  : Py_NewRef(Py_None);
    if (out.visitor == NULL)
        goto done;
    long long prior = 0, before = 0;
    if (out.visitor != Py_None && needs_history) {
        int loaded = PySet_Contains(self->loaded, code);
        if (loaded <= 0) {
            answer = loaded < 0 ? NULL : Py_NewRef(Py_False); /* Python loads the history */
            goto done;
        }
        yesterday = self->previous != Py_None ? keyed_hash(self->previous, ws, truncated, ua) : Py_NewRef(Py_None);
        if (yesterday == NULL || history_get(self, code, out.visitor, &prior) < 0 ||
            history_get(self, code, yesterday, &before) < 0)
            goto done;
        prior += before;
    }
    PyObject *counts = empty_caps;
    if (capped) {
        counts = PyDict_GetItemWithError(self->caps, code);
        if (counts == NULL || !PyDict_Check(counts)) {
            answer = PyErr_Occurred() ? NULL : Py_NewRef(Py_False); /* Python loads the caps */
            goto done;
        }
    }
    if (limit >= 0) {
        long long used = 0;
        PyObject *got = PyDict_GetItemWithError(counts, s_limit);
        if (got == NULL && PyErr_Occurred())
            goto done;
        if (got != NULL && (used = PyLong_AsLongLong(got)) == -1 && PyErr_Occurred())
            goto done;
        if (used >= limit) {
            answer = Py_NewRef(Py_False); /* the limit page: Python's */
            goto done;
        }
    }
    if (!PyTuple_Check(visit) || PyTuple_GET_SIZE(visit) <= V_VISITOR) {
        PyErr_SetString(PyExc_TypeError, "not a scan context");
        goto done;
    }
    Py_ssize_t chosen = 0;
    if (rules != Py_None) {
        PyObject *subject = out.visitor;
        if (subject == Py_None) {
            subject = PyTuple_GET_ITEM(visit, V_VISITOR);
            int truthy = subject == Py_None ? 0 : PyObject_IsTrue(subject);
            if (truthy < 0)
                goto done;
            if (!truthy || !PyUnicode_Check(subject))
                subject = out.sid;
        }
        chosen = rules_pick(rules, visit, now_us, prior, counts, subject);
    }
    PyObject *outcome = chosen >= 0 && chosen < PyTuple_GET_SIZE(outcomes) ? PyTuple_GET_ITEM(outcomes, chosen)
                                                                            : Py_None;
    if (outcome == Py_None) {
        answer = Py_NewRef(Py_False);
        goto done;
    }
    if (!PyTuple_Check(outcome) || PyTuple_GET_SIZE(outcome) != O_FIELDS + 1 ||
        !PyTuple_Check(PyTuple_GET_ITEM(outcome, O_CAP_KEYS))) {
        PyErr_SetString(PyExc_TypeError, "not a routed plan's outcome");
        goto done;
    }
    /* the cap keys this scan uses: the decision's and the scan limit's, for human scans only */
    caps = human ? PySequence_List(PyTuple_GET_ITEM(outcome, O_CAP_KEYS)) : PyList_New(0);
    if (caps == NULL || (human && limit >= 0 && PyList_Append(caps, s_limit) < 0))
        goto done;
    if (human && (PyList_GET_SIZE(caps) > 0 || needs_history)) { /* MemoryCounters.record_now */
        if ((out.visitor != Py_None && needs_history && history_add(self, code, out.visitor) < 0) ||
            caps_add(self, code, caps) < 0)
            goto done;
    }
    out.returning = prior > 0 ? Py_True : Py_False;
    out.rule = PyTuple_GET_ITEM(outcome, O_RULE);
    out.variant = PyTuple_GET_ITEM(outcome, O_VARIANT);
    out.caps = caps;
    out.location = location_of(PyTuple_GET_ITEM(outcome, O_PREFIX), PyTuple_GET_ITEM(outcome, O_SUFFIX),
                               PyTuple_GET_ITEM(outcome, O_PLAIN), out.sid);
    if (out.location == NULL)
        goto done;
    answer = reply_and_line(self, ctx, plan, &out, record);
done:
    Py_DECREF(out.sid);
    Py_XDECREF(out.location);
    Py_XDECREF(out.visitor);
    Py_XDECREF(yesterday);
    Py_XDECREF(caps);
    return answer;
}

static PyObject *PlainScan_finish(PlainScan *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 12) {
        PyErr_SetString(PyExc_TypeError, "finish(ctx, base, prefix, suffix, plain, scan_id, now_us, visitor, "
                                         "returning, rule, variant, caps)");
        return NULL;
    }
    PyObject *ctx = args[0], *base = args[1];
    if (check_context(self, ctx, base, P_BASE_FIELDS) < 0)
        return NULL;
    if (!PyUnicode_Check(args[5]) || !PyBool_Check(args[8]) || !PyList_Check(args[11])) {
        PyErr_SetString(PyExc_TypeError, "scan_id must be str, returning bool, caps a list");
        return NULL;
    }
    Outcome out = {.sid = args[5], .visitor = args[7], .returning = args[8], .rule = args[9],
                   .variant = args[10], .caps = args[11]};
    out.now_us = PyLong_AsLongLong(args[6]);
    if (out.now_us == -1 && PyErr_Occurred())
        return NULL;
    out.location = location_of(args[2], args[3], args[4], out.sid);
    if (out.location == NULL)
        return NULL;
    PyObject *answer = reply_and_line(self, ctx, base, &out, 1);
    Py_DECREF(out.location);
    return answer;
}

static PyMethodDef PlainScan_methods[] = {
    {"answer", (PyCFunction)(void (*)(void))PlainScan_answer, METH_FASTCALL,
     "answer(ctx, plan, head) -> (Reply, line | None) | None: None when the UTC day changed."},
    {"finish", (PyCFunction)(void (*)(void))PlainScan_finish, METH_FASTCALL,
     "finish(ctx, base, prefix, suffix, plain, scan_id, now_us, visitor, returning, rule, variant, caps) -> "
     "(Reply, line): a recorded redirect decided in Python."},
    {"answer_routed", (PyCFunction)(void (*)(void))PlainScan_answer_routed, METH_FASTCALL,
     "answer_routed(ctx, routed_plan, head) -> (Reply, line | None) | None | False: a code with rules or counts; "
     "None when the UTC day changed, False when Python answers."},
    {"set_counters", (PyCFunction)PlainScan_set_counters, METH_VARARGS,
     "set_counters(history, loaded, caps, history_size): MemoryCounters' state, for answer_routed."},
    {"set_day", (PyCFunction)PlainScan_set_day, METH_VARARGS,
     "set_day(start_us, end_us, keyed, previous=None): the UTC day's bounds, its keyed visitor hasher and the "
     "day before's (None: none)."},
    {NULL, NULL, 0, NULL},
};

PyTypeObject PlainScanType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "scanroute.native.scanpath.PlainScan",
    .tp_basicsize = sizeof(PlainScan),
    .tp_dealloc = (destructor)PlainScan_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The answer to a scan of a plain code (see scan.c's comment).",
    .tp_methods = PlainScan_methods,
    .tp_init = (initproc)PlainScan_init,
    .tp_new = PyType_GenericNew,
};

/* ---- ScanPath ---------------------------------------------------------------------------- */

/* The edge's first call for GET/HEAD /{slug}: the context (FastContext), the route from the
 * route cache's dict and, for a plain code, its whole answer (PlainScan.answer), with the cache
 * hit recorded as RouteCache.get records it. What it cannot finish it hands back. */
typedef struct {
    PyObject_HEAD
    PyObject *context; /* FastContext */
    PyObject *plain;   /* PlainScan */
    PyObject *routes;  /* RouteCache.routes: slug -> Route, most recently used last */
    PyObject *hits;    /* the cache-hit counter (an object with an int ``value``) */
} ScanPath;

static PyObject *s_plan, *s_value;

static void ScanPath_dealloc(ScanPath *self) {
    Py_XDECREF(self->context);
    Py_XDECREF(self->plain);
    Py_XDECREF(self->routes);
    Py_XDECREF(self->hits);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int ScanPath_init(ScanPath *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"context", "plain", "routes", "hits", NULL};
    PyObject *context, *plain, *routes, *hits;
    if (self->context != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "ScanPath is initialised once");
        return -1;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!O!O!O", kwlist, &FastContextType, &context, &PlainScanType,
                                     &plain, &PyDict_Type, &routes, &hits))
        return -1;
    self->context = Py_NewRef(context);
    self->plain = Py_NewRef(plain);
    self->routes = Py_NewRef(routes);
    self->hits = Py_NewRef(hits);
    return 0;
}

static int count_hit(ScanPath *self, PyObject *slug) {
    PyObject *moved = PyObject_CallMethodOneArg(self->routes, s_move_to_end, slug);
    if (moved == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_KeyError))
            return -1;
        PyErr_Clear(); /* evicted meanwhile by a loading thread: nothing to move */
    } else {
        Py_DECREF(moved);
    }
    PyObject *value = PyObject_GetAttr(self->hits, s_value);
    if (value == NULL)
        return -1;
    PyObject *one = PyLong_FromLong(1);
    PyObject *next = one ? PyNumber_Add(value, one) : NULL;
    Py_DECREF(value);
    Py_XDECREF(one);
    if (next == NULL)
        return -1;
    int failed = PyObject_SetAttr(self->hits, s_value, next);
    Py_DECREF(next);
    return failed;
}

/* scan(scope, head) -> (Reply, line | None) when answered here (PlainScan.answer or
 * answer_routed); else the ScanContext (None when FastContext declined the request) for the
 * Python path to go on with. */
static PyObject *ScanPath_scan(ScanPath *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "scan(scope, head)");
        return NULL;
    }
    PyObject *ctx = FastContext_build((FastContext *)self->context, args[0]);
    if (ctx == NULL || ctx == Py_None)
        return ctx;
    PyObject *slug = Py_NewRef(PyTuple_GET_ITEM(ctx, C_SLUG)), *plan = NULL, *answer = NULL;
    PyObject *route = PyDict_GetItemWithError(self->routes, slug);
    if (route == NULL) {
        answer = PyErr_Occurred() ? NULL : Py_NewRef(ctx);
        goto done;
    }
    Py_INCREF(route);
    plan = PyObject_GetAttr(route, s_plan);
    int routed = plan == Py_None; /* rules or counts, maybe */
    if (routed)
        Py_SETREF(plan, PyObject_GetAttr(route, s_routed_plan));
    Py_DECREF(route);
    if (plan == NULL || plan == Py_None) {
        answer = plan == NULL ? NULL : Py_NewRef(ctx);
        goto done;
    }
    PyObject *answer_args[] = {ctx, plan, args[1]};
    answer = routed ? PlainScan_answer_routed((PlainScan *)self->plain, answer_args, 3)
                    : PlainScan_answer((PlainScan *)self->plain, answer_args, 3);
    if (answer == Py_None || answer == Py_False) { /* the Python path goes on (with the day's salt) */
        Py_SETREF(answer, Py_NewRef(ctx));
    } else if (answer != NULL && count_hit(self, slug) < 0) {
        Py_CLEAR(answer);
    }
done:
    Py_XDECREF(plan);
    Py_DECREF(slug);
    Py_DECREF(ctx);
    return answer;
}

static PyMethodDef ScanPath_methods[] = {
    {"scan", (PyCFunction)(void (*)(void))ScanPath_scan, METH_FASTCALL,
     "scan(scope, head) -> (Reply, line | None) | ScanContext | None (see scan.c)."},
    {NULL, NULL, 0, NULL},
};

PyTypeObject ScanPathType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "scanroute.native.scanpath.ScanPath",
    .tp_basicsize = sizeof(ScanPath),
    .tp_dealloc = (destructor)ScanPath_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The edge's compiled first step for a scan (see scan.c).",
    .tp_methods = ScanPath_methods,
    .tp_init = (initproc)ScanPath_init,
    .tp_new = PyType_GenericNew,
};

static PyMethodDef module_functions[] = {
    {"new_scan_id", (PyCFunction)py_new_scan_id, METH_NOARGS, "new_scan_id() -> str: as capture.event's."},
    {"keyed_hash", (PyCFunction)(void (*)(void))py_keyed_hash, METH_FASTCALL,
     "keyed_hash(keyed, workspace_id, truncated_ip, user_agent) -> str: as capture.privacy's."},
    {NULL, NULL, 0, NULL},
};

int scan_init(PyObject *module) {
    INTERN(s_copy, "copy");
    INTERN(s_update, "update");
    INTERN(s_hexdigest, "hexdigest");
    INTERN(s_redirect, "redirect");
    INTERN(s_nothing, "");
    INTERN(s_plan, "plan");
    INTERN(s_routed_plan, "routed_plan");
    INTERN(s_popitem, "popitem");
    INTERN(s_limit, "limit");
    if ((empty_caps = PyDict_New()) == NULL)
        return -1;
    INTERN(s_value, "value");
    INTERN(s_move_to_end, "move_to_end");
    if ((s_location = PyBytes_FromString("location")) == NULL || (s_no_body = PyBytes_FromString("")) == NULL)
        return -1;
    if (pthread_atfork(NULL, NULL, forget_random_bytes) != 0) {
        PyErr_SetString(PyExc_RuntimeError, "pthread_atfork failed");
        return -1;
    }
    return PyModule_AddFunctions(module, module_functions);
}
