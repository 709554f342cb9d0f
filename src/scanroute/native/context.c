/* FastContext: the scan context of an ordinary request, compiled (part of scanpath).
 *
 * ContextBuilder.build (capture/context.py) is the reference: this module gives the SAME
 * ScanContext for the requests it accepts and declines (returns None) everything else, which
 * then takes the Python path. Accepted: a dict scope with method GET or HEAD, a str path
 * starting with "/", a bytes (or absent) query string, a list of (bytes, bytes) headers with
 * lower-case names and no wanted header repeated, a TCP peer given as a dotted-quad IPv4
 * address and, when the peer is a trusted proxy, an X-Forwarded-For whose walked hops are
 * dotted-quad IPv4 addresses. Anything else (IPv6, Forwarded, "unknown" hops, odd scopes) is
 * declined. Enrichment that is not plain text work stays in Python and is called from here:
 * the geolocation, the query-string parser and the (memoised) user-agent, bot and language
 * parse. tests/native/test_context.py compares both paths.
 */
#include "native.h"

#define MAX_HEADER_CHARS 4096
#define MAX_HOPS 32

enum {
    H_USER_AGENT, H_ACCEPT_LANGUAGE, H_X_FORWARDED_FOR, H_FORWARDED, H_REFERER, H_DNT, H_SEC_GPC,
    H_SEC_PURPOSE, H_PURPOSE, H_CH_MOBILE, H_CH_PLATFORM, H_COUNT
};

static const char *const WANTED[H_COUNT] = {
    "user-agent", "accept-language", "x-forwarded-for", "forwarded", "referer", "dnt", "sec-gpc",
    "sec-purpose", "purpose", "sec-ch-ua-mobile", "sec-ch-ua-platform",
};

static Py_ssize_t WANTED_LEN[H_COUNT];

enum { MODE_AUTO = 0, MODE_XFF = 1, MODE_FORWARDED = 2 };

typedef struct {
    uint32_t net;
    uint32_t mask;
} V4Net;

typedef struct {
    const char *ptr;
    Py_ssize_t len;
    int seen;
} Span;

struct FastContext {
    PyObject_HEAD
    V4Net *trusted;
    Py_ssize_t n_trusted;
    V4Net *excluded;
    Py_ssize_t n_excluded;
    int mode;
    PyObject *opt_out;
    PyObject *clients;
    PyObject *client_fn;
    PyObject *geo_fn;
    /* country-only geolocation (geo.GeoLocator without a database), or all NULL */
    PyObject *country_fn;   /* iptocc.country_code */
    PyObject *global_nets;  /* geo._GLOBAL_V4_NETS: /24 → is global */
    PyObject *global_fn;    /* geo._is_global: fills global_nets */
    PyObject *by_country;   /* geo._BY_COUNTRY: country → Geo */
    PyObject *country_geo;  /* geo._country_geo: fills by_country */
    PyObject *query_fn;
    PyObject *visit_type;
    PyObject *context_type;
    PyObject *ipv4_type;
};

static PyObject *s_headers, *s_method, *s_path, *s_query_string, *s_client, *s_ip_attr, *s_empty;
PyObject *s_device, *s_os, *s_browser, *s_country, *s_region, *s_city, *s_asn, *s_is_bot, *s_kind;

/* Python's str.strip() on a Latin-1 decoded value: these are its whitespace characters. */
static inline int is_space(unsigned char c) {
    return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0;
}

static inline void strip(const char **ptr, Py_ssize_t *len) {
    const unsigned char *p = (const unsigned char *)*ptr;
    Py_ssize_t n = *len;
    while (n > 0 && is_space(p[0])) {
        p++;
        n--;
    }
    while (n > 0 && is_space(p[n - 1]))
        n--;
    *ptr = (const char *)p;
    *len = n;
}

/* A dotted-quad IPv4 address exactly as glibc's inet_pton(AF_INET) accepts it: four decimal
 * parts of 1-3 digits, each <= 255, no leading zeros. Returns 0 on anything else. */
