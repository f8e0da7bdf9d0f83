/* log.h — structured log lines on stderr: JSON objects (or key=value text), one line each,
 * written with a single write() so lines from threads never interleave. */
#ifndef ATTNSERVE_SRV_LOG_H
#define ATTNSERVE_SRV_LOG_H

#include "config.h"
#include "jsonw.h"

/* Chooses level and format; call once at start-up (before threads). */
void srv_log_setup(cfg_log_level level, cfg_log_format format);
int srv_log_enabled(cfg_log_level level);

/* A line being built: srv_log_begin, fields, srv_log_end. */
struct srv_logrec {
    struct srv_buf b;
    int active;
};
/* Starts a line (timestamp, level, event). Returns 0 when the level is filtered out (the
 * field calls are then no-ops). */
int srv_log_begin(struct srv_logrec *r, cfg_log_level level, const char *event);
void srv_log_str(struct srv_logrec *r, const char *key, const char *value);
void srv_log_int(struct srv_logrec *r, const char *key, long long value);
void srv_log_num(struct srv_logrec *r, const char *key, double value, int decimals);
void srv_log_end(struct srv_logrec *r);

/* A line with one "msg" field. */
void srv_log_msg(cfg_log_level level, const char *event, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#endif
