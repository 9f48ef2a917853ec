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
/// weights are resident once, here instead of in the mapping. Q4_0, Q4_K and Q6_K tensors are rewritten on the way
/// in to the interleaved layout their fastest kernel reads (`QuantizedLayout.fastest`), as llama.cpp repacks them.
/// Not thread-safe while it is being filled.
final class HugePageWeights: @unchecked Sendable {
    private let base: UnsafeMutableRawPointer
    private let capacity: Int
    private var used = 0
    private static let hugePage = 2 << 20

    /// Room for `tensors` tensors of `bytes` bytes in all, each placed on a 64-byte boundary and possibly interleaved
    /// (`QuantizedLayout.q4_Kx8` takes 1184 bytes for 1152; 1/32 more is room enough). Untouched room costs no memory.
    init?(bytes: Int, tensors: Int) {
        let bytes = bytes + bytes / 32 + 64 * tensors
        let size = (bytes + Self.hugePage - 1) / Self.hugePage * Self.hugePage
        guard size > 0, let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), p != MAP_FAILED else {
            return nil
        }
        _ = madvise(p, size, MADV_HUGEPAGE)   // a hint: without transparent huge pages this is plain anonymous memory
        base = p
        capacity = size
    }

    deinit { munmap(base, capacity) }

    /// `view` (a view into `file`'s mapping, `rows` rows of `columns` elements) written into this region in `layout`,
    /// 16 MB at a time, each piece released from the mapping once written; nil when the region is full.
    func place(_ view: UnsafeRawBufferPointer, rows: Int, columns: Int, layout: QuantizedLayout,
               from file: MappedFile) -> UnsafeRawBufferPointer? {
        guard let src = view.baseAddress, rows > 0, view.count > 0, view.count % rows == 0 else { return nil }
        let rowBytes = view.count / rows
        // Whole groups of eight rows for an interleaved layout, any bytes for a plain copy.
        let (unitRows, unitBytes) = layout.groupBytes(columns: columns).map { (8, $0) } ?? (1, rowBytes)
        guard rows % unitRows == 0 else { return nil }
        let size = rows / unitRows * unitBytes
        let start = (used + 63) / 64 * 64
        guard start + size <= capacity else { return nil }
        let unitsPerPiece = max(1, (16 << 20) / (unitRows * rowBytes))
        var unit = 0
        while unit < rows / unitRows {
            let n = min(unitsPerPiece, rows / unitRows - unit)
            let from = src + unit * unitRows * rowBytes
            layout.repack(from, rowBytes: rowBytes, rows: n * unitRows, columns: columns, into: base + start + unit * unitBytes)
            file.releasePages(of: UnsafeRawBufferPointer(start: from, count: n * unitRows * rowBytes))
            unit += n
        }
        used = start + size
        return UnsafeRawBufferPointer(start: base + start, count: size)
    }
}