static int parse_v4(const char *p, Py_ssize_t n, uint32_t *out) {
    uint32_t addr = 0;
    int parts = 0;
    Py_ssize_t i = 0;
    if (n < 7 || n > 15)
        return 0;
    while (parts < 4) {
        uint32_t part = 0;
        Py_ssize_t start = i;
        while (i < n && p[i] >= '0' && p[i] <= '9') {
            part = part * 10 + (uint32_t)(p[i] - '0');
            i++;
        }
        Py_ssize_t digits = i - start;
        if (digits == 0 || digits > 3 || part > 255 || (digits > 1 && p[start] == '0'))
            return 0;
        addr = (addr << 8) | part;
        parts++;
        if (parts < 4) {
            if (i >= n || p[i] != '.')
                return 0;
            i++;
        }
    }
    if (i != n)
        return 0;
    *out = addr;
    return 1;
}

static inline int in_networks(const V4Net *nets, Py_ssize_t count, uint32_t addr) {
    for (Py_ssize_t i = 0; i < count; i++)
        if ((addr & nets[i].mask) == nets[i].net)
            return 1;
    return 0;
}

static int read_networks(PyObject *seq, V4Net **out, Py_ssize_t *count) {
    PyObject *fast = PySequence_Fast(seq, "networks must be a sequence of (network, mask) pairs");
    if (fast == NULL)
        return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    *out = PyMem_Calloc(n ? (size_t)n : 1, sizeof(V4Net));
    if (*out == NULL) {
        Py_DECREF(fast);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned long net, mask;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(fast, i), "kk", &net, &mask)) {
            Py_DECREF(fast);
            return -1;
        }
        (*out)[i].net = (uint32_t)net;
        (*out)[i].mask = (uint32_t)mask;
    }
    *count = n;
    Py_DECREF(fast);
    return 0;
}

static void FastContext_dealloc(FastContext *self) {
    PyMem_Free(self->trusted);
    PyMem_Free(self->excluded);
    Py_XDECREF(self->opt_out);
    Py_XDECREF(self->clients);
    Py_XDECREF(self->client_fn);
    Py_XDECREF(self->geo_fn);
    Py_XDECREF(self->country_fn);
    Py_XDECREF(self->global_nets);
    Py_XDECREF(self->global_fn);
    Py_XDECREF(self->by_country);
    Py_XDECREF(self->country_geo);
    Py_XDECREF(self->query_fn);
    Py_XDECREF(self->visit_type);
    Py_XDECREF(self->context_type);
    Py_XDECREF(self->ipv4_type);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int FastContext_init(FastContext *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"trusted", "excluded", "mode", "opt_out", "clients", "client_fn",
                             "geo_fn", "query_fn", "visit_type", "context_type", "ipv4_type", "countries", NULL};
    PyObject *trusted, *excluded, *opt_out, *clients, *client_fn, *geo_fn, *query_fn, *countries = Py_None;
    PyObject *visit_type, *context_type, *ipv4_type;
    int mode;
    if (self->clients != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "FastContext is initialised once");
        return -1;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOiUO!OOOO!O!O!|O", kwlist, &trusted, &excluded, &mode,
                                     &opt_out, &PyDict_Type, &clients, &client_fn, &geo_fn, &query_fn,
                                     &PyType_Type, &visit_type, &PyType_Type, &context_type,
                                     &PyType_Type, &ipv4_type, &countries))
        return -1;
    if (countries != Py_None) {
        if (!PyArg_ParseTuple(countries, "OO!OO!O;countries: (country_fn, global_nets, global_fn, by_country, "
                              "country_geo)", &self->country_fn, &PyDict_Type, &self->global_nets,
                              &self->global_fn, &PyDict_Type, &self->by_country, &self->country_geo))
            return -1;
        Py_INCREF(self->country_fn);
        Py_INCREF(self->global_nets);
        Py_INCREF(self->global_fn);
        Py_INCREF(self->by_country);
        Py_INCREF(self->country_geo);
    }
    if (mode < MODE_AUTO || mode > MODE_FORWARDED) {
        PyErr_SetString(PyExc_ValueError, "mode must be 0 (auto), 1 (x-forwarded-for) or 2 (forwarded)");
        return -1;
    }
    if (!PyType_IsSubtype((PyTypeObject *)visit_type, &PyTuple_Type) ||
        !PyType_IsSubtype((PyTypeObject *)context_type, &PyTuple_Type)) {
        PyErr_SetString(PyExc_TypeError, "visit_type and context_type must be tuple subclasses");
        return -1;
    }
    if (read_networks(trusted, &self->trusted, &self->n_trusted) < 0 ||
        read_networks(excluded, &self->excluded, &self->n_excluded) < 0)
        return -1;
    self->mode = mode;
    self->opt_out = Py_NewRef(opt_out);
    self->clients = Py_NewRef(clients);
    self->client_fn = Py_NewRef(client_fn);
    self->geo_fn = Py_NewRef(geo_fn);
    self->query_fn = Py_NewRef(query_fn);
    self->visit_type = Py_NewRef(visit_type);
    self->context_type = Py_NewRef(context_type);
    self->ipv4_type = Py_NewRef(ipv4_type);
    return 0;
}

