/* Unit tests for src/base: buffers, lists, the allocator's fault injection, error names. */
#include <string.h>

#include "buf.h"
#include "err.h"
#include "list.h"
#include "mem.h"
#include "unit.h"

static void test_buf_append_consume(void)
{
    struct buf b;
    buf_init(&b);
    for (int i = 0; i < 1000; i++)
        REQUIRE(buf_append(&b, "abc", 3) == 0);
    CHECK_EQ_INT(b.len, 3000);
    buf_consume(&b, 2999);
    CHECK_EQ_INT(b.len, 1);
    CHECK(b.data[0] == 'c');
    buf_consume(&b, 10);
    CHECK_EQ_INT(b.len, 0);
    buf_deinit(&b);
}

static void test_mem_fault_injection(void)
{
    size_t before = mem_in_use();
    mem_fail_at(2);
    void *a = mem_alloc(10);
    void *b = mem_alloc(10);
    void *c = mem_alloc(10);
    mem_fail_at(0);
    CHECK(a != NULL);
    CHECK(b == NULL);
    CHECK(c != NULL);
    CHECK(mem_in_use() > before);
    mem_free(a);
    mem_free(c);
    CHECK_EQ_INT(mem_in_use(), before);
}

static void test_buf_reserve_fails_cleanly(void)
{
    struct buf b;
    buf_init(&b);
    mem_fail_at(1);
    CHECK_EQ_INT(buf_append(&b, "x", 1), TERN_ENOMEM);
    mem_fail_at(0);
    CHECK_EQ_INT(b.len, 0);
    CHECK(buf_append(&b, "x", 1) == 0);
    buf_deinit(&b);
}

struct item {
    int v;
    struct list_node node;
};

static void test_list(void)
{
    struct list_node head, *it, *tmp;
    struct item items[3] = {{1, {0}}, {2, {0}}, {3, {0}}};
    list_init(&head);
    CHECK(list_empty(&head));
    for (int i = 0; i < 3; i++)
        list_insert_tail(&head, &items[i].node);
    int sum = 0, order = 0;
    LIST_FOREACH (it, tmp, &head) {
        struct item *x = LIST_ENTRY(it, struct item, node);
        order = order * 10 + x->v;
        sum += x->v;
        if (x->v == 2)
            list_remove(it);
    }
    CHECK_EQ_INT(order, 123);
    CHECK_EQ_INT(sum, 6);
    CHECK(!list_linked(&items[1].node));
    CHECK(head.next == &items[0].node && items[0].node.next == &items[2].node);
}

static void test_err_names(void)
{
    CHECK(strcmp(tern_err_name(TERN_EPROTO), "TERN_EPROTO") == 0);
    CHECK(strcmp(tern_strerror(TERN_ENOMEM), "out of memory") == 0);
    CHECK(strcmp(tern_err_name(-999), "TERN_E?") == 0);
}

UNIT_MAIN(UNIT_TEST(test_buf_append_consume), UNIT_TEST(test_mem_fault_injection),
          UNIT_TEST(test_buf_reserve_fails_cleanly), UNIT_TEST(test_list),
          UNIT_TEST(test_err_names))
