import KilnCore

/// Decodes one stored chunk (zarr v2 chunk, zarr v3 chunk or shard) into a full-size, C-order chunk buffer.
struct ChunkDecoder: Sendable {
    let meta: ZarrArrayMeta
    let store: any KeyValueStore
    /// Key prefix of the array, e.g. "transformer/layer_0/attn/q_einsum.w/".
    let prefix: String
    let name: String

    /// Fills `dst` (exactly `meta.chunkBytes`) with chunk `index`, or with the fill value when the chunk is missing.
    func decode(_ index: [Int], into dst: UnsafeMutableRawBufferPointer) throws {
        let key = prefix + meta.chunkKey(index)
        do {
            let found: Bool? = try store.withValue(key) { raw in
                if let shard = meta.shard {
                    try decodeShard(raw, shard: shard, into: dst, key: key)
                } else {
                    try Self.decodePipeline(raw, codecs: meta.codecs, into: dst, what: "chunk '\(key)'")
                }
                return true
            }
            if found == nil { Self.fill(dst, with: meta.fill) }
        } catch let error as KilnError {
            var e = error
            if e.file == nil { e.file = store.fileHolding(key) }
            if !e.message.contains(key) { e.message += " (key '\(key)')" }
            throw e.inTensor(name)
        }
    }

    /// Repeats one element's fill bytes over `dst`.
    static func fill(_ dst: UnsafeMutableRawBufferPointer, with fill: [UInt8]) {
        guard dst.count > 0 else { return }
        if fill.allSatisfy({ $0 == 0 }) {
            dst.initializeMemory(as: UInt8.self, repeating: 0)
            return
        }
        var i = 0
        while i + fill.count <= dst.count {
            for (j, b) in fill.enumerated() { dst[i + j] = b }
            i += fill.count
        }
    }

    /// Undoes bytes-to-bytes codecs (in reverse order) from `raw` into `dst`, which must come out exactly full.
    static func decodePipeline(_ raw: UnsafeRawBufferPointer, codecs: [ZarrBytesCodec], into dst: UnsafeMutableRawBufferPointer,
                               what: String) throws(KilnError) {
        var view = raw
        var i = codecs.count - 1
        while i >= 0 && codecs[i] == .crc32c {
            view = try verifyCRC(view, what: what)
            i -= 1
        }
        guard i >= 0 else {
            guard view.count == dst.count else {
                throw KilnError(.invalid, "\(what) holds \(view.count) raw bytes, expected \(dst.count)")
            }
            if let s = view.baseAddress, let d = dst.baseAddress { d.copyMemory(from: s, byteCount: view.count) }
            return
        }
        let compressor = codecs[i]
        let innerCRCs = i
        func decompress(_ src: UnsafeRawBufferPointer, _ out: UnsafeMutableRawBufferPointer) throws(KilnError) {
            switch compressor {
            case .zstd: try Codecs.zstd(src, into: out, what: what)
            case .zlib: try Codecs.inflate(src, gzip: false, into: out, what: what)
            case .gzip: try Codecs.inflate(src, gzip: true, into: out, what: what)
            case .crc32c: break
            }
        }
        if innerCRCs == 0 {
            try decompress(view, dst)
            return
        }
        var tmp = [UInt8](repeating: 0, count: dst.count + 4 * innerCRCs)
        try withMutableBytesOf(&tmp) { (t: UnsafeMutableRawBufferPointer) throws(KilnError) in
            try decompress(view, t)
            var inner = UnsafeRawBufferPointer(t)
            for _ in 0 ..< innerCRCs { inner = try verifyCRC(inner, what: what) }
            if let s = inner.baseAddress, let d = dst.baseAddress { d.copyMemory(from: s, byteCount: dst.count) }
        }
    }

    /// Checks the trailing CRC-32C of `view` and returns the bytes before it.
    static func verifyCRC(_ view: UnsafeRawBufferPointer, what: String) throws(KilnError) -> UnsafeRawBufferPointer {
        guard view.count >= 4 else { throw KilnError(.truncated, "\(what) is too short for its crc32c") }
        let body = UnsafeRawBufferPointer(rebasing: view[0 ..< view.count - 4])
        let stored = UInt32(littleEndian: view.loadUnaligned(fromByteOffset: view.count - 4, as: UInt32.self))
        let computed = CRC32C.checksum(body)
        guard stored == computed else {
            throw KilnError(.checksum, "\(what): crc32c mismatch (stored 0x\(String(stored, radix: 16)), computed 0x\(String(computed, radix: 16)))")
        }
        return body
    }

