/* yaml_edit.h: a YAML config with some keys' values replaced and everything else byte for byte
 * as it was: libyaml finds the values (their byte offsets in the parser's marks), and the new
 * text is spliced into a copy of the original, so comments, order and unknown keys stay. */
#ifndef GPUCTL_TUNE_YAML_EDIT_H
#define GPUCTL_TUNE_YAML_EDIT_H

#include <stdbool.h>
#include <stddef.h>

/* One key to set: wherever it appears as a mapping key with a scalar value, at any depth. */
struct yaml_edit {
    const char *key;
    const char *value;   /* as YAML writes it: "64", "true" */
    const char *comment; /* appended as "  # <comment>" in block context; NULL for none */
    /* Filled by yaml_edit_apply(): */
    unsigned found;   /* occurrences replaced */
    unsigned skipped; /* occurrences left as they were: a collection or an empty value */
    char old[64];     /* the first occurrence's old value, as written ("" when not found) */
    bool added;       /* not found, appended to the top-level mapping */
};

/*
 * Applies edits (n) to the YAML text in (len bytes). Keys not present at all are appended at the
 * end of the top-level mapping when the document is one block mapping (else left out: found 0,
 * added false). Returns 0 with *out (malloc'd, terminated; the caller frees it) or GPUCTL_EINVAL
 * with msg naming the line and column where the text is not YAML, or GPUCTL_ENOMEM.
 */
int yaml_edit_apply(const char *in, size_t len, struct yaml_edit *edits, size_t n, char **out,
                    char *msg, size_t msg_len);

#endif
