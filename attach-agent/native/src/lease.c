/*
 * The lease: everything that happens once per process before the real cuInit runs. Connect to the agent's unix
 * socket, say which session this process works for, ask for a lease, wait (bounded) while it queues, set the
 * variables the grant carries, load HAMi-core when configured, and keep the connection open for the life of the
 * process: the kernel closes it when the process exits, however it exits, and that is the release.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "shim.h"

#define DEFAULT_TIMEOUT_S 600
#define DEFAULT_CONNECT_TIMEOUT_S 5

/* The connection this process holds, so that a child after fork can close its copy. Guarded by fd_lock, which
 * is only ever held for a socket() or close() and across fork (never while waiting on the agent). */
static pthread_mutex_t fd_lock = PTHREAD_MUTEX_INITIALIZER;
static int lease_fd = -1;

struct config {
    bool fail_open;
    bool wait;
    long timeout_s;
    long connect_timeout_s;
    long long memory_mib; /* -1: the broker's default */
    const char *priority; /* "batch" or "interactive" (ATTACH_PRIORITY); NULL: not sent, the broker's default (interactive) */
    const char *hami;
    char session[SHIM_MAX_SESSION + 1];
    char socket[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

enum io_status { IO_OK, IO_EOF, IO_TIMEOUT, IO_ERROR, IO_PROTOCOL };

static long long now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* Milliseconds left before the deadline for poll(); -1 (forever) when there is no deadline. */
static int left_ms(long long deadline)
{
    if (deadline < 0) {
        return -1;
    }

    long long left = deadline - now_ms();
    return left <= 0 ? 0 : (left > 60000 ? 60000 : (int)left);
}

static int open_socket(void)
{
    pthread_mutex_lock(&fd_lock);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    lease_fd = fd;
    pthread_mutex_unlock(&fd_lock);
    return fd;
}

/* Closing the connection releases the lease (or abandons the request). */
static void close_socket(void)
{
    pthread_mutex_lock(&fd_lock);
    if (lease_fd >= 0) {
        close(lease_fd);
        lease_fd = -1;
    }
    pthread_mutex_unlock(&fd_lock);
}

void attach_lease_atfork_prepare(void)
{
    pthread_mutex_lock(&fd_lock);
}

void attach_lease_atfork_parent(void)
{
    pthread_mutex_unlock(&fd_lock);
}

void attach_lease_atfork_child(void)
{
    /* The child must not share the parent's connection: a copy it kept open would keep the parent's lease alive
     * after the parent exits. It asks for its own lease if it ever calls cuInit. */
    if (lease_fd >= 0) {
        close(lease_fd);
        lease_fd = -1;
    }
    pthread_mutex_unlock(&fd_lock);
}

static enum io_status wait_for(int fd, short events, long long deadline)
{
    for (;;) {
        struct pollfd p = { .fd = fd, .events = events };
        int ready = poll(&p, 1, left_ms(deadline));
        if (ready > 0) {
            return IO_OK;
        }
        if (ready == 0) {
            if (deadline >= 0 && now_ms() >= deadline) {
                return IO_TIMEOUT;
            }
            continue;
        }
        if (errno != EINTR) {
            return IO_ERROR;
        }
    }
}

static enum io_status connect_to(int fd, const char *path, long long deadline)
{
    struct sockaddr_un address = { .sun_family = AF_UNIX };
    memcpy(address.sun_path, path, strlen(path) + 1);
    for (;;) {
        if (connect(fd, (struct sockaddr *)&address, sizeof(address)) == 0) {
            return IO_OK;
        }

        if (errno == EINPROGRESS) {
            if (wait_for(fd, POLLOUT, deadline) != IO_OK) {
                return IO_TIMEOUT;
            }
            int error = 0;
            socklen_t length = sizeof(error);
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
            errno = error;
            return error == 0 ? IO_OK : IO_ERROR;
        }

        /* A unix socket's full backlog answers EAGAIN at once; try again until the deadline. */
        if (errno != EAGAIN && errno != EINTR) {
            return IO_ERROR;
        }
        if (deadline >= 0 && now_ms() >= deadline) {
            errno = ETIMEDOUT;
            return IO_TIMEOUT;
        }
        poll(NULL, 0, 20);
    }
}

static enum io_status send_all(int fd, const unsigned char *data, size_t length, long long deadline)
{
    while (length > 0) {
        /* MSG_NOSIGNAL: an agent that went away must not kill the process with SIGPIPE. */
        ssize_t sent = send(fd, data, length, MSG_NOSIGNAL);
        if (sent > 0) {
            data += sent;
            length -= (size_t)sent;
            continue;
        }
        if (sent < 0 && (errno == EAGAIN || errno == EINTR)) {
            enum io_status status = wait_for(fd, POLLOUT, deadline);
            if (status != IO_OK) {
                return status;
            }
            continue;
        }
        return IO_ERROR;
    }

    return IO_OK;
}

static enum io_status receive_exactly(int fd, void *buffer, size_t length, long long deadline)
{
    unsigned char *at = buffer;
    while (length > 0) {
        ssize_t got = recv(fd, at, length, 0);
        if (got > 0) {
            at += got;
            length -= (size_t)got;
            continue;
        }
        if (got == 0) {
            return IO_EOF;
        }
        if (errno == ECONNRESET) {
            return IO_EOF; /* the agent closed after a fatal error with our bytes unread (docs/shim-protocol.md) */
        }
        if (errno == EAGAIN || errno == EINTR) {
            enum io_status status = wait_for(fd, POLLIN, deadline);
            if (status != IO_OK) {
                return status;
            }
            continue;
        }
        return IO_ERROR;
    }

    return IO_OK;
}

static enum io_status receive_frame(int fd, struct shim_in *in, long long deadline)
{
    unsigned char header[SHIM_HEADER_LENGTH];
    enum io_status status = receive_exactly(fd, header, sizeof(header), deadline);
    if (status != IO_OK) {
        return status;
    }

    in->length = (uint32_t)header[0] << 24 | (uint32_t)header[1] << 16 | (uint32_t)header[2] << 8 | header[3];
    in->type = header[4];
    if (in->length > SHIM_MAX_BODY) {
        return IO_PROTOCOL;
    }

    status = receive_exactly(fd, in->body, in->length, deadline);
    if (status != IO_OK) {
        return status;
    }

    in->body[in->length] = '\0';
    return shim_body_valid(in->body, in->length) ? IO_OK : IO_PROTOCOL;
}

static const char *or_unknown(const char *value)
{
    return value != NULL ? value : "?";
}

static const char *io_reason(enum io_status status, long seconds, char *buffer, size_t size)
{
    switch (status) {
    case IO_EOF:
        return "the agent closed the connection";
    case IO_TIMEOUT:
        snprintf(buffer, size, "no answer within %ld s", seconds);
        return buffer;
    case IO_PROTOCOL:
        return "the agent sent a malformed frame";
    default:
        snprintf(buffer, size, "%s", strerror(errno));
        return buffer;
    }
}

/* The agent cannot be reached or stopped answering: fail open or closed, as configured. */
static enum attach_outcome unreachable(const struct config *config, const char *reason)
{
    close_socket();
    if (config->fail_open) {
        attach_log("cannot reach the GPU agent at %s: %s. ATTACH_FAIL_OPEN=1: CUDA starts without a lease "
                   "(no GPU or slice is reserved for this process).",
                   config->socket, reason);
        return ATTACH_PASS;
    }

    attach_log("cannot reach the GPU agent at %s: %s. cuInit fails with CUDA_ERROR_NO_DEVICE. Start the agent, "
               "point ATTACH_AGENT_SOCKET at its socket, or set ATTACH_FAIL_OPEN=1 to run without a lease.",
               config->socket, reason);
    return ATTACH_DENIED;
}

static enum attach_outcome denied(void)
{
    close_socket();
    return ATTACH_DENIED;
}

static bool read_session(struct config *config)
{
    const char *session = getenv("ATTACH_SESSION");
    if (session != NULL && *session != '\0') {
        if (!attach_session_valid(session)) {
            attach_log("ATTACH_SESSION '%.160s' is not a session token (1 to 128 of A-Z a-z 0-9 . _ -); "
                       "cuInit fails with CUDA_ERROR_NO_DEVICE.",
                       session);
            return false;
        }
        snprintf(config->session, sizeof(config->session), "%s", session);
        return true;
    }

    /* A Jupyter kernel: ipykernel is started with -f /…/kernel-<id>.json, and <id> is the kernel id. */
    static char cmdline[16384];
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t length = read(fd, cmdline, sizeof(cmdline));
        close(fd);
        if (length > 0 && attach_kernel_id(cmdline, (size_t)length, config->session, sizeof(config->session))) {
            setenv("ATTACH_SESSION", config->session, 0); /* the kernel's own children work for it too */
            return true;
        }
    }

    /* A fresh session of its own, named after the process; its children join it. */
    char host[64] = "";
    gethostname(host, sizeof(host) - 1);
    int length = snprintf(config->session, sizeof(config->session), "pid-%ld-", (long)getpid());
    for (const char *c = host; *c != '\0' && (size_t)length < sizeof(config->session) - 1; c++) {
        bool ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '.' || *c == '-';
        config->session[length++] = ok ? *c : '-';
    }
    config->session[length] = '\0';
    if (config->session[length - 1] == '-') {
        config->session[length - 1] = '\0';
    }
    setenv("ATTACH_SESSION", config->session, 0);
    return true;
}

static bool read_config(struct config *config)
{
    const char *fail_open = getenv("ATTACH_FAIL_OPEN");
    config->fail_open = fail_open != NULL && (strcmp(fail_open, "1") == 0 || strcmp(fail_open, "true") == 0);
    if (!attach_socket_path(config->socket, sizeof(config->socket))) {
        config->socket[0] = '\0';
    }

    config->timeout_s = DEFAULT_TIMEOUT_S;
    const char *timeout = getenv("ATTACH_TIMEOUT");
    if (timeout != NULL && *timeout != '\0' && (config->timeout_s = attach_parse_seconds(timeout)) < 0) {
        attach_log("ATTACH_TIMEOUT '%.40s' is not a number of seconds (1 to 86400); cuInit fails with CUDA_ERROR_NO_DEVICE.", timeout);
        return false;
    }

    config->connect_timeout_s = DEFAULT_CONNECT_TIMEOUT_S;
    const char *connect_timeout = getenv("ATTACH_CONNECT_TIMEOUT");
    if (connect_timeout != NULL && *connect_timeout != '\0' &&
        (config->connect_timeout_s = attach_parse_seconds(connect_timeout)) < 0) {
        attach_log("ATTACH_CONNECT_TIMEOUT '%.40s' is not a number of seconds (1 to 86400); cuInit fails with CUDA_ERROR_NO_DEVICE.",
                   connect_timeout);
        return false;
    }
    if (config->connect_timeout_s > config->timeout_s) {
        config->connect_timeout_s = config->timeout_s;
    }

    config->memory_mib = -1;
    const char *memory = getenv("ATTACH_MEMORY");
    if (memory != NULL && *memory != '\0' && (config->memory_mib = attach_parse_mib(memory)) < 0) {
        attach_log("ATTACH_MEMORY '%.40s' is not a memory size (e.g. 20G, 20480M, 512); cuInit fails with CUDA_ERROR_NO_DEVICE.", memory);
        return false;
    }

    config->priority = getenv("ATTACH_PRIORITY");
    if (config->priority != NULL && *config->priority == '\0') {
        config->priority = NULL;
    }
    if (config->priority != NULL && strcmp(config->priority, "batch") != 0 && strcmp(config->priority, "interactive") != 0) {
        attach_log("ATTACH_PRIORITY '%.40s' is neither batch nor interactive; cuInit fails with CUDA_ERROR_NO_DEVICE.", config->priority);
        return false;
    }

    const char *wait = getenv("ATTACH_WAIT");
    config->wait = wait == NULL || strcmp(wait, "0") != 0;
    config->hami = getenv("ATTACH_HAMI_LIB");
    if (config->hami != NULL && *config->hami == '\0') {
        config->hami = NULL;
    }

    return read_session(config);
}

static bool environment_name(const char *name)
{
    if (*name == '\0' || (*name >= '0' && *name <= '9')) {
        return false;
    }
    for (const char *c = name; *c != '\0'; c++) {
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_')) {
            return false;
        }
    }
    return true;
}

