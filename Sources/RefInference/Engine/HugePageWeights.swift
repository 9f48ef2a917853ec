import CKernels
import GGUFWriter
import KilnCore
#if canImport(Glibc)
import Glibc
#endif

/// The engine's weight matrices copied out of the GGUF mapping into one anonymous region backed by 2 MB pages.
///
/// An exception to reading tensors in place, for speed: the file's page-cache pages are 4 KB, and a decode step
/// streams every weight once, so it walks the page tables and restarts the hardware prefetcher at every 4 KB. On this
/// machine the 262k-row output product of the 270M model takes 18.5 ms per token read in place and 12.8 ms from
/// 2 MB pages (Q4_0; Q8_0 alike). llama.cpp's CPU backend likewise copies the tensors it repacks into its own buffers.
/// The copied ranges of the mapping are released as they are copied, so the resident set does not grow: the
/// weights are resident once, here instead of in the mapping. Q4_0 tensors are rewritten on the way in to the
/// interleaved layout their fastest kernel reads (`repackQ4_0x8`), as llama.cpp repacks them to block_q4_0x8.
/// Not thread-safe while it is being filled.
final class HugePageWeights: @unchecked Sendable {
    private let base: UnsafeMutableRawPointer
    private let capacity: Int
    private var used = 0
    private static let hugePage = 2 << 20

    /// Room for `bytes` bytes of tensors (each placed on a 64-byte boundary).
    init?(bytes: Int) {
        let size = (bytes + Self.hugePage - 1) / Self.hugePage * Self.hugePage
        guard size > 0, let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), p != MAP_FAILED else {
            return nil
        }
        _ = madvise(p, size, MADV_HUGEPAGE)   // a hint: without transparent huge pages this is plain anonymous memory
        base = p
        capacity = size
    }

    deinit { munmap(base, capacity) }

    /// A copy of `view` (a view into `file`'s mapping) in this region, copied 16 MB at a time, each piece released from
    /// the mapping once copied; nil when the region is full.
    func copy(_ view: UnsafeRawBufferPointer, from file: MappedFile) -> UnsafeRawBufferPointer? {
        place(view, from: file, unit: 1) { src, dst, n in dst.copyMemory(from: src, byteCount: n) }
    }

    /// `view`, a Q4_0 tensor of `columns`-element rows whose row count is a multiple of 8, rewritten here in
    /// `ck_repack_q4_0x8`'s interleaved layout (the same size); nil when the region is full.
    func repackQ4_0x8(_ view: UnsafeRawBufferPointer, columns: Int, from file: MappedFile) -> UnsafeRawBufferPointer? {
        let rowBytes = columns / 32 * 18
        return place(view, from: file, unit: 8 * rowBytes) { src, dst, n in
            ck_repack_q4_0x8(src, rowBytes, Int32(n / rowBytes), Int32(columns), dst)
        }
    }

    /// Writes `view` into the region with `write(source, destination, byteCount)` in pieces of about 16 MB (whole
    /// `unit`s), releasing each piece from the mapping once written.
    private func place(_ view: UnsafeRawBufferPointer, from file: MappedFile, unit: Int,
                       write: (UnsafeRawPointer, UnsafeMutableRawPointer, Int) -> Void) -> UnsafeRawBufferPointer? {
        let start = (used + 63) / 64 * 64
        guard let src = view.baseAddress, start + view.count <= capacity, unit > 0, view.count % unit == 0 else { return nil }
        let piece = max(1, (16 << 20) / unit) * unit
        var done = 0
        while done < view.count {
            let n = min(piece, view.count - done)
            write(src + done, base + start + done, n)
            file.releasePages(of: UnsafeRawBufferPointer(start: src + done, count: n))
            done += n
        }
        used = start + view.count
        return UnsafeRawBufferPointer(start: base + start, count: view.count)
    }
}
