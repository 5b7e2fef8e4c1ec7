/*
 * test_etcd_stream.c - the watch stream splitter: objects arrive whole, several per
 * chunk, or cut at every possible byte (inside strings, escapes, numbers, between
 * lines); braces inside strings do not count; garbage lines and spans that do not
 * parse are skipped and counted without losing the objects around them; an object
 * outgrowing the cap fails the feed with -EMSGSIZE; a callback's error stops it.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "etcd.h"

/* What the callback saw: each object re-encoded compactly, the first 16 kept. */
static char got[16][512];
static int ngot;

static int collect_cb(void *arg, json_t *obj)
{
    (void)arg;
    char *s = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    assert_non_null(s);
    if (ngot < 16)
        snprintf(got[ngot], sizeof(got[0]), "%s", s);
    ngot++;
    free(s);
    return 0;
}

static int feed(nmd_etcd_stream *s, const char *text)
{
    return nmd_etcd_stream_feed(s, text, strlen(text), collect_cb, NULL);
}

/* Two watch responses as the gateway writes them, with awkward strings. */
static const char two[] =
    "{\"result\":{\"header\":{\"revision\":\"2\"},\"events\":[{\"kv\":{\"key\":\"L2E=\"}}]}}\n"
    "{\"result\":{\"s\":\"br{ace}s [ ] and \\\"quotes\\\" and \\\\\",\"n\":-12.5e3}}\n";
static const char first[] = "{\"result\":{\"events\":[{\"kv\":{\"key\":\"L2E=\"}}],\"header\":{"
                            "\"revision\":\"2\"}}}";
static const char second[] =
    "{\"result\":{\"n\":-12500.0,\"s\":\"br{ace}s [ ] and \\\"quotes\\\" and \\\\\"}}";

static void whole_objects(void **state)
{
    (void)state;
    nmd_etcd_stream s;
    nmd_etcd_stream_init(&s, 4096);
    ngot = 0;
    assert_int_equal(feed(&s, two), 0);
    assert_int_equal(ngot, 2);
    assert_string_equal(got[0], first);
    assert_string_equal(got[1], second);
    assert_int_equal(s.garbage, 0);
    assert_int_equal(s.len, 0);
    nmd_etcd_stream_fini(&s);
}

static void cut_at_every_byte(void **state)
{
    (void)state;
    size_t n = strlen(two);
    for (size_t cut = 1; cut < n; cut++) {
        nmd_etcd_stream s;
        nmd_etcd_stream_init(&s, 4096);
        ngot = 0;
        assert_int_equal(nmd_etcd_stream_feed(&s, two, cut, collect_cb, NULL), 0);
        assert_int_equal(nmd_etcd_stream_feed(&s, two + cut, n - cut, collect_cb, NULL), 0);
        assert_int_equal(ngot, 2);
        assert_string_equal(got[0], first);
        assert_string_equal(got[1], second);
        nmd_etcd_stream_fini(&s);
    }
    /* and one byte at a time, with no newlines between the objects */
    nmd_etcd_stream s;
    nmd_etcd_stream_init(&s, 4096);
    ngot = 0;
    const char *glued = "{\"a\":\"}\"}[1,{\"b\":[]}]{\"c\":\"\\\\\"}";
    for (const char *p = glued; *p; p++)
        assert_int_equal(nmd_etcd_stream_feed(&s, p, 1, collect_cb, NULL), 0);
    assert_int_equal(ngot, 3);
    assert_string_equal(got[0], "{\"a\":\"}\"}");
    assert_string_equal(got[1], "[1,{\"b\":[]}]");
    assert_string_equal(got[2], "{\"c\":\"\\\\\"}");
    nmd_etcd_stream_fini(&s);
}

static void garbage_is_skipped(void **state)
{
    (void)state;
    nmd_etcd_stream s;
    nmd_etcd_stream_init(&s, 4096);
    ngot = 0;
    /* a garbage line (with a brace in it), an object that does not parse, a stray
     * closing brace, then a good object */
    assert_int_equal(feed(&s, "HTTP/1.1 oops {\"x\":1}\n{\"a\":}\n}\n  {\"ok\":"), 0);
    assert_int_equal(feed(&s, "true}\r\n"), 0);
    assert_int_equal(ngot, 1);
    assert_string_equal(got[0], "{\"ok\":true}");
    assert_int_equal(s.garbage, 3);
    /* garbage cut across feeds is skipped to its end of line */
    assert_int_equal(feed(&s, "12345"), 0);
    assert_int_equal(feed(&s, "{\"no\":1}\n{\"yes\":1}"), 0);
    assert_int_equal(ngot, 2);
    assert_string_equal(got[1], "{\"yes\":1}");
    assert_int_equal(s.garbage, 4);
    /* after a reset a half object is forgotten */
    assert_int_equal(feed(&s, "{\"half\":"), 0);
    nmd_etcd_stream_reset(&s);
    assert_int_equal(feed(&s, "{\"new\":2}"), 0);
    assert_int_equal(ngot, 3);
    assert_string_equal(got[2], "{\"new\":2}");
    nmd_etcd_stream_fini(&s);
}

static void cap_is_enforced(void **state)
{
    (void)state;
    nmd_etcd_stream s;
    nmd_etcd_stream_init(&s, 64);
    ngot = 0;
    /* an object of exactly 64 bytes passes */
    char ok[65];
    int k = snprintf(ok, sizeof(ok), "{\"p\":\"");
    memset(ok + k, 'x', 64 - (size_t)k - 2);
    memcpy(ok + 62, "\"}", 3);
    assert_int_equal(strlen(ok), 64);
    assert_int_equal(feed(&s, ok), 0);
    assert_int_equal(ngot, 1);
    /* one never closed grows past the cap, fed in small pieces or at once */
    assert_int_equal(feed(&s, "{\"p\":\""), 0);
    int rc = 0;
    for (int i = 0; i < 100 && rc == 0; i++)
        rc = feed(&s, "xxxxxxxxxx");
    assert_int_equal(rc, -EMSGSIZE);
    assert_int_equal(s.len, 0);
    char big[1000];
    memset(big, '[', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(feed(&s, big), -EMSGSIZE);
    /* the stream works again afterwards */
    nmd_etcd_stream_reset(&s);
    assert_int_equal(feed(&s, "{\"after\":1}"), 0);
    assert_int_equal(ngot, 2);
    nmd_etcd_stream_fini(&s);
}

static int stop_cb(void *arg, json_t *obj)
{
    (void)obj;
    return ++*(int *)arg == 2 ? -ESTALE : 0;
}

static void callback_stops_the_feed(void **state)
{
    (void)state;
    nmd_etcd_stream s;
    nmd_etcd_stream_init(&s, 4096);
    int calls = 0;
    const char *three = "{\"a\":1}{\"b\":2}{\"c\":3}";
    assert_int_equal(nmd_etcd_stream_feed(&s, three, strlen(three), stop_cb, &calls), -ESTALE);
    assert_int_equal(calls, 2);
    assert_int_equal(s.objects, 2);
    nmd_etcd_stream_fini(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(whole_objects),           cmocka_unit_test(cut_at_every_byte),
        cmocka_unit_test(garbage_is_skipped),      cmocka_unit_test(cap_is_enforced),
        cmocka_unit_test(callback_stops_the_feed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
