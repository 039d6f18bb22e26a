/* err.c: names and messages of enum gpuctl_err, generated from GPUCTL_ERRNO_MAP. */
#include <gpuctl/gpuctl.h>

#include "util/banned.h"

const char *gpuctl_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
#define ERR_MSG(name, value, msg)                                                                  \
    case GPUCTL_##name:                                                                            \
        return msg;
        GPUCTL_ERRNO_MAP(ERR_MSG)
#undef ERR_MSG
    }
    return "unknown error";
}

const char *gpuctl_err_name(int err)
{
    switch (err) {
    case 0:
        return "OK";
#define ERR_NAME(name, value, msg)                                                                 \
    case GPUCTL_##name:                                                                            \
        return #name;
        GPUCTL_ERRNO_MAP(ERR_NAME)
#undef ERR_NAME
    }
    return "EUNKNOWN";
}

const char *gpuctl_version(void)
{
    return GPUCTL_VERSION_STRING;
}
