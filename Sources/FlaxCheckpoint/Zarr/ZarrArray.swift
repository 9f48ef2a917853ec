import KilnCore

/// A bytes-to-bytes codec of a chunk (zarr v2 compressor or zarr v3 codec).
enum ZarrBytesCodec: String, Sendable {
    case zstd, zlib, gzip, crc32c
}

/// Zarr v3 `sharding_indexed`: each stored chunk (shard) holds a grid of inner chunks and an index.
struct ZarrShardLayout: Sendable {
    var innerShape: [Int]
    var innerCodecs: [ZarrBytesCodec]
    var indexHasCRC: Bool
    var indexAtEnd: Bool
}

/// What the reader needs to know about one stored array, from `.zarray` or `zarr.json`.
struct ZarrArrayMeta: Sendable {
    var zarrFormat: Int
    var shape: [Int]
    /// The stored chunk shape (the shard shape for sharded zarr v3).
    var chunkShape: [Int]
    var type: ElementType
    var dtypeString: String
    /// One element's bytes equal to the fill value.
    var fill: [UInt8]
    /// Bytes-to-bytes codecs in encoding order (decode runs them backwards).
    var codecs: [ZarrBytesCodec]
    var shard: ZarrShardLayout?
    /// v2: "." or "/"; v3: "/" (default encoding) or "." (v2 encoding).
    var separator: String
    /// zarr v3 "default" chunk key encoding (keys start with "c").
    var v3DefaultKeys: Bool

    var rank: Int { shape.count }
    var itemSize: Int { type.blockBytes }
    var chunkElements: Int { chunkShape.reduce(1, *) }
    var chunkBytes: Int { chunkElements * itemSize }

    /// A short human description of the codec chain, e.g. "zstd" or "sharding_indexed[zstd]+crc32c".
    var codecDescription: String {
        func list(_ c: [ZarrBytesCodec]) -> String { c.isEmpty ? "none" : c.map(\.rawValue).joined(separator: "+") }
        if let shard {
            return "sharding_indexed(inner \(shard.innerShape): \(list(shard.innerCodecs))\(shard.indexHasCRC ? ", index crc32c" : ""))"
                + (codecs.isEmpty ? "" : "+" + list(codecs))
        }
        return list(codecs)
    }

    /// The store key of chunk `index` relative to the array's directory.
    func chunkKey(_ index: [Int]) -> String {
        if zarrFormat == 3 && v3DefaultKeys {
            return index.isEmpty ? "c" : "c" + separator + index.map(String.init).joined(separator: separator)
        }
        return index.isEmpty ? "0" : index.map(String.init).joined(separator: separator)
    }

    /// Checks shapes, chunk shapes and sizes so that later arithmetic cannot overflow or over-allocate.
    func validate() throws(KilnError) {
        guard chunkShape.count == shape.count else {
            throw KilnError(.invalid, "shape/chunk mismatch: shape \(shape) has rank \(shape.count) but chunks \(chunkShape) has rank \(chunkShape.count)")
        }
        guard chunkShape.allSatisfy({ $0 >= 1 }) else { throw KilnError(.invalid, "chunk shape \(chunkShape) has a zero dimension") }
        var n = 1
        for d in shape {
            let (p, o) = n.multipliedReportingOverflow(by: d)
            guard !o, p < (1 << 48) else { throw KilnError(.invalid, "shape \(shape) is too large") }
            n = p
        }
        var c = itemSize
        for d in chunkShape {
            let (p, o) = c.multipliedReportingOverflow(by: d)
            guard !o, p <= (1 << 36) else { throw KilnError(.invalid, "chunk shape \(chunkShape) is too large (over 64 GiB per chunk)") }
            c = p
        }
        let chunkCount = zip(shape, chunkShape).reduce(1.0) { $0 * (Double($1.0) / Double($1.1)).rounded(.up) }
        guard chunkCount <= Double(1 << 26) else {
            throw KilnError(.invalid, "shape/chunk mismatch: chunk shape \(chunkShape) splits shape \(shape) into \(chunkCount) chunks")
        }
        // A chunk far larger than the whole array can only come from damaged metadata: refuse to allocate it.
        let arrayBytes = n.multipliedReportingOverflow(by: itemSize)
        if !arrayBytes.overflow, c > max(arrayBytes.partialValue * 4, 64 << 20) {
            throw KilnError(.invalid, "shape/chunk mismatch: chunk shape \(chunkShape) (\(c) bytes) is far larger than the array \(shape)")
        }
        if let shard {
            guard shard.innerShape.count == shape.count,
                  zip(chunkShape, shard.innerShape).allSatisfy({ $1 >= 1 && $0 % $1 == 0 }) else {
                throw KilnError(.invalid, "shape/chunk mismatch: inner chunk shape \(shard.innerShape) does not divide the shard shape \(chunkShape)")
            }
        }
    }
}
