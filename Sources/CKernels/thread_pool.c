#include "ckernels.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CK_PAUSE() _mm_pause()
#else
#define CK_PAUSE() ((void)0)
#endif

// The engine's worker threads (ck_pool_run in ckernels.h). A job is published by storing its function, context and
// width and then bumping `gen`; workers spin on `gen` for a while after each job (the engine issues one job per
// matrix product, a few hundred per token, with short serial stretches between them, as ggml-cpu's threadpool and
// OpenMP do) and then sleep on a condition variable. The caller runs index 0 itself and waits until every worker has
// finished, spinning briefly and then yielding its core. One job at a time: a second caller (another engine on
// another thread, or a job started from inside a job) gets 0 from ck_pool_run and runs its work some other way.

// How long a worker waits for the next job before it sleeps: CK_SPINS pauses, then CK_YIELDS yields of its core; and
// how long a waiting caller pauses before it yields. Spinning is what makes a job cheap to start, but when there are
// more runnable threads than cores (another engine, BLAS threads, a busy machine) a spinning thread holds the very
// core the thread it waits for needs; a yield hands it over and costs little when nobody else wants it.
enum { CK_POOL_MAX = 256, CK_SPINS = 1 << 11, CK_YIELDS = 1 << 8, CK_CALLER_SPINS = 1 << 11 };

static struct {
    pthread_mutex_t run;          // held by the caller of the current job
    pthread_mutex_t mu;           // with cv: sleeping workers
    pthread_cond_t cv;
    _Atomic unsigned gen;
    _Atomic int pending;          // workers that have not finished the current job
    _Atomic int sleepers;
    ck_pool_task fn;
    void *ctx;
    int n;
    int workers;                  // started (they live as long as the process)
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER};

struct worker_start { int index; unsigned gen; };

static void *worker(void *arg) {
    const struct worker_start start = *(struct worker_start *)arg;
    free(arg);
    unsigned seen = start.gen;
    for (;;) {
        unsigned g;
        int spins = 0;
        while ((g = atomic_load(&pool.gen)) == seen) {
            if (++spins < CK_SPINS) { CK_PAUSE(); continue; }
            if (spins < CK_SPINS + CK_YIELDS) { sched_yield(); continue; }
            pthread_mutex_lock(&pool.mu);
            atomic_fetch_add(&pool.sleepers, 1);
            while (atomic_load(&pool.gen) == seen) pthread_cond_wait(&pool.cv, &pool.mu);
            atomic_fetch_sub(&pool.sleepers, 1);
            pthread_mutex_unlock(&pool.mu);
            spins = 0;
        }
        seen = g;
        if (start.index < pool.n) pool.fn(pool.ctx, start.index);
        atomic_fetch_sub_explicit(&pool.pending, 1, memory_order_release);
    }
    return NULL;
}

int ck_pool_run(int n, ck_pool_task fn, void *ctx) {
    if (n <= 1) { fn(ctx, 0); return 1; }
    if (n > CK_POOL_MAX || pthread_mutex_trylock(&pool.run) != 0) return 0;
    while (pool.workers < n - 1) {
        struct worker_start *s = malloc(sizeof *s);
        pthread_t t;
        if (!s) break;
        s->index = pool.workers + 1;
        s->gen = atomic_load(&pool.gen);
        if (pthread_create(&t, NULL, worker, s) != 0) { free(s); break; }
        pthread_detach(t);
        pool.workers++;
    }
    if (pool.workers < n - 1) { pthread_mutex_unlock(&pool.run); return 0; }
    pool.fn = fn;
    pool.ctx = ctx;
    pool.n = n;
    atomic_store(&pool.pending, pool.workers);
    atomic_fetch_add(&pool.gen, 1);           // publishes fn, ctx, n (sequentially consistent)
    if (atomic_load(&pool.sleepers) > 0) {
        pthread_mutex_lock(&pool.mu);
        pthread_cond_broadcast(&pool.cv);
        pthread_mutex_unlock(&pool.mu);
    }
    fn(ctx, 0);
    for (int spins = 0; atomic_load_explicit(&pool.pending, memory_order_acquire) > 0; spins++) {
        if (spins < CK_CALLER_SPINS) CK_PAUSE();
        else sched_yield();
    }
    pthread_mutex_unlock(&pool.run);
    return 1;
}
