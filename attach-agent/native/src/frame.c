/* The shim protocol's frames (docs/shim-protocol.md): a 4-byte big-endian body length, a type byte, then
 * key=value\0 fields. Building one is a few memcpy calls; reading one is memchr and strchr. */
#include <string.h>

#include "shim.h"

void shim_out_begin(struct shim_out *out, unsigned char type)
{
    out->length = SHIM_HEADER_LENGTH;
    out->overflow = false;
    out->data[4] = type;
}

void shim_out_field(struct shim_out *out, const char *key, const char *value)
{
    size_t key_length = strlen(key);
    size_t value_length = strlen(value);
    size_t need = key_length + 1 + value_length + 1;
    if (out->overflow || need > sizeof(out->data) - out->length) {
        out->overflow = true;
        return;
    }

    unsigned char *at = out->data + out->length;
    memcpy(at, key, key_length);
    at[key_length] = '=';
    memcpy(at + key_length + 1, value, value_length);
    at[key_length + 1 + value_length] = '\0';
    out->length += need;
}

bool shim_out_end(struct shim_out *out)
{
    if (out->overflow) {
        return false;
    }

    size_t body = out->length - SHIM_HEADER_LENGTH;
    out->data[0] = (unsigned char)(body >> 24);
    out->data[1] = (unsigned char)(body >> 16);
    out->data[2] = (unsigned char)(body >> 8);
    out->data[3] = (unsigned char)body;
    return true;
}

static bool key_byte(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

bool shim_body_valid(const char *body, uint32_t length)
{
    if (length == 0) {
        return true;
    }

    if (body[length - 1] != '\0') {
        return false;
    }

    const char *at = body;
    const char *end = body + length;
    while (at < end) {
        size_t field = strlen(at);
        const char *equals = memchr(at, '=', field);
        if (equals == NULL || equals == at || equals - at > SHIM_MAX_KEY) {
            return false;
        }

        for (const char *c = at; c < equals; c++) {
            if (!key_byte(*c)) {
                return false;
            }
        }

        at += field + 1;
    }

    return true;
}

void shim_fields(const struct shim_in *in, bool (*fn)(const char *key, const char *value, void *state), void *state)
{
    char key[SHIM_MAX_KEY + 1];
    const char *at = in->body;
    const char *end = in->body + in->length;
    while (at < end) {
        size_t field = strlen(at);
        const char *equals = strchr(at, '=');
        size_t key_length = (size_t)(equals - at);
        memcpy(key, at, key_length);
        key[key_length] = '\0';
        if (!fn(key, equals + 1, state)) {
            return;
        }

        at += field + 1;
    }
}

const char *shim_field(const struct shim_in *in, const char *key)
{
    size_t key_length = strlen(key);
    const char *at = in->body;
    const char *end = in->body + in->length;
    while (at < end) {
        size_t field = strlen(at);
        if (field > key_length && at[key_length] == '=' && memcmp(at, key, key_length) == 0) {
            return at + key_length + 1;
        }

        at += field + 1;
    }

    return NULL;
}
