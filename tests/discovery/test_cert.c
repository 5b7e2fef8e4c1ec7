/*
 * test_cert.c - unit tests for CURVE certificates in CZMQ's format (discovery/cert.c,
 * cert_save.c, cert_dir.c): files CZMQ 4.2.1 wrote read back with their keys and
 * metadata; save and load round trips, modes, refusing to overwrite; every prefix of a
 * file; the ZPL forms CZMQ accepts (comments, quotes, bare values, CRLF, odd spaces,
 * other sections); hostile input (wrong key lengths, bad Z85, mismatched keys, missing
 * sections, bad indentation, NUL and control bytes, every limit at and past its bound,
 * huge and non-regular files); and directories of certificates (subdirectories, links,
 * depth and entry limits) with what they skip.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cert.h"
#include "nomid.h"

/* Written by Debian's CZMQ 4.2.1 (zcert_new, zcert_set_meta, zcert_save). */
static const char czmq_secret[] =
    "#   ****  Generated on 2026-12-05 15:43:26 by CZMQ  ****\n"
    "#   ZeroMQ CURVE **Secret** Certificate\n"
    "#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.\n"
    "\n"
    "metadata\n"
    "    name = \"Pieter Hintjens\"\n"
    "    version = \"1\"\n"
    "    email = \"ph@imatix.com\"\n"
    "curve\n"
    "    public-key = \"z?9aV(A>>VTL}@w<<g6nR9y#=-IM<juRf{0RYwIR\"\n"
    "    secret-key = \"VNQ?/54SdJd[&8n{s@hXTlAIF*7GE.LIfgrHq]zA\"\n";
#define CZMQ_PUBLIC "z?9aV(A>>VTL}@w<<g6nR9y#=-IM<juRf{0RYwIR"
#define CZMQ_SECRET "VNQ?/54SdJd[&8n{s@hXTlAIF*7GE.LIfgrHq]zA"

/* Another pair (CZMQ 4.2.1, no metadata), for mismatches. */
#define OTHER_PUBLIC "Qlv0C0&HZs*2Oj(x[b:vwyu#q=!lO)E!muaja7MK"
#define OTHER_SECRET "GcXK<FYj-c77eoJ<lV%w.+v-I8[5<l&<hZGvynYR"

static char err[512];

static int parse(nmd_cert *c, const char *text)
{
    return nmd_cert_parse(c, text, strlen(text), "t.cert", err, sizeof(err));
}

/* A certificate of the given curve-section lines, with or without a secret key. */
static int parse_curve(nmd_cert *c, const char *pub, const char *sec)
{
    char text[512];
    if (sec != NULL)
        snprintf(text, sizeof(text), "curve\n    public-key = \"%s\"\n    secret-key = \"%s\"\n",
                 pub, sec);
    else
        snprintf(text, sizeof(text), "curve\n    public-key = \"%s\"\n", pub);
    return parse(c, text);
}

static void assert_key(const uint8_t *key, const char *z85)
{
    uint8_t want[32];
    assert_non_null(nm_z85_decode(want, z85));
    assert_memory_equal(key, want, 32);
}

static void test_czmq_file(void **state)
{
    (void)state;
    nmd_cert c;
    assert_int_equal(parse(&c, czmq_secret), 0);
    assert_key(c.public_key, CZMQ_PUBLIC);
    assert_true(c.has_secret);
    assert_key(c.secret_key, CZMQ_SECRET);
    assert_int_equal(c.nmeta, 3);
    assert_string_equal(c.meta[0].name, "name");
    assert_string_equal(c.meta[0].value, "Pieter Hintjens");
    assert_string_equal(nmd_cert_meta_get(&c, "version"), "1");
    assert_string_equal(nmd_cert_meta_get(&c, "email"), "ph@imatix.com");
    assert_null(nmd_cert_meta_get(&c, "organization"));

    /* The public twin, as CZMQ writes it (empty metadata section). */
    assert_int_equal(parse(&c, "#   ZeroMQ CURVE Public Certificate\n\nmetadata\ncurve\n"
                               "    public-key = \"" CZMQ_PUBLIC "\"\n"),
                     0);
    assert_false(c.has_secret);
    assert_int_equal(c.nmeta, 0);
    static const uint8_t zero[32];
    assert_memory_equal(c.secret_key, zero, 32);
}

/* Every prefix parses or fails cleanly; only those holding the whole public-key line
 * and no partial secret-key line parse ("    secret-ke" is a name without a value, as
 * valid as any other in ZPL and ignored in the curve section). */
