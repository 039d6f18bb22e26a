/* hardware.c: the checks below the frameworks: GPUs on the PCI bus, their kernel drivers, the
 * device files a program opens, the NVIDIA driver's CUDA, and what hides GPUs from programs. */
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "doctor/compat.h"
#include "doctor/doctor.h"
#include "util/banned.h"
#include "util/fs.h"
#include "util/str.h"

#define PCI_CLASS_DISPLAY 0x03 /* VGA, XGA, 3D and other display controllers */
#define PCI_CLASS_ACCEL   0x12 /* processing accelerators: MI300X, some data-center GPUs */

static const struct vendor_facts {
    unsigned pci_id;
    const char *name;    /* "NVIDIA" */
    const char *drivers; /* modules that give it compute, space separated */
    const char *install; /* how to install the driver */
} vendors[] = {
    [GPUCTL_VENDOR_NVIDIA] = {0x10de, "NVIDIA", "nvidia",
                              "install the NVIDIA driver, 580.65.06 or newer (it runs every "
                              "current CUDA wheel): 'sudo ubuntu-drivers install' on Ubuntu, "
                              "'sudo apt install nvidia-driver' on Debian, else "
                              "https://www.nvidia.com/drivers; then reboot"},
    [GPUCTL_VENDOR_AMD] = {0x1002, "AMD", "amdgpu",
                           "load amdgpu ('sudo modprobe amdgpu'); if it is missing, install "
                           "the kernel's firmware package (firmware-amd-graphics or "
                           "linux-firmware) or AMD's amdgpu-dkms, then reboot"},
    [GPUCTL_VENDOR_INTEL] = {0x8086, "Intel", "i915 xe",
                             "load i915 or xe ('sudo modprobe xe'; older GPUs: i915) and "
                             "install Intel's compute runtime (intel-opencl-icd, "
                             "libze-intel-gpu1)"},
};

static bool read_hex(const char *root, const char *rel, unsigned *out)
{
    char text[32];
    char *end;

    if (fs_read(root, rel, text, sizeof(text)) != 0)
        return false;
    *out = (unsigned)strtoul(text, &end, 16);
    return end != text;
}

/* The name of the link's target's last component ("nvidia" for .../drivers/nvidia). */
static void link_basename(const char *root, const char *rel, char *out, size_t len)
{
    char path[4096], target[4096];
    ssize_t n;

    out[0] = '\0';
    if (fs_join(path, sizeof(path), root, rel) != 0)
        return;
    n = readlink(path, target, sizeof(target) - 1);
    if (n <= 0)
        return;
    target[n] = '\0';
    str_copy(out, strrchr(target, '/') ? strrchr(target, '/') + 1 : target, len);
}

static void find_render_node(const char *root, const char *dev, char *out, size_t len)
{
    char rel[400], path[4096];
    DIR *d;
    struct dirent *e;

    out[0] = '\0';
    snprintf(rel, sizeof(rel), "%s/drm", dev);
    if (fs_join(path, sizeof(path), root, rel) != 0 || !(d = opendir(path)))
        return;
    while ((e = readdir(d)))
        if (str_starts_with(e->d_name, "renderD"))
            str_copy(out, e->d_name, len);
    closedir(d);
}

static int nvidia_minor(const char *procfs, const char *addr)
{
    char rel[128], text[2048];
    const char *line;

    snprintf(rel, sizeof(rel), "driver/nvidia/gpus/%s/information", addr);
    if (fs_read(procfs, rel, text, sizeof(text)) != 0 || !(line = strstr(text, "Device Minor:")))
        return -1;
    return atoi(line + strlen("Device Minor:"));
}

static int by_addr(const void *a, const void *b)
{
    return strcmp(((const struct doctor_pci *)a)->addr, ((const struct doctor_pci *)b)->addr);
}

