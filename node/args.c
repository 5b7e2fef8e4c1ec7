/*
 * args.c - parsers for the values nomid takes on its command line: decimal seconds,
 * counts and hex strings.  They check everything (empty text, trailing junk, range)
 * because their input comes from a user.
 */
#include "args.h"

#include <errno.h>
#include <stdlib.h>

int args_seconds_ms(const char *text, int *msp)
{
    char *end;

    /* strtod would accept leading blanks, signs, "inf" and "nan": want digits or '.'. */
    if ((text[0] < '0' || text[0] > '9') && text[0] != '.')
        return -EINVAL;
    errno = 0;
    double sec = strtod(text, &end);
    if (end == text || *end != '\0' || errno != 0 || !(sec >= 0.0) || sec > ARGS_SECONDS_MAX)
        return -EINVAL;
    *msp = (int)(sec * 1000.0 + 0.5);
    return 0;
}

int args_count(const char *text, long long min, long long max, long long *out)
{
    char *end;

    if (text[0] < '0' || text[0] > '9')
        return -EINVAL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (*end != '\0' || errno != 0 || v < min || v > max)
        return -EINVAL;
    *out = v;
    return 0;
}

static int args_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int args_hex(const char *text, unsigned char **bufp, size_t *lenp)
{
    size_t n = 0;

    while (text[n] != '\0')
        n++;
    if (n % 2 != 0)
        return -EINVAL;
    /* malloc(0) may return NULL; an empty frame still needs a valid pointer. */
    unsigned char *buf = malloc(n / 2 + 1);
    if (buf == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = args_hex_digit(text[2 * i]);
        int lo = args_hex_digit(text[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            free(buf);
            return -EINVAL;
        }
        buf[i] = (unsigned char)(hi << 4 | lo);
    }
    *bufp = buf;
    *lenp = n / 2;
    return 0;
}