/* The stripped value of a header as a str, or None when absent (new reference). */
static PyObject *text_or_none(const Span *span) {
    if (!span->seen)
        Py_RETURN_NONE;
    return PyUnicode_DecodeLatin1(span->ptr, span->len, NULL);
}

static inline int equals_one(const Span *span) {
    return span->seen && span->len == 1 && span->ptr[0] == '1';
}

/* "a.b.c.d" (or "a.b.c.0" with zero_last) into buf (16 bytes); returns the length. */
static Py_ssize_t format_v4(uint32_t addr, int zero_last, char *buf) {
    Py_ssize_t n = 0;
    for (int shift = 24; shift >= 0; shift -= 8) {
        unsigned part = (shift == 0 && zero_last) ? 0 : (addr >> shift) & 255;
        if (part >= 100)
            buf[n++] = (char)('0' + part / 100);
        if (part >= 10)
            buf[n++] = (char)('0' + part / 10 % 10);
        buf[n++] = (char)('0' + part % 10);
        if (shift)
            buf[n++] = '.';
    }
    return n;
}

/* geo.GeoLocator.lookup for an IPv4 address without a database: the country from iptocc, for
 * global addresses only (new reference). */
static PyObject *country_geo(FastContext *self, uint32_t addr, PyObject *ip) {
    PyObject *net = PyLong_FromUnsignedLong(addr >> 8), *country = NULL, *geo = NULL;
    if (net == NULL)
        return NULL;
    PyObject *known = PyDict_GetItemWithError(self->global_nets, net);
    Py_DECREF(net);
    int global;
    if (known != NULL) {
        global = PyObject_IsTrue(known);
    } else if (PyErr_Occurred()) {
        return NULL;
    } else {
        PyObject *verdict = PyObject_CallOneArg(self->global_fn, ip);
        if (verdict == NULL)
            return NULL;
        global = PyObject_IsTrue(verdict);
        Py_DECREF(verdict);
    }
    if (global < 0)
        return NULL;
    if (!global) {
        country = Py_NewRef(Py_None);
    } else {
        char buf[16];
        PyObject *text = PyUnicode_DecodeASCII(buf, format_v4(addr, 0, buf), NULL);
        if (text == NULL)
            return NULL;
        country = PyObject_CallOneArg(self->country_fn, text);
        Py_DECREF(text);
        if (country == NULL)
            return NULL;
    }
    geo = PyDict_GetItemWithError(self->by_country, country);
    if (geo != NULL)
        Py_INCREF(geo);
    else if (!PyErr_Occurred())
        geo = PyObject_CallOneArg(self->country_geo, country);
    Py_DECREF(country);
    return geo;
}

static PyObject *new_ipv4(FastContext *self, uint32_t addr) {
    PyTypeObject *type = (PyTypeObject *)self->ipv4_type;
    PyObject *ip = type->tp_alloc(type, 0);
    if (ip == NULL)
        return NULL;
    PyObject *value = PyLong_FromUnsignedLong(addr);
    if (value == NULL || PyObject_SetAttr(ip, s_ip_attr, value) < 0) {
        Py_XDECREF(value);
        Py_DECREF(ip);
        return NULL;
    }
    Py_DECREF(value);
    return ip;
}

