/* Account filters: parsing and intersection (which never widens either side). */
#include "support.h"

#include <fnmatch.h>
#include <string.h>

static bool matches(const mt_account_filter *f, const char *email)
{
    if (f->n_email_globs == 0)
        return true;
    for (size_t i = 0; i < f->n_email_globs; i++)
        if (fnmatch(f->email_globs[i], email, FNM_CASEFOLD) == 0)
            return true;
    return false;
}

static void parse(void **state)
{
    (void)state;
    mt_account_filter f;
    assert_int_equal(mt_filter_parse("org=acme;emails=alice@*,*@sales.example.org;kind=external", &f), MT_OK);
    assert_string_equal(f.org, "acme");
    assert_int_equal(f.n_email_globs, 2);
    assert_string_equal(f.email_globs[1], "*@sales.example.org");
    assert_int_equal(f.kind, MT_FILTER_EXTERNAL);
    mt_filter_clear(&f);
    assert_int_equal(mt_filter_parse("", &f), MT_OK);
    assert_null(f.org);
    assert_int_equal(f.n_email_globs, 0);
    assert_int_equal(mt_filter_parse(NULL, &f), MT_OK);
    assert_int_equal(mt_filter_parse("colour=blue", &f), MT_ERR_INVALID);
    assert_non_null(strstr(mt_errmsg(), "colour"));
    assert_int_equal(mt_filter_parse("kind=all;emails=a@*,,b@*", &f), MT_ERR_INVALID);
    assert_int_equal(mt_filter_parse("justtext", &f), MT_ERR_INVALID);
    assert_int_equal(mt_filter_parse("org=", &f), MT_ERR_INVALID);
}

static void intersect(void **state)
{
    (void)state;
    mt_account_filter a, b, out;
    assert_int_equal(mt_filter_parse("org=acme;emails=*@example.org", &a), MT_OK);
    assert_int_equal(mt_filter_parse("emails=alice@*,bob@other.net;kind=internal", &b), MT_OK);
    assert_int_equal(mt_filter_intersect(&a, &b, &out), MT_OK);
    assert_string_equal(out.org, "acme");
    assert_int_equal(out.kind, MT_FILTER_INTERNAL);
    assert_true(matches(&out, "alice@example.org"));
    assert_false(matches(&out, "bob@other.net"));   /* excluded by a */
    assert_false(matches(&out, "carol@example.org")); /* excluded by b */
    mt_filter_clear(&out);
    mt_filter_clear(&b);

    /* one side without globs keeps the other's */
    assert_int_equal(mt_filter_parse("kind=all", &b), MT_OK);
    assert_int_equal(mt_filter_intersect(&a, &b, &out), MT_OK);
    assert_true(matches(&out, "carol@example.org"));
    assert_false(matches(&out, "carol@other.net"));
    mt_filter_clear(&out);
    mt_filter_clear(&b);

    /* disjoint: nothing matches */
    assert_int_equal(mt_filter_parse("org=other;kind=external", &b), MT_OK);
    mt_account_filter c;
    assert_int_equal(mt_filter_parse("emails=x@nowhere.test", &c), MT_OK);
    assert_int_equal(mt_filter_intersect(&a, &c, &out), MT_OK);
    assert_false(matches(&out, "x@nowhere.test"));
    assert_false(matches(&out, "alice@example.org"));
    mt_filter_clear(&out);
    assert_int_equal(mt_filter_intersect(&a, &b, &out), MT_OK);
    assert_string_not_equal(out.org, "acme");
    assert_string_not_equal(out.org, "other");
    mt_filter_clear(&out);
    mt_filter_clear(&a);
    mt_filter_clear(&b);
    mt_filter_clear(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse),
        cmocka_unit_test(intersect),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
