/* test_srv_connguard.c — the header deadline: overdue connections are shut down, connections
 * inside a request or within their deadline are left alone. Sockets are socketpairs: the far end
 * reads EOF once the guard shut the near end down. */
#include <criterion/criterion.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "connguard.h"

/* 1 when fd's peer sees the end of the stream within ms, else 0. */
static int peer_sees_eof(int peer, int ms)
{
    struct pollfd p = {.fd = peer, .events = POLLIN};
    if (poll(&p, 1, ms) != 1) return 0;
    char c;
    return read(peer, &c, 1) == 0;
}

static void pair(int sv[2])
{
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
}

Test(connguard, shuts_down_a_connection_whose_header_is_overdue)
{
    struct srv_connguard *g = srv_connguard_new(200, 1000);
    cr_assert_not_null(g);
    int sv[2];
    pair(sv);
    struct srv_conn_watch *w = srv_connguard_open(g, sv[0]);
    cr_assert_not_null(w);
    cr_assert_eq(peer_sees_eof(sv[1], 100), 0, "cut before its deadline");
    cr_assert_eq(peer_sees_eof(sv[1], 1000), 1, "not cut within 1 s of a 200 ms deadline");
    cr_assert_eq(srv_connguard_n_cut(g), 1);
    srv_connguard_close(g, w);
    close(sv[0]);
    close(sv[1]);
    srv_connguard_free(g);
}

Test(connguard, leaves_a_connection_alone_while_its_request_runs)
{
    struct srv_connguard *g = srv_connguard_new(100, 100);
    int sv[2];
    pair(sv);
    struct srv_conn_watch *w = srv_connguard_open(g, sv[0]);
    srv_connguard_request_started(g, w);
    cr_assert_eq(peer_sees_eof(sv[1], 500), 0, "cut during its request");
    cr_assert_eq(srv_connguard_n_cut(g), 0);
    /* answered: the next header is due after keep-alive (100 ms) + header time (100 ms) */
    srv_connguard_request_done(g, w);
    cr_assert_eq(peer_sees_eof(sv[1], 120), 0, "cut before keep-alive + header time");
    cr_assert_eq(peer_sees_eof(sv[1], 1000), 1, "not cut after the next header was overdue");
    srv_connguard_close(g, w);
    close(sv[0]);
    close(sv[1]);
    srv_connguard_free(g);
}

Test(connguard, forgets_closed_connections_and_tolerates_missing_watches)
{
    struct srv_connguard *g = srv_connguard_new(100, 100);
    int a[2], b[2];
    pair(a);
    pair(b);
    struct srv_conn_watch *wa = srv_connguard_open(g, a[0]);
    struct srv_conn_watch *wb = srv_connguard_open(g, b[0]);
    srv_connguard_close(g, wa); /* closed in time: never cut, even past its deadline */
    srv_connguard_request_started(g, NULL);
    srv_connguard_request_done(g, NULL);
    srv_connguard_close(g, NULL);
    cr_assert_eq(peer_sees_eof(b[1], 1000), 1, "the open one is still guarded");
    cr_assert_eq(peer_sees_eof(a[1], 50), 0, "the closed one was forgotten");
    cr_assert_eq(srv_connguard_n_cut(g), 1);
    srv_connguard_close(g, wb);
    for (int i = 0; i < 2; i++) {
        close(a[i]);
        close(b[i]);
    }
    srv_connguard_free(g);
    srv_connguard_free(NULL);
}
