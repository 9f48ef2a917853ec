// TEMPORARY stand-in for the float32 source path being built on branch `floatpath` (StreamedFloatModel and the
// GGUF-named float view of any checkpoint). Same API; GGUF sources only; loads every weight as float32 through the
// engine's plain reference path. Deleted when that branch is merged.
import Foundation
import GGUFWriter
import KilnCore
import RefInference

public struct FloatPathOptions: Sendable {
    public var threads: Int
    public var positionBlock: Int
    public init(threads: Int = 1, positionBlock: Int = 64) {
        self.threads = threads
        self.positionBlock = positionBlock
    }
}

public final class StreamedFloatModel: @unchecked Sendable {
    public let config: GemmaConfig
    let weights: GemmaWeights
    let options: FloatPathOptions

    public init(source: any TensorSource, config: GemmaConfig, options: FloatPathOptions) throws {
        self.config = config
        self.options = options
        weights = try GemmaWeights(source: source, config: config)
    }

    func engine(length: Int) throws -> GemmaEngine {
        try GemmaEngine(config: config, weights: weights,
                        options: EngineOptions(threads: options.threads, contextLength: max(1, length), path: .reference,
                                               llamaCppNumerics: false, batchSize: options.positionBlock))
    }

    public func finalHidden(_ sequences: [[Int32]], progress: ((Int, Int) -> Void)?) throws -> [[Float]] {
        let e = try engine(length: sequences.map(\.count).max() ?? 1)
        let total = sequences.reduce(0) { $0 + $1.count }
        var done = 0
        return try sequences.map { s in
            var out: [Float] = []
            var p = 0
            while p < s.count {
                let n = min(options.positionBlock, s.count - p)
                var x = e.embed(Array(s[p ..< p + n]))
                for il in 0 ..< config.layerCount { x = e.layer(il, x, positions: p ..< p + n) }
                out += e.rmsNorm(x, weight: weights.outputNorm)
                p += n
                done += n
                progress?(done, total)
            }
            return out
        }
    }

    public func logits(hidden: UnsafeBufferPointer<Float>, count: Int, into out: UnsafeMutableBufferPointer<Float>) throws {
        let e = try engine(length: 1)
        var l = e.matmul(weights.output, Array(hidden))
        if let cap = config.finalLogitSoftcap {
            for i in l.indices { l[i] = tanhf(l[i] / cap) * cap }
        }
        _ = l.withUnsafeBufferPointer { out.update(fromContentsOf: $0) }
    }
}

/// The GGUF-named float32 view of a source and its engine config (stand-in: GGUF sources only).
enum FloatView {
    static func open(_ source: any TensorSource, vocabularySize: Int?) throws -> (view: any TensorSource, config: GemmaConfig) {
        guard let gguf = source as? GGUFFile else {
            throw KilnError(.unsupported, "this build verifies GGUF sources only (the checkpoint float path is not merged yet)", file: source.path)
        }
        let embd = try gguf.tensorInfo(named: "token_embd.weight")
        let config = try GemmaConfig(metadata: gguf.metadata, vocabularySize: embd.ne.count > 1 ? embd.ne[1] : 0, file: gguf.path)
        return (gguf, config)
    }
}
