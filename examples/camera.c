/* camera.c - the C version of camera.py: a plain libzmq publisher, as a robot's camera
 * driver might be.  Binds a PUB socket on the endpoint given and publishes a numbered
 * frame (two parts: "frame" and the number, and with --size a third: the image) every
 * --interval seconds; --hwm sets ZMQ_SNDHWM.  Nothing in it
 * knows nomid: it is built against libzmq's own zmq.h and runs on libzmq, or under
 * `nomid exec` on nomid's drop-in (README, "Existing ZeroMQ programs join the mesh"):
 *
 *   cc examples/camera.c -o camera -lzmq
 *   build/nomid exec --advertise camera=tcp://0.0.0.0:5556 -- ./camera --bind tcp://0.0.0.0:5556
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void usage(void)
{
    fprintf(stderr, "usage: camera [--bind ENDPOINT] [--interval SECONDS] [--count N] "
                    "[--size BYTES] [--hwm N]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *bind = "tcp://*:5556";
    double interval = 0.1;
    long count = 0; /* 0: until stopped */
    long size = 0;  /* bytes of image data in each frame: 0, none */
    int hwm = 0;    /* 0: libzmq's default */
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            usage();
        if (!strcmp(argv[i], "--bind"))
            bind = argv[++i];
        else if (!strcmp(argv[i], "--interval"))
            interval = atof(argv[++i]);
        else if (!strcmp(argv[i], "--count"))
            count = atol(argv[++i]);
        else if (!strcmp(argv[i], "--size"))
            size = atol(argv[++i]);
        else if (!strcmp(argv[i], "--hwm"))
            hwm = atoi(argv[++i]);
        else
            usage();
    }
    if (size < 0 || hwm < 0)
        usage();
    char *image = calloc(1, (size_t)size + 1);
    if (!image)
        return 1;
    memset(image, 0x80, (size_t)size);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    void *ctx = zmq_ctx_new();
    if (!ctx) {
        fprintf(stderr, "camera: zmq_ctx_new: %s\n", zmq_strerror(errno));
        return 1;
    }
    void *pub = zmq_socket(ctx, ZMQ_PUB);
    if (!pub || (hwm && zmq_setsockopt(pub, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0) ||
        zmq_bind(pub, bind) != 0) {
        fprintf(stderr, "camera: bind %s: %s\n", bind, zmq_strerror(errno));
        return 1;
    }
    char ep[256];
    size_t len = sizeof ep;
    if (zmq_getsockopt(pub, ZMQ_LAST_ENDPOINT, ep, &len) != 0)
        strcpy(ep, bind);
    printf("camera: publishing on %s\n", ep);
    fflush(stdout);

    struct timespec nap = {(time_t)interval, (long)((interval - (time_t)interval) * 1e9)};
    for (long n = 0; !stop && (count == 0 || n < count); n++) {
        char number[32];
        int k = snprintf(number, sizeof number, "%ld", n);
        zmq_send(pub, "frame", 5, ZMQ_SNDMORE);
        zmq_send(pub, number, (size_t)k, size ? ZMQ_SNDMORE : 0);
        if (size)
            zmq_send(pub, image, (size_t)size, 0);
        nanosleep(&nap, NULL);
    }
    int linger = 0;
    zmq_setsockopt(pub, ZMQ_LINGER, &linger, sizeof linger);
    zmq_close(pub);
    zmq_ctx_term(ctx);
    free(image);
    return 0;
}
