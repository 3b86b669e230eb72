/*
 * libattach.so internals: the pieces of the shim, shared between its source files.
 * Nothing here is exported from the library (it is built with -fvisibility=hidden);
 * the exported symbols are in hooks.c.
 */
#ifndef ATTACH_SHIM_H
#define ATTACH_SHIM_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define ATTACH_CLIENT "libattach/0.1"

/* CUresult values the shim returns itself (cuda.h is not needed to build the shim). */
#define ATTACH_CUDA_SUCCESS 0
#define ATTACH_CUDA_ERROR_NO_DEVICE 100
#define ATTACH_CUDA_ERROR_NOT_FOUND 500

/* ---- protocol (docs/shim-protocol.md) ---- */

#define SHIM_HEADER_LENGTH 5
#define SHIM_MAX_BODY 65536
#define SHIM_MAX_KEY 128
#define SHIM_MAX_SESSION 128

enum shim_type {
    SHIM_HELLO = 0x01,
    SHIM_REQUEST_LEASE = 0x02,
    SHIM_RELEASE = 0x03,
    SHIM_BYE = 0x04,
    SHIM_ERROR = 0x80,
    SHIM_WELCOME = 0x81,
    SHIM_QUEUED = 0x82,
    SHIM_GRANTED = 0x83,
    SHIM_RELEASED = 0x84,
    SHIM_REVOKE = 0x85,
};

/* A frame being built: header and body in one buffer, so it goes out in one write. */
struct shim_out {
    unsigned char data[SHIM_HEADER_LENGTH + 4096];
    size_t length;
    bool overflow;
};

/* A frame received: the body is key=value\0 fields. */
struct shim_in {
    unsigned char type;
    uint32_t length;
    char *body; /* SHIM_MAX_BODY + 1 bytes, owned by the caller */
};

void shim_out_begin(struct shim_out *out, unsigned char type);
void shim_out_field(struct shim_out *out, const char *key, const char *value);
/* Writes the length into the header; false when the fields did not fit. */
bool shim_out_end(struct shim_out *out);

/* Checks a received body: empty, or distinct-enough key=value\0 fields. */
bool shim_body_valid(const char *body, uint32_t length);
/* The value of a field, or NULL. */
const char *shim_field(const struct shim_in *in, const char *key);
/* Calls fn for each field; stops early when fn returns false. */
void shim_fields(const struct shim_in *in, bool (*fn)(const char *key, const char *value, void *state), void *state);

/* ---- configuration (config.c) ---- */

/* "20G", "20480M", "512" (MiB), "1T", "20GiB": MiB, or -1 when it is not a size. */
long long attach_parse_mib(const char *text);
/* Whole seconds, 1..86400 (a day), or -1. */
long attach_parse_seconds(const char *text);
/* [A-Za-z0-9._-]{1,128} */
bool attach_session_valid(const char *session);
/*
 * The Jupyter kernel id in a command line (NUL-separated, as /proc/self/cmdline): the <id> of an argument
 * whose file name is kernel-<id>.json (ipykernel's -f /path/kernel-<id>.json, --f=…, --ConnectionFileMixin…=…).
 */
bool attach_kernel_id(const char *cmdline, size_t length, char *id, size_t size);
/* The agent's socket: ATTACH_AGENT_SOCKET, /run/attach/agent.sock if it exists, $XDG_RUNTIME_DIR/attach/agent.sock. */
bool attach_socket_path(char *path, size_t size);

/* ---- the lease (lease.c) ---- */

enum attach_outcome {
    ATTACH_GRANTED,     /* the variables are set: call the real cuInit */
    ATTACH_PASS,        /* fail open: call the real cuInit without a lease */
    ATTACH_DENIED,      /* fail closed: cuInit returns CUDA_ERROR_NO_DEVICE */
};

/* Everything before the real cuInit: configuration, the agent, the variables, HAMi-core. Called once per process. */
enum attach_outcome attach_acquire(void);
/* In a child after fork: forget (and close) the parent's connection. */
void attach_lease_atfork_prepare(void);
void attach_lease_atfork_parent(void);
void attach_lease_atfork_child(void);

/* ---- messages ---- */

void attach_log(const char *format, ...) __attribute__((format(printf, 1, 2)));
bool attach_verbose(void);

/* ---- symbol lookup (hooks.c) ---- */

/* glibc's own dlsym, never an interposer's: for the shim's lookups. */
void *attach_libc_dlsym(void *handle, const char *symbol);
/* Called once HAMi-core's library is loaded, so its cuInit/cuGetProcAddress/dlsym come next in the chain. */
void attach_chain_hami(void *handle);

#endif
