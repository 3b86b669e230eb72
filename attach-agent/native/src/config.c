/* What the shim reads from its environment and its own command line, and how it talks to people. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim.h"

#define MAX_MIB (1LL << 30)

long long attach_parse_mib(const char *text)
{
    if (text == NULL || *text < '0' || *text > '9') {
        return -1;
    }

    long long value = 0;
    const char *at = text;
    while (*at >= '0' && *at <= '9') {
        value = value * 10 + (*at - '0');
        if (value > MAX_MIB) {
            return -1;
        }
        at++;
    }

    static const struct {
        const char *suffix;
        long long mib;
    } units[] = {
        { "", 1 }, { "m", 1 }, { "mb", 1 }, { "mib", 1 },
        { "g", 1024 }, { "gb", 1024 }, { "gib", 1024 },
        { "t", 1024 * 1024 }, { "tb", 1024 * 1024 }, { "tib", 1024 * 1024 },
    };
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcasecmp(at, units[i].suffix) == 0) {
            if (value == 0 || value > MAX_MIB / units[i].mib) {
                return -1;
            }
            return value * units[i].mib;
        }
    }

    return -1;
}

long attach_parse_seconds(const char *text)
{
    if (text == NULL || *text == '\0') {
        return -1;
    }

    long value = 0;
    for (const char *at = text; *at != '\0'; at++) {
        if (*at < '0' || *at > '9') {
            return -1;
        }
        value = value * 10 + (*at - '0');
        if (value > 86400) {
            return -1;
        }
    }

    return value >= 1 ? value : -1;
}

bool attach_session_valid(const char *session)
{
    size_t length = 0;
    for (const char *c = session; *c != '\0'; c++, length++) {
        bool ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '.' || *c == '_' || *c == '-';
        if (!ok || length >= SHIM_MAX_SESSION) {
            return false;
        }
    }

    return length > 0;
}

/* kernel-<id>.json as the last path component of an argument (or of its value after '='). */
static bool kernel_id_in(const char *argument, char *id, size_t size)
{
    const char *name = argument;
    for (const char *c = argument; *c != '\0'; c++) {
        if (*c == '/' || *c == '=') {
            name = c + 1;
        }
    }

    static const char prefix[] = "kernel-";
    static const char suffix[] = ".json";
    size_t length = strlen(name);
    if (length <= sizeof(prefix) - 1 + sizeof(suffix) - 1 || strncmp(name, prefix, sizeof(prefix) - 1) != 0 ||
        strcmp(name + length - (sizeof(suffix) - 1), suffix) != 0) {
        return false;
    }

    size_t id_length = length - (sizeof(prefix) - 1) - (sizeof(suffix) - 1);
    if (id_length >= size || id_length > SHIM_MAX_SESSION) {
        return false;
    }

    memcpy(id, name + sizeof(prefix) - 1, id_length);
    id[id_length] = '\0';
    return attach_session_valid(id);
}

bool attach_kernel_id(const char *cmdline, size_t length, char *id, size_t size)
{
    const char *at = cmdline;
    const char *end = cmdline + length;
    while (at < end) {
        const char *nul = memchr(at, '\0', (size_t)(end - at));
        if (nul == NULL) {
            return false; /* /proc truncates very long command lines: the last argument may be cut */
        }

        if (kernel_id_in(at, id, size)) {
            return true;
        }

        at = nul + 1;
    }

    return false;
}

static bool fits(const char *text, char *path, size_t size)
{
    int written = snprintf(path, size, "%s", text);
    return written > 0 && (size_t)written < size;
}

bool attach_socket_path(char *path, size_t size)
{
    const char *configured = getenv("ATTACH_AGENT_SOCKET");
    if (configured != NULL && *configured != '\0') {
        return fits(configured, path, size);
    }

    struct stat info;
    static const char system_socket[] = "/run/attach/agent.sock";
    if (stat(system_socket, &info) == 0) {
        return fits(system_socket, path, size);
    }

    const char *runtime = getenv("XDG_RUNTIME_DIR");
    if (runtime != NULL && runtime[0] == '/') {
        int written = snprintf(path, size, "%s/attach/agent.sock", runtime);
        return written > 0 && (size_t)written < size;
    }

    return false;
}

bool attach_verbose(void)
{
    const char *verbose = getenv("ATTACH_VERBOSE");
    if (verbose != NULL && *verbose != '\0') {
        return strcmp(verbose, "0") != 0;
    }

    return isatty(STDERR_FILENO) == 1;
}

void attach_log(const char *format, ...)
{
    /* One write per message, so lines from several threads or processes do not interleave. */
    char line[1024];
    int saved = errno;
    memcpy(line, "attach: ", 8);
    va_list arguments;
    va_start(arguments, format);
    int length = vsnprintf(line + 8, sizeof(line) - 9, format, arguments);
    va_end(arguments);
    if (length < 0) {
        errno = saved;
        return;
    }

    size_t total = 8 + ((size_t)length < sizeof(line) - 9 ? (size_t)length : sizeof(line) - 10);
    line[total++] = '\n';
    ssize_t ignored = write(STDERR_FILENO, line, total);
    (void)ignored;
    errno = saved;
}
