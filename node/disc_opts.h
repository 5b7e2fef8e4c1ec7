/*
 * disc_opts.h - the discovery flags shared by `nomid node`, `resolve` and `peers`
 * (DESIGN.md): --interface, --fleet, --fleet-key-file, --beacon-interval,
 * --beacon-expiry, --discovery, --etcd-prefix, --name, --admin, --admin-token-file,
 * --admin-tls-cert, --admin-tls-key, --admin-tls-ca; and for the commands that open
 * sockets (node, cat) --curve-cert, --curve-allow, --curve-trust-unsigned-keys.  Each
 * command lists DISC_LONG_OPTIONS in its getopt table and hands unknown option codes to
 * disc_opt().
 */
#ifndef NODE_DISC_OPTS_H
#define NODE_DISC_OPTS_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include "agent.h"
#include "cert.h"

enum disc_opt_code {
    DISC_OPT_IFACE = 0x1000,
    DISC_OPT_FLEET,
    DISC_OPT_KEY_FILE,
    DISC_OPT_INTERVAL,
    DISC_OPT_EXPIRY,
    DISC_OPT_NAME,
    DISC_OPT_BACKEND,
    DISC_OPT_ETCD_PREFIX,
    DISC_OPT_ADMIN,
    DISC_OPT_ADMIN_TOKEN,
    DISC_OPT_ADMIN_TLS_CERT,
    DISC_OPT_ADMIN_TLS_KEY,
    DISC_OPT_ADMIN_TLS_CA,
    DISC_OPT_CURVE_CERT,
    DISC_OPT_CURVE_ALLOW,
    DISC_OPT_CURVE_TRUST,
};

/* The options every command that runs discovery takes (node, cat, resolve, peers). */
#define DISC_LONG_OPTIONS                                                                          \
    {"interface", required_argument, NULL, DISC_OPT_IFACE},                                        \
        {"fleet", required_argument, NULL, DISC_OPT_FLEET},                                        \
        {"fleet-key-file", required_argument, NULL, DISC_OPT_KEY_FILE},                            \
        {"beacon-interval", required_argument, NULL, DISC_OPT_INTERVAL},                           \
        {"beacon-expiry", required_argument, NULL, DISC_OPT_EXPIRY},                               \
        {"discovery", required_argument, NULL, DISC_OPT_BACKEND},                                  \
        {"etcd-prefix", required_argument, NULL, DISC_OPT_ETCD_PREFIX},                            \
        {"admin", required_argument, NULL, DISC_OPT_ADMIN},                                        \
        {"admin-token-file", required_argument, NULL, DISC_OPT_ADMIN_TOKEN},                       \
        {"admin-tls-cert", required_argument, NULL, DISC_OPT_ADMIN_TLS_CERT},                      \
        {"admin-tls-key", required_argument, NULL, DISC_OPT_ADMIN_TLS_KEY},                        \
    {                                                                                              \
        "admin-tls-ca", required_argument, NULL, DISC_OPT_ADMIN_TLS_CA                             \
    }
/* --name: only for the commands that announce themselves (node, cat); resolve and peers
 * only listen, so nobody would see a name. */
#define DISC_NAME_OPTION                                                                           \
    {                                                                                              \
        "name", required_argument, NULL, DISC_OPT_NAME                                             \
    }