/* Lists the display controllers of GPU vendors under <sysfs>/bus/pci/devices. */
static void scan_pci(struct doctor_machine *m)
{
    char path[4096];
    DIR *d;
    struct dirent *e;

    if (fs_join(path, sizeof(path), m->sysfs_root, "bus/pci/devices") != 0 || !(d = opendir(path)))
        return;
    while ((e = readdir(d)) && m->npci < DOCTOR_MAX_PCI) {
        struct doctor_pci *p = &m->pci[m->npci];
        char rel[320];
        unsigned v;

        if (e->d_name[0] == '.' || strlen(e->d_name) >= sizeof(p->addr))
            continue;
        snprintf(rel, sizeof(rel), "bus/pci/devices/%s/class", e->d_name);
        if (!read_hex(m->sysfs_root, rel, &p->class_code) ||
            (p->class_code >> 16 != PCI_CLASS_DISPLAY && p->class_code >> 16 != PCI_CLASS_ACCEL))
            continue;
        snprintf(rel, sizeof(rel), "bus/pci/devices/%s/vendor", e->d_name);
        if (!read_hex(m->sysfs_root, rel, &p->vendor_id))
            continue;
        for (v = 0; v < GPUCTL_VENDOR_CPU && vendors[v].pci_id != p->vendor_id; v++)
            ;
        if (v == GPUCTL_VENDOR_CPU)
            continue;
        p->vendor = (enum gpuctl_vendor)v;
        str_copy(p->addr, e->d_name, sizeof(p->addr));
        snprintf(rel, sizeof(rel), "bus/pci/devices/%s/device", e->d_name);
        read_hex(m->sysfs_root, rel, &p->device_id);
        snprintf(rel, sizeof(rel), "bus/pci/devices/%s/driver", e->d_name);
        link_basename(m->sysfs_root, rel, p->driver, sizeof(p->driver));
        snprintf(rel, sizeof(rel), "bus/pci/devices/%s", e->d_name);
        find_render_node(m->sysfs_root, rel, p->render, sizeof(p->render));
        p->nvidia_minor =
            p->vendor == GPUCTL_VENDOR_NVIDIA ? nvidia_minor(m->procfs_root, p->addr) : -1;
        m->npci++;
    }
    closedir(d);
    qsort(m->pci, m->npci, sizeof(m->pci[0]), by_addr);
}

/* Names from the driver, where it answered. */
static void name_pci(struct doctor_machine *m)
{
    for (size_t i = 0; m->all && i < gpuctl_device_count(m->all); i++) {
        const struct gpuctl_device *d = gpuctl_device_at(m->all, i);

        for (size_t k = 0; k < m->npci; k++)
            if (strcmp(d->pci_bus_id, m->pci[k].addr) == 0)
                str_copy(m->pci[k].name, d->name, sizeof(m->pci[k].name));
    }
}

/* Whether the environment file of PID 1 has `container=`, a cgroup path names a container
 * runtime, or / is an overlay: how systemd-detect-virt and friends tell. */
static void detect_container(struct doctor_machine *m)
{
    static const char *const runtimes[] = {"kubepods", "docker", "libpod", "containerd", "lxc"};
    char *text = NULL;
    size_t len = 0;

    if (fs_read_all(m->procfs_root, "1/environ", &text, &len) == 0) {
        for (size_t off = 0; off < len; off += strlen(text + off) + 1)
            if (str_starts_with(text + off, "container="))
                str_copy(m->container, text + off + strlen("container="), sizeof(m->container));
        free(text);
    }
    if (!m->container[0] && fs_read_all(m->procfs_root, "1/cgroup", &text, NULL) == 0) {
        for (size_t i = 0; i < sizeof(runtimes) / sizeof(runtimes[0]) && !m->container[0]; i++)
            if (strstr(text, runtimes[i]))
                str_copy(m->container,
                         strcmp(runtimes[i], "kubepods") == 0 ? "kubernetes" : runtimes[i],
                         sizeof(m->container));
        free(text);
    }
    if (!m->container[0] && fs_read_all(m->procfs_root, "self/mountinfo", &text, NULL) == 0) {
        for (char *line = text; line && *line;
             line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
            char mount[8];
            char fstype[32];

            if (sscanf(line, "%*s %*s %*s %*s %7s %*[^-]- %31s", mount, fstype) == 2 &&
                strcmp(mount, "/") == 0 && strstr(fstype, "overlay"))
                str_copy(m->container, "/ on overlayfs", sizeof(m->container));
        }
        free(text);
    }
}

