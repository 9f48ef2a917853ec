// glibc allocator settings for the engine (see RefInference's MallocTuning.swift for why and what they measured).
#include "ckernels.h"
#if defined(__GLIBC__)
#include <malloc.h>
#endif

void ck_tune_malloc(size_t trim_threshold, size_t mmap_threshold) {
#if defined(__GLIBC__)
    mallopt(M_TRIM_THRESHOLD, (int)trim_threshold);
    mallopt(M_MMAP_THRESHOLD, (int)mmap_threshold);
#else
    (void)trim_threshold; (void)mmap_threshold;
#endif
}
