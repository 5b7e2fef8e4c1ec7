/*
 * etcd.h - the pure pieces of the etcd discovery backend (etcd.c), kept apart so they
 * are unit-tested without a server: the JSON value a node stores per service instance,
 * the key layout, the decoding of the v3 JSON gateway's key-values (base64 inside
 * JSON), and the splitter that cuts the gateway's streaming watch response into JSON
 * objects whatever the chunk boundaries.  Also the backend's counters.
 *
 * Layout: one key per advertised instance,
 *     <prefix><fleet>/<service name>/<node id hex>/<8 hex digits of FNV-1a(endpoint)>
 * holding {"name", "type" (lowercase socket type), "endpoint", "node" (32 hex digits),
 * "node_name", "addr"}, and for a CURVE server "curve_key" (its public key, 40 Z85
 * characters), and with a fleet key "mac" (64 hex digits: nmd_record_mac of beacon.h
 * over node, name, type, endpoint and key), attached to the node's lease.  Any program
 * may write such a key: "name", "type" and "endpoint" are required, the rest optional.
 * A reader uses "curve_key" only when "mac" checks with its fleet key (agent.h,
 * nmd_agent_filter_keys; the record itself is kept, without the key, when it does not).
 */
#ifndef NMD_ETCD_H
#define NMD_ETCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "beacon.h"

#define NMD_ETCD_KEY_MAX    512     /* longest key handled (bytes) */
#define NMD_ETCD_VALUE_MAX  4096    /* longest value accepted (bytes) */
#define NMD_ETCD_ADDR_MAX   63      /* longest "addr" accepted */
#define NMD_ETCD_STREAM_MAX 1048576 /* most bytes buffered for one watch message */

/* One service instance as stored in etcd (the decoded value). */
typedef struct nmd_etcd_value {
    nmd_service svc;                  /* name, type, endpoint, CURVE key ("curve_key") */
    uint8_t node[16];                 /* node id */
    bool has_node;                    /* "node" was given (else node is zero) */
    char node_name[NMD_NAME_MAX + 1]; /* "node_name", or "" */
    char addr[NMD_ETCD_ADDR_MAX + 1]; /* "addr", or "" */
    bool has_mac;                     /* "mac" was given */
    uint8_t mac[NMD_MAC_SIZE];        /* ... its bytes (unchecked: the reader checks) */
} nmd_etcd_value;

/* One key-value of a range response or a watch event, base64 decoded. */
typedef struct nmd_etcd_kv {
    char key[NMD_ETCD_KEY_MAX + 1];     /* the key (NUL-terminated, no NUL inside) */
    char value[NMD_ETCD_VALUE_MAX + 1]; /* the value, NUL-terminated; empty on DELETE */
    size_t value_len;                   /* its length */
    bool deleted;                       /* a DELETE event */
    bool oversize;                      /* the value was longer than NMD_ETCD_VALUE_MAX */
} nmd_etcd_kv;

/* ---- values and keys (etcd_json.c) ---- */

/* The JSON text stored for svc (endpoint already rewritten) of node `node`, with its
 * CURVE key when it has one and mac ("mac", nmd_record_mac) unless NULL; malloc'd, NULL
 * on -ENOMEM or a service that does not fit. */
char *nmd_etcd_value_encode(const nmd_service *svc, const uint8_t node[16], const char *node_name,
                            const char *addr, const uint8_t *mac);
/* Decodes a value: 0, or -EPROTO (not a JSON object, a field missing, of the wrong type,
 * too long or out of range).  Never trusts its input. */
int nmd_etcd_value_decode(const char *text, size_t len, nmd_etcd_value *out);
/* The key of svc for node `node`: 0, or -ENAMETOOLONG. */
int nmd_etcd_key(const char *prefix, const char *fleet, const nmd_service *svc,
                 const uint8_t node[16], char *out, size_t cap);
/* The range of a fleet: key "<prefix><fleet>/", range_end that with its last byte
 * plus one, so the pair covers every key under it.  0 or -ENAMETOOLONG. */
int nmd_etcd_fleet_range(const char *prefix, const char *fleet, char *key, char *end, size_t cap);

/* ---- the gateway's JSON (etcd_json.c) ---- */

/* Base64 of n bytes as a JSON string (the gateway's bytes fields); NULL on -ENOMEM. */
json_t *nmd_etcd_b64(const void *data, size_t n);
/* An int64 field the gateway writes as a string ("123") or a number; 0 or -EPROTO. */
int nmd_etcd_int(const json_t *v, int64_t *out);
/* Decodes a mvccpb.KeyValue object ({"key", "value"} in base64) into kv, with deleted
 * as given: 0, -EPROTO (missing or malformed key, or a key with a NUL byte or longer
 * than NMD_ETCD_KEY_MAX).  A value too long sets kv->oversize and leaves it empty. */
int nmd_etcd_kv_decode(const json_t *obj, bool deleted, nmd_etcd_kv *kv);

/* ---- the watch stream (etcd_stream.c) ---- */

/* Called with each complete JSON object (borrowed); nonzero stops the feed and is
 * returned by it. */
typedef int(nmd_etcd_stream_cb)(void *arg, json_t *obj);

/* Cuts a byte stream into JSON objects (or arrays) at top level, tracking strings and
 * escapes across calls, so an object may arrive in any number of pieces.  Bytes outside
 * an object that are not whitespace are garbage: they are skipped to the end of their
 * line and counted, as is a complete span that does not parse. */
typedef struct nmd_etcd_stream {
    char *buf;        /* bytes not yet consumed */
    size_t len;       /* bytes in buf */
    size_t cap;       /* allocated */
    size_t max;       /* most bytes an unfinished object may take */
    size_t scan;      /* bytes of buf already scanned */
    int depth;        /* nesting depth at buf[scan] */
    bool in_string;   /* buf[scan] is inside a string */
    bool escape;      /* ... right after a backslash */
    bool skipping;    /* skipping garbage to the end of its line */
    uint64_t objects; /* objects delivered */
    uint64_t garbage; /* garbage runs and unparsable spans skipped */
} nmd_etcd_stream;

void nmd_etcd_stream_init(nmd_etcd_stream *s, size_t max);
void nmd_etcd_stream_fini(nmd_etcd_stream *s);
/* Forgets any partial object (a new response begins). */
void nmd_etcd_stream_reset(nmd_etcd_stream *s);
/* Takes n more bytes: 0, the callback's nonzero value, -EMSGSIZE when an unfinished
 * object outgrew max (the buffer is reset), -ENOMEM. */
int nmd_etcd_stream_feed(nmd_etcd_stream *s, const char *data, size_t n, nmd_etcd_stream_cb *cb,
                         void *arg);

/* ---- counters (process-wide, all etcd backends) ---- */

typedef struct nmd_etcd_stats {
    uint64_t rejected;       /* values ignored: not JSON, fields missing or bad */
    uint64_t bad_messages;   /* gateway responses or stream pieces that made no sense */
    uint64_t watch_restarts; /* watches re-established (disconnects, overflows) */
    uint64_t lease_grants;   /* leases granted (1 + one per lease lost) */
} nmd_etcd_stats;

void nmd_etcd_get_stats(nmd_etcd_stats *st);

/* ---- shared by etcd.c and etcd_watch.c ---- */

enum nmd_etcd_counter {
    NMD_ETCD_REJECTED,
    NMD_ETCD_BAD_MESSAGES,
    NMD_ETCD_WATCH_RESTARTS,
    NMD_ETCD_LEASE_GRANTS,
};

/* Adds one to a counter of nmd_etcd_stats. */
void nmd_etcd_count(int counter);

#endif
