/* Times libinjection (SQLi and XSS) over values, one per line, as
 * `rampart bench payloads --dump` writes them: each value is URL-decoded
 * (as Rampart's decoder does first) and judged by libinjection_sqli and
 * libinjection_xss. Prints values, flagged, and the median µs per value of
 * five passes. Our code; only libinjection's public API is called. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "libinjection.h"

static int hex(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* In place; returns the new length. `+` is a space, as in a form. */
static size_t url_decode(char *s, size_t n) {
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
            s[o++] = (char)(hex(s[i + 1]) * 16 + hex(s[i + 2]));
            i += 2;
        } else {
            s[o++] = s[i] == '+' ? ' ' : s[i];
        }
    }
    return o;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s VALUES_FILE\n", argv[0]);
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) { perror(argv[1]); return 2; }
    size_t cap = 1024, count = 0;
    char **values = malloc(cap * sizeof *values);
    size_t *lens = malloc(cap * sizeof *lens);
    char *line = NULL;
    size_t linecap = 0;
    ssize_t got;
    while ((got = getline(&line, &linecap, f)) > 0) {
        if (line[got - 1] == '\n') got--;
        if (count == cap) {
            cap *= 2;
            values = realloc(values, cap * sizeof *values);
            lens = realloc(lens, cap * sizeof *lens);
        }
        values[count] = malloc((size_t)got + 1);
        memcpy(values[count], line, (size_t)got);
        lens[count] = (size_t)got;
        count++;
    }
    fclose(f);
    char *buf = malloc(1 << 20);
    char fingerprint[8];
    double passes[5];
    long flagged = 0;
    for (int p = 0; p < 5; p++) {
        flagged = 0;
        double start = now();
        for (size_t i = 0; i < count; i++) {
            size_t n = lens[i] < (1 << 20) ? lens[i] : (1 << 20);
            memcpy(buf, values[i], n);
            n = url_decode(buf, n);
            flagged += libinjection_sqli(buf, n, fingerprint) || libinjection_xss(buf, n);
        }
        passes[p] = (now() - start) * 1e6 / (double)count;
    }
    qsort(passes, 5, sizeof passes[0], cmp);
    printf("{\"values\":%zu,\"flagged\":%ld,\"us_per_value\":%.3f}\n", count, flagged, passes[2]);
    return 0;
}
