#ifndef CHORUS_CSODIUM_SHIM_H
#define CHORUS_CSODIUM_SHIM_H
#include <sodium.h>
#include <sys/resource.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

/* prctl is variadic, which Swift cannot call: these wrappers make it callable. */
static inline int chorus_disable_core_dumps(void) {
    struct rlimit zero = { 0, 0 };
    int rc = setrlimit(RLIMIT_CORE, &zero);
#ifdef __linux__
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) rc = -1;
#endif
    return rc;
}

static inline int chorus_is_dumpable(void) {
#ifdef __linux__
    return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
#else
    return -1;
#endif
}
#endif
