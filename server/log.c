/* log.c — structured logging to stderr. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static cfg_log_level min_level = CFG_LOG_INFO;
static cfg_log_format fmt = CFG_LOG_JSON;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void srv_log_setup(cfg_log_level level, cfg_log_format format)
{
    min_level = level;
    fmt = format;
}

int srv_log_enabled(cfg_log_level level)
{
    return level >= min_level;
}

int srv_log_begin(struct srv_logrec *r, cfg_log_level level, const char *event)
{
    srv_buf_init(&r->b);
    r->active = level >= min_level;
    if (!r->active) return 0;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[64];
    snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)(ts.tv_nsec / 1000000) % 1000);
    if (fmt == CFG_LOG_JSON)
        srv_buf_printf(&r->b, "{\"ts\":\"%s\",\"level\":\"%s\",\"event\":\"%s\"", when,
                       level_names[level], event);
    else
        srv_buf_printf(&r->b, "%s %-5s %s", when, level_names[level], event);
    return 1;
}

static void key(struct srv_logrec *r, const char *k)
{
    if (fmt == CFG_LOG_JSON)
        srv_buf_printf(&r->b, ",\"%s\":", k);
    else
        srv_buf_printf(&r->b, " %s=", k);
}

void srv_log_str(struct srv_logrec *r, const char *k, const char *value)
{
    if (!r->active || !value) return;
    key(r, k);
    size_t n = strlen(value);
    int plain = fmt == CFG_LOG_TEXT && n > 0;
    for (size_t i = 0; plain && i < n; i++)
        if ((unsigned char)value[i] <= ' ' || value[i] == '"' || value[i] == '=' ||
            (unsigned char)value[i] >= 0x7f)
            plain = 0;
    if (plain)
        srv_buf_put(&r->b, value, n);
    else
        srv_buf_json_string(&r->b, value, n);
}

void srv_log_int(struct srv_logrec *r, const char *k, long long value)
{
    if (!r->active) return;
    key(r, k);
    srv_buf_printf(&r->b, "%lld", value);
}

void srv_log_num(struct srv_logrec *r, const char *k, double value, int decimals)
{
    if (!r->active) return;
    key(r, k);
    srv_buf_json_fixed(&r->b, value, decimals);
}

void srv_log_end(struct srv_logrec *r)
{
    if (!r->active) {
        srv_buf_free(&r->b);
        return;
    }
    if (fmt == CFG_LOG_JSON) srv_buf_putc(&r->b, '}');
    srv_buf_putc(&r->b, '\n');
    if (!r->b.oom) {
        const char *p = r->b.data;
        size_t left = r->b.len;
        while (left) {
            ssize_t w = write(STDERR_FILENO, p, left);
            if (w <= 0) break;
            p += w;
            left -= (size_t)w;
        }
    }
    srv_buf_free(&r->b);
    r->active = 0;
}

void srv_log_msg(cfg_log_level level, const char *event, const char *f, ...)
{
    struct srv_logrec r;
    if (!srv_log_begin(&r, level, event)) {
        srv_log_end(&r);
        return;
    }
    char msg[1024];
    va_list ap;
    va_start(ap, f);
    vsnprintf(msg, sizeof msg, f, ap);
    va_end(ap);
    srv_log_str(&r, "msg", msg);
    srv_log_end(&r);
}
