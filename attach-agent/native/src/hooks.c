/*
 * The symbols libattach.so exports: cuInit, cuGetProcAddress, cuGetProcAddress_v2 and dlsym. Everything else in
 * the library is hidden (-fvisibility=hidden).
 *
 * How a process reaches cuInit, and how each way is caught:
 *  - linked against libcuda, or dlsym(RTLD_DEFAULT, "cuInit"): LD_PRELOAD puts this library first in the global
 *    scope, so its cuInit is the one found;
 *  - dlopen("libcuda.so.1") then dlsym(handle, "cuInit") (ctypes, cupy, numba): a handle lookup searches only
 *    libcuda and its dependencies, so dlsym itself is interposed and answers the hooked names with the hooks;
 *  - cuGetProcAddress[_v2] (the CUDA runtime since 11.3 resolves every driver entry point this way, after getting
 *    cuGetProcAddress from dlsym): the hooks call the real one and swap the cuInit (and cuGetProcAddress) they
 *    hand out for the hooks.
 *
 * Interposing dlsym. The real dlsym is found with dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.34"), falling back to the
 * older versions (GLIBC_2.2.5 on x86-64, GLIBC_2.17 on arm64) where libdl still holds it. dlvsym is public API and
 * stays; __libc_dlsym and _dl_sym are GLIBC_PRIVATE and have changed or gone between releases, so a library built
 * against them breaks on the next glibc. RTLD_NEXT makes the chain compose: when another interposer (HAMi-core's
 * libvgpu.so preloaded after this one) defines dlsym, it comes next.
 *
 * glibc's dlsym answers RTLD_NEXT relative to its caller, which it finds from its return address. So the
 * pass-through path ends in a sibling call (a jump, at -O2), which leaves the original caller's return address in
 * place: dlsym(RTLD_NEXT, x) from the program or another library still means "after the caller", not "after
 * libattach". tests/prog_rtld_next.c checks it. RTLD_NEXT lookups are never swapped for hooks either: an
 * interposer after this one asking for the next cuInit must get it, or it would call back into this one.
 *
 * The shim's own lookups use glibc's dlsym directly (attach_libc_dlsym), never an interposer's.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "shim.h"

#define EXPORT __attribute__((visibility("default")))

typedef int CUresult;
typedef unsigned long long cuuint64_t;
typedef CUresult (*cu_init_fn)(unsigned int);
typedef CUresult (*cu_get_proc_address_fn)(const char *, void **, int, cuuint64_t);
typedef CUresult (*cu_get_proc_address_v2_fn)(const char *, void **, int, cuuint64_t, int *);
typedef void *(*dlsym_fn)(void *, const char *);

EXPORT CUresult cuInit(unsigned int flags);
EXPORT CUresult cuGetProcAddress(const char *symbol, void **pfn, int cuda_version, cuuint64_t flags);
EXPORT CUresult cuGetProcAddress_v2(const char *symbol, void **pfn, int cuda_version, cuuint64_t flags, int *status);
EXPORT void *dlsym(void *handle, const char *symbol);

enum real { REAL_CU_INIT, REAL_GET_PROC_ADDRESS, REAL_GET_PROC_ADDRESS_V2, REAL_COUNT };

static const char *const real_names[REAL_COUNT] = { "cuInit", "cuGetProcAddress", "cuGetProcAddress_v2" };
static void *const hooks[REAL_COUNT] = { (void *)cuInit, (void *)cuGetProcAddress, (void *)cuGetProcAddress_v2 };

static _Atomic(dlsym_fn) libc_dlsym;
static _Atomic(dlsym_fn) next_dlsym;
static _Atomic(void *) reals[REAL_COUNT];
static _Atomic(void *) hami_handle;
static _Atomic(void *) libcuda_handle;

/* The first cuInit's outcome; reset in a child after fork. */
static pthread_once_t first_call = PTHREAD_ONCE_INIT;
static enum attach_outcome outcome;
static cu_init_fn real_cu_init;

static dlsym_fn dlsym_in(void *handle)
{
    static const char *const versions[] = { "GLIBC_2.34", "GLIBC_2.2.5", "GLIBC_2.17" };
    for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
        void *found = dlvsym(handle, "dlsym", versions[i]);
        if (found != NULL) {
            return (dlsym_fn)found;
        }
    }
    return NULL;
}

