/* tune_sim.c: gpuctl tune's search (src/tune/search.c) against PyTorch Lightning's
 * scale_batch_size `power` and `binsearch` modes on 20 synthetic curves
 * (tests/fakes/trainer/curve.h): trials used and throughput lost against the best size.
 *
 *   bench_tune_sim [SEED]    prints a Markdown table and a totals line
 *
 * Lightning's modes are written from batch_size_scaling.py (research notes §A) with
 * init_val = 1 (gpuctl's --min; Lightning's default is 2, one trial fewer), max_val = 4096
 * (gpuctl's --max), max_trials = 25 and binsearch's margin of 5%. */
#include <stdio.h>
#include <stdlib.h>

#include "../tests/fakes/trainer/curve.h"
#include "tune/search.h"

#define MAX_SIZE   4096u
#define MAX_TRIALS 25
#define CURVES     20

/* The best throughput over sizes that fit, any size (grid = false) or only those the search's
 * grid holds (below 64, and multiples of 8 from 64 up). */
static double best_of(const struct curve *c, bool grid)
{
    double best = 0;

    for (unsigned b = 1; b <= MAX_SIZE && curve_fits(c, b); b++)
        if ((!grid || b < 64 || b % 8 == 0) && curve_throughput(c, b) > best)
            best = curve_throughput(c, b);
    return best;
}

static unsigned gpuctl_search(const struct curve *c, unsigned *trials)
{
    struct tune_search s;
    struct tune_result r;
    unsigned size;

    tune_search_init(&s, 1, MAX_SIZE);
    while (tune_search_next(&s, &size)) {
        bool fits = curve_fits(c, size);
        tune_search_record(&s, size, fits, fits ? curve_throughput(c, size) : 0);
    }
    tune_search_result(&s, &r);
    *trials = (unsigned)s.n;
    return r.found ? r.recommended : 0;
}

/* Lightning's power mode: double on success; on the first OOM after a success, halve and stop;
 * an OOM before any success halves and goes on. Returns the last size that ran. */
static unsigned lightning_power(const struct curve *c, unsigned *trials)
{
    unsigned size = 1, last = 0, n = 0;
    bool any = false;

    while (n < MAX_TRIALS && size > 0) {
        n++;
        if (curve_fits(c, size)) {
            unsigned next = size * 2 > MAX_SIZE ? MAX_SIZE : size * 2;
            last = size;
            any = true;
            if (next == size)
                break;
            size = next;
        } else {
            size /= 2;
            if (any)
                break;
        }
    }
    *trials = n;
    return last;
}

/* Lightning's binsearch mode: double until the first OOM, then bisect between the last success
 * and the first OOM until they are 1 apart; then take 5% off. */
static unsigned lightning_binsearch(const struct curve *c, unsigned *trials)
{
    unsigned size = 1, low = 1, high = 0, n = 0, successes = 0;

    for (;;) {
        n++;
        if (curve_fits(c, size)) {
            if (++successes > MAX_TRIALS)
                break;
            low = size;
            if (high) {
                if (high - low <= 1)
                    break;
                size = (high + low) / 2;
            } else {
                unsigned next = size * 2 > MAX_SIZE ? MAX_SIZE : size * 2;
                if (next == size)
                    break;
                size = next;
            }
        } else {
            high = size;
            size = (high + low) / 2;
            if (high - low <= 1)
                break;
        }
    }
    *trials = n;
    size = low;
    return (unsigned)(size * 0.95) > 0 ? (unsigned)(size * 0.95) : 1;
}

/* Log-uniform in [lo, hi] from a fixed generator, so every run draws the same curves. */
static unsigned draw(unsigned long long *state, unsigned lo, unsigned hi)
{
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    double u = (double)(*state >> 11) / (double)(1ULL << 53);
    double v = lo * __builtin_pow((double)hi / lo, u);
    return (unsigned)(v + 0.5);
}

static double lost(const struct curve *c, unsigned size, double best)
{
    return size ? 100.0 * (1.0 - curve_throughput(c, size) / best) : 100.0;
}

int main(int argc, char **argv)
{
    unsigned long long state = argc > 1 ? strtoull(argv[1], NULL, 10) : 7;
    unsigned sum[3] = {0, 0, 0}, within = 0;
    double worst = 0, worst_grid = 0, lost_sum[3] = {0, 0, 0};

    printf("| # | fits up to | peak | falls after | gpuctl tune: size, trials, lost (vs grid) "
           "| power: size, trials, lost | binsearch: size, trials, lost |\n");
    printf("| --- | --- | --- | --- | --- | --- | --- |\n");
    for (int i = 0; i < CURVES; i++) {
        struct curve c;
        unsigned t[3], size[3];
        c.fit = draw(&state, 8, 4096);
        c.peak = draw(&state, 8, 4096);
        c.fall = c.peak + draw(&state, 1, c.peak);
        c.top = 1000;
        double best = best_of(&c, false), grid = best_of(&c, true);
        size[0] = gpuctl_search(&c, &t[0]);
        size[1] = lightning_power(&c, &t[1]);
        size[2] = lightning_binsearch(&c, &t[2]);
        double l[3] = {lost(&c, size[0], best), lost(&c, size[1], best), lost(&c, size[2], best)};
        double lg = lost(&c, size[0], grid);
        printf(
            "| %d | %u | %u | %u | %u, %u, %.1f%% (%.1f%%) | %u, %u, %.1f%% | %u, %u, %.1f%% |\n",
            i + 1, c.fit, c.peak, c.fall, size[0], t[0], l[0], lg, size[1], t[1], l[1], size[2],
            t[2], l[2]);
        for (int k = 0; k < 3; k++) {
            sum[k] += t[k];
            lost_sum[k] += l[k];
        }
        worst = l[0] > worst ? l[0] : worst;
        worst_grid = lg > worst_grid ? lg : worst_grid;
        within += t[0] <= t[1];
    }
    printf("| total | | | | %u trials, mean lost %.2f%% | %u trials, mean lost %.2f%% | %u trials, "
           "mean lost %.2f%% |\n",
           sum[0], lost_sum[0] / CURVES, sum[1], lost_sum[1] / CURVES, sum[2],
           lost_sum[2] / CURVES);
    printf("\ntotals: gpuctl=%u power=%u binsearch=%u worst_lost=%.2f worst_lost_grid=%.2f "
           "curves_within_power=%u/%d mean_lost_gpuctl=%.2f mean_lost_power=%.2f "
           "mean_lost_binsearch=%.2f\n",
           sum[0], sum[1], sum[2], worst, worst_grid, within, CURVES, lost_sum[0] / CURVES,
           lost_sum[1] / CURVES, lost_sum[2] / CURVES);
    return 0;
}
