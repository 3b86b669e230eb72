/* Unit tests of the shim's parsing and framing (no agent, no driver). Prints one line per failure; exit 0 when
 * every check holds. The process tests are in tests/Attach.Native.Tests. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shim.h"

static int failures;
static int checks;

#define CHECK(condition)                                                          \
    do {                                                                          \
        checks++;                                                                 \
        if (!(condition)) {                                                       \
            failures++;                                                           \
            printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #condition);           \
        }                                                                         \
    } while (0)

static void memory_sizes(void)
{
    CHECK(attach_parse_mib("20G") == 20480);
    CHECK(attach_parse_mib("20g") == 20480);
    CHECK(attach_parse_mib("20GiB") == 20480);
    CHECK(attach_parse_mib("20480M") == 20480);
    CHECK(attach_parse_mib("512") == 512);
    CHECK(attach_parse_mib("1T") == 1048576);
    CHECK(attach_parse_mib("0") == -1);
    CHECK(attach_parse_mib("") == -1);
    CHECK(attach_parse_mib("G") == -1);
    CHECK(attach_parse_mib("1.5G") == -1);
    CHECK(attach_parse_mib("-1G") == -1);
    CHECK(attach_parse_mib("20 G") == -1);
    CHECK(attach_parse_mib("20X") == -1);
    CHECK(attach_parse_mib("99999999999999999999") == -1);
    CHECK(attach_parse_mib("2000T") == -1); /* over 2^30 MiB */
}

static void seconds(void)
{
    CHECK(attach_parse_seconds("600") == 600);
    CHECK(attach_parse_seconds("1") == 1);
    CHECK(attach_parse_seconds("0") == -1);
    CHECK(attach_parse_seconds("5s") == -1);
    CHECK(attach_parse_seconds("") == -1);
    CHECK(attach_parse_seconds("86401") == -1);
}

static void sessions(void)
{
    CHECK(attach_session_valid("k-1"));
    CHECK(attach_session_valid("3f1c9e2a-7b4d-4c3e-9a1f-0d2b5e6f7a8b"));
    CHECK(!attach_session_valid(""));
    CHECK(!attach_session_valid("a b"));
    CHECK(!attach_session_valid("a/b"));
    char long_session[130];
    memset(long_session, 'a', 129);
    long_session[129] = '\0';
    CHECK(!attach_session_valid(long_session));
    long_session[128] = '\0';
    CHECK(attach_session_valid(long_session));
}

static void kernel_ids(void)
{
    char id[SHIM_MAX_SESSION + 1];
    static const char ipykernel[] = "/usr/bin/python3\0-m\0ipykernel_launcher\0-f\0/home/u/.local/share/jupyter/runtime/kernel-3f1c9e2a-7b4d.json\0";
    CHECK(attach_kernel_id(ipykernel, sizeof(ipykernel) - 1, id, sizeof(id)) && strcmp(id, "3f1c9e2a-7b4d") == 0);
    static const char equals[] = "python\0--f=/run/kernel-abc.json\0";
    CHECK(attach_kernel_id(equals, sizeof(equals) - 1, id, sizeof(id)) && strcmp(id, "abc") == 0);
    static const char relative[] = "python\0-f\0kernel-x1.json\0";
    CHECK(attach_kernel_id(relative, sizeof(relative) - 1, id, sizeof(id)) && strcmp(id, "x1") == 0);
    static const char none[] = "python\0train.py\0--config\0kernel.json\0";
    CHECK(!attach_kernel_id(none, sizeof(none) - 1, id, sizeof(id)));
    static const char empty_id[] = "python\0kernel-.json\0";
    CHECK(!attach_kernel_id(empty_id, sizeof(empty_id) - 1, id, sizeof(id)));
    static const char bad_id[] = "python\0kernel-a b.json\0";
    CHECK(!attach_kernel_id(bad_id, sizeof(bad_id) - 1, id, sizeof(id)));
}

static void socket_paths(void)
{
    char path[108];
    setenv("ATTACH_AGENT_SOCKET", "/tmp/a.sock", 1);
    setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
    CHECK(attach_socket_path(path, sizeof(path)) && strcmp(path, "/tmp/a.sock") == 0);
    unsetenv("ATTACH_AGENT_SOCKET");
    if (attach_socket_path(path, sizeof(path)) && strcmp(path, "/run/attach/agent.sock") != 0) {
        CHECK(strcmp(path, "/run/user/1000/attach/agent.sock") == 0);
    }
    setenv("XDG_RUNTIME_DIR", "relative", 1);
    if (attach_socket_path(path, sizeof(path))) {
        CHECK(strcmp(path, "/run/attach/agent.sock") == 0);
    }
    char long_path[200];
    memset(long_path, 'a', sizeof(long_path) - 1);
    long_path[0] = '/';
    long_path[sizeof(long_path) - 1] = '\0';
    setenv("ATTACH_AGENT_SOCKET", long_path, 1);
    CHECK(!attach_socket_path(path, sizeof(path)));
    unsetenv("ATTACH_AGENT_SOCKET");
}

static void frames(void)
{
    /* The example in docs/shim-protocol.md, byte for byte. */
    static const unsigned char hello[] = { 0x00, 0x00, 0x00, 0x16, 0x01, 'v', 'e', 'r', 's', 'i', 'o', 'n', '=', '1', 0,
                                           's', 'e', 's', 's', 'i', 'o', 'n', '=', 'k', '-', '1', 0 };
    struct shim_out out;
    shim_out_begin(&out, SHIM_HELLO);
    shim_out_field(&out, "version", "1");
    shim_out_field(&out, "session", "k-1");
    CHECK(shim_out_end(&out));
    CHECK(out.length == sizeof(hello) && memcmp(out.data, hello, sizeof(hello)) == 0);

    char big[5000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    shim_out_begin(&out, SHIM_HELLO);
    shim_out_field(&out, "session", big);
    CHECK(!shim_out_end(&out));

    char body[] = "lease_id=L1\0env.CUDA_VISIBLE_DEVICES=GPU-1\0message=a=b\0";
    struct shim_in in = { .type = SHIM_GRANTED, .length = sizeof(body) - 1, .body = body };
    CHECK(shim_body_valid(in.body, in.length));
    CHECK(strcmp(shim_field(&in, "lease_id"), "L1") == 0);
    CHECK(strcmp(shim_field(&in, "env.CUDA_VISIBLE_DEVICES"), "GPU-1") == 0);
    CHECK(strcmp(shim_field(&in, "message"), "a=b") == 0);
    CHECK(shim_field(&in, "lease") == NULL);
    CHECK(shim_body_valid("", 0));
    CHECK(!shim_body_valid("a=b", 3));            /* no final NUL */
    CHECK(!shim_body_valid("ab\0", 3));           /* no '=' */
    CHECK(!shim_body_valid("=b\0", 3));           /* empty key */
    CHECK(!shim_body_valid("a b=c\0", 6));        /* bad key byte */
}

int main(void)
{
    memory_sizes();
    seconds();
    sessions();
    kernel_ids();
    socket_paths();
    frames();
    printf("%d checks, %d failed\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
