internal import CZstd
import Foundation
import KilnCore

/// Sequential decompression of one zstd-compressed chunk, so a single-chunk array (Kaggle stores each Gemma weight,
/// the 671 MB-per-270M token embedding included, as one chunk) can be read in row order while holding only the
/// rows asked for and zstd's window — not the whole decoded chunk. Consumed compressed pages are given back.
final class ZstdChunkStream: @unchecked Sendable {
    let name: String
    /// Decoded bytes produced so far.
    private(set) var position = 0
    private let stream: OpaquePointer
    private var input: ZSTD_inBuffer
    private let owned: UnsafeMutableRawBufferPointer?
    private var released = 0
    private let what: String

    /// `compressed` must stay valid while the stream lives: values in memory-mapped files do (the checkpoint keeps its
    /// files mapped); small values are copied.
    init(name: String, compressed: UnsafeRawBufferPointer, what: String) throws(KilnError) {
        self.name = name
        self.what = what
        guard let s = ZSTD_createDStream() else { throw KilnError(.io, "cannot create a zstd stream for \(what)") }
        stream = s
        ZSTD_initDStream(s)
        if compressed.count < 1 << 20 {
            let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: max(compressed.count, 1), alignment: 16)
            if let b = compressed.baseAddress { copy.baseAddress!.copyMemory(from: b, byteCount: compressed.count) }
            owned = copy
            input = ZSTD_inBuffer(src: copy.baseAddress, size: compressed.count, pos: 0)
        } else {
            owned = nil
            input = ZSTD_inBuffer(src: compressed.baseAddress, size: compressed.count, pos: 0)
        }
    }

    /// Decodes exactly `dst.count` more bytes.
    func read(into dst: UnsafeMutableRawBufferPointer) throws(KilnError) {
        var out = ZSTD_outBuffer(dst: dst.baseAddress, size: dst.count, pos: 0)
        while out.pos < out.size {
            let before = (input.pos, out.pos)
            let r = ZSTD_decompressStream(stream, &out, &input)
            if ZSTD_isError(r) != 0 {
                throw KilnError(.invalid, "\(what): zstd error: \(String(cString: ZSTD_getErrorName(r)))")
            }
            if (input.pos, out.pos) == before {
                throw KilnError(.truncated, "\(what) ends after \(position + out.pos) decoded bytes")
            }
        }
        position += dst.count
        releaseConsumedInput()
    }

    /// Lets the kernel drop the mapped pages of compressed input already consumed.
    private func releaseConsumedInput() {
        guard owned == nil, let base = input.src else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = UInt(bitPattern: base)
        let alignedStart = (start + UInt(page) - 1) / UInt(page) * UInt(page)
        let end = (start + UInt(input.pos)) / UInt(page) * UInt(page)
        let from = max(alignedStart, start + UInt(released))
        guard end > from, let p = UnsafeMutableRawPointer(bitPattern: from / UInt(page) * UInt(page)) else { return }
        _ = madvise(p, Int(end - from / UInt(page) * UInt(page)), MADV_DONTNEED)
        released = Int(end - start)
    }

    deinit {
        ZSTD_freeDStream(stream)
        owned?.deallocate()
    }
}