static dlsym_fn resolve_next_dlsym(void)
{
    dlsym_fn next = atomic_load_explicit(&next_dlsym, memory_order_acquire);
    if (next == NULL) {
        next = dlsym_in(RTLD_NEXT);
        if (next == NULL) {
            attach_log("cannot find the C library's dlsym (glibc is required); exiting.");
            abort();
        }
        atomic_store_explicit(&next_dlsym, next, memory_order_release);
    }
    return next;
}

void *attach_libc_dlsym(void *handle, const char *symbol)
{
    dlsym_fn own = atomic_load_explicit(&libc_dlsym, memory_order_acquire);
    if (own == NULL) {
        /* dlsym lives in libc.so.6 since glibc 2.34, in libdl.so.2 before; a handle lookup there cannot land in
         * an interposer. */
        void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
        own = libc != NULL ? dlsym_in(libc) : NULL;
        if (own == NULL) {
            void *libdl = dlopen("libdl.so.2", RTLD_NOW | RTLD_NOLOAD);
            own = libdl != NULL ? dlsym_in(libdl) : NULL;
        }
        if (own == NULL) {
            own = resolve_next_dlsym();
        }
        atomic_store_explicit(&libc_dlsym, own, memory_order_release);
    }
    /* Called from this library: RTLD_NEXT here means "after libattach", which is what the shim wants. */
    return own(handle, symbol);
}

static bool is_hook(const void *function)
{
    for (int i = 0; i < REAL_COUNT; i++) {
        if (function == hooks[i]) {
            return true;
        }
    }
    return false;
}

/* The next definition after this library: another interposer, or the driver (loaded here when nobody has yet). */
static void *resolve_real(enum real which)
{
    void *found = atomic_load_explicit(&reals[which], memory_order_acquire);
    if (found != NULL) {
        return found;
    }

    const char *name = real_names[which];
    void *hami = atomic_load_explicit(&hami_handle, memory_order_acquire);
    if (hami != NULL) {
        found = attach_libc_dlsym(hami, name);
    }
    if (found == NULL || is_hook(found)) {
        found = attach_libc_dlsym(RTLD_NEXT, name);
    }
    if (found == NULL || is_hook(found)) {
        void *libcuda = atomic_load_explicit(&libcuda_handle, memory_order_acquire);
        if (libcuda == NULL) {
            /* Already loaded (by the CUDA runtime, RTLD_LOCAL) or not: this finds or loads the same copy. */
            libcuda = dlopen("libcuda.so.1", RTLD_NOW);
            atomic_store_explicit(&libcuda_handle, libcuda, memory_order_release);
        }
        found = libcuda != NULL ? attach_libc_dlsym(libcuda, name) : NULL;
    }
    if (found == NULL || is_hook(found)) {
        return NULL;
    }

    atomic_store_explicit(&reals[which], found, memory_order_release);
    return found;
}

void attach_chain_hami(void *handle)
{
    atomic_store_explicit(&hami_handle, handle, memory_order_release);
    /* HAMi-core's definitions come next from now on, where it has them. */
    for (int i = 0; i < REAL_COUNT; i++) {
        void *own = attach_libc_dlsym(handle, real_names[i]);
        if (own != NULL && !is_hook(own)) {
            atomic_store_explicit(&reals[i], own, memory_order_release);
        }
    }
    dlsym_fn own_dlsym = (dlsym_fn)attach_libc_dlsym(handle, "dlsym");
    if (own_dlsym != NULL && own_dlsym != atomic_load_explicit(&libc_dlsym, memory_order_acquire) && own_dlsym != dlsym) {
        atomic_store_explicit(&next_dlsym, own_dlsym, memory_order_release);
    }
}

static void first_cu_init(void)
{
    real_cu_init = (cu_init_fn)resolve_real(REAL_CU_INIT);
    if (real_cu_init == NULL) {
        attach_log("no CUDA driver: libcuda.so.1 cannot be loaded (%s); cuInit fails with CUDA_ERROR_NO_DEVICE.", dlerror());
        outcome = ATTACH_DENIED;
        return;
    }

    outcome = attach_acquire();
    if (outcome == ATTACH_GRANTED && atomic_load_explicit(&hami_handle, memory_order_acquire) != NULL) {
        real_cu_init = (cu_init_fn)resolve_real(REAL_CU_INIT);
    }
}

EXPORT CUresult cuInit(unsigned int flags)
{
    /* After the first call this is one load in pthread_once and one compare. */
    pthread_once(&first_call, first_cu_init);
    if (outcome == ATTACH_DENIED) {
        return ATTACH_CUDA_ERROR_NO_DEVICE;
    }
    return real_cu_init(flags);
}

