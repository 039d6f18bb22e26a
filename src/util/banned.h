/* banned.h: unbounded string functions are compile errors here (git's banned.h). */
#ifndef GPUCTL_UTIL_BANNED_H
#define GPUCTL_UTIL_BANNED_H

#define GPUCTL_BANNED(func) sorry_##func##_is_banned_use_str_copy_or_snprintf

#undef strcpy
#define strcpy(x, y) GPUCTL_BANNED(strcpy)
#undef strcat
#define strcat(x, y) GPUCTL_BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) GPUCTL_BANNED(strncpy)
#undef strncat
#define strncat(x, y, n) GPUCTL_BANNED(strncat)
#undef sprintf
#define sprintf(...) GPUCTL_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) GPUCTL_BANNED(vsprintf)
#undef strtok
#define strtok(x, y) GPUCTL_BANNED(strtok)
#undef gets
#define gets(x) GPUCTL_BANNED(gets)

#endif
