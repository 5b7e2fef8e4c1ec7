/*
 * etcd_http.h - the etcd backend's HTTP client: POSTs JSON to the v3 gateway through
 * libcurl, one client per thread.
 *
 * Each client is an easy handle run inside a multi handle of its own, so that any
 * transfer, and any pause between transfers, can be cut short from another thread with
 * nmd_etcd_http_wake(): the waiting thread sees its abort flag at once instead of
 * after curl's next progress call (up to a second).  The easy handle is kept between
 * requests, so its connection to the server is reused.
 */
#ifndef NMD_ETCD_HTTP_H
#define NMD_ETCD_HTTP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>
#include <jansson.h>

#include "etcd.h"

#define NMD_ETCD_RESPONSE_MAX (16u << 20) /* largest response body read (a big range) */

typedef struct nmd_etcd_http {
    CURLM *multi;                /* runs the transfers; curl_multi_wakeup interrupts it */
    CURL *easy;                  /* the one transfer, reused (keeps the connection) */
    struct curl_slist *headers;  /* Content-Type: application/json */
    const char *base;            /* server URL without a trailing '/' (not owned) */
    const atomic_bool *abort;    /* when set, transfers and sleeps end at once */
    char *body;                  /* response body being read */
    size_t len;                  /* its length */
    size_t cap;                  /* allocated */
    nmd_etcd_stream *stream;     /* streaming request: where the body goes instead */
    nmd_etcd_stream_cb *cb;      /* ... and what it calls per object */
    void *cb_arg;                /* its argument */
    int stream_rc;               /* why the stream callback stopped the transfer */
    char error[CURL_ERROR_SIZE]; /* curl's message for the last failure */
} nmd_etcd_http;

/* 0 or -ENOMEM.  base must outlive the client. */
int nmd_etcd_http_init(nmd_etcd_http *h, const char *base, const atomic_bool *abort);
void nmd_etcd_http_fini(nmd_etcd_http *h);

/* POSTs req (not consumed) to base + path and parses the JSON response into *resp
 * (caller decrefs).  timeout_ms bounds the whole request.  0; -ECANCELED (aborted);
 * -ECONNREFUSED, -EHOSTUNREACH, -ETIMEDOUT, -EIO (transport; h->error says more);
 * -EPROTO (HTTP status other than 200, or a body that is not JSON). */
int nmd_etcd_http_call(nmd_etcd_http *h, const char *path, const json_t *req, json_t **resp,
                       long timeout_ms);

/* POSTs req and feeds the response body to s, which calls cb per object, until the
 * server ends it, cb returns nonzero (returned, unless it is -EMSGSIZE/-ENOMEM from
 * the stream), or the abort flag is set.  No overall timeout: the watch lasts. */
int nmd_etcd_http_stream(nmd_etcd_http *h, const char *path, const json_t *req, nmd_etcd_stream *s,
                         nmd_etcd_stream_cb *cb, void *arg);

/* Sleeps up to ms, or until wake() is called (it may also return early for nothing:
 * callers loop on their own conditions). */
void nmd_etcd_http_sleep(nmd_etcd_http *h, long ms);

/* Wakes the client's thread from any transfer or sleep; safe from any thread. */
void nmd_etcd_http_wake(nmd_etcd_http *h);

#endif
