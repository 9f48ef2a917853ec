import FlaxCheckpoint
import KilnCore

/// Orbax-specific parts of the `inspect` report: storage layout and per-array zarr details.
extension InspectReport {
    func extraHeader(for source: any TensorSource) -> [(String, JSONValue)] {
        guard let o = source as? OrbaxCheckpoint else { return [] }
        return [
            ("checkpoint_directory", .string(o.checkpointDirectory)),
            ("storage", .string(o.storage)),
            ("tree_layout", .string(o.treeLayout.rawValue)),
            ("step", o.step.map { .int($0) } ?? .null),
            ("tokenizer_model", o.tokenizerModelPath.map { .string($0) } ?? .null),
        ]
    }

    func extraMetadata(for source: any TensorSource) -> [JSONValue] { [] }

    func extraTensorFields(_ t: TensorInfo) -> [(String, JSONValue)] {
        guard let o = source as? OrbaxCheckpoint, let a = try? o.arrayInfo(named: t.name) else { return [] }
        var fields: [(String, JSONValue)] = [
            ("dtype", .string(a.dtype)), ("chunk_shape", .array(a.chunkShape.map { .int($0) })),
            ("chunks", .int(a.chunkCount)), ("codec", .string(a.codec)), ("zarr_format", .int(a.zarrFormat)),
        ]
        if let inner = a.innerChunkShape { fields.append(("inner_chunk_shape", .array(inner.map { .int($0) }))) }
        return fields
    }
}
