/* fuzz_util.c — the files helpers of the fuzz harnesses (see fuzz.h). */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[256];

static void remove_dir(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (dir[0] && system(cmd) != 0) fprintf(stderr, "fuzz: could not remove %s\n", dir);
}

const char *fuzz_dir(void)
{
    if (!dir[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/attnserve-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(dir)) {
            perror("fuzz: mkdtemp");
            abort();
        }
        atexit(remove_dir);
    }
    return dir;
}

void fuzz_path(const char *sub, char *buf, size_t n)
{
    snprintf(buf, n, "%s/%s", fuzz_dir(), sub);
}

int fuzz_write(const char *name, const void *data, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", fuzz_dir(), name);
    char *slash = strrchr(path, '/');
    if (slash && slash > path + strlen(fuzz_dir())) { /* name has a subfolder */
        *slash = '\0';
        mkdir(path, 0700);
        *slash = '/';
    }
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = n ? fwrite(data, 1, n, f) : 0;
    return fclose(f) == 0 && w == n ? 0 : -1;
}

void fuzz_copy(const char *path, const char *name)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "fuzz: fixture %s is missing (run from the source root)\n", path);
        abort();
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc(n > 0 ? (size_t)n : 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n || fuzz_write(name, buf, (size_t)n)) {
        fprintf(stderr, "fuzz: cannot copy %s\n", path);
        abort();
    }
    free(buf);
    fclose(f);
}

void fuzz_remove(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", fuzz_dir(), name);
    unlink(path);
}

void fuzz_split(const uint8_t *data, size_t n, uint8_t sep, size_t *n1, const uint8_t **p2,
                size_t *n2)
{
    const uint8_t *at = n ? memchr(data, sep, n) : NULL;
    *n1 = at ? (size_t)(at - data) : n;
    *p2 = at ? at + 1 : data + n;
    *n2 = at ? n - *n1 - 1 : 0;
}
