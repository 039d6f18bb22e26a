/* test_pci.c: PCI addresses in NVML's, sysfs's and lspci's spellings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <gpuctl/gpuctl.h>

#include "device/pci.h"

static void spellings_agree(void **state)
{
    struct pci_addr a, b, c;
    char buf[32];

    (void)state;
    assert_int_equal(pci_parse("00000000:3B:00.0", &a), 0);
    assert_int_equal(pci_parse("0000:3b:00.0", &b), 0);
    assert_int_equal(pci_parse("3b:00.0", &c), 0);
    assert_int_equal(pci_compare(&a, &b), 0);
    assert_int_equal(pci_compare(&b, &c), 0);
    pci_format(&a, buf, sizeof(buf));
    assert_string_equal(buf, "0000:3b:00.0");
}

static void order_is_domain_bus_device_function(void **state)
{
    struct pci_addr a, b, c, d, unknown = {0};

    (void)state;
    pci_parse("0000:18:00.0", &a);
    pci_parse("0000:2a:00.0", &b);
    pci_parse("0001:01:00.0", &c);
    pci_parse("0000:18:00.1", &d);
    assert_true(pci_compare(&a, &b) < 0);
    assert_true(pci_compare(&b, &c) < 0);
    assert_true(pci_compare(&a, &d) < 0);
    assert_true(pci_compare(&c, &unknown) < 0);
    assert_true(pci_compare(&unknown, &a) > 0);
}

static void garbage_is_refused(void **state)
{
    static const char *const bad[] = {
        "", "3b:00", "zz:00.0", "0000:3b:00.0x", "0000:100:00.0", "0000:3b:20.0", "0000:3b:00.8"};
    struct pci_addr a;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(pci_parse(bad[i], &a), GPUCTL_EINVAL);
        assert_false(a.known);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(spellings_agree),
        cmocka_unit_test(order_is_domain_bus_device_function),
        cmocka_unit_test(garbage_is_refused),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
