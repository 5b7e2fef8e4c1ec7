/*
 * zmq_abi.h - the application binary interface of libzmq 4.3.4's stable API (Debian's
 * build, no draft API), as nomid's drop-in implements it: version, error numbers,
 * option, event and flag numbers, the two public structs and the 70 functions.
 *
 * These are facts about the ABI, written down here so the drop-in builds without
 * libzmq's header; tests/compat/check_abi.py compares every number defined here, and
 * the sizes and offsets of the structs, with Debian's /usr/include/zmq.h.  Only the
 * compat layer includes this file.
 */
#ifndef NOMID_ZMQ_ABI_H
#define NOMID_ZMQ_ABI_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

/* ---- version of the ABI implemented ------------------------------------------------ */

#define ZMQ_VERSION_MAJOR                     4
#define ZMQ_VERSION_MINOR                     3
#define ZMQ_VERSION_PATCH                     4
#define ZMQ_MAKE_VERSION(major, minor, patch) ((major)*10000 + (minor)*100 + (patch))
#define ZMQ_VERSION                           ZMQ_MAKE_VERSION(ZMQ_VERSION_MAJOR, ZMQ_VERSION_MINOR, ZMQ_VERSION_PATCH)

/* ---- errors: Linux has every POSIX code libzmq uses, so those are errno.h's own;
 * libzmq's own conditions sit above a large base number. ------------------------------ */

#define ZMQ_HAUSNUMERO 156384712
#define EFSM           (ZMQ_HAUSNUMERO + 51) /* not valid in the socket's state */
#define ENOCOMPATPROTO (ZMQ_HAUSNUMERO + 52) /* transport does not fit the socket type */
#define ETERM          (ZMQ_HAUSNUMERO + 53) /* the context was terminated */
#define EMTHREAD       (ZMQ_HAUSNUMERO + 54) /* no I/O thread available */

/* ---- context options and defaults ----------------------------------------------------- */

#define ZMQ_IO_THREADS                 1
#define ZMQ_MAX_SOCKETS                2
#define ZMQ_SOCKET_LIMIT               3
#define ZMQ_THREAD_PRIORITY            3
#define ZMQ_THREAD_SCHED_POLICY        4
#define ZMQ_MAX_MSGSZ                  5
#define ZMQ_MSG_T_SIZE                 6
#define ZMQ_THREAD_AFFINITY_CPU_ADD    7
#define ZMQ_THREAD_AFFINITY_CPU_REMOVE 8
#define ZMQ_THREAD_NAME_PREFIX         9
#define ZMQ_IO_THREADS_DFLT            1
#define ZMQ_MAX_SOCKETS_DFLT           1023
#define ZMQ_THREAD_PRIORITY_DFLT       -1
#define ZMQ_THREAD_SCHED_POLICY_DFLT   -1

/* ---- socket types --------------------------------------------------------------------- */

#define ZMQ_PAIR   0
#define ZMQ_PUB    1
#define ZMQ_SUB    2
#define ZMQ_REQ    3
#define ZMQ_REP    4
#define ZMQ_DEALER 5
#define ZMQ_ROUTER 6
#define ZMQ_PULL   7
#define ZMQ_PUSH   8
#define ZMQ_XPUB   9
#define ZMQ_XSUB   10
#define ZMQ_STREAM 11
#define ZMQ_XREQ   ZMQ_DEALER
#define ZMQ_XREP   ZMQ_ROUTER

/* ---- socket options (the number is the option's identity on the ABI) ----------------- */

