/*
 * A CUDA program not linked against the driver: it loads libcuda.so.1 itself and finds cuInit the ways the CUDA
 * runtime, ctypes, cupy and numba do. Prints cuInit=<result>. Modes:
 *   dlsym-handle    dlopen(RTLD_LOCAL) + dlsym(handle, "cuInit")
 *   dlsym-default   dlopen(RTLD_GLOBAL) + dlsym(RTLD_DEFAULT, "cuInit")
 *   getproc         dlsym(handle, "cuGetProcAddress"), then cuGetProcAddress("cuInit") (CUDA 11.x)
 *   getproc-v2      cuGetProcAddress("cuGetProcAddress", 12000) gives the _v2 entry point; it gives cuInit
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

typedef int CUresult;
typedef CUresult (*cu_init_fn)(unsigned int);
typedef CUresult (*get_proc_fn)(const char *, void **, int, unsigned long long);
typedef CUresult (*get_proc_v2_fn)(const char *, void **, int, unsigned long long, int *);

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "dlsym-handle";
    void *driver = dlopen("libcuda.so.1", RTLD_NOW | (strcmp(mode, "dlsym-default") == 0 ? RTLD_GLOBAL : RTLD_LOCAL));
    if (driver == NULL) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 2;
    }

    cu_init_fn init = NULL;
    if (strcmp(mode, "dlsym-handle") == 0) {
        init = (cu_init_fn)dlsym(driver, "cuInit");
    } else if (strcmp(mode, "dlsym-default") == 0) {
        init = (cu_init_fn)dlsym(RTLD_DEFAULT, "cuInit");
    } else if (strcmp(mode, "getproc") == 0) {
        get_proc_fn get_proc = (get_proc_fn)dlsym(driver, "cuGetProcAddress");
        if (get_proc == NULL || get_proc("cuInit", (void **)&init, 11030, 0) != 0) {
            fprintf(stderr, "cuGetProcAddress failed\n");
            return 2;
        }
    } else if (strcmp(mode, "getproc-v2") == 0) {
        get_proc_fn get_proc = (get_proc_fn)dlsym(driver, "cuGetProcAddress");
        get_proc_v2_fn get_proc_v2 = NULL;
        int found = -1;
        if (get_proc == NULL || get_proc("cuGetProcAddress", (void **)&get_proc_v2, 12000, 0) != 0 ||
            get_proc_v2("cuInit", (void **)&init, 12000, 0, &found) != 0 || found != 0) {
            fprintf(stderr, "cuGetProcAddress_v2 failed\n");
            return 2;
        }
    } else {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 2;
    }

    if (init == NULL) {
        fprintf(stderr, "no cuInit: %s\n", dlerror());
        return 2;
    }
    CUresult result = init(0);
    printf("cuInit=%d\n", result);
    return result != 0;
}