static bool set_variable(const char *key, const char *value, void *state)
{
    int *count = state;
    if (strncmp(key, "env.", 4) != 0) {
        return true;
    }

    const char *name = key + 4;
    if (!environment_name(name)) {
        attach_log("ignored the variable '%s' from the agent: not a variable name.", name);
        return true;
    }

    if (setenv(name, value, 1) == 0) {
        (*count)++;
    }
    return true;
}

static void report_grant(const struct shim_in *granted)
{
    const char *waited = shim_field(granted, "waited_ms");
    long long waited_ms = waited != NULL ? atoll(waited) : 0;
    const char *simulated = shim_field(granted, "simulated");
    attach_log("GPU %s (%s%s), %s MiB, %s%% compute, lease %s, waited %lld.%lld s.",
               or_unknown(shim_field(granted, "gpu_index")), or_unknown(shim_field(granted, "gpu_name")),
               simulated != NULL && strcmp(simulated, "1") == 0 ? ", simulated" : "",
               or_unknown(shim_field(granted, "memory_mib")), or_unknown(shim_field(granted, "compute_percent")),
               or_unknown(shim_field(granted, "lease_id")), waited_ms / 1000, waited_ms % 1000 / 100);
}

/*
 * After the grant, a thread that blocks on the connection so that an unasked `revoke` is seen and told. The
 * process keeps its CUDA context either way: taking the GPU away (suspending or stopping the work) is the agent's
 * job, not the shim's.
 */