#define ZMQ_AFFINITY                          4
#define ZMQ_ROUTING_ID                        5
#define ZMQ_SUBSCRIBE                         6
#define ZMQ_UNSUBSCRIBE                       7
#define ZMQ_RATE                              8
#define ZMQ_RECOVERY_IVL                      9
#define ZMQ_SNDBUF                            11
#define ZMQ_RCVBUF                            12
#define ZMQ_RCVMORE                           13
#define ZMQ_FD                                14
#define ZMQ_EVENTS                            15
#define ZMQ_TYPE                              16
#define ZMQ_LINGER                            17
#define ZMQ_RECONNECT_IVL                     18
#define ZMQ_BACKLOG                           19
#define ZMQ_RECONNECT_IVL_MAX                 21
#define ZMQ_MAXMSGSIZE                        22
#define ZMQ_SNDHWM                            23
#define ZMQ_RCVHWM                            24
#define ZMQ_MULTICAST_HOPS                    25
#define ZMQ_RCVTIMEO                          27
#define ZMQ_SNDTIMEO                          28
#define ZMQ_IPV4ONLY                          31
#define ZMQ_LAST_ENDPOINT                     32
#define ZMQ_ROUTER_MANDATORY                  33
#define ZMQ_TCP_KEEPALIVE                     34
#define ZMQ_TCP_KEEPALIVE_CNT                 35
#define ZMQ_TCP_KEEPALIVE_IDLE                36
#define ZMQ_TCP_KEEPALIVE_INTVL               37
#define ZMQ_TCP_ACCEPT_FILTER                 38
#define ZMQ_IMMEDIATE                         39
#define ZMQ_XPUB_VERBOSE                      40
#define ZMQ_ROUTER_RAW                        41
#define ZMQ_IPV6                              42
#define ZMQ_MECHANISM                         43
#define ZMQ_PLAIN_SERVER                      44
#define ZMQ_PLAIN_USERNAME                    45
#define ZMQ_PLAIN_PASSWORD                    46
#define ZMQ_CURVE_SERVER                      47
#define ZMQ_CURVE_PUBLICKEY                   48
#define ZMQ_CURVE_SECRETKEY                   49
#define ZMQ_CURVE_SERVERKEY                   50
#define ZMQ_PROBE_ROUTER                      51
#define ZMQ_REQ_CORRELATE                     52
#define ZMQ_REQ_RELAXED                       53
#define ZMQ_CONFLATE                          54
#define ZMQ_ZAP_DOMAIN                        55
#define ZMQ_ROUTER_HANDOVER                   56
#define ZMQ_TOS                               57
#define ZMQ_IPC_FILTER_PID                    58
#define ZMQ_IPC_FILTER_UID                    59
#define ZMQ_IPC_FILTER_GID                    60
#define ZMQ_CONNECT_ROUTING_ID                61
#define ZMQ_GSSAPI_SERVER                     62
#define ZMQ_GSSAPI_PRINCIPAL                  63
#define ZMQ_GSSAPI_SERVICE_PRINCIPAL          64
#define ZMQ_GSSAPI_PLAINTEXT                  65
#define ZMQ_HANDSHAKE_IVL                     66
#define ZMQ_SOCKS_PROXY                       68
#define ZMQ_XPUB_NODROP                       69
#define ZMQ_BLOCKY                            70
#define ZMQ_XPUB_MANUAL                       71
#define ZMQ_XPUB_WELCOME_MSG                  72
#define ZMQ_STREAM_NOTIFY                     73
#define ZMQ_INVERT_MATCHING                   74
#define ZMQ_HEARTBEAT_IVL                     75
#define ZMQ_HEARTBEAT_TTL                     76
#define ZMQ_HEARTBEAT_TIMEOUT                 77
#define ZMQ_XPUB_VERBOSER                     78
#define ZMQ_CONNECT_TIMEOUT                   79
#define ZMQ_TCP_MAXRT                         80
#define ZMQ_THREAD_SAFE                       81
#define ZMQ_MULTICAST_MAXTPDU                 84
#define ZMQ_VMCI_BUFFER_SIZE                  85
#define ZMQ_VMCI_BUFFER_MIN_SIZE              86
#define ZMQ_VMCI_BUFFER_MAX_SIZE              87
#define ZMQ_VMCI_CONNECT_TIMEOUT              88
#define ZMQ_USE_FD                            89
#define ZMQ_GSSAPI_PRINCIPAL_NAMETYPE         90
#define ZMQ_GSSAPI_SERVICE_PRINCIPAL_NAMETYPE 91
#define ZMQ_BINDTODEVICE                      92
/* older names for the same numbers */
#define ZMQ_IDENTITY                ZMQ_ROUTING_ID
#define ZMQ_CONNECT_RID             ZMQ_CONNECT_ROUTING_ID
#define ZMQ_DELAY_ATTACH_ON_CONNECT ZMQ_IMMEDIATE
#define ZMQ_FAIL_UNROUTABLE         ZMQ_ROUTER_MANDATORY
#define ZMQ_ROUTER_BEHAVIOR         ZMQ_ROUTER_MANDATORY