/* What a cuGetProcAddress hands out: the hooks for the hooked entry points, anything else unchanged. */
static void swap_for_hooks(const char *symbol, void **pfn)
{
    if (symbol == NULL || pfn == NULL || *pfn == NULL) {
        return;
    }

    if (strcmp(symbol, "cuInit") == 0) {
        *pfn = (void *)cuInit;
    } else if (strcmp(symbol, "cuGetProcAddress") == 0) {
        /* For CUDA >= 12.0 the driver answers "cuGetProcAddress" with the _v2 entry point (one more argument):
         * the hook handed back must take the same arguments as what the driver handed out. */
        if (*pfn == resolve_real(REAL_GET_PROC_ADDRESS_V2)) {
            *pfn = (void *)cuGetProcAddress_v2;
        } else if (*pfn == resolve_real(REAL_GET_PROC_ADDRESS)) {
            *pfn = (void *)cuGetProcAddress;
        }
    }
}

EXPORT CUresult cuGetProcAddress(const char *symbol, void **pfn, int cuda_version, cuuint64_t flags)
{
    cu_get_proc_address_fn real = (cu_get_proc_address_fn)resolve_real(REAL_GET_PROC_ADDRESS);
    if (real == NULL) {
        return ATTACH_CUDA_ERROR_NOT_FOUND;
    }
    CUresult result = real(symbol, pfn, cuda_version, flags);
    if (result == ATTACH_CUDA_SUCCESS) {
        swap_for_hooks(symbol, pfn);
    }
    return result;
}

EXPORT CUresult cuGetProcAddress_v2(const char *symbol, void **pfn, int cuda_version, cuuint64_t flags, int *status)
{
    cu_get_proc_address_v2_fn real = (cu_get_proc_address_v2_fn)resolve_real(REAL_GET_PROC_ADDRESS_V2);
    if (real == NULL) {
        return ATTACH_CUDA_ERROR_NOT_FOUND;
    }
    CUresult result = real(symbol, pfn, cuda_version, flags, status);
    if (result == ATTACH_CUDA_SUCCESS) {
        swap_for_hooks(symbol, pfn);
    }
    return result;
}

/* The hook for a hooked name the handle defines; NULL for anything else. */
static void *hook_for(void *handle, const char *symbol)
{
    for (int i = 0; i < REAL_COUNT; i++) {
        if (strcmp(symbol, real_names[i]) == 0) {
            /* RTLD_DEFAULT finds this library's definition first anyway; a handle must define the name. */
            if (handle == RTLD_DEFAULT || resolve_next_dlsym()(handle, symbol) != NULL) {
                return hooks[i];
            }
            return NULL;
        }
    }
    return NULL;
}

EXPORT void *dlsym(void *handle, const char *symbol)
{
    /* symbol is declared nonnull, as glibc's is. */
    if (handle != RTLD_NEXT && symbol[0] == 'c' && symbol[1] == 'u') {
        void *hook = hook_for(handle, symbol);
        if (hook != NULL) {
            return hook;
        }
    }

    /* A sibling call (see the top of this file): glibc sees the caller's return address, not this library's. */
    dlsym_fn next = atomic_load_explicit(&next_dlsym, memory_order_acquire);
    if (next == NULL) {
        next = resolve_next_dlsym();
    }
    return next(handle, symbol);
}

static void before_fork(void)
{
    attach_lease_atfork_prepare();
}

static void after_fork_in_parent(void)
{
    attach_lease_atfork_parent();
}

static void after_fork_in_child(void)
{
    attach_lease_atfork_child();
    /* The child asks for its own lease on its own first cuInit. Re-initialising a pthread_once_t is what
     * PTHREAD_ONCE_INIT is for; only this thread exists in the child, so nobody is inside it. */
    pthread_once_t fresh = PTHREAD_ONCE_INIT;
    memcpy(&first_call, &fresh, sizeof(fresh));
    outcome = ATTACH_DENIED;
    real_cu_init = NULL;
}

__attribute__((constructor)) static void attach_start(void)
{
    /* Cheap on purpose: LD_PRELOAD reaches every process a wrapper starts (shells, compilers), and none of them
     * should pay for a GPU they never touch. The agent is contacted on the first cuInit only. */
    resolve_next_dlsym();
    pthread_atfork(before_fork, after_fork_in_parent, after_fork_in_child);
}
