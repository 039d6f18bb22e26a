/* app.c: a program outside the tree, built against an installed libgpuctl via pkg-config. */
#include <stdio.h>

#include <gpuctl/gpuctl.h>

int main(void)
{
    struct gpuctl_select_request req = {.count = 1, .min_free_memory_bytes = 8ull << 30};
    struct gpuctl_precision_advice adv;
    const struct gpuctl_device *dev;
    struct gpuctl_selection sel;
    struct gpuctl *g;

    if (gpuctl_new(NULL, &g) != 0)
        return 1;
    gpuctl_recommend(g, &dev, &adv);
    printf("use %s at %s\n", dev->device, gpuctl_precision_name(adv.precision));
    if (gpuctl_select(g, &req, &sel) == 0)
        printf("8 GiB free on %s\n", sel.devices[0]->device);
    else
        printf("%s\n", sel.message);
    gpuctl_free(g);
    return 0;
}