/* ---- message properties, send/recv flags, mechanisms ---------------------------------- */

#define ZMQ_MORE             1
#define ZMQ_SRCFD            2
#define ZMQ_SHARED           3
#define ZMQ_DONTWAIT         1
#define ZMQ_SNDMORE          2
#define ZMQ_NOBLOCK          ZMQ_DONTWAIT
#define ZMQ_NULL             0
#define ZMQ_PLAIN            1
#define ZMQ_CURVE            2
#define ZMQ_GSSAPI           3
#define ZMQ_GROUP_MAX_LENGTH 255

#define ZMQ_GSSAPI_NT_HOSTBASED      0
#define ZMQ_GSSAPI_NT_USER_NAME      1
#define ZMQ_GSSAPI_NT_KRB5_PRINCIPAL 2

/* ---- monitor events ------------------------------------------------------------------- */

#define ZMQ_EVENT_CONNECTED                  0x0001
#define ZMQ_EVENT_CONNECT_DELAYED            0x0002
#define ZMQ_EVENT_CONNECT_RETRIED            0x0004
#define ZMQ_EVENT_LISTENING                  0x0008
#define ZMQ_EVENT_BIND_FAILED                0x0010
#define ZMQ_EVENT_ACCEPTED                   0x0020
#define ZMQ_EVENT_ACCEPT_FAILED              0x0040
#define ZMQ_EVENT_CLOSED                     0x0080
#define ZMQ_EVENT_CLOSE_FAILED               0x0100
#define ZMQ_EVENT_DISCONNECTED               0x0200
#define ZMQ_EVENT_MONITOR_STOPPED            0x0400
#define ZMQ_EVENT_ALL                        0xFFFF
#define ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL 0x0800
#define ZMQ_EVENT_HANDSHAKE_SUCCEEDED        0x1000
#define ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL  0x2000
#define ZMQ_EVENT_HANDSHAKE_FAILED_AUTH      0x4000

#define ZMQ_PROTOCOL_ERROR_ZMTP_UNSPECIFIED                   0x10000000
#define ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND            0x10000001
#define ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_SEQUENCE              0x10000002
#define ZMQ_PROTOCOL_ERROR_ZMTP_KEY_EXCHANGE                  0x10000003
#define ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_UNSPECIFIED 0x10000011
#define ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_MESSAGE     0x10000012
#define ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO       0x10000013
#define ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_INITIATE    0x10000014
#define ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_ERROR       0x10000015
#define ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_READY       0x10000016
#define ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_WELCOME     0x10000017
#define ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_METADATA              0x10000018
#define ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC                 0x11000001
#define ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH            0x11000002
#define ZMQ_PROTOCOL_ERROR_ZAP_UNSPECIFIED                    0x20000000
#define ZMQ_PROTOCOL_ERROR_ZAP_MALFORMED_REPLY                0x20000001
#define ZMQ_PROTOCOL_ERROR_ZAP_BAD_REQUEST_ID                 0x20000002
#define ZMQ_PROTOCOL_ERROR_ZAP_BAD_VERSION                    0x20000003
#define ZMQ_PROTOCOL_ERROR_ZAP_INVALID_STATUS_CODE            0x20000004
#define ZMQ_PROTOCOL_ERROR_ZAP_INVALID_METADATA               0x20000005
#define ZMQ_PROTOCOL_ERROR_WS_UNSPECIFIED                     0x30000000