void doctor_explain_access(unsigned mode, unsigned owner, unsigned group, const char *group_name,
                           unsigned uid, const unsigned *groups, size_t ngroups, char *out,
                           size_t len)
{
    bool in_group = false;

    for (size_t i = 0; i < ngroups; i++)
        in_group |= groups[i] == group;
    out[0] = '\0';
    if (uid == 0 || (uid == owner && (mode & 0600) == 0600) || (in_group && (mode & 060) == 060) ||
        (mode & 06) == 06)
        return;
    if ((mode & 060) == 060 && !in_group)
        snprintf(out, len,
                 "this user is not in group '%s' (gid %u), which may open it: 'sudo usermod -aG "
                 "%s $USER', then log out and in again",
                 group_name, group, group_name);
    else
        snprintf(out, len,
                 "its mode %03o lets only its owner (uid %u) open it: the driver's udev rules "
                 "or module options (NVreg_DeviceFileMode) should make it 0666 or 0660 with a "
                 "group",
                 mode & 0777, owner);
}

/* Checks one device file: "" when it opens, else why not (missing, or who may). */
static void check_node(const struct doctor_machine *m, const char *rel, char *why, size_t len)
{
    char path[4096], group_name[64];
    struct stat st;
    gid_t gids[64];
    unsigned groups[65];
    int n;

    why[0] = '\0';
    if (fs_join(path, sizeof(path), m->dev_root, rel) != 0 || stat(path, &st) != 0) {
        snprintf(why, len, "/dev/%s is missing", rel);
        return;
    }
    if (access(path, R_OK | W_OK) == 0)
        return;
    n = getgroups(64, gids);
    for (int i = 0; i < n; i++)
        groups[i] = (unsigned)gids[i];
    groups[n < 0 ? 0 : n] = (unsigned)getegid();
    {
        struct group *g = getgrgid(st.st_gid);

        snprintf(group_name, sizeof(group_name), "%s", g ? g->gr_name : "?");
    }
    snprintf(why, len, "/dev/%s cannot be opened: ", rel);
    doctor_explain_access(st.st_mode, st.st_uid, st.st_gid, group_name, (unsigned)geteuid(), groups,
                          (size_t)(n < 0 ? 0 : n) + 1, why + strlen(why), len - strlen(why));
    if (why[strlen(why) - 2] == ':')
        str_appendf(why, len, "%s (an ACL or a security module refuses)", strerror(EACCES));
}

static const char container_fix[] =
    "start the container with the GPUs: 'docker run --gpus all' (NVIDIA Container Toolkit), "
    "'podman run --device nvidia.com/gpu=all' (CDI), a Kubernetes limit 'nvidia.com/gpu: 1'; "
    "AMD and Intel: '--device /dev/dri' (AMD also '--device /dev/kfd')";

static const char container_gone[] =
    "this container was started without its GPUs: see the fix under visibility";

static void describe_pci(const struct doctor_pci *p, char *buf, size_t len)
{
    str_appendf(buf, len, "%s%s%s [%04x:%04x] at %s, ", *buf ? "; " : "",
                p->name[0] ? p->name : vendors[p->vendor].name, p->name[0] ? "" : " GPU",
                p->vendor_id, p->device_id, p->addr);
    if (p->driver[0])
        str_appendf(buf, len, "driver %s", p->driver);
    else
        str_appendf(buf, len, "no driver bound");
}

static void check_pci(struct doctor_machine *m, struct doctor_report *r)
{
    struct doctor_check *c;

    if (m->npci == 0 && m->wsl) {
        c = doctor_add(r, "pci", DOCTOR_OK);
        snprintf(c->finding, sizeof(c->finding),
                 "WSL 2: the GPUs are the Windows host's, reached through /dev/dxg (they are "
                 "not on this kernel's PCI bus)");
        return;
    }
    if (m->npci == 0) {
        c = doctor_add(r, "pci", DOCTOR_FAIL);
        snprintf(c->finding, sizeof(c->finding),
                 "no NVIDIA, AMD or Intel display controller on the PCI bus (%s/bus/pci/devices)",
                 m->sysfs_root);
        snprintf(c->fix, sizeof(c->fix),
                 "programs will run on the CPU: a virtual machine needs a GPU passed through "
                 "(PCI passthrough or vGPU), a cloud instance a GPU instance type");
        return;
    }
    c = doctor_add(r, "pci", DOCTOR_OK);
    for (size_t i = 0; i < m->npci; i++)
        describe_pci(&m->pci[i], c->finding, sizeof(c->finding));
}

