/* main.c — the attnserve executable: configuration, BLAS threads, listen, load, serve until
 * SIGTERM/SIGINT, drain, exit 0. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "config.h"
#include "log.h"
#include "tx.h"

extern char **environ;

/* SIGTERM/SIGINT: the handler only writes the signal number to a pipe the main thread reads
 * (async-signal-safe). A handler, not sigwait, because threads that libraries start before
 * main (OpenBLAS) cannot block signals: a signal they received would otherwise kill the
 * process with the default action. */
static int sig_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
    int saved = errno;
    char c = (char)sig;
    if (write(sig_pipe[1], &c, 1) < 0) { /* nothing to do: a pipe of 64 KiB never fills */
    }
    errno = saved;
}

static int wait_for_signal(void)
{
    char c = 0;
    while (read(sig_pipe[0], &c, 1) < 0 && errno == EINTR) {
    }
    return c;
}

int main(int argc, char **argv)
{
    struct cfg_config cfg;
    struct cfg_errors errs = {0};
    int action;
    cfg_init(&cfg);
    if (cfg_load(&cfg, argc, argv, environ, &action, &errs)) {
        for (int i = 0; i < errs.n; i++)
            fprintf(stderr, "attnserve: %s\n", errs.msgs[i]);
        fprintf(stderr, "attnserve: %d configuration problem%s; not starting (see --help)\n",
                errs.n, errs.n == 1 ? "" : "s");
        cfg_errors_free(&errs);
        cfg_free(&cfg);
        return 2;
    }
    if (action == CFG_HELP) {
        cfg_print_help(stdout, "attnserve");
        cfg_free(&cfg);
        return 0;
    }
    if (action == CFG_PRINT_GEN_OPTIONS) {
        /* the option table as openapi.yaml's GenerationOptions properties (check-openapi.mjs) */
        json_t *schema = cfg_gen_options_schema(cfg.limits.max_output_tokens);
        int ok = schema && json_dumpf(schema, stdout, JSON_INDENT(2)) == 0;
        json_decref(schema);
        cfg_free(&cfg);
        return ok && putchar('\n') != EOF && fflush(stdout) == 0 ? 0 : 1;
    }
    if (action == CFG_VERSION) {
        printf("attnserve %s\n", cfg_version());
        cfg_free(&cfg);
        return 0;
    }
    srv_log_setup(cfg.log_level, cfg.log_format);

    /* BLAS parallelism is chosen once: several single-threaded workers, workers with engine
     * threads (BLAS single-threaded), or one worker with as many BLAS threads as CPUs */
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int blas = cfg.blas_threads > 0                            ? cfg.blas_threads
               : cfg.workers == 1 && cfg.engine_threads == 1 ? (int)(ncpu > 0 ? ncpu : 1)
                                                               : 1;
    tx_blas_set_threads(blas);

    if (pipe(sig_pipe)) {
        perror("attnserve: pipe");
        cfg_free(&cfg);
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* threads started from here on (HTTP, workers) block the signals and so are never
     * interrupted; the main thread takes them again once start-up is over */
    sigset_t set, old_mask;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, &old_mask);

    struct srv_app *app = srv_app_new(&cfg);
    if (!app) {
        fprintf(stderr, "attnserve: out of memory\n");
        cfg_free(&cfg);
        return 1;
    }
    char *dump = cfg_dump_json(&cfg);
    if (dump && srv_log_enabled(CFG_LOG_DEBUG)) srv_log_msg(CFG_LOG_DEBUG, "config", "%s", dump);
    free(dump);
    if (action == CFG_CHECK) {
        int rc = srv_app_load(app) ? 1 : 0;
        if (!rc) srv_log_msg(CFG_LOG_INFO, "check", "configuration and models are valid");
        srv_app_free(app);
        cfg_free(&cfg);
        return rc;
    }
    srv_log_msg(CFG_LOG_INFO, "starting", "attnserve %s, %d workers, %d BLAS threads",
                cfg_version(), cfg.workers, blas);
    if (srv_app_listen(app)) {
        srv_app_free(app);
        cfg_free(&cfg);
        return 1;
    }
    if (srv_app_load(app)) {
        srv_app_stop(app);
        srv_app_free(app);
        cfg_free(&cfg);
        return 1;
    }
    pthread_sigmask(SIG_SETMASK, &old_mask, NULL); /* a signal sent meanwhile arrives now */
    int sig = wait_for_signal();
    srv_log_msg(CFG_LOG_INFO, "stopping", "received %s; finishing in-flight requests",
                sig == SIGTERM ? "SIGTERM" : "SIGINT");
    srv_app_stop(app);
    srv_app_free(app);
    cfg_free(&cfg);
    srv_log_msg(CFG_LOG_INFO, "stopped", "bye");
    return 0;
}
