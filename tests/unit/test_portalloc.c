/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <cmocka.h>

#include "portalloc.h"

static void
test_bad_range(void **state)
{
	(void)state;
	assert_null(mr_portalloc_create(30001, 30010));
	assert_null(mr_portalloc_create(30000, 30000));
}

static void
test_even_pairs_and_exhaustion(void **state)
{
	struct mr_portalloc *pa = mr_portalloc_create(30000, 30007);
	int i, p;

	(void)state;
	assert_non_null(pa);
	assert_int_equal(mr_portalloc_capacity(pa), 4);
	for (i = 0; i < 4; i++) {
		p = mr_portalloc_get(pa);
		assert_int_equal(p, 30000 + 2 * i);
	}
	assert_int_equal(mr_portalloc_get(pa), -ENOSPC);
	assert_int_equal(mr_portalloc_available(pa), 0);
	mr_portalloc_free(pa);
}

static void
test_fifo_reuse_and_bad_put(void **state)
{
	struct mr_portalloc *pa = mr_portalloc_create(40000, 40009);
	int a, b;

	(void)state;
	a = mr_portalloc_get(pa);
	b = mr_portalloc_get(pa);
	assert_int_equal(a, 40000);
	assert_int_equal(b, 40002);
	assert_int_equal(mr_portalloc_put(pa, a), 0);
	/* the freed port goes to the back: the untouched ones come first */
	assert_int_equal(mr_portalloc_get(pa), 40004);
	assert_int_equal(mr_portalloc_get(pa), 40006);
	assert_int_equal(mr_portalloc_get(pa), 40008);
	assert_int_equal(mr_portalloc_get(pa), 40000);
	assert_int_equal(mr_portalloc_put(pa, 40001), -EINVAL);	/* odd */
	assert_int_equal(mr_portalloc_put(pa, 39998), -EINVAL);	/* below */
	assert_int_equal(mr_portalloc_put(pa, 40010), -EINVAL);	/* above */
	assert_int_equal(mr_portalloc_put(pa, b), 0);
	assert_int_equal(mr_portalloc_put(pa, b), -EINVAL);	/* double free */
	mr_portalloc_free(pa);
	mr_portalloc_free(NULL);
}

/* A restarted relay starts from a random place in its range (mr_portalloc_rotate), not from
 * the bottom where the calls that died had their ports; the order stays FIFO. */
static void
test_rotate(void **state)
{
	struct mr_portalloc *pa = mr_portalloc_create(30000, 30019);	/* 10 pairs */
	int p;

	(void)state;
	assert_non_null(pa);
	mr_portalloc_rotate(pa, 13);
	assert_int_equal(mr_portalloc_get(pa), 30006);
	assert_int_equal(mr_portalloc_get(pa), 30008);
	/* only a fresh allocator moves */
	mr_portalloc_rotate(pa, 5);
	assert_int_equal(mr_portalloc_get(pa), 30010);
	assert_int_equal(mr_portalloc_put(pa, 30006), 0);
	for (int i = 0; i < 6; i++) {
		p = mr_portalloc_get(pa);
		assert_int_not_equal(p, 30006);
	}
	assert_int_equal(mr_portalloc_get(pa), 30004);
	assert_int_equal(mr_portalloc_get(pa), 30006);	/* freed last, reused last */
	assert_int_equal(mr_portalloc_get(pa), -ENOSPC);
	mr_portalloc_free(pa);
}

static int
mr_mult6(void *arg, uint16_t port)
{
	(void)arg;
	return port % 6 == 0;
}

static int
mr_never(void *arg, uint16_t port)
{
	(void)arg;
	(void)port;
	return 0;
}

/* Steering takes the first free port that fits (flows.c: lands on the owner's queue) from
 * the middle of the FIFO; the others keep their order, the freed one still goes last. */
