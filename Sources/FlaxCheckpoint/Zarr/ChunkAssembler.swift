import Dispatch
import Foundation
import KilnCore

/// A raw pointer that may cross into `concurrentPerform` workers; each worker writes a disjoint region.
struct SendableBuffer: @unchecked Sendable {
    let buffer: UnsafeMutableRawBufferPointer
}

/// Collects the first error thrown by parallel chunk workers.
final class FirstError: @unchecked Sendable {
    private let lock = NSLock()
    private var error: (any Error)?
    func record(_ e: any Error) {
        lock.lock()
        if error == nil { error = e }
        lock.unlock()
    }
    var value: (any Error)? {
        lock.lock()
        defer { lock.unlock() }
        return error
    }
}

/// Assembles leading-axis rows of a chunked array into a C-order buffer, decoding only the chunks they touch.
///
/// Chunks are decoded in parallel, each into its own chunk-sized scratch buffer that is freed after its crop
/// is copied out, so memory stays at the requested rows plus about one chunk per core.
enum ChunkAssembler {
    static func read(_ decoder: ChunkDecoder, rows: Range<Int>, into out: UnsafeMutableRawBufferPointer,
                     cache: ChunkCache? = nil) throws {
        let meta = decoder.meta
        let item = meta.itemSize
        if meta.rank == 0 {
            guard out.count == item else { throw KilnError(.invalid, "scalar output buffer of \(out.count) bytes") }
            try decoder.decode([], into: out)
            finish(meta, out)
            return
        }
        let shape = meta.shape
        let chunk = meta.chunkShape
        guard !rows.isEmpty, shape.allSatisfy({ $0 > 0 }) else { return }
        let grid = zip(shape, chunk).map { ($0 + $1 - 1) / $1 }
        let firstChunkRow = rows.lowerBound / chunk[0]
        let lastChunkRow = (rows.upperBound - 1) / chunk[0]
        var indices: [[Int]] = []
        let rest = grid.dropFirst().reduce(1, *)
        for c0 in firstChunkRow ... lastChunkRow {
            for r in 0 ..< rest {
                var idx = [Int](repeating: 0, count: meta.rank)
                idx[0] = c0
                var rem = r
                for d in stride(from: meta.rank - 1, through: 1, by: -1) { idx[d] = rem % grid[d]; rem /= grid[d] }
                indices.append(idx)
            }
        }
        if let cache, try readStreaming(decoder, rows: rows, into: out, cache: cache) {
            finish(meta, out)
            return
        }
        let target = SendableBuffer(buffer: out)
        let chunkList = indices
        let chunkBytes = meta.chunkBytes
        let chunkRows = chunk[0]
        let contiguousRows = zip(shape, chunk).dropFirst().allSatisfy { $0 == $1 }
        let rowBytes = shape.dropFirst().reduce(1, *) * item
        let work: @Sendable (Int) throws -> Void = { i in
            let index = chunkList[i]
            if let hit = cache?.lookup(decoder.name, index) {
                crop(meta, chunkIndex: index, chunk: hit.bytes, rows: rows, out: target.buffer)
                return
            }
            // A chunk that spans whole rows and lies inside the request decodes straight into the output (no copy).
            let origin = index[0] * chunkRows
            if contiguousRows, origin >= rows.lowerBound, origin + chunkRows <= rows.upperBound {
                let start = (origin - rows.lowerBound) * rowBytes
                try decoder.decode(index, into: UnsafeMutableRawBufferPointer(rebasing: target.buffer[start ..< start + chunkBytes]))
                return
            }
            let decoded = DecodedChunk(bytes: chunkBytes)
            let buf = UnsafeMutableRawBufferPointer(rebasing: decoded.buffer[0 ..< chunkBytes])
            try decoder.decode(index, into: buf)
            crop(meta, chunkIndex: index, chunk: UnsafeRawBufferPointer(buf), rows: rows, out: target.buffer)
            // A chunk that continues past the requested rows is what the next streaming read starts with.
            if let cache, (index[0] + 1) * chunkRows > rows.upperBound, rows.upperBound < shape[0] {
                cache.store(decoder.name, index, decoded)
            }
        }
        if indices.count == 1 || ProcessInfo.processInfo.activeProcessorCount < 2 {
            for i in indices.indices { try work(i) }
        } else {
            let failure = FirstError()
            DispatchQueue.concurrentPerform(iterations: indices.count) { i in
                if failure.value != nil { return }
                do { try work(i) } catch { failure.record(error) }
            }
            if let e = failure.value { throw e }
        }
        finish(meta, out)
    }

