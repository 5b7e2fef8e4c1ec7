/*
 * member.c - fleet membership for a program on the drop-in (README, "Existing ZeroMQ
 * programs join the mesh"): with NOMID_MEMBER=1 in the environment, zmq_ctx_new loads
 * libnomid_member.so (built from member/, discovery/ and admin/, never linked here) and
 * hands it the new context.  Without it nothing here runs beyond one getenv: no thread,
 * no socket, no library loaded.
 *
 * The library is looked for first next to this one (the same build's, as installed or in
 * the build tree), then by name on the library path.  It is loaded once per process, by
 * the first zmq_ctx_new that asks (pthread_once); member_attach, member_term and
 * member_endpoint are written there and only read after it.  zmq_bind and zmq_connect
 * of a member context's sockets go through member_endpoint (the library's settings,
 * such as CURVE, must be on a socket before it binds or connects); a plain context's
 * never call here.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat/compat.h"

#define MEMBER_LIB "libnomid_member.so"

typedef int(member_attach_fn)(nm_ctx_t *ctx);
typedef void(member_term_fn)(nm_ctx_t **ctxp);
typedef int(member_endpoint_fn)(nm_sock_t *s, const char *endpoint, bool bind);

static pthread_once_t member_once = PTHREAD_ONCE_INIT;
static member_attach_fn *member_attach;     /* the library's nomid_member_attach, or NULL */
static member_term_fn *member_term;         /* its nomid_member_term */
static member_endpoint_fn *member_endpoint; /* its nomid_member_endpoint (optional) */
static char member_why[512];                /* why it could not be loaded */

/* Opens MEMBER_LIB from this library's directory, or else by name. */
static void *member_open(void)
{
    Dl_info info;
    char path[4096];
    const char *slash;
    if (dladdr((void *)zc_member_attach, &info) != 0 && info.dli_fname != NULL &&
        (slash = strrchr(info.dli_fname, '/')) != NULL &&
        snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - info.dli_fname), info.dli_fname,
                 MEMBER_LIB) < (int)sizeof(path)) {
        void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (h != NULL)
            return h;
    }
    return dlopen(MEMBER_LIB, RTLD_NOW | RTLD_LOCAL);
}

static void member_load(void)
{
    void *h = member_open();
    if (h == NULL) {
        snprintf(member_why, sizeof(member_why), "%s", dlerror());
        return;
    }
    member_attach_fn *attach = (member_attach_fn *)dlsym(h, "nomid_member_attach");
    member_term_fn *term = (member_term_fn *)dlsym(h, "nomid_member_term");
    if (attach == NULL || term == NULL) {
        snprintf(member_why, sizeof(member_why), "%s has no nomid_member_attach/term", MEMBER_LIB);
        dlclose(h);
        return;
    }
    member_attach = attach;
    member_term = term;
    member_endpoint = (member_endpoint_fn *)dlsym(h, "nomid_member_endpoint");
}

int zc_member_attach(zc_ctx *ctx)
{
    const char *on = getenv("NOMID_MEMBER");
    if (on == NULL || on[0] == '\0' || strcmp(on, "0") == 0)
        return 0;
    if (strcmp(on, "1") != 0) {
        fprintf(stderr, "ERROR member: NOMID_MEMBER must be 1 (a member), 0 or unset\n");
        return -EINVAL;
    }
    pthread_once(&member_once, member_load);
    if (member_attach == NULL) {
        fprintf(stderr, "ERROR member: NOMID_MEMBER=1 but %s cannot be loaded: %s\n", MEMBER_LIB,
                member_why);
        return -ENOENT;
    }
    int rc = member_attach(ctx->nm);
    ctx->member = rc == 0;
    return rc == -EBUSY ? 0 : rc; /* another context is the member: this one runs plain */
}

void zc_member_term(zc_ctx *ctx)
{
    member_term(&ctx->nm);
}

int zc_member_endpoint(zc_sock *zs, const char *endpoint, bool bind)
{
    if (member_endpoint != NULL)
        return member_endpoint(zs->nm, endpoint, bind);
    return bind ? nm_sock_bind(zs->nm, endpoint) : nm_sock_connect(zs->nm, endpoint);
}
