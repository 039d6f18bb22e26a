/* mask.h: CUDA_VISIBLE_DEVICES-style masks, applied the way the CUDA runtime applies them. */
#ifndef GPUCTL_DEVICE_MASK_H
#define GPUCTL_DEVICE_MASK_H

#include <stddef.h>

/* What mask_apply() found, besides the visible list. */
enum mask_outcome {
    MASK_OK,      /* the list is what CUDA would show */
    MASK_DROPPED, /* CUDA drops entries or the whole list (invalid entry, duplicate, empty) */
    MASK_MIG,     /* an entry names a MIG instance, which gpuctl cannot list */
};

/*
 * Applies the value of the mask variable `var` to n devices, given in enumeration (PCI) order by
 * their UUIDs ("" when unknown). The rules are CUDA's:
 *   - unset (value NULL): every device, in order; "" (set but empty): no device;
 *   - a comma list of indices ("2,0"; leading spaces, a '+' and trailing junk after the digits
 *     are tolerated as strtoul does) or, when the value starts with "GPU-" or "MIG-", of UUIDs or
 *     unique UUID prefixes (case-sensitive); the first entry decides which kind the list is;
 *   - the first invalid entry (out of range, unknown or ambiguous UUID, the other kind, empty)
 *     ends the list: the devices before it stay visible, in the order listed;
 *   - a device listed twice makes the whole list empty.
 * A MIG entry also ends gpuctl's list, though CUDA would use that instance: the outcome says so.
 * Writes the positions of the visible devices, in their new order, to order (room for n) and
 * their number to *count. msg (size msg_len) gets one sentence when the outcome is not MASK_OK,
 * "" otherwise.
 */
enum mask_outcome mask_apply(const char *var, const char *value, const char *const *uuids, size_t n,
                             size_t *order, size_t *count, char *msg, size_t msg_len);

#endif