static void *watch_connection(void *argument)
{
    int fd = (int)(intptr_t)argument;
    char *body = malloc(SHIM_MAX_BODY + 1);
    if (body == NULL) {
        return NULL;
    }

    struct shim_in in = { .body = body };
    for (;;) {
        enum io_status status = receive_frame(fd, &in, -1);
        if (status != IO_OK) {
            if (status == IO_EOF) {
                attach_log("the GPU agent closed its connection; this process no longer holds a lease. It keeps its "
                           "CUDA context, but the GPU is no longer reserved for it.");
            }
            break;
        }

        if (in.type == SHIM_REVOKE) {
            attach_log("the GPU agent revoked lease %s: %s. This process keeps its CUDA context, but the GPU is no "
                       "longer reserved for it; the agent enforces the revocation (it may suspend or stop GPU work). "
                       "Run it again to ask for a GPU.",
                       or_unknown(shim_field(&in, "lease_id")), or_unknown(shim_field(&in, "reason")));
        } else if (in.type == SHIM_ERROR) {
            attach_log("the GPU agent: %s [%s]", or_unknown(shim_field(&in, "message")), or_unknown(shim_field(&in, "code")));
        }
    }

    free(body);
    return NULL;
}

static void start_watching(int fd)
{
    /* The thread takes no signals meant for the process: it starts with all of them blocked. */
    sigset_t all, saved;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &saved);
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attributes, 64 * 1024);
    pthread_t thread;
    int error = pthread_create(&thread, &attributes, watch_connection, (void *)(intptr_t)fd);
    pthread_attr_destroy(&attributes);
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    if (error != 0 && attach_verbose()) {
        attach_log("cannot watch the agent connection (%s); a revoke will not be reported.", strerror(error));
    }
}