static void test_prefixes(void **state)
{
    (void)state;
    const char *pub_end = strstr(czmq_secret, CZMQ_PUBLIC "\"") + 41;
    const char *sec_line = strstr(czmq_secret, "    secret-key");
    size_t len = strlen(czmq_secret);
    for (size_t n = 0; n <= len; n++) {
        nmd_cert c;
        int rc = nmd_cert_parse(&c, czmq_secret, n, "t", err, sizeof(err));
        bool good =
            czmq_secret + n >= pub_end && (czmq_secret + n <= sec_line + 13 || n >= len - 1);
        if (good)
            assert_int_equal(rc, 0);
        else
            assert_true(rc < 0);
        if (rc == 0)
            assert_key(c.public_key, CZMQ_PUBLIC);
    }
}

static void test_zpl_forms(void **state)
{
    (void)state;
    nmd_cert c;
    /* CRLF, trailing spaces and tabs, tabs around '=', comments after values and on
     * indented lines, single quotes, bare values (a bare value ends at '#'), blank
     * lines, other sections and deeper levels, curve before metadata. */
    const char *text = "# comment\r\n"
                       "\r\n"
                       "other = x   # top-level value\r\n"
                       "    child\r\n"
                       "        grandchild = \"y\"\r\n"
                       "curve   \r\n"
                       "    # a comment inside\r\n"
                       "    public-key\t=\t'" CZMQ_PUBLIC "'   # the key\t \r\n"
                       "        nested = ignored\r\n"
                       "    future-key = \"whatever\"\r\n"
                       "metadata\r\n"
                       "    bare = some words   # and a comment\r\n"
                       "    empty\r\n"
                       "    empty2 = \"\"\r\n"
                       "    hash = \"a#b\"\r\n"
                       "    utf8 = \"Jos\xc3\xa9\"\r\n"
                       "    dollar$-_@.&+/x = 'it''\r\n";
    /* The last line has text after its closing quote: fix it to check the rest. */
    assert_int_equal(parse(&c, text), -EINVAL);
    assert_non_null(strstr(err, "t.cert:17: "));
    char fixed[1024];
    snprintf(fixed, sizeof(fixed), "%.*s    dollar$-_@.&+/x = 'it\"s'\r\n",
             (int)(strstr(text, "    dollar") - text), text);
    assert_int_equal(parse(&c, fixed), 0);
    assert_key(c.public_key, CZMQ_PUBLIC);
    assert_false(c.has_secret);
    assert_int_equal(c.nmeta, 6);
    assert_string_equal(nmd_cert_meta_get(&c, "bare"), "some words");
    assert_string_equal(nmd_cert_meta_get(&c, "empty"), "");
    assert_string_equal(nmd_cert_meta_get(&c, "empty2"), "");
    assert_string_equal(nmd_cert_meta_get(&c, "hash"), "a#b");
    assert_string_equal(nmd_cert_meta_get(&c, "utf8"), "Jos\xc3\xa9");
    assert_string_equal(nmd_cert_meta_get(&c, "dollar$-_@.&+/x"), "it\"s");
    assert_null(nmd_cert_meta_get(&c, "nested"));

    /* A bare value may hold both quotes; no quoting can write it back. */
    assert_int_equal(parse(&c, "curve\n    public-key = \"" CZMQ_PUBLIC "\"\n"
                               "    secret-key = \"" CZMQ_SECRET "\"\n"
                               "metadata\n    motto = it's \"odd\"\n"),
                     0);
    assert_string_equal(nmd_cert_meta_get(&c, "motto"), "it's \"odd\"");
    char buf[1024];
    assert_int_equal(nmd_cert_format(&c, false, buf, sizeof(buf)), -EINVAL);
    assert_int_equal(nmd_cert_save(&c, "/nonexistent/x", false, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "/nonexistent/x: a metadata value holds both ' and \"");

    /* No newline at the end. */
    assert_int_equal(parse(&c, "curve\n    public-key = \"" CZMQ_PUBLIC "\""), 0);
    /* A bare key holding '#' is cut there, as zconfig does: wrong length. */
    assert_int_equal(parse(&c, "curve\n    public-key = " CZMQ_PUBLIC "\n"), -EINVAL);
    assert_non_null(strstr(err, "t.cert:2: public-key has 23 characters"));
    assert_int_equal(parse(&c, "curve\n    public-key = " OTHER_PUBLIC "\n"), -EINVAL);
}

static void test_bad_keys(void **state)
{
    (void)state;
    nmd_cert c;
    assert_int_equal(parse_curve(&c, CZMQ_PUBLIC, CZMQ_SECRET), 0);
    assert_int_equal(parse_curve(&c, OTHER_PUBLIC, OTHER_SECRET), 0);
    /* Lengths: 39, 41, 0, 45. */
    assert_int_equal(parse_curve(&c, "z?9aV(A>>VTL}@w<<g6nR9y#=-IM<juRf{0RYwI", NULL), -EINVAL);
    assert_non_null(strstr(err, "t.cert:2: public-key has 39 characters, a Z85 key has 40"));
    assert_int_equal(parse_curve(&c, CZMQ_PUBLIC "0", NULL), -EINVAL);
    assert_int_equal(parse_curve(&c, "", NULL), -EINVAL);
    assert_int_equal(parse_curve(&c, CZMQ_PUBLIC "00000", NULL), -EINVAL);
    assert_int_equal(parse_curve(&c, CZMQ_PUBLIC, CZMQ_SECRET "0"), -EINVAL);
    assert_non_null(strstr(err, "t.cert:3: secret-key has 41"));
    /* Characters outside Z85, a group over 2^32. */
    assert_int_equal(parse_curve(&c, "z?9aV(A>>VTL}@w<<g6nR9y#=-IM<juRf{0RYwI~", NULL), -EINVAL);
    assert_non_null(strstr(err, "public-key is not valid Z85"));
    assert_int_equal(parse_curve(&c, "z?9aV(A>>VTL}@w<<g6nR9y#=-IM<juRf{0R,wIR", NULL), -EINVAL);
    assert_int_equal(parse_curve(&c, "#####(A>>VTL}@w<<g6nR9y#=-IM<juRf{0RYwIR", NULL), -EINVAL);
    assert_int_equal(parse_curve(&c, CZMQ_PUBLIC, "VNQ?/54SdJd[&8n{s@hXTlAIF*7GE.LIfgrHq]z\\"),
                     -EINVAL);
    /* A secret key that is not the public key's. */
    assert_int_equal(parse_curve(&c, CZMQ_PUBLIC, OTHER_SECRET), -EINVAL);
    assert_non_null(strstr(err, "t.cert: secret-key does not belong to public-key"));
    assert_false(c.has_secret); /* wiped on failure */
    assert_int_equal(parse_curve(&c, OTHER_PUBLIC, CZMQ_SECRET), -EINVAL);
    /* CZMQ's zcert_save of a certificate loaded from a public file: a zero secret key. */
    assert_int_equal(parse_curve(&c, CZMQ_PUBLIC, "0000000000000000000000000000000000000000"),
                     -EINVAL);
    /* Two of a key. */
    assert_int_equal(parse(&c, "curve\n    public-key = \"" CZMQ_PUBLIC "\"\n"
                               "    public-key = \"" CZMQ_PUBLIC "\"\n"),
                     -EINVAL);
    assert_non_null(strstr(err, "t.cert:3: a second public-key"));
    assert_int_equal(parse(&c, "curve\n    public-key = \"" CZMQ_PUBLIC "\"\n"
                               "curve\n    public-key = \"" OTHER_PUBLIC "\"\n"),
                     -EINVAL);
    assert_int_equal(parse(&c, "curve\n    public-key = \"" CZMQ_PUBLIC "\"\n"
                               "    secret-key = \"" CZMQ_SECRET "\"\n"
                               "    secret-key = \"" CZMQ_SECRET "\"\n"),
                     -EINVAL);
}

static void test_missing(void **state)
{
    (void)state;
    nmd_cert c;
    assert_int_equal(parse(&c, ""), -EINVAL);
    assert_string_equal(err, "t.cert: no public-key in a curve section");
    assert_int_equal(parse(&c, "# only a comment\n\n"), -EINVAL);
    assert_int_equal(parse(&c, "metadata\n    name = \"x\"\n"), -EINVAL);
    assert_int_equal(parse(&c, "curve\n"), -EINVAL);
    /* public-key in the wrong place: top level, metadata, deeper, another section. */
    assert_int_equal(parse(&c, "public-key = \"" CZMQ_PUBLIC "\"\n"), -EINVAL);
    assert_int_equal(parse(&c, "metadata\n    public-key = \"" CZMQ_PUBLIC "\"\n"), -EINVAL);
    assert_int_equal(parse(&c, "curve\n    keys\n        public-key = \"" CZMQ_PUBLIC "\"\n"),
                     -EINVAL);
    assert_int_equal(parse(&c, "Curve\n    public-key = \"" CZMQ_PUBLIC "\"\n"), -EINVAL);
    assert_int_equal(parse(&c, "curve\n    public_key = \"" CZMQ_PUBLIC "\"\n"), -EINVAL);
    /* Only a secret key. */
    assert_int_equal(parse(&c, "curve\n    secret-key = \"" CZMQ_SECRET "\"\n"), -EINVAL);
}

static void test_syntax(void **state)
{
    (void)state;
    nmd_cert c;
    static const struct {
        const char *text;
        const char *msg;
    } bad[] = {
        {"curve\n  public-key = \"x\"\n", "t.cert:2: indentation of 2 spaces"},
        {"curve\n\tpublic-key = \"x\"\n", "t.cert:2: a tab in the indentation"},
        {"curve\n        public-key = \"x\"\n", "t.cert:2: indented deeper"},
        {"    curve\n", "t.cert:1: indented deeper"},
        {"curve\n    public-key = \"" CZMQ_PUBLIC "\n", "t.cert:2: no closing \""},
        {"curve\n    public-key = '" CZMQ_PUBLIC "\"\n", "t.cert:2: no closing '"},
        {"curve\n    public-key = \"" CZMQ_PUBLIC "\" x\n", "text after the closing quote"},
        {"curve x\n", "t.cert:1: expected '=' or the end of the line after 'curve'"},
        {"=x\n", "t.cert:1: expected a name, found '='"},
        {"curve\n    \"public-key\" = \"x\"\n", "expected a name, found '\"'"},
        {"\x1b[31m\n", "t.cert:1: expected a name, found byte 0x1b"},
        {"/curve\n", "t.cert:1: a name may not start or end with '/'"},
        {"curve/\n", "may not start or end"},
        {"metadata\n    name = \"a\x1b[2Jb\"\n", "t.cert:2: a control character in the value"},
        {"metadata\n    name = a\x01\n", "control character"},
        {"metadata\n    name = \"a\"\n    name = \"b\"\n", "t.cert:3: a second metadata 'name'"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(parse(&c, bad[i].text), -EINVAL);
        if (strstr(err, bad[i].msg) == NULL)
            fail_msg("case %zu: '%s' does not hold '%s'", i, err, bad[i].msg);
    }
    /* A NUL byte anywhere. */
    char text[128];
    int n = snprintf(text, sizeof(text), "curve\n    public-key = \"%s\"\n", CZMQ_PUBLIC);
    for (int at = 0; at < n; at++) {
        char copy[128];
        memcpy(copy, text, (size_t)n);
        copy[at] = '\0';
        assert_true(nmd_cert_parse(&c, copy, (size_t)n, "t", err, sizeof(err)) < 0);
    }
    /* A message cut to a small buffer stays a string; no buffer at all is fine. */
    char small[8];
    assert_int_equal(nmd_cert_parse(&c, "curve x", 7, "file", small, sizeof(small)), -EINVAL);
    assert_string_equal(small, "file:1:");
    assert_int_equal(nmd_cert_parse(&c, "curve x", 7, "file", NULL, 0), -EINVAL);
}

static void test_limits(void **state)
{
    (void)state;
    nmd_cert c;
    char *text = malloc(NMD_CERT_FILE_MAX + 2);
    assert_non_null(text);
    /* File size: exactly the limit parses (comment padding), one more byte does not. */
    int n = snprintf(text, 200, "curve\n    public-key = \"%s\"\n", CZMQ_PUBLIC);
    while (n < NMD_CERT_FILE_MAX) {
        int line = NMD_CERT_FILE_MAX - n > 512 ? 512 : NMD_CERT_FILE_MAX - n;
        memset(text + n, '#', (size_t)line - 1);
        text[n + line - 1] = '\n';
        n += line;
    }
    assert_int_equal(nmd_cert_parse(&c, text, NMD_CERT_FILE_MAX, "t", err, sizeof(err)), 0);
    text[NMD_CERT_FILE_MAX] = '\n';
    assert_int_equal(nmd_cert_parse(&c, text, NMD_CERT_FILE_MAX + 1, "t", err, sizeof(err)),
                     -EFBIG);
    assert_string_equal(err, "t: larger than 65536 bytes");
    /* Line length: 1024 bytes pass, 1025 do not. */
    n = snprintf(text, 200, "curve\n    public-key = \"%s\"\n", CZMQ_PUBLIC);
    memset(text + n, '#', NMD_CERT_LINE_MAX);
    assert_int_equal(nmd_cert_parse(&c, text, (size_t)n + NMD_CERT_LINE_MAX, "t", err, sizeof(err)),
                     0);
    text[n + NMD_CERT_LINE_MAX] = '#';
    assert_int_equal(
        nmd_cert_parse(&c, text, (size_t)n + NMD_CERT_LINE_MAX + 1, "t", err, sizeof(err)), -EFBIG);
    assert_string_equal(err, "t:3: line longer than 1024 bytes");

    /* Metadata: count, name and value lengths at and past their bounds. */
    char name[NMD_CERT_META_NAME_MAX + 2], value[NMD_CERT_META_VALUE_MAX + 2];
    memset(name, 'n', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    memset(value, 'v', sizeof(value) - 1);
    value[sizeof(value) - 1] = '\0';
    for (int over = 0; over < 2; over++) {
        n = snprintf(text, 200, "curve\n    public-key = \"%s\"\nmetadata\n", CZMQ_PUBLIC);
        for (int i = 0; i < NMD_CERT_META_MAX + over; i++)
            n += snprintf(text + n, 200, "    m%d = \"%d\"\n", i, i);
        assert_int_equal(parse(&c, text), over ? -EFBIG : 0);
        if (over)
            assert_string_equal(err, "t.cert:20: more than 16 metadata pairs");
        else
            assert_string_equal(nmd_cert_meta_get(&c, "m15"), "15");
        snprintf(text, 2000, "metadata\n    %s = x\n", name + 1 - over);
        assert_int_equal(parse(&c, text), over ? -EFBIG : -EINVAL); /* -EINVAL: no key */
        snprintf(text, 2000, "metadata\n    x = \"%s\"\n", value + 1 - over);
        assert_int_equal(parse(&c, text), over ? -EFBIG : -EINVAL);
    }
    snprintf(text, 2000, "curve\n    public-key = \"%s\"\nmetadata\n    %s = \"%s\"\n", CZMQ_PUBLIC,
             name + 1, value + 1);
    assert_int_equal(parse(&c, text), 0);
    assert_string_equal(c.meta[0].name, name + 1);
    assert_string_equal(c.meta[0].value, value + 1);
    free(text);
}

static void test_set_meta(void **state)
{
    (void)state;
    nmd_cert c;
    assert_int_equal(nmd_cert_generate(&c), 0);
    assert_true(c.has_secret);
    uint8_t derived[32];
    assert_int_equal(nm_curve_public(derived, c.secret_key), 0);
    assert_memory_equal(derived, c.public_key, 32);
    assert_int_equal(nmd_cert_set_meta(&c, "name", "a"), 0);
    assert_int_equal(nmd_cert_set_meta(&c, "name", "b"), 0); /* replaces */
    assert_int_equal(c.nmeta, 1);
    assert_string_equal(nmd_cert_meta_get(&c, "name"), "b");
    assert_int_equal(nmd_cert_set_meta(&c, "", "x"), -EINVAL);
    assert_int_equal(nmd_cert_set_meta(&c, "a b", "x"), -EINVAL);
    assert_int_equal(nmd_cert_set_meta(&c, "a=b", "x"), -EINVAL);
    assert_int_equal(nmd_cert_set_meta(&c, "/a", "x"), -EINVAL);
    assert_int_equal(nmd_cert_set_meta(&c, "a", "line\nbreak"), -EINVAL);
    assert_int_equal(nmd_cert_set_meta(&c, "a", "both ' and \""), -EINVAL);
    assert_int_equal(nmd_cert_set_meta(&c, "a", "one \" kind"), 0);
    for (int i = c.nmeta; i < NMD_CERT_META_MAX; i++) {
        char name[16];
        snprintf(name, sizeof(name), "k%d", i);
        assert_int_equal(nmd_cert_set_meta(&c, name, "v"), 0);
    }
    assert_int_equal(nmd_cert_set_meta(&c, "one-more", "v"), -ENOSPC);

    /* Formatting into a short buffer reports the length needed, a string always. */
    char small[16];
    int need = nmd_cert_format(&c, true, small, sizeof(small));
    assert_true(need > (int)sizeof(small));
    assert_int_equal(strlen(small), sizeof(small) - 1);
    char *full = malloc((size_t)need + 1);
    assert_int_equal(nmd_cert_format(&c, true, full, (size_t)need + 1), need);
    nmd_cert back;
    assert_int_equal(nmd_cert_parse(&back, full, (size_t)need, "f", err, sizeof(err)), 0);
    assert_memory_equal(back.secret_key, c.secret_key, 32);
    assert_int_equal(back.nmeta, NMD_CERT_META_MAX);
    assert_string_equal(nmd_cert_meta_get(&back, "a"), "one \" kind");
    free(full);
    nmd_cert_wipe(&c);
    assert_false(c.has_secret);
    assert_int_equal(nmd_cert_format(&c, true, small, sizeof(small)), -EINVAL);
}

/* A fresh directory under /tmp for one test. */
static void tmpdir(char *dir, size_t cap)
{
    snprintf(dir, cap, "/tmp/nomid-test-cert-XXXXXX");
    assert_non_null(mkdtemp(dir));
}

static void rm_rf(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void write_file(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void test_save_load(void **state)
{
    (void)state;
    char dir[64], path[128], secret[160];
    tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/node", dir);
    snprintf(secret, sizeof(secret), "%s/node_secret", dir);
    nmd_cert c, pub, sec;
    assert_int_equal(nmd_cert_generate(&c), 0);
    assert_int_equal(nmd_cert_set_meta(&c, "name", "camera front"), 0);
    mode_t old = umask(022);
    assert_int_equal(nmd_cert_save(&c, path, false, err, sizeof(err)), 0);
    umask(old);

    struct stat st;
    assert_int_equal(stat(secret, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);

    assert_int_equal(nmd_cert_load(&pub, path, err, sizeof(err)), 0);
    assert_false(pub.has_secret);
    assert_memory_equal(pub.public_key, c.public_key, 32);
    assert_string_equal(nmd_cert_meta_get(&pub, "name"), "camera front");
    assert_int_equal(nmd_cert_load(&sec, secret, err, sizeof(err)), 0);
    assert_true(sec.has_secret);
    assert_memory_equal(sec.public_key, c.public_key, 32);
    assert_memory_equal(sec.secret_key, c.secret_key, 32);

    /* CZMQ's header comments. */
    char text[2048];
    FILE *f = fopen(path, "r");
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    assert_non_null(strstr(text, "\n#   ZeroMQ CURVE Public Certificate\n"));
    assert_null(strstr(text, "secret-key"));
    f = fopen(secret, "r");
    n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    assert_non_null(strstr(text, "\n#   ZeroMQ CURVE **Secret** Certificate\n"));

    /* No overwrite without force, of either file; nothing written then. */
    nmd_cert c2;
    assert_int_equal(nmd_cert_generate(&c2), 0);
    assert_int_equal(nmd_cert_save(&c2, path, false, err, sizeof(err)), -EEXIST);
    assert_non_null(strstr(err, "exists"));
    assert_int_equal(nmd_cert_load(&sec, secret, err, sizeof(err)), 0);
    assert_memory_equal(sec.secret_key, c.secret_key, 32);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(nmd_cert_save(&c2, path, false, err, sizeof(err)), -EEXIST);
    assert_int_equal(access(path, F_OK), -1); /* the public file was not written either */
    assert_int_equal(nmd_cert_save(&c2, path, true, err, sizeof(err)), 0);
    assert_int_equal(nmd_cert_load(&sec, secret, err, sizeof(err)), 0);
    assert_memory_equal(sec.secret_key, c2.secret_key, 32);
    assert_int_equal(nmd_cert_load(&pub, path, err, sizeof(err)), 0);
    assert_memory_equal(pub.public_key, c2.public_key, 32);

    /* Without a secret key there is nothing to save; a missing directory fails. */
    assert_int_equal(nmd_cert_save(&pub, path, true, err, sizeof(err)), -EINVAL);
    snprintf(path, sizeof(path), "%s/no/such/dir", dir);
    assert_int_equal(nmd_cert_save(&c2, path, false, err, sizeof(err)), -ENOENT);
    assert_non_null(strstr(err, "cannot create"));

    /* Not a file name; a directory in the way even with force: nothing written. */
    static const char *const names[] = {"", "/", "x/", ".", "x/..", "/tmp/."};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        assert_int_equal(nmd_cert_save(&c2, names[i], true, err, sizeof(err)), -EINVAL);
    snprintf(path, sizeof(path), "%s/node", dir);
    snprintf(text, sizeof(text), "%s/d", dir);
    assert_int_equal(mkdir(text, 0700), 0);
    assert_int_equal(nmd_cert_save(&c2, text, true, err, sizeof(err)), -EEXIST);
    assert_non_null(strstr(err, "/d exists and is not a file"));
    assert_int_equal(rmdir(text), 0);

    /* Only the two files are left: no temporary one. */
    snprintf(text, sizeof(text), "test $(ls -A '%s' | wc -l) = 2", dir);
    assert_int_equal(system(text), 0);
    rm_rf(dir);
}

static void test_load_files(void **state)
{
    (void)state;
    char dir[64], path[128];
    tmpdir(dir, sizeof(dir));
    nmd_cert c;
    snprintf(path, sizeof(path), "%s/missing", dir);
    assert_int_equal(nmd_cert_load(&c, path, err, sizeof(err)), -ENOENT);
    assert_non_null(strstr(err, "/missing: cannot open"));
    assert_int_equal(nmd_cert_load(&c, dir, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "not a regular file"));
    assert_int_equal(nmd_cert_load(&c, "/dev/zero", err, sizeof(err)), -EINVAL);
    assert_int_equal(nmd_cert_load(&c, "/dev/null", err, sizeof(err)), -EINVAL);

    /* A file over the limit, whatever it holds. */
    size_t big = NMD_CERT_FILE_MAX + 100;
    char *text = malloc(big);
    int n = snprintf(text, 200, "curve\n    public-key = \"%s\"\n", CZMQ_PUBLIC);
    memset(text + n, '\n', big - (size_t)n);
    snprintf(path, sizeof(path), "%s/big", dir);
    write_file(path, text, big);
    assert_int_equal(nmd_cert_load(&c, path, err, sizeof(err)), -EFBIG);
    assert_non_null(strstr(err, "/big: larger than 65536 bytes"));
    free(text);

    /* A bad line is named with the file and line. */
    snprintf(path, sizeof(path), "%s/bad", dir);
    write_file(path, "curve\n   public-key = \"x\"\n", 26);
    assert_int_equal(nmd_cert_load(&c, path, err, sizeof(err)), -EINVAL);
    char want[160];
    snprintf(want, sizeof(want), "%s:2: indentation of 3 spaces", path);
    assert_non_null(strstr(err, want));
    rm_rf(dir);
}

static int nskipped;
static char skipped[32][512];

static void skip_cb(void *arg, const char *path, const char *reason)
{
    (void)arg;
    if (nskipped < 32)
        snprintf(skipped[nskipped++], sizeof(skipped[0]), "%s: %s", strrchr(path, '/') + 1, reason);
}

static void test_dir(void **state)
{
    (void)state;
    char dir[64], path[300];
    tmpdir(dir, sizeof(dir));
    nmd_cert a, b, d, e;
    assert_int_equal(nmd_cert_generate(&a), 0);
    assert_int_equal(nmd_cert_set_meta(&a, "name", "alice"), 0);
    assert_int_equal(nmd_cert_generate(&b), 0);
    assert_int_equal(nmd_cert_generate(&d), 0);
    assert_int_equal(nmd_cert_generate(&e), 0);
    snprintf(path, sizeof(path), "%s/alice", dir);
    assert_int_equal(nmd_cert_save(&a, path, false, err, sizeof(err)), 0); /* + _secret */
    snprintf(path, sizeof(path), "%s/bob.key", dir);
    assert_int_equal(nmd_cert_save(&b, path, false, err, sizeof(err)), 0);
    snprintf(path, sizeof(path), "%s/bob.key_secret", dir);
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "cd '%s' && cp bob.key_secret charlie && cp alice alice-again && mkdir sub team "
             "&& mkdir -p zdeep/1/2/3/4/5/6/7/8 && ln -s team link",
             dir);
    assert_int_equal(system(cmd), 0); /* a secret file under a public name; a duplicate */
    snprintf(path, sizeof(path), "%s/team/dave", dir);
    assert_int_equal(nmd_cert_save(&d, path, false, err, sizeof(err)), 0);
    snprintf(path, sizeof(path), "%s/zdeep/1/2/3/4/5/6/7/eve", dir); /* 8 levels down */
    assert_int_equal(nmd_cert_save(&e, path, false, err, sizeof(err)), 0);
    snprintf(path, sizeof(path), "%s/zdeep/1/2/3/4/5/6/7/8/frank", dir); /* 9: too deep */
    write_file(path, czmq_secret, strlen(czmq_secret));
    snprintf(path, sizeof(path), "%s/.hidden", dir);
    write_file(path, czmq_secret, strlen(czmq_secret));
    snprintf(path, sizeof(path), "%s/README", dir);
    write_file(path, "certificates of the fleet\n", 26);
    snprintf(path, sizeof(path), "%s/dangling", dir);
    assert_int_equal(symlink("/nonexistent/x", path), 0);

    nmd_cert_list l = {0};
    nskipped = 0;
    assert_int_equal(nmd_cert_dir_load(&l, dir, skip_cb, NULL, err, sizeof(err)), 4);
    assert_int_equal(l.n, 4);
    /* In name order: alice, bob.key, team/dave, zdeep/.../eve; charlie (bob's secret
     * file) is a duplicate. */
    assert_memory_equal(l.certs[0].public_key, a.public_key, 32);
    assert_string_equal(nmd_cert_meta_get(&l.certs[0], "name"), "alice");
    assert_memory_equal(l.certs[1].public_key, b.public_key, 32);
    assert_memory_equal(l.certs[2].public_key, d.public_key, 32);
    assert_memory_equal(l.certs[3].public_key, e.public_key, 32);
    for (int i = 0; i < l.n; i++)
        assert_false(l.certs[i].has_secret);
    static const uint8_t zero[32];
    assert_memory_equal(l.certs[1].secret_key, zero, 32);
    assert_non_null(nmd_cert_list_find(&l, a.public_key));
    assert_non_null(nmd_cert_list_find(&l, b.public_key));
    uint8_t other[32];
    assert_non_null(nm_z85_decode(other, CZMQ_PUBLIC));
    assert_null(nmd_cert_list_find(&l, other)); /* only in the hidden and deep files */

    static const char *const want[] = {
        ".hidden: a hidden file",
        "README: line 1: expected '=' or the end of the line after 'certificates'",
        "alice-again: the same public key as a certificate before it",
        "alice_secret: a secret certificate",
        "bob.key_secret: a secret certificate",
        "charlie: the same public key as a certificate before it",
        "dangling: cannot be read",
        "link: a link to a directory (not followed)",
        "dave_secret: a secret certificate",
        "8: a directory deeper than 8 levels (not searched)",
        "eve_secret: a secret certificate",
    };
    enum { NWANT = sizeof(want) / sizeof(want[0]) };
    assert_int_equal(nskipped, NWANT);
    for (int i = 0; i < NWANT; i++)
        if (strncmp(skipped[i], want[i], strlen(want[i])) != 0)
            fail_msg("skip %d: '%s', want '%s'", i, skipped[i], want[i]);

    /* Appends; fini empties. */
    assert_int_equal(nmd_cert_dir_load(&l, dir, NULL, NULL, err, sizeof(err)), 0);
    assert_int_equal(l.n, 4);
    nmd_cert_list_fini(&l);
    assert_int_equal(l.n, 0);
    assert_null(l.certs);

    /* A missing directory, a file given as directory. */
    snprintf(path, sizeof(path), "%s/none", dir);
    assert_int_equal(nmd_cert_dir_load(&l, path, NULL, NULL, err, sizeof(err)), -ENOENT);
    assert_non_null(strstr(err, "/none: cannot open the directory"));
    snprintf(path, sizeof(path), "%s/README", dir);
    assert_int_equal(nmd_cert_dir_load(&l, path, NULL, NULL, err, sizeof(err)), -ENOTDIR);

    /* The entry limit: NMD_CERT_DIR_MAX pass, one more does not, subdirectories'
     * entries included. */
    snprintf(path, sizeof(path), "%s/sub", dir);
    for (int i = 0; i < NMD_CERT_DIR_MAX; i++) {
        char f[400];
        snprintf(f, sizeof(f), "%s/f%04d", path, i);
        write_file(f, "", 0);
    }
    assert_int_equal(nmd_cert_dir_load(&l, path, NULL, NULL, err, sizeof(err)), 0);
    assert_int_equal(nmd_cert_dir_load(&l, dir, NULL, NULL, err, sizeof(err)), -EFBIG);
    assert_non_null(strstr(err, "more than 1024 entries (subdirectories included)"));
    char f[400];
    snprintf(f, sizeof(f), "%s/one-more", path);
    write_file(f, "", 0);
    assert_int_equal(nmd_cert_dir_load(&l, path, NULL, NULL, err, sizeof(err)), -EFBIG);
    nmd_cert_list_fini(&l);
    rm_rf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_czmq_file), cmocka_unit_test(test_prefixes),
        cmocka_unit_test(test_zpl_forms), cmocka_unit_test(test_bad_keys),
        cmocka_unit_test(test_missing),   cmocka_unit_test(test_syntax),
        cmocka_unit_test(test_limits),    cmocka_unit_test(test_set_meta),
        cmocka_unit_test(test_save_load), cmocka_unit_test(test_load_files),
        cmocka_unit_test(test_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