static bool word_in(const char *word, const char *list)
{
    size_t n = strlen(word);

    for (const char *p = list; *word && (p = strstr(p, word)); p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
            return true;
    return false;
}

/* The NVIDIA kernel module's version from /proc/driver/nvidia/version ("NVRM version: NVIDIA
 * UNIX x86_64 Kernel Module  581.29  Release Build ..."; open modules say "Open Kernel Module
 * for x86_64"). */
static bool nvidia_module_version(const struct doctor_machine *m, char *out, size_t len)
{
    char text[1024];
    const char *p;

    if (fs_read(m->procfs_root, "driver/nvidia/version", text, sizeof(text)) != 0 ||
        !(p = strstr(text, "Module")))
        return false;
    for (p += strlen("Module"); *p && *p != '\n'; p++)
        if (*p >= '0' && *p <= '9' && p[-1] == ' ' && strchr(p, '.')) {
            size_t n = strspn(p, "0123456789.");

            snprintf(out, len, "%.*s", (int)n, p);
            return true;
        }
    return false;
}

/* What is wrong with one GPU's driver binding, and its fix; false when nothing. */
static bool binding_problem(const struct doctor_pci *p, char *why, size_t len, const char **fix)
{
    const struct vendor_facts *v = &vendors[p->vendor];

    if (word_in(p->driver, v->drivers))
        return false;
    *fix = v->install;
    if (!p->driver[0]) {
        snprintf(why, len, "%s has no kernel driver bound", p->addr);
    } else if (strcmp(p->driver, "nouveau") == 0) {
        snprintf(why, len, "%s is driven by nouveau, which cannot run CUDA", p->addr);
        *fix = "install the NVIDIA driver (its packages blacklist nouveau), then reboot";
    } else if (strcmp(p->driver, "vfio-pci") == 0 || strcmp(p->driver, "pci-stub") == 0) {
        snprintf(why, len, "%s is bound to %s: it is reserved for a virtual machine", p->addr,
                 p->driver);
        *fix = "to use it here, remove it from vfio-pci's ids (kernel command line or "
               "/etc/modprobe.d) and reboot, so that its own driver binds it";
    } else {
        snprintf(why, len, "%s is bound to %s, not to %s", p->addr, p->driver, v->drivers);
    }
    return true;
}

static void check_drivers(struct doctor_machine *m, struct doctor_report *r, bool bound[4])
{
    for (int v = 0; v < GPUCTL_VENDOR_CPU; v++) {
        char id[24], why[256] = "", version[64];
        const char *fix = NULL;
        const char *module = NULL;
        size_t count = 0, good = 0;
        struct doctor_check *c;

        for (size_t i = 0; i < m->npci; i++) {
            char one[160];

            if (m->pci[i].vendor != (enum gpuctl_vendor)v)
                continue;
            count++;
            if (binding_problem(&m->pci[i], one, sizeof(one), &fix)) {
                str_appendf(why, sizeof(why), "%s%s", why[0] ? "; " : "", one);
                continue;
            }
            if (good++ == 0)
                module = m->pci[i].driver;
        }
        if (!count)
            continue;
        bound[v] = good > 0;
        snprintf(id, sizeof(id), "driver.%s", gpuctl_vendor_name((enum gpuctl_vendor)v));
        c = doctor_add(r, id, good == count ? DOCTOR_OK : DOCTOR_FAIL);
        if (module)
            snprintf(c->finding, sizeof(c->finding), "%s drives %zu of %zu %s GPU%s", module, good,
                     count, vendors[v].name, count == 1 ? "" : "s");
        if (v == GPUCTL_VENDOR_NVIDIA && nvidia_module_version(m, version, sizeof(version)))
            str_copy(m->module_version, version, sizeof(m->module_version));
        if (m->module_version[0] && v == GPUCTL_VENDOR_NVIDIA)
            str_appendf(c->finding, sizeof(c->finding),
                        "%skernel module %s loaded (/proc/driver/nvidia/version)",
                        c->finding[0] ? "; " : "", m->module_version);
        else if (v == GPUCTL_VENDOR_NVIDIA && !good) /* bound means loaded: procfs hides it */
            str_appendf(c->finding, sizeof(c->finding),
                        "%sno /proc/driver/nvidia/version: the nvidia kernel module is not loaded",
                        c->finding[0] ? "; " : "");
        if (why[0])
            str_appendf(c->finding, sizeof(c->finding), "%s%s", c->finding[0] ? "; " : "", why);
        if (fix)
            str_copy(c->fix, fix, sizeof(c->fix));
    }
}

static void check_nvml(struct doctor_machine *m, struct doctor_report *r, bool has_nvidia)
{
    const struct gpuctl_system *sys = m->all ? gpuctl_system(m->all) : NULL;
    const struct gpuctl_backend_status *st = NULL;
    struct doctor_check *c;

    for (size_t i = 0; sys && i < sys->backend_count; i++)
        if (strcmp(sys->backends[i].name, "nvidia") == 0)
            st = &sys->backends[i];
    if (!has_nvidia && !(st && st->available && st->found > 0))
        return;
    if (st && st->available && st->found > 0) {
        c = doctor_add(r, "nvml", DOCTOR_OK);
        snprintf(c->finding, sizeof(c->finding), "NVML %s answers: driver %s, %u GPU%s",
                 sys->nvml_version[0] ? sys->nvml_version : "(version unknown)",
                 sys->driver_version[0] ? sys->driver_version : "(version unknown)", st->found,
                 st->found == 1 ? "" : "s");
        m->nvidia_driver = sys->driver_version;
        return;
    }
    c = doctor_add(r, "nvml", DOCTOR_FAIL);
    str_copy(c->finding,
             st ? (st->available ? "NVML answers but finds no GPU" : st->message)
                : "NVML could not be asked",
             sizeof(c->finding));
    if (m->container[0])
        str_copy(c->fix, container_gone, sizeof(c->fix));
    else if (strstr(c->finding, "differ in version"))
        str_copy(c->fix, "reboot, so that the kernel module and the library are the same version",
                 sizeof(c->fix));
    else if (strstr(c->finding, "may not open"))
        str_copy(c->fix, "see devices.nvidia below", sizeof(c->fix));
    else if (strstr(c->finding, "not found"))
        str_copy(c->fix,
                 "libnvidia-ml.so.1 comes with the driver's user-space packages "
                 "(nvidia-utils, libnvidia-compute): install the ones of the kernel module's "
                 "version",
                 sizeof(c->fix));
    else
        str_copy(c->fix, vendors[GPUCTL_VENDOR_NVIDIA].install, sizeof(c->fix));
}

/* Whether every GPU of vendor v that the driver lists is integrated (an iGPU beside a real
 * one is not what a framework should be built for). */
bool doctor_only_integrated(const struct doctor_machine *m, enum gpuctl_vendor v)
{
    size_t n = 0, igpus = 0;

    for (size_t i = 0; m->all && i < gpuctl_device_count(m->all); i++) {
        const struct gpuctl_device *d = gpuctl_device_at(m->all, i);

        n += d->vendor == v;
        igpus += d->vendor == v && d->integrated;
    }
    return n > 0 && igpus == n;
}

/* The device files a vendor's runtime opens for the bound GPUs, "nvidiactl nvidia-uvm nvidia0". */
static void vendor_nodes(const struct doctor_machine *m, int v, char (*nodes)[32], size_t *n)
{
    *n = 0;
    if (v == GPUCTL_VENDOR_NVIDIA && m->wsl) {
        str_copy(nodes[(*n)++], "dxg", 32);
        return;
    }
    if (v == GPUCTL_VENDOR_NVIDIA) {
        str_copy(nodes[(*n)++], "nvidiactl", 32);
        str_copy(nodes[(*n)++], "nvidia-uvm", 32);
    }
    if (v == GPUCTL_VENDOR_AMD)
        str_copy(nodes[(*n)++], "kfd", 32);
    for (size_t i = 0; i < m->npci && *n < 16; i++) {
        const struct doctor_pci *p = &m->pci[i];

        if (p->vendor != (enum gpuctl_vendor)v || !word_in(p->driver, vendors[v].drivers))
            continue;
        if (v == GPUCTL_VENDOR_NVIDIA && p->nvidia_minor >= 0 && (!m->nvidia_driver || p->name[0]))
            snprintf(nodes[(*n)++], 32, "nvidia%d", p->nvidia_minor); /* NVML lists it, or NVML
                                                                        is silent */
        else if (v != GPUCTL_VENDOR_NVIDIA && p->render[0])
            snprintf(nodes[(*n)++], 32, "dri/%s", p->render);
    }
}

static void check_devices(struct doctor_machine *m, struct doctor_report *r, const bool bound[4])
{
    for (int v = 0; v < GPUCTL_VENDOR_CPU; v++) {
        char nodes[16][32], id[24], why[512] = "", list[256] = "";
        size_t n;
        bool missing = false, only_uvm = true;
        struct doctor_check *c;

        if (!bound[v] && !(v == GPUCTL_VENDOR_NVIDIA && m->wsl))
            continue;
        vendor_nodes(m, v, nodes, &n);
        for (size_t i = 0; i < n; i++) {
            char one[320];

            str_appendf(list, sizeof(list), "%s/dev/%s", list[0] ? ", " : "", nodes[i]);
            check_node(m, nodes[i], one, sizeof(one));
            if (!one[0])
                continue;
            missing |= strstr(one, "is missing") != NULL;
            only_uvm &= strcmp(nodes[i], "nvidia-uvm") == 0;
            str_appendf(why, sizeof(why), "%s%s", why[0] ? "; " : "", one);
        }
        snprintf(id, sizeof(id), "devices.%s", gpuctl_vendor_name((enum gpuctl_vendor)v));
        c = doctor_add(r, id,
                       !why[0]                                            ? DOCTOR_OK
                       : doctor_only_integrated(m, (enum gpuctl_vendor)v) ? DOCTOR_WARN
                                                                          : DOCTOR_FAIL);
        m->gpu_works[v] = !why[0];
        if (!why[0]) {
            snprintf(c->finding, sizeof(c->finding), "%s open for this user", list);
            continue;
        }
        str_copy(c->finding, why, sizeof(c->finding));
        if (missing && m->container[0])
            str_copy(c->fix, container_gone, sizeof(c->fix));
        else if (missing && only_uvm && v == GPUCTL_VENDOR_NVIDIA)
            str_copy(c->fix,
                     "CUDA needs /dev/nvidia-uvm: 'sudo modprobe nvidia-uvm' and 'sudo "
                     "nvidia-modprobe -u -c=0' (makes the file); add nvidia-uvm to "
                     "/etc/modules-load.d so it loads at boot",
                     sizeof(c->fix));
        else if (missing && v == GPUCTL_VENDOR_NVIDIA)
            str_copy(c->fix,
                     "the files are made by nvidia-modprobe or the driver's udev rules: 'sudo "
                     "nvidia-modprobe -c=0 -u' (or run nvidia-smi once as root)",
                     sizeof(c->fix));
        else if (missing)
            str_copy(c->fix, vendors[v].install, sizeof(c->fix));
        else
            str_copy(c->fix, strstr(why, ": ") ? strstr(why, ": ") + 2 : why, sizeof(c->fix));
    }
}

/* The architectures a wheel must have: those of the NVIDIA GPUs programs will see. */
static void collect_ccs(struct doctor_machine *m)
{
    struct gpuctl *from = m->seen;

    for (int pass = 0; pass < 2 && !m->nccs; pass++, from = m->all)
        for (size_t i = 0; from && i < gpuctl_device_count(from) && m->nccs < 16; i++) {
            const struct gpuctl_device *d = gpuctl_device_at(from, i);
            int cc = d->cc_major * 10 + d->cc_minor;
            bool seen = false;

            if (d->vendor != GPUCTL_VENDOR_NVIDIA ||
                !gpuctl_device_has(d, GPUCTL_M_COMPUTE_CAPABILITY))
                continue;
            for (size_t k = 0; k < m->nccs; k++)
                seen |= m->ccs[k] == cc;
            if (!seen)
                m->ccs[m->nccs++] = cc;
        }
}

void doctor_ccs_text(const struct doctor_machine *m, char *out, size_t len)
{
    out[0] = '\0';
    for (size_t i = 0; i < m->nccs; i++)
        str_appendf(out, len, "%s%s%d", i ? (i + 1 == m->nccs ? " and " : ", ") : "", "sm_",
                    m->ccs[i]);
}

static void check_cuda(struct doctor_machine *m, struct doctor_report *r)
{
    const struct gpuctl_system *sys = gpuctl_system(m->all);
    const struct torch_wheel *pick, *newest = torch_wheels;
    const char *floor;
    char cuda[16], archs[128];
    struct doctor_check *c;

    m->driver_cuda = sys->cuda_driver_version;
    if (!m->driver_cuda)
        m->driver_cuda = compat_cuda_of_driver(m->nvidia_driver, m->wsl);
    if (!m->driver_cuda) {
        c = doctor_add(r, "cuda", DOCTOR_WARN);
        snprintf(c->finding, sizeof(c->finding),
                 "driver %s does not say which CUDA it runs, and it is older than every CUDA "
                 "release gpuctl knows",
                 m->nvidia_driver);
        snprintf(c->fix, sizeof(c->fix), "upgrade the NVIDIA driver to %s or newer",
                 cuda_majors[2].linux_driver);
        return;
    }
    compat_cuda_format(m->driver_cuda, cuda, sizeof(cuda));
    floor = compat_driver_floor(m->driver_cuda, m->wsl);
    pick = m->nccs ? compat_torch_pick(m->driver_cuda, m->ccs, m->nccs) : NULL;
    doctor_ccs_text(m, archs, sizeof(archs));
    c = doctor_add(r, "cuda", DOCTOR_OK);
    snprintf(c->finding, sizeof(c->finding), "driver %s runs CUDA up to %s%s", m->nvidia_driver,
             cuda, sys->cuda_driver_version ? "" : " (from its version number)");
    if (floor)
        str_appendf(c->finding, sizeof(c->finding),
                    "; programs built for any CUDA %d.x run on drivers >= %s",
                    m->driver_cuda / 1000, floor);
    if (m->nccs && !pick) {
        c->status = DOCTOR_WARN;
        pick = compat_torch_newest(m->ccs, m->nccs);
        str_appendf(c->finding, sizeof(c->finding), "; no PyTorch wheel for %s %s", archs,
                    pick ? "runs on it" : "exists: no wheel has all of these architectures");
        if (!pick)
            snprintf(c->fix, sizeof(c->fix),
                     "give each program GPUs of one generation (CUDA_VISIBLE_DEVICES), or use one "
                     "Python environment per generation");
        else
            snprintf(c->fix, sizeof(c->fix),
                     "upgrade the NVIDIA driver to %s or newer (PyTorch %s %s needs CUDA %d.x)",
                     compat_driver_floor(pick->cuda, m->wsl), pick->release, pick->tag,
                     pick->cuda / 1000);
        return;
    }
    if (pick && strcmp(pick->release, newest->release) != 0) {
        c->status = DOCTOR_WARN;
        str_appendf(c->finding, sizeof(c->finding),
                    "; no PyTorch %s wheel runs on it: the newest that does is PyTorch %s (%s)",
                    newest->release, pick->release, pick->tag);
        snprintf(c->fix, sizeof(c->fix),
                 "upgrade the NVIDIA driver to %s or newer: it runs every current wheel",
                 compat_driver_floor(newest->cuda, m->wsl));
    }
}

/* The variables each vendor's runtimes read to hide GPUs. */
static const char *const mask_vars[][4] = {
    [GPUCTL_VENDOR_NVIDIA] = {"CUDA_VISIBLE_DEVICES", NULL},
    [GPUCTL_VENDOR_AMD] = {"ROCR_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES", "CUDA_VISIBLE_DEVICES",
                           NULL},
    [GPUCTL_VENDOR_INTEL] = {"ZE_AFFINITY_MASK", "ONEAPI_DEVICE_SELECTOR", NULL},
};

static void set_vars(int v, char *buf, size_t len)
{
    for (size_t i = 0; mask_vars[v][i]; i++) {
        const char *value = getenv(mask_vars[v][i]);

        if (value)
            str_appendf(buf, len, "%s%s=\"%s\"", *buf ? ", " : "", mask_vars[v][i], value);
    }
}

/* The first of vendor v's mask variables that is set (the one to change). */
static const char *first_set(int v)
{
    for (size_t i = 0; mask_vars[v][i]; i++)
        if (getenv(mask_vars[v][i]))
            return mask_vars[v][i];
    return mask_vars[v][0];
}

static void check_visibility(struct doctor_machine *m, struct doctor_report *r)
{
    const struct gpuctl_system *sys = m->seen ? gpuctl_system(m->seen) : NULL;
    const char *nvidia_env = getenv("NVIDIA_VISIBLE_DEVICES");
    struct doctor_check *c = doctor_add(r, "visibility", DOCTOR_OK);

    for (size_t i = 0; sys && i < sys->backend_count; i++) {
        const struct gpuctl_backend_status *st = &sys->backends[i];
        char vars[160] = "";
        int v;

        for (v = 0; v < GPUCTL_VENDOR_CPU; v++)
            if (strcmp(st->name, gpuctl_vendor_name((enum gpuctl_vendor)v)) == 0)
                break;
        if (v == GPUCTL_VENDOR_CPU || !st->available || st->found == 0 || st->visible == st->found)
            continue;
        set_vars(v, vars, sizeof(vars));
        if (st->mask_unsupported) { /* MIG instances: a choice, not a mistake */
            str_appendf(c->finding, sizeof(c->finding),
                        "%s%s names devices gpuctl cannot list (MIG instances): programs see "
                        "only those",
                        c->finding[0] ? "; " : "", vars);
            continue;
        }
        if (st->visible > 0) {
            str_appendf(c->finding, sizeof(c->finding), "%s%s shows %u of %u %s GPUs",
                        c->finding[0] ? "; " : "", vars, st->visible, st->found, vendors[v].name);
            continue;
        }
        c->status = DOCTOR_FAIL;
        m->hidden[v] = true;
        str_copy(m->hidden_by[v], vars, sizeof(m->hidden_by[v]));
        str_appendf(c->finding, sizeof(c->finding), "%s%s hides every %s GPU (%u)",
                    c->finding[0] ? "; " : "", vars, vendors[v].name, st->found);
        str_appendf(c->fix, sizeof(c->fix), "%sunset %s, or set it to the GPUs to use (%s=0)",
                    c->fix[0] ? "; " : "", first_set(v), first_set(v));
    }
    if (m->container[0]) {
        bool nodes = false;

        for (int v = 0; v < GPUCTL_VENDOR_CPU; v++)
            nodes |= m->gpu_works[v];
        str_appendf(c->finding, sizeof(c->finding), "%sin a container (%s) %s",
                    c->finding[0] ? "; " : "", m->container,
                    nodes ? "with GPU devices" : "without any GPU device");
        if (!nodes && m->npci > 0) {
            c->status = DOCTOR_FAIL;
            if (nvidia_env && (strcmp(nvidia_env, "void") == 0 || strcmp(nvidia_env, "none") == 0 ||
                               !*nvidia_env))
                str_appendf(c->finding, sizeof(c->finding),
                            " (NVIDIA_VISIBLE_DEVICES=\"%s\" asked for none)", nvidia_env);
            str_appendf(c->fix, sizeof(c->fix), "%s%s", c->fix[0] ? "; " : "", container_fix);
        }
    }
    if (!c->finding[0])
        str_copy(c->finding, "no variable hides a GPU, and this is not a container",
                 sizeof(c->finding));
}

void doctor_check_hardware(struct doctor_machine *m, struct doctor_report *r)
{
    char release[256];
    bool bound[4] = {false, false, false, false};
    bool has_nvidia = false;

    if (fs_read(m->procfs_root, "sys/kernel/osrelease", release, sizeof(release)) == 0)
        m->wsl = str_contains_nocase(release, "microsoft") || str_contains_nocase(release, "wsl");
    scan_pci(m);
    name_pci(m);
    detect_container(m);
    for (size_t i = 0; i < m->npci; i++)
        has_nvidia |= m->pci[i].vendor == GPUCTL_VENDOR_NVIDIA;
    check_pci(m, r);
    check_drivers(m, r, bound);
    check_nvml(m, r, has_nvidia || m->wsl);
    check_devices(m, r, bound);
    if (!bound[GPUCTL_VENDOR_NVIDIA] && !m->wsl && m->nvidia_driver)
        m->gpu_works[GPUCTL_VENDOR_NVIDIA] = true; /* NVML answers; sysfs does not show PCI */
    if (m->gpu_works[GPUCTL_VENDOR_NVIDIA] && !m->nvidia_driver)
        m->gpu_works[GPUCTL_VENDOR_NVIDIA] = false; /* files open, but NVML does not answer */
    collect_ccs(m);
    if (m->nvidia_driver && m->nvidia_driver[0])
        check_cuda(m, r);
    check_visibility(m, r);
}
