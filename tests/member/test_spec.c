/*
 * test_spec.c - `--advertise NAME=ENDPOINT` (member/spec.c): what is refused, and which
 * endpoints a socket listens on (as the core reports them) each spec matches.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "spec.h"

static member_spec parse_ok(const char *text)
{
    member_spec s;
    const char *why = "unset";
    assert_int_equal(member_spec_parse(text, &s, &why), 0);
    assert_null(why);
    return s;
}

static void test_parse(void **state)
{
    (void)state;
    member_spec s = parse_ok("camera=tcp://*:5556");
    assert_string_equal(s.name, "camera");
    assert_string_equal(s.endpoint, "tcp://*:5556");
    parse_ok("cam=tcp://127.0.0.1:*");
    parse_ok("cam=tcp://[::1]:0");
    parse_ok("cam=ipc:///run/cam");
    parse_ok("cam=ipc://*");
    const char *bad[] = {"camera",
                         "=tcp://*:1",
                         "cam=",
                         "cam=inproc://x",
                         "cam=svc://x",
                         "cam=tcp://*",
                         "cam=tcp://:1",
                         "cam=tcp://*:",
                         "cam=tcp://*:65536",
                         "cam=tcp://*:12a",
                         "cam=tcp://*:-1",
                         "a,b=tcp://*:1",
                         "cam=ipc://a,b",
                         "cam=ipc://",
                         "ca\nm=tcp://*:1",
                         "cam=tcp://*:123456"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        member_spec b;
        const char *why = NULL;
        assert_int_equal(member_spec_parse(bad[i], &b, &why), -EINVAL);
        assert_non_null(why);
    }
}

static void test_match(void **state)
{
    (void)state;
    member_spec any = parse_ok("c=tcp://*:5556");
    assert_true(member_spec_match(&any, "tcp://0.0.0.0:5556"));
    assert_true(member_spec_match(&any, "tcp://[::]:5556"));
    assert_false(member_spec_match(&any, "tcp://127.0.0.1:5556")); /* not a wildcard bind */
    assert_false(member_spec_match(&any, "tcp://0.0.0.0:5557"));
    assert_false(member_spec_match(&any, "ipc:///tmp/x"));

    member_spec lo = parse_ok("c=tcp://127.0.0.1:*");
    assert_true(member_spec_match(&lo, "tcp://127.0.0.1:41234"));
    assert_false(member_spec_match(&lo, "tcp://0.0.0.0:41234"));
    member_spec zero = parse_ok("c=tcp://*:0");
    assert_true(member_spec_match(&zero, "tcp://0.0.0.0:41234"));

    member_spec ipc = parse_ok("c=ipc:///run/cam");
    assert_true(member_spec_match(&ipc, "ipc:///run/cam"));
    assert_false(member_spec_match(&ipc, "ipc:///run/cam2"));
    member_spec ipcany = parse_ok("c=ipc://*");
    assert_true(member_spec_match(&ipcany, "ipc:///tmp/nomid-1/0"));
    assert_false(member_spec_match(&ipcany, "tcp://0.0.0.0:1"));
    assert_false(member_spec_match(&any, ""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_match),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