    /// Row ranges of a single-chunk, zstd-compressed zarr v2 array read in order: decompress just those rows from a
    /// kept zstd stream. Returns false (nothing read) when the array or the request does not fit that pattern.
    static func readStreaming(_ decoder: ChunkDecoder, rows: Range<Int>, into out: UnsafeMutableRawBufferPointer,
                              cache: ChunkCache) throws -> Bool {
        let meta = decoder.meta
        let shape = meta.shape, chunk = meta.chunkShape
        guard meta.rank >= 1, meta.shard == nil, meta.codecs == [.zstd], chunk[0] >= shape[0],
              zip(shape, chunk).dropFirst().allSatisfy({ $0 == $1 }), rows != 0 ..< shape[0] else { return false }
        let rowBytes = shape.dropFirst().reduce(1, *) * meta.itemSize
        var stream = cache.stream(decoder.name, at: rows.lowerBound * rowBytes)
        if stream == nil {
            guard rows.lowerBound == 0 else { return false }
            let key = decoder.prefix + meta.chunkKey([Int](repeating: 0, count: meta.rank))
            stream = try decoder.store.withValue(key) { raw throws(KilnError) in
                try ZstdChunkStream(name: decoder.name, compressed: raw, what: "chunk '\(key)'")
            }
            guard stream != nil else { return false }  // a missing chunk: the general path fills it
        }
        do {
            try stream!.read(into: UnsafeMutableRawBufferPointer(rebasing: out[0 ..< rows.count * rowBytes]))
        } catch {
            cache.keepStream(nil)
            throw error.inTensor(decoder.name)
        }
        cache.keepStream(rows.upperBound < shape[0] ? stream : nil)
        return true
    }

    /// Post-processing in the stored element type: int4 values are sign-extended from the low nibble.
    static func finish(_ meta: ZarrArrayMeta, _ out: UnsafeMutableRawBufferPointer) {
        if meta.type == .int4 {
            let p = out.bindMemory(to: UInt8.self)
            for i in p.indices { p[i] = UInt8(bitPattern: Int8(bitPattern: p[i] << 4) >> 4) }
        }
    }

    /// Copies the part of chunk `chunkIndex` that lies inside the array and inside `rows` into `out`.
    static func crop(_ meta: ZarrArrayMeta, chunkIndex: [Int], chunk: UnsafeRawBufferPointer, rows: Range<Int>,
                     out: UnsafeMutableRawBufferPointer) {
        let rank = meta.rank
        let shape = meta.shape, cs = meta.chunkShape, item = meta.itemSize
        var lo = [Int](repeating: 0, count: rank), hi = lo
        for d in 0 ..< rank {
            let origin = chunkIndex[d] * cs[d]
            lo[d] = origin
            hi[d] = min(origin + cs[d], shape[d])
        }
        lo[0] = max(lo[0], rows.lowerBound)
        hi[0] = min(hi[0], rows.upperBound)
        guard (0 ..< rank).allSatisfy({ lo[$0] < hi[$0] }) else { return }
        // Strides in elements: chunk buffer (chunk shape) and output (rows x shape[1...]).
        var cStride = [Int](repeating: 1, count: rank), oStride = cStride
        for d in stride(from: rank - 2, through: 0, by: -1) {
            cStride[d] = cStride[d + 1] * cs[d + 1]
            oStride[d] = oStride[d + 1] * shape[d + 1]
        }
        // Merge trailing axes the chunk covers completely: they form one contiguous run in both buffers.
        var k = rank - 1
        while k > 0 && cs[k] == shape[k] { k -= 1 }
        let run = (hi[k] - lo[k]) * cStride[k] * item
        var pos = Array(lo[0 ..< k])
        let origin = chunkIndex.enumerated().map { $0.element * cs[$0.offset] }
        while true {
            var cOff = (lo[k] - origin[k]) * cStride[k]
            var oOff = (k == 0 ? lo[0] - rows.lowerBound : lo[k]) * oStride[k]
            for d in 0 ..< k {
                cOff += (pos[d] - origin[d]) * cStride[d]
                oOff += (d == 0 ? pos[0] - rows.lowerBound : pos[d]) * oStride[d]
            }
            (out.baseAddress! + oOff * item).copyMemory(from: chunk.baseAddress! + cOff * item, byteCount: run)
            var d = k - 1
            while d >= 0 {
                pos[d] += 1
                if pos[d] < hi[d] { break }
                pos[d] = lo[d]
                d -= 1
            }
            if d < 0 { break }
        }
    }
}
