/*
 * A CUDA program linked against the driver (-lcuda), as most are. Prints one line per result for the test that
 * runs it. Modes:
 *   once            cuInit(0)
 *   twice           cuInit(0) twice (one lease request all the same)
 *   threads N       N threads call cuInit at the same moment
 *   fork            cuInit in the parent, then in a child after fork; the parent exits, the child prints "ready"
 *                   and waits for its standard input to close
 *   rtld-next       dlsym(RTLD_NEXT, "cuInit"): must find the next definition after this program (the shim's)
 * With a last argument "hold", it then prints "ready" and waits for its standard input to close.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef int CUresult;
extern CUresult cuInit(unsigned int flags);

static pthread_barrier_t start_line;
static CUresult results[256];

static void *call_cu_init(void *argument)
{
    size_t index = (size_t)argument;
    pthread_barrier_wait(&start_line);
    results[index] = cuInit(0);
    return NULL;
}

static int threads(int count)
{
    pthread_t thread[256];
    pthread_barrier_init(&start_line, NULL, (unsigned)count);
    for (int i = 0; i < count; i++) {
        pthread_create(&thread[i], NULL, call_cu_init, (void *)(size_t)i);
    }
    int ok = 0;
    for (int i = 0; i < count; i++) {
        pthread_join(thread[i], NULL);
        ok += results[i] == 0;
    }
    printf("threads=%d ok=%d\n", count, ok);
    return ok == count ? 0 : 1;
}

static void hold(void)
{
    printf("ready\n");
    fflush(stdout);
    char buffer[64];
    while (fread(buffer, 1, sizeof(buffer), stdin) > 0) {
    }
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *mode = argc > 1 ? argv[1] : "once";
    int status = 0;
    if (strcmp(mode, "once") == 0) {
        CUresult result = cuInit(0);
        printf("cuInit=%d\n", result);
        status = result != 0;
    } else if (strcmp(mode, "twice") == 0) {
        CUresult first = cuInit(0);
        CUresult second = cuInit(0);
        printf("cuInit=%d cuInit=%d\n", first, second);
        status = first != 0 || second != 0;
    } else if (strcmp(mode, "threads") == 0) {
        int count = argc > 2 ? atoi(argv[2]) : 32;
        status = threads(count < 1 ? 1 : (count > 256 ? 256 : count));
    } else if (strcmp(mode, "fork") == 0) {
        printf("parent pid=%ld cuInit=%d\n", (long)getpid(), cuInit(0));
        int started[2];
        if (pipe(started) != 0) {
            return 2;
        }
        pid_t child = fork();
        if (child == 0) {
            close(started[0]);
            printf("child pid=%ld cuInit=%d\n", (long)getpid(), cuInit(0));
            fflush(stdout);
            close(started[1]);
            hold();
            _exit(0);
        }
        /* The parent exits once the child holds its own lease; the child lives on until stdin closes. */
        close(started[1]);
        char byte;
        while (read(started[0], &byte, 1) > 0) {
        }
        printf("parent-exiting\n");
        return 0;
    } else if (strcmp(mode, "rtld-next") == 0) {
        CUresult (*next)(unsigned int) = (CUresult(*)(unsigned int))dlsym(RTLD_NEXT, "cuInit");
        CUresult result = next != NULL ? next(0) : -1;
        printf("cuInit=%d\n", result);
        status = result != 0;
    } else {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 2;
    }

    if (strcmp(argv[argc - 1], "hold") == 0) {
        hold();
    }
    return status;
}
