internal import CZlib
internal import CZstd
import KilnCore

/// zstd and zlib/gzip decompression over borrowed buffers, with exact-size checks so bad input never over-allocates.
enum Codecs {
    /// Decompresses the zstd frame(s) in `src` into `dst`, which must come out exactly full.
    static func zstd(_ src: UnsafeRawBufferPointer, into dst: UnsafeMutableRawBufferPointer,
                     what: @autoclosure () -> String) throws(KilnError) {
        let declared = src.baseAddress.map { ZSTD_getFrameContentSize($0, src.count) } ?? ZSTD_CONTENTSIZE_ERROR
        if declared == ZSTD_CONTENTSIZE_ERROR {
            throw KilnError(.invalid, "\(what()) is not a zstd frame")
        }
        if declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != UInt64(dst.count) && ZSTD_findFrameCompressedSize(src.baseAddress, src.count) == src.count {
            throw KilnError(.invalid, "\(what()) decompresses to \(declared) bytes, expected \(dst.count)")
        }
        let n = ZSTD_decompress(dst.baseAddress, dst.count, src.baseAddress, src.count)
        if ZSTD_isError(n) != 0 {
            let msg = String(cString: ZSTD_getErrorName(n))
            throw KilnError(.invalid, "\(what()): zstd error: \(msg) (expected \(dst.count) decoded bytes)")
        }
        guard n == dst.count else {
            throw KilnError(.invalid, "\(what()) decompresses to \(n) bytes, expected \(dst.count)")
        }
    }

    /// Decompresses a zstd stream of unknown size, refusing to produce more than `limit` bytes.
    static func zstd(_ src: UnsafeRawBufferPointer, limit: Int, what: @autoclosure () -> String) throws(KilnError) -> [UInt8] {
        let declared = src.baseAddress.map { ZSTD_getFrameContentSize($0, src.count) } ?? ZSTD_CONTENTSIZE_ERROR
        if declared == ZSTD_CONTENTSIZE_ERROR { throw KilnError(.invalid, "\(what()) is not a zstd frame") }
        if declared != ZSTD_CONTENTSIZE_UNKNOWN {
            guard declared <= UInt64(limit) else {
                throw KilnError(.invalid, "\(what()) declares \(declared) decoded bytes, more than the limit \(limit)")
            }
            if ZSTD_findFrameCompressedSize(src.baseAddress, src.count) == src.count {
                var out = [UInt8](repeating: 0, count: Int(declared))
                try withMutableBytesOf(&out) { (d: UnsafeMutableRawBufferPointer) throws(KilnError) in
                    try zstd(src, into: d, what: what())
                }
                return out
            }
        }
        guard let ctx = ZSTD_createDStream() else { throw KilnError(.io, "cannot create a zstd context") }
        defer { ZSTD_freeDStream(ctx) }
        var out: [UInt8] = []
        let step = 1 << 17
        var input = ZSTD_inBuffer(src: src.baseAddress, size: src.count, pos: 0)
        var buffer = [UInt8](repeating: 0, count: step)
        while true {
            let (ret, produced): (Int, Int) = buffer.withUnsafeMutableBytes { b in
                var output = ZSTD_outBuffer(dst: b.baseAddress, size: b.count, pos: 0)
                let r = ZSTD_decompressStream(ctx, &output, &input)
                return (r, output.pos)
            }
            if ZSTD_isError(ret) != 0 {
                throw KilnError(.invalid, "\(what()): zstd error: \(String(cString: ZSTD_getErrorName(ret)))")
            }
            guard out.count + produced <= limit else {
                throw KilnError(.invalid, "\(what()) decodes to more than the limit of \(limit) bytes")
            }
            out.append(contentsOf: buffer[0 ..< produced])
            if ret == 0 && input.pos == input.size { return out }
            if produced == 0 && input.pos == input.size {
                throw KilnError(.truncated, "\(what()): zstd stream ends early")
            }
        }
    }

    /// Inflates a zlib (`gzip: false`) or gzip stream into `dst`, which must come out exactly full.
    static func inflate(_ src: UnsafeRawBufferPointer, gzip: Bool, into dst: UnsafeMutableRawBufferPointer,
                        what: @autoclosure () -> String) throws(KilnError) {
        var strm = z_stream()
        let windowBits: Int32 = gzip ? 31 : 15
        guard inflateInit2_(&strm, windowBits, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw KilnError(.io, "cannot initialise zlib")
        }
        defer { inflateEnd(&strm) }
        var inPos = 0
        var outPos = 0
        var extra: UInt8 = 0
        while true {
            let inChunk = min(src.count - inPos, Int(UInt32.max / 2))
            let outChunk = min(dst.count - outPos, Int(UInt32.max / 2))
            strm.next_in = UnsafeMutablePointer(mutating: src.baseAddress?.advanced(by: inPos).assumingMemoryBound(to: UInt8.self))
            strm.avail_in = UInt32(inChunk)
            let rc: Int32
            if outChunk > 0 {
                strm.next_out = dst.baseAddress!.advanced(by: outPos).assumingMemoryBound(to: UInt8.self)
                strm.avail_out = UInt32(outChunk)
                rc = CZlib.inflate(&strm, Z_NO_FLUSH)
                outPos += outChunk - Int(strm.avail_out)
            } else {
                // Output is full: one more byte of room shows whether the stream holds more than expected.
                rc = withUnsafeMutablePointer(to: &extra) { p in
                    strm.next_out = p
                    strm.avail_out = 1
                    return CZlib.inflate(&strm, Z_NO_FLUSH)
                }
                if strm.avail_out == 0 {
                    throw KilnError(.invalid, "\(what()) inflates to more than the expected \(dst.count) bytes")
                }
            }
            inPos += inChunk - Int(strm.avail_in)
            if rc == Z_STREAM_END { break }
            if rc == Z_BUF_ERROR && inPos >= src.count {
                throw KilnError(.truncated, "\(what()): \(gzip ? "gzip" : "zlib") stream ends early (\(outPos) of \(dst.count) bytes)")
            }
            guard rc == Z_OK || rc == Z_BUF_ERROR else {
                let msg = strm.msg.map { String(cString: $0) } ?? "code \(rc)"
                throw KilnError(.invalid, "\(what()): \(gzip ? "gzip" : "zlib") error: \(msg)")
            }
        }
        guard outPos == dst.count else {
            throw KilnError(.invalid, "\(what()) inflates to \(outPos) bytes, expected \(dst.count)")
        }
    }
}