    /// A zarr v3 shard: inner chunks located by the index (at the end or start, with its own CRC-32C).
    private func decodeShard(_ raw: UnsafeRawBufferPointer, shard: ZarrShardLayout, into dst: UnsafeMutableRawBufferPointer,
                             key: String) throws(KilnError) {
        let what = "shard '\(key)'"
        let grid = zip(meta.chunkShape, shard.innerShape).map { $0 / $1 }
        let count = grid.reduce(1, *)
        let (indexBytes, o1) = count.multipliedReportingOverflow(by: 16)
        let indexTotal = indexBytes + (shard.indexHasCRC ? 4 : 0)
        guard !o1, indexTotal <= raw.count else {
            throw KilnError(.truncated, "\(what) is \(raw.count) bytes, too short for an index of \(count) inner chunks")
        }
        let indexStart = shard.indexAtEnd ? raw.count - indexTotal : 0
        var index = UnsafeRawBufferPointer(rebasing: raw[indexStart ..< indexStart + indexTotal])
        if shard.indexHasCRC { index = try Self.verifyCRC(index, what: "\(what) index") }
        let innerElements = shard.innerShape.reduce(1, *)
        let innerBytes = innerElements * meta.itemSize
        let direct = count == 1
        var scratch = direct ? [] : [UInt8](repeating: 0, count: innerBytes)
        for n in 0 ..< count {
            let off = UInt64(littleEndian: index.loadUnaligned(fromByteOffset: n * 16, as: UInt64.self))
            let len = UInt64(littleEndian: index.loadUnaligned(fromByteOffset: n * 16 + 8, as: UInt64.self))
            // Inner chunk position in the shard grid (C order).
            var pos = [Int](repeating: 0, count: grid.count)
            var r = n
            for d in stride(from: grid.count - 1, through: 0, by: -1) { pos[d] = r % grid[d]; r /= grid[d] }
            let missing = off == .max && len == .max
            if !missing {
                guard off <= UInt64(raw.count), len <= UInt64(raw.count) - off else {
                    throw KilnError(.truncated, "\(what): inner chunk \(n) at \(off)+\(len) lies outside the \(raw.count)-byte shard")
                }
            }
            let src = missing ? UnsafeRawBufferPointer(start: nil, count: 0) : UnsafeRawBufferPointer(rebasing: raw[Int(off) ..< Int(off + len)])
            if direct {
                if missing { Self.fill(dst, with: meta.fill) } else {
                    try Self.decodePipeline(src, codecs: shard.innerCodecs, into: dst, what: "\(what) inner chunk \(n)")
                }
                continue
            }
            try withMutableBytesOf(&scratch) { (s: UnsafeMutableRawBufferPointer) throws(KilnError) in
                if missing { Self.fill(s, with: meta.fill) } else {
                    try Self.decodePipeline(src, codecs: shard.innerCodecs, into: s, what: "\(what) inner chunk \(n)")
                }
                // Place the inner chunk into the shard buffer.
                let origin = zip(pos, shard.innerShape).map { $0 * $1 }
                RegionCopy.copy(from: UnsafeRawBufferPointer(s), shape: shard.innerShape, to: dst, outShape: meta.chunkShape,
                                outOrigin: origin, itemSize: meta.itemSize)
            }
        }
    }
}

/// Copies a whole C-order block into a larger C-order buffer at an origin (used for inner shard chunks).
enum RegionCopy {
    static func copy(from src: UnsafeRawBufferPointer, shape: [Int], to dst: UnsafeMutableRawBufferPointer, outShape: [Int],
                     outOrigin: [Int], itemSize: Int) {
        let rank = shape.count
        guard rank > 0 else {
            dst.baseAddress!.copyMemory(from: src.baseAddress!, byteCount: itemSize)
            return
        }
        var outStride = [Int](repeating: 1, count: rank)
        for d in stride(from: rank - 2, through: 0, by: -1) { outStride[d] = outStride[d + 1] * outShape[d + 1] }
        let run = shape[rank - 1] * itemSize
        let rows = shape.dropLast().reduce(1, *)
        var pos = [Int](repeating: 0, count: max(rank - 1, 0))
        for r in 0 ..< rows {
            var o = outOrigin[rank - 1]
            for d in 0 ..< rank - 1 { o += (outOrigin[d] + pos[d]) * outStride[d] }
            (dst.baseAddress! + o * itemSize).copyMemory(from: src.baseAddress! + r * run, byteCount: run)
            var d = rank - 2
            while d >= 0 {
                pos[d] += 1
                if pos[d] < shape[d] { break }
                pos[d] = 0
                d -= 1
            }
        }
    }
}
