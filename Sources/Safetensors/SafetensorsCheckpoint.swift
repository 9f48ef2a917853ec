import Foundation
import KilnCore

/// A safetensors checkpoint: a single file, or a directory holding one file or a sharded set described by
/// `model.safetensors.index.json`. Tensors from all shards are presented as one source.
public final class SafetensorsCheckpoint: TensorSource, @unchecked Sendable {
    public let path: String
    public var formatName: String { "safetensors" }
    public let files: [SafetensorsFile]
    public var inputPaths: [String] { files.map(\.path) }
    public let tensors: [TensorInfo]
    /// Which file holds each tensor.
    private let fileIndex: [String: Int]

    public init(path: String) throws(KilnError) {
        self.path = path
        let filePaths: [String]
        if FileIdentity.isDirectory(path) {
            filePaths = try SafetensorsCheckpoint.shardPaths(in: path)
        } else {
            filePaths = [path]
        }
        var files: [SafetensorsFile] = []
        var all: [TensorInfo] = []
        var index: [String: Int] = [:]
        for (i, p) in filePaths.enumerated() {
            let f = try SafetensorsFile(path: p)
            for t in f.tensors {
                guard index[t.name] == nil else {
                    throw KilnError(.invalid, "tensor appears in two shards", file: p, tensor: t.name)
                }
                index[t.name] = i
                all.append(t)
            }
            files.append(f)
        }
        self.files = files
        tensors = all
        fileIndex = index
    }

    /// Shard files of a checkpoint directory, in index order (or the single `*.safetensors` file).
    static func shardPaths(in dir: String) throws(KilnError) -> [String] {
        let indexPath = dir + "/model.safetensors.index.json"
        if FileIdentity.exists(indexPath) {
            let data: Data
            do { data = try Data(contentsOf: URL(fileURLWithPath: indexPath)) } catch {
                throw KilnError(.io, "cannot read: \(error.localizedDescription)", file: indexPath)
            }
            guard let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let map = obj["weight_map"] as? [String: String] else {
                throw KilnError(.invalid, "not a safetensors index (no weight_map object)", file: indexPath)
            }
            var shards: [String] = []
            for name in Set(map.values).sorted() {
                guard !name.contains("/"), !name.hasPrefix(".") else {
                    throw KilnError(.invalid, "shard name '\(name)' must be a plain file name", file: indexPath)
                }
                shards.append(dir + "/" + name)
            }
            return shards
        }
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".safetensors") }.sorted()
        guard !names.isEmpty else { throw KilnError(.notFound, "no .safetensors file or model.safetensors.index.json", file: dir) }
        return names.map { dir + "/" + $0 }
    }

    public func withBytes<R>(of tensor: TensorInfo, rows: Range<Int>, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try checkRows(rows, of: tensor)
        guard let i = fileIndex[tensor.name] else { throw KilnError(.notFound, "no tensor named '\(tensor.name)'", file: path) }
        let all = files[i].data(of: tensor)
        let rowBytes = tensor.bytesPerRow
        return try body(UnsafeRawBufferPointer(rebasing: all[rows.lowerBound * rowBytes ..< rows.upperBound * rowBytes]))
    }
}
