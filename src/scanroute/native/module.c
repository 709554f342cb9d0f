/* scanroute.native.scanpath: the compiled parts of the scan path (see __init__.py). */
#include "native.h"

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "scanpath", "The compiled parts of the scan path (see scanroute.native).", -1, NULL,
};

PyMODINIT_FUNC PyInit_scanpath(void) {
    if (context_init_strings() < 0 || rules_init_strings() < 0 || PyType_Ready(&FastContextType) < 0 ||
        PyType_Ready(&PlainScanType) < 0 || PyType_Ready(&ScanPathType) < 0 || PyType_Ready(&RulesType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddObjectRef(m, "FastContext", (PyObject *)&FastContextType) < 0 ||
        PyModule_AddObjectRef(m, "PlainScan", (PyObject *)&PlainScanType) < 0 ||
        PyModule_AddObjectRef(m, "ScanPath", (PyObject *)&ScanPathType) < 0 ||
        PyModule_AddObjectRef(m, "Rules", (PyObject *)&RulesType) < 0 || scan_init(m) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
