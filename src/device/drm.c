/* drm.c: finding the DRM cards of one PCI vendor in sysfs. */
#include "device/drm.h"

#include <ctype.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gpuctl/gpuctl.h>

#include "device/sysfs.h"
#include "util/banned.h"
#include "util/fs.h"
#include "util/str.h"

/* Whether name is "card" followed by digits only. */
static bool is_card(const char *name)
{
    if (strncmp(name, "card", 4) != 0 || !name[4])
        return false;
    for (name += 4; *name; name++)
        if (!isdigit((unsigned char)*name))
            return false;
    return true;
}

/* Finds the first hwmonN directory under the card's device. */
static void find_hwmon(const char *root, struct drm_card *c)
{
    char rel[sizeof(c->hwmon)], path[1200];
    struct dirent *e;
    DIR *d;

    c->hwmon[0] = '\0';
    if (!sysfs_path(rel, sizeof(rel), c->device, "hwmon") ||
        fs_join(path, sizeof(path), root, rel) != 0)
        return;
    d = opendir(path);
    if (!d)
        return;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, "hwmon", 5) == 0 && isdigit((unsigned char)e->d_name[5])) {
            snprintf(c->hwmon, sizeof(c->hwmon), "%.64s/%.24s", rel, e->d_name);
            break;
        }
    }
    closedir(d);
}

/* Fills c from the card's PCI device; returns true when it is the vendor's and bound to a wanted
 * driver. */
static bool read_card(const char *root, const char *name, unsigned vendor,
                      const char *const *drivers, struct drm_card *c)
{
    uint64_t v = 0;
    unsigned id;
    bool wanted = false;

    memset(c, 0, sizeof(*c));
    snprintf(c->card, sizeof(c->card), "class/drm/%.24s", name);
    snprintf(c->device, sizeof(c->device), "%.40s/device", c->card);
    if (!sysfs_u64(root, c->device, "vendor", &v) || v != vendor)
        return false;
    if (!sysfs_uevent(root, c->device, "uevent", "DRIVER", c->driver, sizeof(c->driver)))
        return false; /* no driver bound: not a usable GPU (gpuctl doctor says why) */
    for (const char *const *d = drivers; *d && !wanted; d++)
        wanted = strcmp(*d, c->driver) == 0;
    if (!wanted ||
        !sysfs_uevent(root, c->device, "uevent", "PCI_SLOT_NAME", c->slot, sizeof(c->slot)) ||
        pci_parse(c->slot, &c->pci) != 0)
        return false;
    if (sysfs_scaled(root, c->device, "device", 1, &id))
        c->device_id = id;
    if (sysfs_scaled(root, c->device, "revision", 1, &id))
        c->revision = id;
    find_hwmon(root, c);
    return true;
}

int drm_cards(const char *sysfs_root, unsigned vendor, const char *const *drivers,
              struct drm_card **out, size_t *n)
{
    char path[1100];
    struct drm_card *cards = NULL;
    size_t count = 0, cap = 0;
    struct dirent *e;
    DIR *d;

    *out = NULL;
    *n = 0;
    if (fs_join(path, sizeof(path), sysfs_root, "class/drm") != 0)
        return 0;
    d = opendir(path);
    if (!d)
        return 0;
    while ((e = readdir(d))) {
        if (!is_card(e->d_name))
            continue;
        if (count == cap) {
            size_t more = cap ? cap * 2 : 4;
            struct drm_card *grown = realloc(cards, more * sizeof(*cards));
            if (!grown) {
                free(cards);
                closedir(d);
                return GPUCTL_ENOMEM;
            }
            cards = grown;
            cap = more;
        }
        if (read_card(sysfs_root, e->d_name, vendor, drivers, &cards[count]))
            count++;
    }
    closedir(d);
    *out = cards;
    *n = count;
    return 0;
}