/* ---- polling, devices, capabilities --------------------------------------------------- */

#define ZMQ_POLLIN           1
#define ZMQ_POLLOUT          2
#define ZMQ_POLLERR          4
#define ZMQ_POLLPRI          8
#define ZMQ_POLLITEMS_DFLT   16
#define ZMQ_HAS_CAPABILITIES 1
#define ZMQ_STREAMER         1
#define ZMQ_FORWARDER        2
#define ZMQ_QUEUE            3

/* ---- the two public structs ----------------------------------------------------------- */

/* 64 opaque bytes, pointer-aligned; lib/compat/msg.c says what nomid keeps in them. */
typedef struct zmq_msg_t {
    unsigned char _[64] __attribute__((aligned(sizeof(void *))));
} zmq_msg_t;

typedef int zmq_fd_t;

typedef struct zmq_pollitem_t {
    void *socket;  /* a socket handle, or NULL to watch fd */
    zmq_fd_t fd;   /* a descriptor, when socket is NULL */
    short events;  /* ZMQ_POLLIN / ZMQ_POLLOUT wanted */
    short revents; /* what is ready */
} zmq_pollitem_t;

typedef void(zmq_free_fn)(void *data_, void *hint_);
typedef void(zmq_timer_fn)(int timer_id, void *arg);
#define ZMQ_HAVE_TIMERS
typedef void(zmq_thread_fn)(void *);

/* ---- the functions (exported; everything else in libzmq.so.5 is hidden) --------------- */

#define ZC_API __attribute__((visibility("default")))

struct iovec;

ZC_API int zmq_errno(void);
ZC_API const char *zmq_strerror(int errnum_);
ZC_API void zmq_version(int *major_, int *minor_, int *patch_);

ZC_API void *zmq_ctx_new(void);
ZC_API int zmq_ctx_term(void *context_);
ZC_API int zmq_ctx_shutdown(void *context_);
ZC_API int zmq_ctx_set(void *context_, int option_, int optval_);
ZC_API int zmq_ctx_get(void *context_, int option_);
ZC_API void *zmq_init(int io_threads_);
ZC_API int zmq_term(void *context_);
ZC_API int zmq_ctx_destroy(void *context_);

ZC_API int zmq_msg_init(zmq_msg_t *msg_);
ZC_API int zmq_msg_init_size(zmq_msg_t *msg_, size_t size_);
ZC_API int zmq_msg_init_data(zmq_msg_t *msg_, void *data_, size_t size_, zmq_free_fn *ffn_,
                             void *hint_);
ZC_API int zmq_msg_send(zmq_msg_t *msg_, void *s_, int flags_);
ZC_API int zmq_msg_recv(zmq_msg_t *msg_, void *s_, int flags_);
ZC_API int zmq_msg_close(zmq_msg_t *msg_);
ZC_API int zmq_msg_move(zmq_msg_t *dest_, zmq_msg_t *src_);
ZC_API int zmq_msg_copy(zmq_msg_t *dest_, zmq_msg_t *src_);
ZC_API void *zmq_msg_data(zmq_msg_t *msg_);
ZC_API size_t zmq_msg_size(const zmq_msg_t *msg_);
ZC_API int zmq_msg_more(const zmq_msg_t *msg_);
ZC_API int zmq_msg_get(const zmq_msg_t *msg_, int property_);
ZC_API int zmq_msg_set(zmq_msg_t *msg_, int property_, int optval_);
ZC_API const char *zmq_msg_gets(const zmq_msg_t *msg_, const char *property_);

