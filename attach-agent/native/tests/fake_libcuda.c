/*
 * A fake NVIDIA driver (libcuda.so.1) for the shim's tests: no GPU needed. Every call is appended, one line per
 * call, to the file FAKE_CUDA_RECORD names, with the variables the shim sets AS THEY ARE when the call runs, so
 * a test can tell whether they were set before the real cuInit.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef int CUresult;
typedef unsigned long long cuuint64_t;

#define CUDA_SUCCESS 0
#define CUDA_ERROR_NOT_FOUND 500

CUresult cuInit(unsigned int flags);
CUresult cuGetProcAddress(const char *symbol, void **pfn, int cuda_version, cuuint64_t flags);
CUresult cuGetProcAddress_v2(const char *symbol, void **pfn, int cuda_version, cuuint64_t flags, int *status);

static const char *value(const char *name)
{
    const char *v = getenv(name);
    return v != NULL ? v : "<unset>";
}

static void record(const char *line)
{
    const char *path = getenv("FAKE_CUDA_RECORD");
    if (path == NULL) {
        return;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        return;
    }
    ssize_t ignored = write(fd, line, strlen(line)); /* one write: lines from threads and processes stay whole */
    (void)ignored;
    close(fd);
}

CUresult cuInit(unsigned int flags)
{
    char line[2048];
    /* Whether a library loaded RTLD_GLOBAL (the fake HAMi-core) is visible by now. */
    int hami = dlsym(RTLD_DEFAULT, "fake_hami_marker") != NULL;
    snprintf(line, sizeof(line),
             "cuInit pid=%ld flags=%u hami=%d CUDA_VISIBLE_DEVICES=%s CUDA_DEVICE_MEMORY_LIMIT=%s CUDA_DEVICE_SM_LIMIT=%s ATTACH_LEASE_ID=%s\n",
             (long)getpid(), flags, hami, value("CUDA_VISIBLE_DEVICES"), value("CUDA_DEVICE_MEMORY_LIMIT"),
             value("CUDA_DEVICE_SM_LIMIT"), value("ATTACH_LEASE_ID"));
    record(line);
    return CUDA_SUCCESS;
}

CUresult cuDriverGetVersion(int *version)
{
    *version = 12040;
    return CUDA_SUCCESS;
}

static CUresult lookup(const char *symbol, void **pfn, int cuda_version)
{
    char line[512];
    snprintf(line, sizeof(line), "cuGetProcAddress pid=%ld symbol=%s version=%d\n", (long)getpid(), symbol, cuda_version);
    record(line);
    if (strcmp(symbol, "cuInit") == 0) {
        *pfn = (void *)cuInit;
    } else if (strcmp(symbol, "cuGetProcAddress") == 0) {
        /* As the real driver does: CUDA 12 callers get the _v2 entry point under the plain name. */
        *pfn = cuda_version >= 12000 ? (void *)cuGetProcAddress_v2 : (void *)cuGetProcAddress;
    } else if (strcmp(symbol, "cuDriverGetVersion") == 0) {
        *pfn = (void *)cuDriverGetVersion;
    } else {
        *pfn = NULL;
        return CUDA_ERROR_NOT_FOUND;
    }
    return CUDA_SUCCESS;
}

CUresult cuGetProcAddress(const char *symbol, void **pfn, int cuda_version, cuuint64_t flags)
{
    (void)flags;
    return lookup(symbol, pfn, cuda_version);
}

CUresult cuGetProcAddress_v2(const char *symbol, void **pfn, int cuda_version, cuuint64_t flags, int *status)
{
    (void)flags;
    CUresult result = lookup(symbol, pfn, cuda_version);
    if (status != NULL) {
        *status = result == CUDA_SUCCESS ? 0 : 1;
    }
    return result;
}
