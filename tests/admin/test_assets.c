/*
 * test_assets.c - the topology page is embedded (admin/assets.h, generated from
 * admin/web/ by admin/web/embed.cmake): "/" is the HTML page, the script and the style
 * sheet are there with their types, and lookups are exact (no traversal, no query).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "assets.h"

static void test_index_is_html(void **state)
{
    (void)state;
    const nma_asset *a = nma_asset_find("/");
    assert_non_null(a);
    assert_string_equal(a->path, "/");
    assert_string_equal(a->type, "text/html; charset=utf-8");
    assert_true(a->size > 0);
    assert_int_equal(strlen((const char *)a->data), a->size); /* NUL after, none inside */
    assert_non_null(strstr((const char *)a->data, "<!doctype html>"));
    assert_non_null(strstr((const char *)a->data, "id=\"status\""));
    assert_ptr_equal(nma_asset_find("/index.html"), a);
}

static void test_script_and_style(void **state)
{
    (void)state;
    const nma_asset *js = nma_asset_find("/app.js");
    assert_non_null(js);
    assert_string_equal(js->type, "text/javascript; charset=utf-8");
    assert_non_null(strstr((const char *)js->data, "'use strict'"));
    const nma_asset *css = nma_asset_find("/style.css");
    assert_non_null(css);
    assert_string_equal(css->type, "text/css; charset=utf-8");
    assert_true(css->size > 0);
}

static void test_not_found(void **state)
{
    (void)state;
    assert_null(nma_asset_find("/nope"));
    assert_null(nma_asset_find("/../etc/passwd"));
    assert_null(nma_asset_find("/app.js?v=1"));
    assert_null(nma_asset_find("app.js"));
    assert_null(nma_asset_find("//"));
    assert_null(nma_asset_find(""));
    assert_null(nma_asset_find(NULL));
}

static void test_table_is_terminated(void **state)
{
    (void)state;
    size_t n = 0;
    for (const nma_asset *a = nma_assets; a->path != NULL; a++) {
        assert_non_null(a->type);
        assert_non_null(a->data);
        n++;
    }
    assert_true(n >= 3); /* index.html, app.js, style.css and whatever comes later */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_index_is_html),
        cmocka_unit_test(test_script_and_style),
        cmocka_unit_test(test_not_found),
        cmocka_unit_test(test_table_is_terminated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
