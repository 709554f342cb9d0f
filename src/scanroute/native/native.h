/* Shared declarations of scanroute.native.scanpath (context.c, scan.c, module.c). */
#ifndef SCANROUTE_NATIVE_H
#define SCANROUTE_NATIVE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define INTERN(var, text)                                     \
    do {                                                      \
        if ((var = PyUnicode_InternFromString(text)) == NULL) \
            return -1;                                        \
    } while (0)

/* Attribute names read from Python objects (agent, bot verdict, geo), interned once. */
extern PyObject *s_device, *s_os, *s_browser, *s_country, *s_region, *s_city, *s_asn, *s_is_bot,
    *s_kind;

extern PyTypeObject FastContextType;
extern PyTypeObject PlainScanType;
extern PyTypeObject ScanPathType;
extern PyTypeObject RulesType;

typedef struct FastContext FastContext;
PyObject *FastContext_build(FastContext *self, PyObject *scope);

int context_init_strings(void);
int scan_init(PyObject *module);
int rules_init_strings(void);
Py_ssize_t rules_pick(PyObject *rules, PyObject *visit, long long now_us, long long prior, PyObject *caps,
                      PyObject *subject);

/* An instance of the tuple subclass cls (a NamedTuple) holding items, as tuple.__new__(cls,
 * items) makes it, without an intermediate tuple. Items are borrowed (new references taken). */
static inline PyObject *named_tuple(PyObject *cls, PyObject *const *items, Py_ssize_t n) {
    PyTypeObject *type = (PyTypeObject *)cls;
    PyObject *made = type->tp_alloc(type, n);
    if (made == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < n; i++)
        PyTuple_SET_ITEM(made, i, Py_NewRef(items[i]));
    return made;
}

#endif
