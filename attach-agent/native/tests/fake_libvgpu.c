/*
 * A fake HAMi-core libvgpu.so: records (to FAKE_CUDA_RECORD) that it was loaded and what limits it saw, and
 * defines cuInit the way HAMi-core does — its own hook that then calls the driver's, looked up with the C
 * library's dlsym so no interposer is in the way.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef int CUresult;
typedef CUresult (*cu_init_fn)(unsigned int);

int fake_hami_marker = 1;

static void record(const char *line)
{
    const char *path = getenv("FAKE_CUDA_RECORD");
    int fd = path != NULL ? open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644) : -1;
    if (fd >= 0) {
        ssize_t ignored = write(fd, line, strlen(line));
        (void)ignored;
        close(fd);
    }
}

static const char *value(const char *name)
{
    const char *v = getenv(name);
    return v != NULL ? v : "<unset>";
}

__attribute__((constructor)) static void loaded(void)
{
    char line[512];
    snprintf(line, sizeof(line), "hami-loaded pid=%ld CUDA_DEVICE_MEMORY_LIMIT=%s CUDA_DEVICE_SM_LIMIT=%s\n", (long)getpid(),
             value("CUDA_DEVICE_MEMORY_LIMIT"), value("CUDA_DEVICE_SM_LIMIT"));
    record(line);
}

CUresult cuInit(unsigned int flags)
{
    char line[128];
    snprintf(line, sizeof(line), "hami-cuInit pid=%ld\n", (long)getpid());
    record(line);
    typedef void *(*dlsym_fn)(void *, const char *);
    dlsym_fn real_dlsym = (dlsym_fn)dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.34");
    if (real_dlsym == NULL) {
        real_dlsym = (dlsym_fn)dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.2.5");
    }
    void *driver = dlopen("libcuda.so.1", RTLD_NOW);
    cu_init_fn real = driver != NULL && real_dlsym != NULL ? (cu_init_fn)real_dlsym(driver, "cuInit") : NULL;
    return real != NULL ? real(flags) : 999;
}