/* Returns 1 and sets *addr on success, 0 to decline the request. */
static int client_address(FastContext *self, PyObject *scope, const Span *headers, uint32_t *addr) {
    PyObject *client = PyDict_GetItemWithError(scope, s_client);
    if (client == NULL)
        return 0;
    PyObject *host;
    if (PyTuple_CheckExact(client) && PyTuple_GET_SIZE(client) > 0)
        host = PyTuple_GET_ITEM(client, 0);
    else if (PyList_CheckExact(client) && PyList_GET_SIZE(client) > 0)
        host = PyList_GET_ITEM(client, 0);
    else
        return 0;
    if (!PyUnicode_CheckExact(host) || !PyUnicode_IS_ASCII(host))
        return 0;
    uint32_t peer;
    if (!parse_v4((const char *)PyUnicode_DATA(host), PyUnicode_GET_LENGTH(host), &peer))
        return 0;
    *addr = peer;
    if (self->n_trusted == 0 || !in_networks(self->trusted, self->n_trusted, peer))
        return 1;
    const Span *xff = &headers[H_X_FORWARDED_FOR];
    if (self->mode == MODE_FORWARDED)
        return 0;
    if (!xff->seen)  // the Forwarded header, when the mode would read it: the Python path
        return !(self->mode == MODE_AUTO && headers[H_FORWARDED].seen);
    // Right to left over the last MAX_HOPS entries: the first hop not trusted is the client.
    Py_ssize_t end = xff->len;
    for (int hop = 0; hop < MAX_HOPS; hop++) {
        Py_ssize_t start = end;
        while (start > 0 && xff->ptr[start - 1] != ',')
            start--;
        const char *entry = xff->ptr + start;
        Py_ssize_t len = end - start;
        strip(&entry, &len);
        uint32_t hop_addr;
        if (!parse_v4(entry, len, &hop_addr))
            return 0;  // "unknown", a port, IPv6, junk: the Python path decides
        *addr = hop_addr;
        if (!in_networks(self->trusted, self->n_trusted, hop_addr) || start == 0)
            return 1;
        end = start - 1;
    }
    return 1;
}

