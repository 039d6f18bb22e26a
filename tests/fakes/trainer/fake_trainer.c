/* fake_trainer.c: a training program for `gpuctl tune`'s tests, whose memory limit, throughput
 * curve and ways of failing are set by flags:
 *
 *   fake_trainer [--batch N] [--fit N] [--peak N] [--fall N] [--top X] [--oom STYLE]
 *                [--report samples|itps|sit|hf|none] [--steps N] [--fail-at N] [--hang-at N]
 *                [--sleep S]
 *
 * The batch size is --batch, else $GPUCTL_BATCH_SIZE. Above --fit it prints STYLE's
 * out-of-memory message (oom_messages.h; "kill" raises SIGKILL as the host's OOM killer would)
 * and exits 1. From --fail-at on it fails otherwise; from --hang-at on it never ends. Else it
 * prints its throughput (curve.h) in the --report form with some distracting numbers, and with
 * --steps sleeps as long as that many steps of the batch would take, printing nothing. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "curve.h"
#include "oom_messages.h"

struct flags {
    unsigned batch, steps, fail_at, hang_at;
    struct curve curve;
    const char *oom, *report;
    double sleep_s;
};

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int usage(const char *why)
{
    fprintf(stderr, "fake_trainer: %s\n", why);
    return 2;
}

static int parse(struct flags *f, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            return usage("every flag takes a value");
        i++;
        if (strcmp(k, "--batch") == 0)
            f->batch = (unsigned)strtoul(v, NULL, 10);
        else if (strcmp(k, "--fit") == 0)
            f->curve.fit = (unsigned)strtoul(v, NULL, 10);
        else if (strcmp(k, "--peak") == 0)
            f->curve.peak = (unsigned)strtoul(v, NULL, 10);
        else if (strcmp(k, "--fall") == 0)
            f->curve.fall = (unsigned)strtoul(v, NULL, 10);
        else if (strcmp(k, "--top") == 0)
            f->curve.top = strtod(v, NULL);
        else if (strcmp(k, "--oom") == 0)
            f->oom = v;
        else if (strcmp(k, "--report") == 0)
            f->report = v;
        else if (strcmp(k, "--steps") == 0)
            f->steps = (unsigned)strtoul(v, NULL, 10);
        else if (strcmp(k, "--fail-at") == 0)
            f->fail_at = (unsigned)strtoul(v, NULL, 10);
        else if (strcmp(k, "--hang-at") == 0)
            f->hang_at = (unsigned)strtoul(v, NULL, 10);
        else if (strcmp(k, "--sleep") == 0)
            f->sleep_s = strtod(v, NULL);
        else
            return usage("unknown flag");
    }
    return 0;
}

static int out_of_memory(const char *style)
{
    if (strcmp(style, "kill") == 0) {
        fputs("epoch 1: allocating ...\n", stderr);
        raise(SIGKILL);
    }
    for (size_t i = 0; i < sizeof(oom_messages) / sizeof(oom_messages[0]); i++) {
        if (strcmp(oom_messages[i].style, style) == 0) {
            fputs(oom_messages[i].text, stderr);
            return 1;
        }
    }
    return usage("unknown --oom style");
}

static void report(const char *form, unsigned batch, double t)
{
    if (strcmp(form, "samples") == 0) {
        printf("epoch 1 step 10: loss 2.3026, 0.5 samples/s while warming up\n");
        printf("epoch 1 step 20: loss 1.9012, lr 3e-4, %.1f samples/s\n", t);
    } else if (strcmp(form, "itps") == 0) { /* tqdm on stderr, updated with \r */
        fprintf(stderr, "train:  50%%|#####     | 5/10 [00:01<00:01,  1.02it/s]\r");
        fprintf(stderr, "train: 100%%|##########| 10/10 [00:02<00:00, %.2fit/s]\n", t / batch);
    } else if (strcmp(form, "sit") == 0) {
        fprintf(stderr, "train: 100%%|##########| 10/10 [00:20<00:00, %.3fs/it]\n", batch / t);
    } else if (strcmp(form, "hf") == 0) {
        printf("{'train_runtime': 12.5, 'train_samples_per_second': %.3f, "
               "'train_steps_per_second': 0.8, 'epoch': 1.0}\n",
               t);
    }
}

int main(int argc, char **argv)
{
    struct flags f = {.curve = {1000, 128, 256, 1000.0}, .oom = "pytorch", .report = "samples"};
    const char *env = getenv("GPUCTL_BATCH_SIZE");
    double t;

    if (env)
        f.batch = (unsigned)strtoul(env, NULL, 10);
    if (parse(&f, argc, argv) != 0)
        return 2;
    if (f.batch == 0)
        return usage("no batch size: give --batch or GPUCTL_BATCH_SIZE");
    if (f.curve.fall < f.curve.peak)
        f.curve.fall = f.curve.peak;
    printf("fake_trainer: batch %u\n", f.batch);
    fflush(stdout);
    if (f.sleep_s > 0)
        sleep_s(f.sleep_s);
    if (f.hang_at && f.batch >= f.hang_at) {
        for (;;)
            pause();
    }
    if (f.fail_at && f.batch >= f.fail_at) {
        fprintf(stderr,
                "Traceback (most recent call last):\n"
                "  File \"train.py\", line 42, in <module>\n"
                "ValueError: Expected input batch_size (%u) to match target batch_size "
                "(%u).\n",
                f.batch, f.batch - 1);
        return 1;
    }
    if (!curve_fits(&f.curve, f.batch))
        return out_of_memory(f.oom);
    t = curve_throughput(&f.curve, f.batch);
    if (f.steps) {
        sleep_s(f.batch * (double)f.steps / t);
        return 0;
    }
    report(f.report, f.batch, t);
    return 0;
}
