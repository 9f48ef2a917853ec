import Foundation
import KilnCore

/// What `inspect` shows about one stored Orbax array: zarr version, shapes, stored dtype and codec chain.
public struct OrbaxArrayInfo: Sendable, Hashable {
    /// Parameter name (Orbax key path joined with ".").
    public let name: String
    public let shape: [Int]
    /// Stored chunk shape (the shard shape for sharded zarr v3).
    public let chunkShape: [Int]
    /// Inner chunk shape of zarr v3 `sharding_indexed`, nil otherwise.
    public let innerChunkShape: [Int]?
    /// The dtype string as stored: `.zarray` "dtype" ("<f4", "bfloat16", "int4") or `zarr.json` "data_type".
    public let dtype: String
    public let type: ElementType
    /// The codec chain, e.g. "zstd", "none", "sharding_indexed(inner [3, 5]: zstd, index crc32c)".
    public let codec: String
    /// 2 or 3.
    public let zarrFormat: Int
    /// Number of stored chunks (shards) in the chunk grid.
    public let chunkCount: Int
}

/// An Orbax (Flax/JAX) checkpoint: OCDBT or plain-directory storage of zarr v2/v3 arrays, read lazily.
///
/// Opening reads only metadata (`_METADATA`, the OCDBT tree, `.zarray`/`zarr.json`); chunks are decompressed
/// on demand, in parallel, when rows are requested.
public final class OrbaxCheckpoint: TensorSource {
    public let path: String
    public var formatName: String { "orbax" }
    public let tensors: [TensorInfo]
    /// Every array's storage details, in `tensors` order.
    public let arrays: [OrbaxArrayInfo]
    /// The directory actually read (the weights directory of a Kaggle root, the latest step of a manager, ...).
    public let checkpointDirectory: String
    /// `tokenizer.model` found beside the weights (Kaggle download layout), if any.
    public let tokenizerModelPath: String?
    /// The CheckpointManager step that was opened, when `path` was a manager root.
    public let step: Int?
    /// "ocdbt", "ocdbt (per-process union)" or "directory".
    public let storage: String

    private let store: any KeyValueStore
    private let metas: [String: ZarrArrayMeta]
    /// Decoded chunks a streaming read stopped inside (one chunk row of one array at most).
    let chunkCache = ChunkCache()

    /// Opens the checkpoint at `path` (any layout `OrbaxLayout` recognises) and reads its array metadata;
    /// `step` picks a step of a CheckpointManager directory (default: the newest committed one).
    public init(path: String, step: Int? = nil) throws {
        self.path = path
        let layout = try OrbaxLayout.resolve(path, step: step)
        let dir = layout.checkpointDirectory
        checkpointDirectory = dir
        tokenizerModelPath = layout.tokenizerModelPath
        self.step = layout.step

        var metadata: OrbaxMetadata?
        let metaPath = dir + "/_METADATA"
        if FileIdentity.exists(metaPath) {
            let f = try MappedFile(path: metaPath)
            metadata = try OrbaxMetadata.parse(f.bytes, file: metaPath)
        }

        let cache = FileCache(root: dir)
        let processDirs = OrbaxLayout.subdirectories(dir).filter {
            ($0.hasPrefix("ocdbt.process_") || $0.hasPrefix("ocdbt.process_replica_")) && OCDBTDatabase.exists(at: dir + "/" + $0)
        }
        if OCDBTDatabase.exists(at: dir) {
            store = try OCDBTDatabase(directory: dir, cache: cache)
            storage = "ocdbt"
        } else if !processDirs.isEmpty {
            // The per-process databases were never merged into a root: read their union.
            store = UnionStore(location: dir, parts: try processDirs.map { p throws(KilnError) in
                try OCDBTDatabase(directory: dir + "/" + p, cache: cache)
            })
            storage = "ocdbt (per-process union)"
        } else if metadata?.useOCDBT == true {
            throw OrbaxLayout.uncommitted(dir, "_METADATA says use_ocdbt but there is no manifest.ocdbt (the save did not finish)")
        } else {
            store = DirectoryStore(directory: dir, cache: cache)
            storage = "directory"
        }

        // Parameter names: _METADATA when present, otherwise every array metadata key in the store.
        let preferZarr3 = metadata?.useZarr3 ?? false
        var names = metadata?.parameterNames ?? []
        if metadata?.parameterNames == nil {
            let v2 = store.keys(endingWith: "/.zarray").map { String($0.dropLast("/.zarray".count)) }
            let v3 = store.keys(endingWith: "/zarr.json").map { String($0.dropLast("/zarr.json".count)) }
            names = Array(Set(v2 + v3)).sorted()
            guard !names.isEmpty else {
                throw KilnError(.notFound, "no _METADATA and no zarr arrays: not an Orbax checkpoint", file: dir)
            }
        }

        var tensors: [TensorInfo] = []
        var arrays: [OrbaxArrayInfo] = []
        var metas: [String: ZarrArrayMeta] = [:]
        for name in names {
            let meta = try Self.loadArrayMeta(name: name, store: store, preferZarr3: preferZarr3)
            let elements = meta.shape.reduce(1, *)
            guard let bytes = meta.type.byteCount(elements: elements) else {
                throw KilnError(.invalid, "array size overflows", file: dir, tensor: name)
            }
            tensors.append(TensorInfo(name: name, shape: meta.shape, type: meta.type, byteCount: bytes))
            let grid = zip(meta.shape, meta.chunkShape).map { ($0 + $1 - 1) / $1 }.reduce(1, *)
            arrays.append(OrbaxArrayInfo(name: name, shape: meta.shape, chunkShape: meta.chunkShape,
                                         innerChunkShape: meta.shard?.innerShape, dtype: meta.dtypeString, type: meta.type,
                                         codec: meta.codecDescription, zarrFormat: meta.zarrFormat, chunkCount: grid))
            metas[name] = meta
        }
        self.tensors = tensors
        self.arrays = arrays
        self.metas = metas
    }