ZC_API void *zmq_socket(void *, int type_);
ZC_API int zmq_close(void *s_);
ZC_API int zmq_setsockopt(void *s_, int option_, const void *optval_, size_t optvallen_);
ZC_API int zmq_getsockopt(void *s_, int option_, void *optval_, size_t *optvallen_);
ZC_API int zmq_bind(void *s_, const char *addr_);
ZC_API int zmq_connect(void *s_, const char *addr_);
ZC_API int zmq_unbind(void *s_, const char *addr_);
ZC_API int zmq_disconnect(void *s_, const char *addr_);
ZC_API int zmq_send(void *s_, const void *buf_, size_t len_, int flags_);
ZC_API int zmq_send_const(void *s_, const void *buf_, size_t len_, int flags_);
ZC_API int zmq_recv(void *s_, void *buf_, size_t len_, int flags_);
ZC_API int zmq_socket_monitor(void *s_, const char *addr_, int events_);

ZC_API int zmq_poll(zmq_pollitem_t *items_, int nitems_, long timeout_);
ZC_API int zmq_proxy(void *frontend_, void *backend_, void *capture_);
ZC_API int zmq_proxy_steerable(void *frontend_, void *backend_, void *capture_, void *control_);
ZC_API int zmq_has(const char *capability_);
ZC_API int zmq_device(int type_, void *frontend_, void *backend_);
ZC_API int zmq_sendmsg(void *s_, zmq_msg_t *msg_, int flags_);
ZC_API int zmq_recvmsg(void *s_, zmq_msg_t *msg_, int flags_);
ZC_API int zmq_sendiov(void *s_, struct iovec *iov_, size_t count_, int flags_);
ZC_API int zmq_recviov(void *s_, struct iovec *iov_, size_t *count_, int flags_);

ZC_API char *zmq_z85_encode(char *dest_, const uint8_t *data_, size_t size_);
ZC_API uint8_t *zmq_z85_decode(uint8_t *dest_, const char *string_);
ZC_API int zmq_curve_keypair(char *z85_public_key_, char *z85_secret_key_);
ZC_API int zmq_curve_public(char *z85_public_key_, const char *z85_secret_key_);

ZC_API void *zmq_atomic_counter_new(void);
ZC_API void zmq_atomic_counter_set(void *counter_, int value_);
ZC_API int zmq_atomic_counter_inc(void *counter_);
ZC_API int zmq_atomic_counter_dec(void *counter_);
ZC_API int zmq_atomic_counter_value(void *counter_);
ZC_API void zmq_atomic_counter_destroy(void **counter_p_);

ZC_API void *zmq_timers_new(void);
ZC_API int zmq_timers_destroy(void **timers_p);
ZC_API int zmq_timers_add(void *timers, size_t interval, zmq_timer_fn handler, void *arg);
ZC_API int zmq_timers_cancel(void *timers, int timer_id);
ZC_API int zmq_timers_set_interval(void *timers, int timer_id, size_t interval);
ZC_API int zmq_timers_reset(void *timers, int timer_id);
ZC_API long zmq_timers_timeout(void *timers);
ZC_API int zmq_timers_execute(void *timers);

ZC_API void *zmq_stopwatch_start(void);
ZC_API unsigned long zmq_stopwatch_intermediate(void *watch_);
ZC_API unsigned long zmq_stopwatch_stop(void *watch_);
ZC_API void zmq_sleep(int seconds_);
ZC_API void *zmq_threadstart(zmq_thread_fn *func_, void *arg_);
ZC_API void zmq_threadclose(void *thread_);

/* nomid's own: the drop-in's identity ("nomid X.Y.Z"), which libzmq does not have, so a
 * program (or a test) can tell that nomid answered rather than libzmq. */
ZC_API const char *nomid_zmq_version(void);

#endif /* NOMID_ZMQ_ABI_H */