PyObject *FastContext_build(FastContext *self, PyObject *scope) {
    Span headers[H_COUNT];
    memset(headers, 0, sizeof(headers));
    if (!PyDict_CheckExact(scope))
        Py_RETURN_NONE;

    PyObject *method = PyDict_GetItemWithError(scope, s_method);
    if (method == NULL || !PyUnicode_CheckExact(method) ||
        (PyUnicode_CompareWithASCIIString(method, "GET") != 0 &&
         PyUnicode_CompareWithASCIIString(method, "HEAD") != 0)) {
        if (PyErr_Occurred())
            return NULL;
        Py_RETURN_NONE;
    }
    PyObject *path = PyDict_GetItemWithError(scope, s_path);
    if (path == NULL || !PyUnicode_CheckExact(path) || PyUnicode_GET_LENGTH(path) == 0 ||
        PyUnicode_READ_CHAR(path, 0) != '/') {
        if (PyErr_Occurred())
            return NULL;
        Py_RETURN_NONE;
    }
    PyObject *raw_qs = PyDict_GetItemWithError(scope, s_query_string);
    if (raw_qs == NULL && PyErr_Occurred())
        return NULL;
    if (raw_qs != NULL && !PyBytes_CheckExact(raw_qs))
        Py_RETURN_NONE;

    PyObject *raw_headers = PyDict_GetItemWithError(scope, s_headers);
    if (raw_headers == NULL || !PyList_CheckExact(raw_headers)) {
        if (PyErr_Occurred())
            return NULL;
        Py_RETURN_NONE;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(raw_headers); i++) {
        PyObject *item = PyList_GET_ITEM(raw_headers, i), *name, *value;
        if (PyTuple_CheckExact(item) && PyTuple_GET_SIZE(item) == 2) {
            name = PyTuple_GET_ITEM(item, 0);
            value = PyTuple_GET_ITEM(item, 1);
        } else if (PyList_CheckExact(item) && PyList_GET_SIZE(item) == 2) {
            name = PyList_GET_ITEM(item, 0);
            value = PyList_GET_ITEM(item, 1);
        } else {
            Py_RETURN_NONE;
        }
        if (!PyBytes_CheckExact(name) || !PyBytes_CheckExact(value))
            Py_RETURN_NONE;
        const char *n = PyBytes_AS_STRING(name);
        Py_ssize_t nlen = PyBytes_GET_SIZE(name);
        int wanted = -1;
        for (int h = 0; h < H_COUNT; h++) {
            if (WANTED_LEN[h] == nlen && memcmp(WANTED[h], n, (size_t)nlen) == 0) {
                wanted = h;
                break;
            }
        }
        if (wanted < 0) {
            for (Py_ssize_t k = 0; k < nlen; k++)
                if (n[k] >= 'A' && n[k] <= 'Z')
                    Py_RETURN_NONE;  // names not lower-cased: the Python path
            continue;
        }
        if (headers[wanted].seen)
            Py_RETURN_NONE;  // repeated: the Python path joins or picks
        Span *span = &headers[wanted];
        span->seen = 1;
        span->ptr = PyBytes_AS_STRING(value);
        span->len = PyBytes_GET_SIZE(value) < MAX_HEADER_CHARS ? PyBytes_GET_SIZE(value) : MAX_HEADER_CHARS;
        strip(&span->ptr, &span->len);
    }

    uint32_t addr;
    if (!client_address(self, scope, headers, &addr)) {
        if (PyErr_Occurred())
            return NULL;
        Py_RETURN_NONE;
    }

    // Everything read from the scope is turned into objects (or held) before any Python code
    // runs: the callbacks below could, in principle, change the scope.
    Py_INCREF(method);
    Py_INCREF(path);
    PyObject *slug = NULL, *query = NULL, *ip = NULL, *truncated = NULL, *ua = NULL, *al = NULL;
    PyObject *purpose = NULL, *mobile = NULL, *platform = NULL, *referer = NULL, *key = NULL;
    PyObject *geo = NULL, *client = NULL, *visit = NULL, *result = NULL;
    PyObject *device = NULL, *os = NULL, *browser = NULL, *country = NULL, *region = NULL;
    PyObject *city = NULL, *is_bot = NULL;

    slug = PyUnicode_Substring(path, 1, PyUnicode_GET_LENGTH(path));
    ua = headers[H_USER_AGENT].seen ? text_or_none(&headers[H_USER_AGENT]) : Py_NewRef(s_empty);
    al = text_or_none(&headers[H_ACCEPT_LANGUAGE]);
    if (headers[H_SEC_PURPOSE].seen && headers[H_SEC_PURPOSE].len > 0)
        purpose = text_or_none(&headers[H_SEC_PURPOSE]);
    else
        purpose = text_or_none(&headers[H_PURPOSE]);
    mobile = text_or_none(&headers[H_CH_MOBILE]);
    platform = text_or_none(&headers[H_CH_PLATFORM]);
    if (headers[H_REFERER].seen && headers[H_REFERER].len > 0)
        referer = text_or_none(&headers[H_REFERER]);
    else
        referer = Py_NewRef(Py_None);
    int refused = equals_one(&headers[H_DNT]) || equals_one(&headers[H_SEC_GPC]);
    if (!slug || !ua || !al || !purpose || !mobile || !platform || !referer)
        goto done;
    Py_INCREF(raw_qs == NULL ? Py_None : raw_qs);  // held: the Python calls below may drop it
    PyObject *qs = raw_qs == NULL ? Py_None : raw_qs;

    // Python code from here on (the query parser, geolocation, the client memo).
    if (qs == Py_None || PyBytes_GET_SIZE(qs) == 0)
        query = PyDict_New();
    else
        query = PyObject_CallOneArg(self->query_fn, qs);
    Py_DECREF(qs);
    if (query == NULL)
        goto done;
    ip = new_ipv4(self, addr);
    if (ip == NULL)
        goto done;
    geo = self->country_fn != NULL ? country_geo(self, addr, ip) : PyObject_CallOneArg(self->geo_fn, ip);
    if (geo == NULL)
        goto done;
    char dotted[16];
    truncated = PyUnicode_DecodeASCII(dotted, format_v4(addr, 1, dotted), NULL);
    if (truncated == NULL)
        goto done;
    key = PyTuple_Pack(6, ua, al, purpose, mobile, platform, method);
    if (key == NULL)
        goto done;
    client = PyDict_GetItemWithError(self->clients, key);
    if (client != NULL)
        Py_INCREF(client);
    else if (PyErr_Occurred())
        goto done;
    else
        client = PyObject_CallOneArg(self->client_fn, key);
    if (client == NULL)
        goto done;
    if (!PyTuple_Check(client) || PyTuple_GET_SIZE(client) != 3) {
        PyErr_SetString(PyExc_TypeError, "client_fn must return (agent, bot, languages)");
        goto done;
    }
    PyObject *agent = PyTuple_GET_ITEM(client, 0), *bot = PyTuple_GET_ITEM(client, 1);
    PyObject *languages = PyTuple_GET_ITEM(client, 2);

    int opted_out = PyDict_GET_SIZE(query) > 0 ? PyDict_Contains(query, self->opt_out) : 0;
    if (opted_out < 0)
        goto done;
    if (!opted_out && self->n_excluded > 0)
        opted_out = in_networks(self->excluded, self->n_excluded, addr);

    device = PyObject_GetAttr(agent, s_device);
    os = device ? PyObject_GetAttr(agent, s_os) : NULL;
    browser = os ? PyObject_GetAttr(agent, s_browser) : NULL;
    country = browser ? PyObject_GetAttr(geo, s_country) : NULL;
    region = country ? PyObject_GetAttr(geo, s_region) : NULL;
    city = region ? PyObject_GetAttr(geo, s_city) : NULL;
    is_bot = city ? PyObject_GetAttr(bot, s_is_bot) : NULL;
    if (is_bot == NULL)
        goto done;
    PyObject *visit_items[] = {device, os, browser, languages, country, region, city, ip, query, Py_None, is_bot};
    visit = named_tuple(self->visit_type, visit_items, 11);
    if (visit == NULL)
        goto done;
    PyObject *context_items[] = {visit, method, path, slug, ua, ip, truncated, agent, bot, geo, referer,
                                 refused ? Py_True : Py_False, opted_out ? Py_True : Py_False, query};
    result = named_tuple(self->context_type, context_items, 14);
done:
    Py_DECREF(method);
    Py_DECREF(path);
    Py_XDECREF(slug);
    Py_XDECREF(query);
    Py_XDECREF(ip);
    Py_XDECREF(truncated);
    Py_XDECREF(ua);
    Py_XDECREF(al);
    Py_XDECREF(purpose);
    Py_XDECREF(mobile);
    Py_XDECREF(platform);
    Py_XDECREF(referer);
    Py_XDECREF(key);
    Py_XDECREF(geo);
    Py_XDECREF(client);
    Py_XDECREF(visit);
    Py_XDECREF(device);
    Py_XDECREF(os);
    Py_XDECREF(browser);
    Py_XDECREF(country);
    Py_XDECREF(region);
    Py_XDECREF(city);
    Py_XDECREF(is_bot);
    return result;
}