    private static func loadArrayMeta(name: String, store: any KeyValueStore, preferZarr3: Bool) throws -> ZarrArrayMeta {
        let order = preferZarr3 ? ["zarr.json", ".zarray"] : [".zarray", "zarr.json"]
        for file in order {
            let key = name + "/" + file
            do {
                let meta: ZarrArrayMeta? = try store.withValue(key) { bytes in
                    let json = try JSONValue.parse(bytes, file: store.fileHolding(key))
                    return file == ".zarray" ? try ZarrV2Metadata.parse(json) : try ZarrV3Metadata.parse(json)
                }
                if let meta { return meta }
            } catch let error as KilnError {
                var e = error
                e.file = e.file ?? store.fileHolding(key)
                if !e.message.contains(key) { e.message += " (key '\(key)')" }
                throw e.inTensor(name)
            }
        }
        throw KilnError(.notFound, "array metadata is missing (neither '\(name)/.zarray' nor '\(name)/zarr.json' is stored)",
                        file: store.location, tensor: name)
    }

    /// The checkpoint's own name: the checkpoint directory's, or of the first folder above it that is not one Orbax or
    /// Kauldron added (`default`, `params`, `checkpoints`, a step).
    public var modelName: String {
        var dir = (checkpointDirectory as NSString).standardizingPath
        while OrbaxLayout.isBookkeeping((dir as NSString).lastPathComponent) {
            let parent = (dir as NSString).deletingLastPathComponent
            guard !parent.isEmpty, parent != dir, parent != "/" else { break }
            dir = parent
        }
        return (dir as NSString).lastPathComponent
    }

    /// How the parameter tree is arranged (Kaggle FLAT, `gemma` NESTED, STACKED, Kauldron trainer state).
    public var treeLayout: FlaxTreeLayout { FlaxTreeLayout.detect(tensors.map(\.name)) }

    /// Storage details of the array `name`, or `.notFound`.
    public func arrayInfo(named name: String) throws(KilnError) -> OrbaxArrayInfo {
        guard let a = arrays.first(where: { $0.name == name }) else {
            throw KilnError(.notFound, "no array named '\(name)' (\(arrays.count) arrays in this checkpoint)", file: path)
        }
        return a
    }

    /// Decodes leading-axis `rows` of `tensor` into a scratch buffer (stored element type; int4 one value per byte).
    public func withBytes<R>(of tensor: TensorInfo, rows: Range<Int>, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        guard let meta = metas[tensor.name] else {
            throw KilnError(.notFound, "no array named '\(tensor.name)' in this checkpoint", file: path, tensor: tensor.name)
        }
        try checkRows(rows, of: tensor)
        let rowBytes = meta.rank == 0 ? meta.itemSize : meta.shape.dropFirst().reduce(1, *) * meta.itemSize
        let count = rows.count * rowBytes
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 64)
        defer { buffer.deallocate() }
        let out = UnsafeMutableRawBufferPointer(rebasing: buffer[0 ..< count])
        let decoder = ChunkDecoder(meta: meta, store: store, prefix: tensor.name + "/", name: tensor.name)
        try ChunkAssembler.read(decoder, rows: rows, into: out, cache: chunkCache)
        return try body(UnsafeRawBufferPointer(out))
    }

    /// Every OCDBT generation reachable from the manifest (walks the version tree; for tests and `inspect`).
    func ocdbtGenerations() throws -> [UInt64] {
        guard let db = store as? OCDBTDatabase else { return [] }
        return try db.allGenerations()
    }
}