static void
test_get_if(void **state)
{
	struct mr_portalloc *pa = mr_portalloc_create(30000, 30019);	/* 10 pairs */

	(void)state;
	assert_int_equal(mr_portalloc_get(pa), 30000);
	assert_int_equal(mr_portalloc_get_if(pa, mr_mult6, NULL), 30006);
	assert_int_equal(mr_portalloc_get_if(pa, mr_mult6, NULL), 30012);
	assert_int_equal(mr_portalloc_get_if(pa, mr_mult6, NULL), 30018);	/* the tail */
	assert_int_equal(mr_portalloc_get_if(pa, mr_mult6, NULL), -ESRCH);
	assert_int_equal(mr_portalloc_get_if(pa, mr_never, NULL), -ESRCH);
	assert_int_equal(mr_portalloc_available(pa), 6);
	assert_int_equal(mr_portalloc_put(pa, 30006), 0);
	assert_int_equal(mr_portalloc_get(pa), 30002);
	assert_int_equal(mr_portalloc_get(pa), 30004);
	assert_int_equal(mr_portalloc_get(pa), 30008);
	assert_int_equal(mr_portalloc_get(pa), 30010);
	assert_int_equal(mr_portalloc_get(pa), 30014);
	assert_int_equal(mr_portalloc_get(pa), 30016);
	assert_int_equal(mr_portalloc_get_if(pa, mr_mult6, NULL), 30006);
	assert_int_equal(mr_portalloc_get_if(pa, mr_mult6, NULL), -ENOSPC);
	assert_int_equal(mr_portalloc_put(pa, 30012), 0);
	assert_int_equal(mr_portalloc_put(pa, 30002), 0);
	assert_int_equal(mr_portalloc_get(pa), 30012);
	assert_int_equal(mr_portalloc_get(pa), 30002);
	mr_portalloc_free(pa);
}

/* A restore takes given ports; the others keep their FIFO order; taken ones are never
 * handed out and come back with put. */
static void
test_take_and_compact(void **state)
{
	struct mr_portalloc *pa = mr_portalloc_create(10000, 10009);	/* 5 pairs */

	(void)state;
	assert_non_null(pa);
	assert_int_equal(mr_portalloc_take(pa, 10004), 0);
	assert_int_equal(mr_portalloc_take(pa, 10004), -EBUSY);
	assert_int_equal(mr_portalloc_take(pa, 10005), -EINVAL);
	assert_int_equal(mr_portalloc_take(pa, 10010), -EINVAL);
	assert_int_equal(mr_portalloc_take(pa, 10000), 0);
	assert_int_equal(mr_portalloc_available(pa), 3);
	mr_portalloc_compact(pa);
	assert_int_equal(mr_portalloc_available(pa), 3);
	assert_int_equal(mr_portalloc_get(pa), 10002);
	assert_int_equal(mr_portalloc_get(pa), 10006);
	assert_int_equal(mr_portalloc_put(pa, 10004), 0);
	assert_int_equal(mr_portalloc_get(pa), 10008);
	assert_int_equal(mr_portalloc_get(pa), 10004);
	assert_int_equal(mr_portalloc_get(pa), -ENOSPC);
	mr_portalloc_free(pa);
}

/* Takes anywhere in the list (the tail, the head, freed pairs, the last one) keep the list
 * whole: the others come out in FIFO order. */
static void
test_take_anywhere(void **state)
{
	struct mr_portalloc *pa = mr_portalloc_create(20000, 20011);	/* 6 pairs */

	(void)state;
	assert_non_null(pa);
	assert_int_equal(mr_portalloc_take(pa, 20010), 0);	/* the tail */
	assert_int_equal(mr_portalloc_take(pa, 20002), 0);	/* the middle */
	assert_int_equal(mr_portalloc_get(pa), 20000);
	assert_int_equal(mr_portalloc_put(pa, 20010), 0);
	assert_int_equal(mr_portalloc_put(pa, 20000), 0);
	/* free, in order: 20004 20006 20008 20010 20000 */
	assert_int_equal(mr_portalloc_take(pa, 20010), 0);	/* freed, in the middle */
	assert_int_equal(mr_portalloc_take(pa, 20000), 0);	/* freed, the tail */
	assert_int_equal(mr_portalloc_take(pa, 20004), 0);	/* the head */
	assert_int_equal(mr_portalloc_put(pa, 20002), 0);
	assert_int_equal(mr_portalloc_get(pa), 20006);
	assert_int_equal(mr_portalloc_take(pa, 20002), 0);	/* the tail again */
	assert_int_equal(mr_portalloc_take(pa, 20008), 0);	/* the last one */
	assert_int_equal(mr_portalloc_available(pa), 0);
	assert_int_equal(mr_portalloc_get(pa), -ENOSPC);
	assert_int_equal(mr_portalloc_put(pa, 20008), 0);
	assert_int_equal(mr_portalloc_put(pa, 20004), 0);
	assert_int_equal(mr_portalloc_get(pa), 20008);
	assert_int_equal(mr_portalloc_get(pa), 20004);
	assert_int_equal(mr_portalloc_get(pa), -ENOSPC);
	mr_portalloc_free(pa);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_range),
		cmocka_unit_test(test_take_and_compact),
		cmocka_unit_test(test_take_anywhere),
		cmocka_unit_test(test_even_pairs_and_exhaustion),
		cmocka_unit_test(test_fifo_reuse_and_bad_put),
		cmocka_unit_test(test_rotate),
		cmocka_unit_test(test_get_if),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