/* From hello to granted (or not). body: SHIM_MAX_BODY + 1 bytes. */
static enum attach_outcome converse(const struct config *config, char *body)
{
    char reason[256];
    if (config->socket[0] == '\0') {
        return unreachable(config, "no socket to connect to (ATTACH_AGENT_SOCKET is unset, /run/attach/agent.sock "
                                   "does not exist and XDG_RUNTIME_DIR is unset)");
    }

    long long start = now_ms();
    long long handshake_deadline = start + config->connect_timeout_s * 1000;
    long long deadline = start + config->timeout_s * 1000;
    int fd = open_socket();
    if (fd < 0) {
        return unreachable(config, strerror(errno));
    }

    enum io_status status = connect_to(fd, config->socket, handshake_deadline);
    if (status != IO_OK) {
        return unreachable(config, io_reason(status, config->connect_timeout_s, reason, sizeof(reason)));
    }

    struct shim_out out;
    char number[32];
    shim_out_begin(&out, SHIM_HELLO);
    shim_out_field(&out, "version", "1");
    shim_out_field(&out, "session", config->session);
    shim_out_field(&out, "client", ATTACH_CLIENT);
    snprintf(number, sizeof(number), "%ld", (long)getpid());
    shim_out_field(&out, "pid", number);
    shim_out_end(&out);
    status = send_all(fd, out.data, out.length, handshake_deadline);
    struct shim_in in = { .body = body };
    if (status == IO_OK) {
        status = receive_frame(fd, &in, handshake_deadline);
    }
    if (status != IO_OK) {
        return unreachable(config, io_reason(status, config->connect_timeout_s, reason, sizeof(reason)));
    }
    if (in.type == SHIM_ERROR) {
        snprintf(reason, sizeof(reason), "%s [%s]", or_unknown(shim_field(&in, "message")), or_unknown(shim_field(&in, "code")));
        return unreachable(config, reason);
    }
    if (in.type != SHIM_WELCOME) {
        return unreachable(config, "the agent did not answer hello with welcome");
    }

