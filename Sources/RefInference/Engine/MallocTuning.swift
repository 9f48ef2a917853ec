import CKernels

/// glibc's allocator tuned once per process for the engine's allocation pattern: every layer allocates and frees
/// activation arrays of a few hundred KB, and the worker threads' kernels their scratch rows. With the defaults,
/// freed memory at the top of a worker thread's arena is returned to the kernel at once (trim threshold 128 KB) and
/// large arrays are mmap'd and unmapped each time, so the next layer faults every page back in, zero-filled: a
/// 512-token prompt on two threads took 380k page faults (23k on one). Keeping up to 256 MB of freed memory and
/// mapping only blocks of 32 MB or more brings that to 11k and pp512 on two threads from 234 to 260 tokens/s.
enum MallocTuning {
    static let applied: Bool = {
        ck_tune_malloc(256 << 20, 32 << 20)
        return true
    }()
}
