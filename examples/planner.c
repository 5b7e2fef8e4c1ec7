/* planner.c - the C version of planner.py: a plain libzmq subscriber, as a robot's
 * planner might be.  Connects a SUB socket to the camera endpoint given and prints every
 * frame it receives, one line each.  --stop-after N makes a planner that hangs: after N
 * frames it stops reading but stays connected until stopped; --hwm sets ZMQ_RCVHWM.
 * Nothing in it knows nomid: under `nomid exec`, given --camera svc://camera, it finds
 * the camera by name (README, "Existing ZeroMQ programs join the mesh"):
 *
 *   cc examples/planner.c -o planner -lzmq
 *   build/nomid exec -- ./planner --camera svc://camera
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zmq.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void usage(void)
{
    fprintf(stderr, "usage: planner [--camera ENDPOINT] [--count N] [--stop-after N] "
                    "[--hwm N]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *camera = "tcp://127.0.0.1:5556";
    long count = 0;      /* 0: until stopped */
    long stop_after = 0; /* 0: never */
    int hwm = 0;         /* 0: libzmq's default */
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            usage();
        if (!strcmp(argv[i], "--camera"))
            camera = argv[++i];
        else if (!strcmp(argv[i], "--count"))
            count = atol(argv[++i]);
        else if (!strcmp(argv[i], "--stop-after"))
            stop_after = atol(argv[++i]);
        else if (!strcmp(argv[i], "--hwm"))
            hwm = atoi(argv[++i]);
        else
            usage();
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: zmq_msg_recv returns EINTR */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    void *ctx = zmq_ctx_new();
    if (!ctx) {
        fprintf(stderr, "planner: zmq_ctx_new: %s\n", zmq_strerror(errno));
        return 1;
    }
    void *sub = zmq_socket(ctx, ZMQ_SUB);
    if (!sub || (hwm && zmq_setsockopt(sub, ZMQ_RCVHWM, &hwm, sizeof hwm) != 0) ||
        zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "frame", 5) != 0 || zmq_connect(sub, camera) != 0) {
        fprintf(stderr, "planner: connect %s: %s\n", camera, zmq_strerror(errno));
        return 1;
    }
    for (long n = 0; !stop && (count == 0 || n < count); n++) {
        if (stop_after && n == stop_after) {
            printf("planner: stopped reading after %ld frames\n", n);
            fflush(stdout);
            while (!stop)
                pause(); /* until SIGINT or SIGTERM */
            break;
        }
        /* The first two parts: the topic and the number (more, as the image, skipped). */
        char part[2][64];
        int len[2] = {0, 0};
        int more = 1;
        for (int i = 0; more; i++) {
            zmq_msg_t msg;
            zmq_msg_init(&msg);
            if (zmq_msg_recv(&msg, sub, 0) < 0) {
                zmq_msg_close(&msg);
                if (errno == EINTR)
                    goto out;
                fprintf(stderr, "planner: recv: %s\n", zmq_strerror(errno));
                return 1;
            }
            if (i < 2) {
                size_t k = zmq_msg_size(&msg) < 63 ? zmq_msg_size(&msg) : 63;
                memcpy(part[i], zmq_msg_data(&msg), k);
                len[i] = (int)k;
            }
            more = zmq_msg_more(&msg);
            zmq_msg_close(&msg);
        }
        printf("planner: got %.*s %.*s\n", len[0], part[0], len[1], part[1]);
        fflush(stdout);
    }
out:;
    int linger = 0;
    zmq_setsockopt(sub, ZMQ_LINGER, &linger, sizeof linger);
    zmq_close(sub);
    zmq_ctx_term(ctx);
    return 0;
}
