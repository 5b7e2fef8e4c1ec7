/*
 * etcd_http.c - JSON over HTTP to etcd's v3 gateway (see etcd_http.h).
 *
 * A transfer is driven by curl_multi_perform / curl_multi_poll on the calling thread;
 * the poll returns at once on curl_multi_wakeup, after which the abort flag is
 * checked, so a blocked watch ends within milliseconds of a stop.  Proxies from the
 * environment are ignored: etcd is a peer on the local network, and a proxy in between
 * would break the streaming watch.  "Expect: 100-continue" is switched off as it would
 * cost a round trip (or a second) per request.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etcd_http.h"

#define HTTP_CONNECT_TIMEOUT_MS 1000
#define HTTP_POLL_MS            1000 /* a safety net: wakeups end the poll anyway */

static pthread_once_t http_once = PTHREAD_ONCE_INIT;
static CURLcode http_global_rc;

static void http_global_init(void)
{
    http_global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t http_write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
    nmd_etcd_http *h = arg;
    size_t n = size * nmemb;
    if (h->stream != NULL) {
        int rc = nmd_etcd_stream_feed(h->stream, data, n, h->cb, h->cb_arg);
        if (rc != 0) {
            h->stream_rc = rc;
            return 0; /* ends the transfer with CURLE_WRITE_ERROR */
        }
        return n;
    }
    if (h->len + n > NMD_ETCD_RESPONSE_MAX)
        return 0;
    if (h->len + n + 1 > h->cap) {
        size_t cap = h->cap ? h->cap : 4096;
        while (cap < h->len + n + 1)
            cap *= 2;
        char *b = realloc(h->body, cap);
        if (b == NULL)
            return 0;
        h->body = b;
        h->cap = cap;
    }
    memcpy(h->body + h->len, data, n);
    h->len += n;
    h->body[h->len] = '\0';
    return n;
}

int nmd_etcd_http_init(nmd_etcd_http *h, const char *base, const atomic_bool *abort)
{
    memset(h, 0, sizeof(*h));
    pthread_once(&http_once, http_global_init);
    if (http_global_rc != CURLE_OK)
        return -ENOMEM;
    h->base = base;
    h->abort = abort;
    h->multi = curl_multi_init();
    h->easy = curl_easy_init();
    struct curl_slist *l = curl_slist_append(NULL, "Content-Type: application/json");
    if (l != NULL)
        h->headers = l;
    if (l != NULL && (l = curl_slist_append(h->headers, "Expect:")) != NULL)
        h->headers = l;
    if (h->multi == NULL || h->easy == NULL || l == NULL) {
        nmd_etcd_http_fini(h);
        return -ENOMEM;
    }
    CURL *e = h->easy;
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)HTTP_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h->headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, http_write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, h->error);
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L); /* a silent server ends the watch */
    curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 5L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 2L);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    return 0;
}

void nmd_etcd_http_fini(nmd_etcd_http *h)
{
    if (h->easy != NULL)
        curl_easy_cleanup(h->easy);
    if (h->multi != NULL)
        curl_multi_cleanup(h->multi);
    curl_slist_free_all(h->headers);
    free(h->body);
    memset(h, 0, sizeof(*h));
}

static bool http_aborted(const nmd_etcd_http *h)
{
    return h->abort != NULL && atomic_load(h->abort);
}

static int http_errno(CURLcode res)
{
    switch (res) {
    case CURLE_COULDNT_CONNECT:
        return -ECONNREFUSED;
    case CURLE_COULDNT_RESOLVE_HOST:
        return -EHOSTUNREACH;
    case CURLE_OPERATION_TIMEDOUT:
        return -ETIMEDOUT;
    default:
        return -EIO;
    }
}

/* Runs the prepared transfer to its end, or until aborted. */
static int http_perform(nmd_etcd_http *h, const char *path, const json_t *req, long timeout_ms)
{
    char url[512];
    char *body = json_dumps(req, JSON_COMPACT);
    if (body == NULL)
        return -ENOMEM;
    snprintf(url, sizeof(url), "%s%s", h->base, path);
    h->len = 0;
    h->error[0] = '\0';
    h->stream_rc = 0;
    curl_easy_setopt(h->easy, CURLOPT_URL, url);
    curl_easy_setopt(h->easy, CURLOPT_COPYPOSTFIELDS, body);
    curl_easy_setopt(h->easy, CURLOPT_TIMEOUT_MS, timeout_ms);
    free(body);
    if (curl_multi_add_handle(h->multi, h->easy) != CURLM_OK)
        return -ENOMEM;
    CURLcode res = CURLE_OK;
    int rc = 1;
    while (rc == 1) {
        if (http_aborted(h)) {
            rc = -ECANCELED;
            break;
        }
        int running = 0, left;
        if (curl_multi_perform(h->multi, &running) != CURLM_OK) {
            rc = -EIO;
            break;
        }
        CURLMsg *m;
        while ((m = curl_multi_info_read(h->multi, &left)) != NULL) {
            if (m->msg == CURLMSG_DONE) {
                res = m->data.result;
                rc = 0;
            }
        }
        if (rc == 1)
            curl_multi_poll(h->multi, NULL, 0, HTTP_POLL_MS, NULL);
    }
    curl_multi_remove_handle(h->multi, h->easy);
    if (rc < 0)
        return rc;
    if (res == CURLE_WRITE_ERROR && h->stream_rc != 0)
        return h->stream_rc;
    if (res != CURLE_OK) {
        if (h->error[0] == '\0')
            snprintf(h->error, sizeof(h->error), "%s", curl_easy_strerror(res));
        return http_errno(res);
    }
    long status = 0;
    curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) {
        snprintf(h->error, sizeof(h->error), "HTTP %ld: %.200s", status,
                 h->len > 0 && h->stream == NULL ? h->body : "");
        return -EPROTO;
    }
    return 0;
}

int nmd_etcd_http_call(nmd_etcd_http *h, const char *path, const json_t *req, json_t **resp,
                       long timeout_ms)
{
    *resp = NULL;
    h->stream = NULL;
    int rc = http_perform(h, path, req, timeout_ms);
    if (rc < 0)
        return rc;
    *resp = json_loadb(h->body ? h->body : "", h->len, 0, NULL);
    if (*resp == NULL) {
        snprintf(h->error, sizeof(h->error), "the response is not JSON");
        return -EPROTO;
    }
    return 0;
}

int nmd_etcd_http_stream(nmd_etcd_http *h, const char *path, const json_t *req, nmd_etcd_stream *s,
                         nmd_etcd_stream_cb *cb, void *arg)
{
    nmd_etcd_stream_reset(s);
    h->stream = s;
    h->cb = cb;
    h->cb_arg = arg;
    int rc = http_perform(h, path, req, 0);
    h->stream = NULL;
    return rc;
}

void nmd_etcd_http_sleep(nmd_etcd_http *h, long ms)
{
    if (!http_aborted(h))
        curl_multi_poll(h->multi, NULL, 0, (int)ms, NULL);
}

void nmd_etcd_http_wake(nmd_etcd_http *h)
{
    curl_multi_wakeup(h->multi);
}
