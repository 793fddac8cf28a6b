/* The module's global state, its two locks and the initialised check.  The
 * locks live outside mt_g so that a forked child, which inherits them held
 * by its fork handler, can wipe the state and still release them. */
#include "state.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

mt_module mt_g;
volatile int mt_openssl_down;

static pthread_mutex_t module_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t store_lock = PTHREAD_MUTEX_INITIALIZER;

void mt_lock(void)
{
    pthread_mutex_lock(&module_lock);
}

void mt_unlock(void)
{
    pthread_mutex_unlock(&module_lock);
}

void mt_store_lock(void)
{
    pthread_mutex_lock(&store_lock);
}

void mt_store_unlock(void)
{
    pthread_mutex_unlock(&store_lock);
}

CK_RV mt_initialised_locked(void)
{
    return mt_g.initialised && !mt_forked() ? CKR_OK : CKR_CRYPTOKI_NOT_INITIALIZED;
}

CK_RV mt_check_initialised(void)
{
    mt_lock();
    CK_RV rv = mt_initialised_locked();
    mt_unlock();
    return rv;
}

static void openssl_going_down(void)
{
    mt_openssl_down = 1;
}

/* Once per process: OpenSSL's atexit cleanup may run before a client's
 * C_Finalize, which then must not free what OpenSSL already freed. */
void mt_openssl_watch(void)
{
    static bool registered;
    if (!registered)
        registered = OPENSSL_atexit(openssl_going_down) == 1;
}

/* Fork (fork.c's handlers): set in a child whose state came from its parent. */
static volatile int forked_child;

void mt_fork_mark_child(void)
{
    if (mt_g.initialised)
        forked_child = 1;
}

/* True in a child whose state came from its parent, until it starts over. */
bool mt_forked(void)
{
    return forked_child || (mt_g.initialised && mt_g.pid != getpid());
}

/* The same for calls made per operation, without the system call: fork()
 * always runs the handlers; only a raw clone() escapes them, and that child
 * meets the pid check at its next C_OpenSession or C_Initialize. */
bool mt_fork_seen(void)
{
    return forked_child;
}

/* Called with the module lock held.  The parent's state is abandoned, never
 * freed: the store connection and the keys belong to the parent. */
void mt_fork_start_over(void)
{
    memset(&mt_g, 0, sizeof(mt_g));
    forked_child = 0;
}