static PyMethodDef FastContext_methods[] = {
    {"build", (PyCFunction)FastContext_build, METH_O,
     "build(scope) -> ScanContext | None: the context of an ordinary request, None to decline."},
    {NULL, NULL, 0, NULL},
};

PyTypeObject FastContextType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "scanroute.native.scanpath.FastContext",
    .tp_basicsize = sizeof(FastContext),
    .tp_dealloc = (destructor)FastContext_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The compiled fast path of ContextBuilder.build (see the module's comment).",
    .tp_methods = FastContext_methods,
    .tp_init = (initproc)FastContext_init,
    .tp_new = PyType_GenericNew,
};

int context_init_strings(void) {
    for (int h = 0; h < H_COUNT; h++)
        WANTED_LEN[h] = (Py_ssize_t)strlen(WANTED[h]);
    INTERN(s_headers, "headers");
    INTERN(s_method, "method");
    INTERN(s_path, "path");
    INTERN(s_query_string, "query_string");
    INTERN(s_client, "client");
    INTERN(s_ip_attr, "_ip");
    INTERN(s_device, "device");
    INTERN(s_os, "os");
    INTERN(s_browser, "browser");
    INTERN(s_country, "country");
    INTERN(s_region, "region");
    INTERN(s_city, "city");
    INTERN(s_asn, "asn");
    INTERN(s_is_bot, "is_bot");
    INTERN(s_kind, "kind");
    INTERN(s_empty, "");
    return 0;
}