    shim_out_begin(&out, SHIM_REQUEST_LEASE);
    if (config->memory_mib > 0) {
        snprintf(number, sizeof(number), "%lld", config->memory_mib);
        shim_out_field(&out, "memory_mib", number);
    }
    shim_out_field(&out, "wait", config->wait ? "1" : "0");
    if (config->priority != NULL) {
        shim_out_field(&out, "priority", config->priority);
    }
    shim_out_end(&out);
    status = send_all(fd, out.data, out.length, deadline);
    bool verbose = attach_verbose();
    while (status == IO_OK) {
        status = receive_frame(fd, &in, deadline);
        if (status != IO_OK) {
            break;
        }

        if (in.type == SHIM_QUEUED) {
            if (verbose) {
                const char *eta = shim_field(&in, "eta_seconds");
                if (eta != NULL) {
                    attach_log("waiting for a GPU: position %s in the queue, about %s s.", or_unknown(shim_field(&in, "position")), eta);
                } else {
                    attach_log("waiting for a GPU: position %s in the queue.", or_unknown(shim_field(&in, "position")));
                }
            }
            continue;
        }

        if (in.type == SHIM_ERROR) {
            attach_log("no GPU for session %s: %s [%s]. cuInit fails with CUDA_ERROR_NO_DEVICE.", config->session,
                       or_unknown(shim_field(&in, "message")), or_unknown(shim_field(&in, "code")));
            return denied();
        }

        if (in.type == SHIM_GRANTED) {
            int count = 0;
            shim_fields(&in, set_variable, &count);
            if (verbose) {
                report_grant(&in);
            }
            return ATTACH_GRANTED;
        }
        /* Nothing else is expected now; unknown replies are not worth failing for. */
    }

    if (status == IO_TIMEOUT) {
        /* Closing abandons the request and its place in the queue. */
        attach_log("no GPU within %ld s (ATTACH_TIMEOUT) for session %s; giving up. cuInit fails with CUDA_ERROR_NO_DEVICE.",
                   config->timeout_s, config->session);
        return denied();
    }

    return unreachable(config, io_reason(status, config->timeout_s, reason, sizeof(reason)));
}

enum attach_outcome attach_acquire(void)
{
    struct config config;
    memset(&config, 0, sizeof(config));
    if (!read_config(&config)) {
        return ATTACH_DENIED;
    }

    char *body = malloc(SHIM_MAX_BODY + 1);
    if (body == NULL) {
        attach_log("out of memory; cuInit fails with CUDA_ERROR_NO_DEVICE.");
        return ATTACH_DENIED;
    }

    enum attach_outcome outcome = converse(&config, body);
    free(body);
    if (outcome != ATTACH_GRANTED) {
        return outcome;
    }

    if (config.hami != NULL) {
        /* RTLD_GLOBAL, after the variables are set: HAMi-core reads the limits from them, and its hooks must be
         * visible to the lookups that follow. */
        void *hami = dlopen(config.hami, RTLD_NOW | RTLD_GLOBAL);
        if (hami == NULL) {
            attach_log("cannot load ATTACH_HAMI_LIB (%s): the slice limits cannot be enforced, so the lease is given "
                       "back and cuInit fails with CUDA_ERROR_NO_DEVICE.",
                       dlerror());
            return denied();
        }
        attach_chain_hami(hami);
    }

    pthread_mutex_lock(&fd_lock);
    int fd = lease_fd;
    pthread_mutex_unlock(&fd_lock);
    start_watching(fd);
    return ATTACH_GRANTED;
}