#define DISC_HELP                                                                                  \
    "  --interface IF         where to beacon and listen (repeatable; default\n"                   \
    "                         127.0.0.1: nothing leaves the host): a name or IPv4\n"               \
    "                         address (IPv4 multicast), broadcast:IF (IPv4\n"                      \
    "                         broadcast), ipv6:IF or an IPv6 address (link-local\n"                \
    "                         multicast), or all (every interface that is up and\n"                \
    "                         broadcast-capable, loopback excepted)\n"                             \
    "  --fleet NAME           only see nodes of this fleet (default: default)\n"                   \
    "  --fleet-key-file F     authenticate beacons: sign with F's bytes (>= 32) and\n"             \
    "                         ignore unsigned or badly signed ones (hides and\n"                   \
    "                         encrypts nothing)\n"                                                 \
    "  --beacon-interval SEC  between beacons (default 1); a listener judges silence\n"            \
    "                         by it, so give the fleet's\n"                                        \
    "  --beacon-expiry N      missed intervals before a node is gone (default 3)\n"                \
    "  --discovery B          beacon, dnssd or etcd=URL (repeatable; default beacon)\n"            \
    "  --etcd-prefix P        etcd keys live under P (default /nomid/)\n"                          \
    "  --admin ADDR:PORT|off  the admin endpoint (HTTP or HTTPS, read-only)\n"                     \
    "  --admin-token-file F   bearer token for admin (needed beyond loopback)\n"                   \
    "  --admin-tls-cert F     serve admin over HTTPS with F's PEM certificate\n"                   \
    "  --admin-tls-key F      ... and F's PEM private key (give both)\n"                           \
    "  --admin-tls-ca F       check peers' HTTPS admin certificates against F's PEM\n"             \
    "                         CA certificates (without it: against the key hash\n"                 \
    "                         in their beacons, trusted only with a fleet key)\n"
/* The certificate flags (node, cat); only cat, which connects, takes the third. */
#define DISC_CURVE_OPTIONS                                                                         \
    {"curve-cert", required_argument, NULL, DISC_OPT_CURVE_CERT},                                  \
    {                                                                                              \
        "curve-allow", required_argument, NULL, DISC_OPT_CURVE_ALLOW                               \
    }
#define DISC_CURVE_TRUST_OPTION                                                                    \
    {                                                                                              \
        "curve-trust-unsigned-keys", no_argument, NULL, DISC_OPT_CURVE_TRUST                       \
    }
#define DISC_HELP_CURVE                                                                            \
    "  --curve-cert F         this node's CURVE certificate (NAME_secret of nomid\n"               \
    "                         keygen, CZMQ's format): its services are CURVE servers\n"            \
    "                         with it, and their key travels in discovery\n"                       \
    "  --curve-allow DIR      admit only CURVE clients whose certificate is in DIR\n"
#define DISC_HELP_CURVE_TRUST                                                                      \
    "  --curve-trust-unsigned-keys  use service keys from records no fleet key\n"                  \
    "                         authenticated (default: such keys are ignored)\n"
#define DISC_HELP_NAME "  --name NAME            this node's name (default: the host name)\n"

/* Discovery settings being parsed, and the key file's bytes. */
typedef struct disc_opts {
    nmd_agent_config cfg; /* what the agent gets */
    uint8_t key[256];     /* the fleet key */
    bool backend_given;   /* a --discovery was seen: beacons only if named */
    char admin[64];       /* --admin ADDR:PORT; "" = the command's default */
    bool admin_off;       /* --admin off */
    char token[256];      /* --admin-token-file's bytes (a string), or "" */
    char tls_cert[1024];  /* --admin-tls-cert FILE, or "" */
    char tls_key[1024];   /* --admin-tls-key FILE, or "" */
    char tls_ca[1024];    /* --admin-tls-ca FILE, or "" */
    nmd_cert cert;        /* --curve-cert's certificate (with its secret key) */
    bool has_cert;        /* ... was given */
    char allow[1024];     /* --curve-allow DIR, or "" */
    char curve_key[41];   /* cert's public key in Z85 (admin shows it), or "" */
} disc_opts;

void disc_opts_init(disc_opts *d);
/* Takes option `code` with argument arg: 1 taken, 0 not a discovery option, -1 bad
 * value (a message naming it was printed; exit 2). */
int disc_opt(disc_opts *d, int code, const char *arg);
/* Forgets what list option `code` (DISC_OPT_IFACE, DISC_OPT_BACKEND) collected so far, so
 * that the command line's list replaces a config file's instead of adding to it. */
void disc_opt_reset(disc_opts *d, int code);

/* Gives a node without --name a useful one, so peers and the page never show a bare
 * id: the host name, or for a process role ("cat") HOST/ROLE-PID. */
void disc_default_name(disc_opts *d, const char *role);

/* What a discovery that found nothing looked at, for its error message: "listened
 * 3.0 s on 127.0.0.1 (beacon), fleet 'default', signed; heard 0 nodes of this fleet
 * (5 beacons of other fleets)". */
void disc_describe(nmd_agent *a, double seconds, char *buf, size_t cap);

#endif
