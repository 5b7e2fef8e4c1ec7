/*
 * util.c - the calls of libzmq's API that need no socket: versions, zmq_has, Z85,
 * the CURVE key helpers, atomic counters,
 * stopwatch, sleep and threads.  Timers are in timers.c.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "compat/compat.h"

#define ZC_STR2(x) #x
#define ZC_STR(x)  ZC_STR2(x)

void zmq_version(int *major_, int *minor_, int *patch_)
{
    *major_ = ZMQ_VERSION_MAJOR;
    *minor_ = ZMQ_VERSION_MINOR;
    *patch_ = ZMQ_VERSION_PATCH;
}

const char *nomid_zmq_version(void)
{
    return "nomid " ZC_STR(NM_VERSION_MAJOR) "." ZC_STR(NM_VERSION_MINOR) "." ZC_STR(
        NM_VERSION_PATCH);
}

/* What this build can do, by libzmq's capability names. */
static const struct {
    const char *name;
    int has;
} zc_caps[] = {
    {"ipc", 1},    {"pgm", 0},   {"tipc", 0}, {"norm", 0}, {"curve", 1},
    {"gssapi", 0}, {"draft", 0}, {"ws", 0},   {"wss", 0},  {"vmci", 0},
};

int zmq_has(const char *capability_)
{
    for (size_t i = 0; capability_ && i < sizeof(zc_caps) / sizeof(zc_caps[0]); i++)
        if (strcmp(capability_, zc_caps[i].name) == 0)
            return zc_caps[i].has;
    return 0;
}

/* ---- Z85 and CURVE keys: the core's --------------------------------------------------- */

char *zmq_z85_encode(char *dest_, const uint8_t *data_, size_t size_)
{
    char *r = nm_z85_encode(dest_, data_, size_);
    if (r == NULL)
        errno = EINVAL;
    return r;
}

uint8_t *zmq_z85_decode(uint8_t *dest_, const char *string_)
{
    uint8_t *r = nm_z85_decode(dest_, string_);
    if (r == NULL)
        errno = EINVAL;
    return r;
}

int zmq_curve_keypair(char *z85_public_key_, char *z85_secret_key_)
{
    uint8_t pub[32], sec[32];
    int rc = nm_curve_keypair(pub, sec);
    if (rc < 0)
        return zc_errno(-rc);
    nm_z85_encode(z85_public_key_, pub, sizeof(pub));
    nm_z85_encode(z85_secret_key_, sec, sizeof(sec));
    return 0;
}

int zmq_curve_public(char *z85_public_key_, const char *z85_secret_key_)
{
    uint8_t pub[32], sec[32];
    if (z85_secret_key_ == NULL || strlen(z85_secret_key_) != 40 ||
        nm_z85_decode(sec, z85_secret_key_) == NULL)
        return zc_errno(EINVAL);
    int rc = nm_curve_public(pub, sec);
    if (rc < 0)
        return zc_errno(-rc);
    nm_z85_encode(z85_public_key_, pub, sizeof(pub));
    return 0;
}

/* ---- atomic counters ---------------------------------------------------------------- */

void *zmq_atomic_counter_new(void)
{
    atomic_int *c = malloc(sizeof(*c));
    if (c != NULL)
        atomic_init(c, 0);
    return c;
}

void zmq_atomic_counter_set(void *counter_, int value_)
{
    atomic_store((atomic_int *)counter_, value_);
}

int zmq_atomic_counter_inc(void *counter_)
{
    return atomic_fetch_add((atomic_int *)counter_, 1); /* the value before, as libzmq */
}

int zmq_atomic_counter_dec(void *counter_)
{
    return atomic_fetch_sub((atomic_int *)counter_, 1) - 1 != 0; /* 0 once it reaches 0 */
}

int zmq_atomic_counter_value(void *counter_)
{
    return atomic_load((atomic_int *)counter_);
}

void zmq_atomic_counter_destroy(void **counter_p_)
{
    free(*counter_p_);
    *counter_p_ = NULL;
}

/* ---- stopwatch, sleep, threads ----------------------------------------------------- */

void *zmq_stopwatch_start(void)
{
    uint64_t *w = malloc(sizeof(*w));
    if (w != NULL)
        *w = nm_clock_ns();
    return w;
}

unsigned long zmq_stopwatch_intermediate(void *watch_)
{
    return (unsigned long)((nm_clock_ns() - *(uint64_t *)watch_) / 1000);
}

unsigned long zmq_stopwatch_stop(void *watch_)
{
    unsigned long us = zmq_stopwatch_intermediate(watch_);
    free(watch_);
    return us;
}

void zmq_sleep(int seconds_)
{
    struct timespec ts = {.tv_sec = seconds_ > 0 ? seconds_ : 0};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

typedef struct zc_thread {
    pthread_t tid;     /* the thread */
    zmq_thread_fn *fn; /* what it runs */
    void *arg;         /* with this */
} zc_thread;

static void *zc_thread_main(void *p)
{
    zc_thread *t = p;
    t->fn(t->arg);
    return NULL;
}

void *zmq_threadstart(zmq_thread_fn *func_, void *arg_)
{
    zc_thread *t = malloc(sizeof(*t));
    if (t == NULL)
        return NULL;
    t->fn = func_;
    t->arg = arg_;
    if (pthread_create(&t->tid, NULL, zc_thread_main, t) != 0) {
        free(t);
        return NULL;
    }
    return t;
}

void zmq_threadclose(void *thread_)
{
    zc_thread *t = thread_;
    if (t == NULL)
        return;
    pthread_join(t->tid, NULL);
    free(t);
}
