/* mask.h: the device masks of the GPU runtimes (CUDA_VISIBLE_DEVICES, ROCR_VISIBLE_DEVICES,
 * HIP_VISIBLE_DEVICES, ZE_AFFINITY_MASK), applied the way each runtime applies its own. */
#ifndef GPUCTL_DEVICE_MASK_H
#define GPUCTL_DEVICE_MASK_H

#include <stdbool.h>
#include <stddef.h>

/* What mask_apply() found, besides the visible list. */
enum mask_outcome {
    MASK_OK,      /* the list is what the runtime would show */
    MASK_DROPPED, /* the runtime drops entries or the whole list (invalid entry, duplicate) */
    MASK_MIG,     /* an entry names a MIG instance, which gpuctl cannot list */
};

/* How a runtime reads its mask. */
struct mask_rules {
    enum { INDEX_STRTOUL, INDEX_STRTOL, INDEX_DIGITS, INDEX_DOTTED } index;   /* index syntax */
    enum { UUID_PREFIX, UUID_PREFIX_NOCASE, UUID_SUBSTRING, UUID_NONE } uuid; /* UUID matching */
    enum { DUP_EMPTIES, DUP_STOPS, DUP_SKIPPED } duplicate;
    bool first_entry_decides; /* CUDA: the first entry makes the list indices or UUIDs */
    bool reads_n_entries;     /* ROCr: reads no more entries than there are devices */
    bool invalid_skips;       /* ZE: an invalid entry is skipped, not the end of the list */
    bool enumeration_order;   /* ZE: the mask selects; devices keep their own order */
    bool empty_is_unset;      /* HIP, ZE: an empty value masks nothing */
    bool default_is_unset;    /* ZE: "default" masks nothing */
};

extern const struct mask_rules mask_cuda, mask_rocr, mask_hip, mask_ze;

/* The devices a mask is applied to, in enumeration order. */
struct mask_devices {
    const char *const *uuids; /* "" when unknown */
    const unsigned *tiles;    /* Level Zero: tiles (sub-devices) of each; NULL: one each */
    size_t n;
    bool flat; /* Level Zero's FLAT or COMBINED hierarchy: each tile is a device of its own */
};

/*
 * Applies the value of the mask variable `var`, read by `rules`, to the devices devs. value NULL
 * (unset) shows every device in order. CUDA's rules (mask_cuda):
 *   - "" (set, empty): no device;
 *   - a comma list of indices ("2,0"; leading spaces, a '+' and trailing junk after the digits
 *     are tolerated as strtoul does) or, when the value starts with "GPU-" or "MIG-", of UUIDs or
 *     unique UUID prefixes (case-sensitive); the first entry decides which kind the list is;
 *   - the first invalid entry (out of range, unknown or ambiguous UUID, the other kind, empty)
 *     ends the list: the devices before it stay visible, in the order listed;
 *   - a device listed twice makes the whole list empty;
 *   - a MIG entry also ends gpuctl's list, though CUDA would use that instance.
 * ROCr: reads as many entries as there are devices, each trimmed: an index (strtol, base 0, so
 * "+1" and "0x1" are 1; negative is invalid) or, when it starts with G, a UUID prefix of 5 to 20
 * characters (any case); a duplicate ends the list. HIP: an empty value masks nothing; each
 * entry is a decimal index as std::to_string writes it (no sign, space or leading zero: "01" is
 * invalid) or, when it holds "GPU-", a substring of a UUID (the first GPU that has it);
 * duplicates are skipped. Level Zero (ZE_AFFINITY_MASK, compute-runtime's parseAffinityMask):
 * "" and "default" mask nothing; numbers as std::stoul reads them; with devs->flat each X counts
 * tiles across the GPUs (a GPU is visible when one of its tiles is) and "X.Y" entries are
 * skipped, otherwise X is GPU X and "X.Y" shows GPU X when it has a tile Y; invalid and repeated
 * entries are skipped, devices keep their order, and a GPU shown in part gets a note.
 * Writes the positions of the visible devices, in their new order, to order (room for devs->n)
 * and their number to *count. msg (size msg_len) gets sentences about entries dropped or GPUs
 * shown in part, "" when there is nothing to say.
 */
enum mask_outcome mask_apply(const char *var, const struct mask_rules *rules, const char *value,
                             const struct mask_devices *devs, size_t *order, size_t *count,
                             char *msg, size_t msg_len);

#endif
