import Foundation
import GGUFWriter
import KilnCore
import QuantCore
import RefInference
import Tokenizers

/// Which token sequences to compare.
public enum PromptSpec: Sendable {
    /// The built-in set (`DefaultPrompts`).
    case defaults
    /// `--prompts FILE`, parsed.
    case items([PromptItem])
    /// `--text FILE --ctx N`: llama-perplexity chunks.
    case text(String, context: Int, file: String)
}

/// Settings of one verification.
public struct VerifyOptions: Sendable {
    public var threads = 1
    public var prompts = PromptSpec.defaults
    public var chatPrompt = DefaultPrompts.chatPrompt
    /// Tokens the candidate generates for the chat check.
    public var maxNewTokens = 32
    public var progress = Terminal.stderrIsTTY
    /// `--save-base FILE` (only with `.text` prompts).
    public var saveBase: String?
    /// Positions per block of logits (memory: three blocks of `positionBlock × vocabulary` floats).
    public var positionBlock = 64
    /// Bytes `verify` may spend, beyond its streamed working set, to go faster: keeping the source's (then the
    /// candidate's) decoded output matrix instead of re-reading it for every block of positions, and running the
    /// source's own chat reply with its float weights in memory. Default: half the machine's physical memory (the
    /// chat check's rule); 0 keeps only the streamed working set (about one layer's float weights + activations).
    public var memoryBudget = Int(clamping: ProcessInfo.processInfo.physicalMemory / 2)

    public init() {}
}

/// Runs a source checkpoint and a candidate GGUF over the same tokens and compares their next-token distributions,
/// block by block from the final hidden states (never holding every logit).
public enum Verifier {
    public static func run(source: any TensorSource, candidatePath: String, options o: VerifyOptions) throws -> VerifyReport {
        let t0 = Date()
        var clock = PhaseClock()
        let candidate = try GGUFFile(path: candidatePath)
        let tokenizer = try SPMTokenizer(metadata: candidate.metadata, file: candidatePath)
        let cand = try FloatView.open(candidate, vocabularySize: nil)
        let src = try FloatView.open(source, vocabularySize: tokenizer.vocabulary.count)
        try Compatibility.check(source: src.config, candidate: cand.config, sourcePath: source.path, candidatePath: candidatePath,
                                sourceTokens: (source as? GGUFFile).flatMap { try? GGUFVocabulary(metadata: $0.metadata).tokens },
                                candidateTokens: tokenizer.vocabulary.tokens)
        let config = cand.config
        let candidateClass = CandidateClass.classify(candidate, probe: probe(src.view, cand.view))

        // Token sequences.
        var sequences: [ScoredSequence]
        var baseTokens: [Int32] = []
        var context = 0
        switch o.prompts {
        case .defaults: sequences = try PromptSet.sequences(DefaultPrompts.items, tokenizer: tokenizer)
        case .items(let items): sequences = try PromptSet.sequences(items, tokenizer: tokenizer)
        case .text(let text, let n, let file):
            (sequences, baseTokens) = try PromptSet.textChunks(text, context: n, tokenizer: tokenizer, file: file)
            context = n
        }
        if o.saveBase != nil && context == 0 { throw KilnError(.usage, "--save-base needs --text FILE --ctx N") }
        let maxLength = sequences.map(\.tokens.count).max() ?? 1

        // Chat check, part 1: the candidate answers greedily on the runtime path.
        let chatPrompt = tokenizer.tokenize(GemmaChatFormat.userTurn(o.chatPrompt), addBOS: true, parseSpecial: true)
        let stops = Set([tokenizer.tokenID(for: "<end_of_turn>"), tokenizer.vocabulary.eosID].compactMap { $0 })
        let runtime = try EngineModel(gguf: candidate, config: config, threads: o.threads,
                                      contextLength: max(maxLength, chatPrompt.count + o.maxNewTokens + 1))
        let reply = try runtime.greedyReply(chatPrompt, limit: o.maxNewTokens, stop: stops)
        let chatSequence = chatPrompt + reply
        clock.lap("open, tokenize, chat reply (runtime)")

        // Final hidden states of every sequence on the three paths (the source once, chat sequence included).
        let tokenLists = sequences.map(\.tokens)
        let total = tokenLists.reduce(0) { $0 + $1.count }
        // The output matrix is read once per block of positions; kept in memory when the budget allows (the
        // source's first: re-reading a compressed checkpoint costs most).
        let matrixBytes = 4 * config.vocabularySize * config.embeddingLength
        let keepSource = matrixBytes <= o.memoryBudget, keepWeights = 2 * matrixBytes <= o.memoryBudget
        let sourceModel = try StreamedFloatModel(source: src.view, config: src.config,
                                                 options: FloatPathOptions(threads: o.threads, keepOutputMatrix: keepSource))
        let weightsModel = try StreamedFloatModel(source: cand.view, config: cand.config,
                                                  options: FloatPathOptions(threads: o.threads, keepOutputMatrix: keepWeights))
        let sourceTokens = tokenLists + [chatSequence]
        let sourceHidden: [[Float]], weightsHidden: [[Float]], runtimeHidden: [[Float]]
        let keptBytes = (keepWeights ? 2 : keepSource ? 1 : 0) * matrixBytes
        if o.memoryBudget - keptBytes >= weightsModel.layerWeightBytes {
            // The source's pass beside the candidate's two: its layer reads are serial (a zstd stream), so alone it
            // leaves a core idle. Costs the candidate's float layer on top of the source's, hence only when the
            // memory budget has room for it; the results are the same bits either way (each pass is deterministic).
            let progress = PassProgress(passes: 3, enabled: o.progress)
            let sourcePass = BackgroundJob { [sourceModel] in
                try sourceModel.finalHidden(sourceTokens) { done, all in progress.report(0, done, all) }
            }
            do {
                weightsHidden = try weightsModel.finalHidden(tokenLists) { done, all in progress.report(1, done, all) }
                var ran = 0
                runtimeHidden = runtime.hidden(tokenLists) { n in ran += n; progress.report(2, ran, total) }
            } catch {
                _ = try? sourcePass.wait()
                throw error
            }
            sourceHidden = try sourcePass.wait()
            progress.finish()
            clock.lap("forward passes: source (float32) beside candidate (float32, runtime)")
        } else {
            sourceHidden = try hiddenWithProgress("source (float32)", o.progress) { p in
                try sourceModel.finalHidden(sourceTokens, progress: p)
            }
            clock.lap("source layers (float32)")
            weightsHidden = try hiddenWithProgress("candidate (float32)", o.progress) { p in
                try weightsModel.finalHidden(tokenLists, progress: p)
            }
            clock.lap("candidate layers (float32)")
            let bar = ProgressBar("candidate (runtime)", total: total, enabled: o.progress)
            runtimeHidden = runtime.hidden(tokenLists) { bar.advance($0) }
            bar.finish()
            clock.lap("candidate layers (runtime)")
        }

        // Logits and statistics in blocks of scored positions.
        let base = try o.saveBase.map { path in
            try KLBaseFile(path: path, context: context, vocabularySize: config.vocabularySize, chunks: sequences.count,
                           tokens: baseTokens, inputs: [candidatePath] + source.inputPaths)
        }
        var weightsRows: [PositionComparison] = [], runtimeRows: [PositionComparison] = []
        let positions = sequences.enumerated().flatMap { (s, seq) in seq.scored.map { (s, $0) } }
        let V = config.vocabularySize, d = config.embeddingLength, B = max(1, o.positionBlock)
        let compareBar = ProgressBar("comparing", total: positions.count, enabled: o.progress)
        var sLogits = [Float](repeating: 0, count: B * V), wLogits = sLogits, rLogits = sLogits
        var start = 0
        while start < positions.count {
            let block = Array(positions[start ..< min(positions.count, start + B)])
            let n = block.count
            try logits(sourceModel.logits, gather(sourceHidden, block, d), n, V, &sLogits)
            clock.lap("source logits (float32)")
            try logits(weightsModel.logits, gather(weightsHidden, block, d), n, V, &wLogits)
            clock.lap("candidate logits (float32)")
            try logits({ h, c, out in runtime.logits(hidden: h, count: c, into: out) }, gather(runtimeHidden, block, d), n, V, &rLogits)
            clock.lap("candidate logits (runtime)")
            let targets = block.map { Int(sequences[$0.0].tokens[$0.1 + 1]) }
            let pair = compare(sLogits, [wLogits, rLogits], targets: targets, vocabulary: V, threads: o.threads)
            weightsRows += pair[0]
            runtimeRows += pair[1]
            if let base {
                try sLogits.withUnsafeBufferPointer { b in
                    for i in 0 ..< n { try base.append(logits: UnsafeBufferPointer(rebasing: b[i * V ..< (i + 1) * V])) }
                }
            }
            start += n
            compareBar.advance(n)
            clock.lap("statistics")
        }
        compareBar.finish()
        try base?.commit()

        // Chat check, part 2: the source's greedy choice at each reply position, teacher-forced.
        let chat = try ChatCheck.evaluate(prompt: o.chatPrompt, promptTokens: chatPrompt, reply: reply,
                                          sourceHidden: sourceHidden[sourceHidden.count - 1], model: sourceModel,
                                          sourceView: src.view, config: src.config, tokenizer: tokenizer, threads: o.threads,
                                          memoryBudget: o.memoryBudget - keptBytes)
        clock.lap("chat check (source)")

        return VerifyReport(sourcePath: source.path, candidatePath: candidatePath, candidateClass: candidateClass,
                            tokens: total, sequences: sequences.count, weights: KLStatistics(weightsRows),
                            runtime: KLStatistics(runtimeRows), chat: chat, seconds: Date().timeIntervalSince(t0),
                            phases: clock.phases, keptOutputMatrices: (keepSource ? 1 : 0) + (keepWeights ? 1 : 0))
    }

    /// Runs a float pass with a progress bar in the pass's own units (the embedding, then each layer).
    static func hiddenWithProgress(_ label: String, _ enabled: Bool,
                                   _ body: (((Int, Int) -> Void)?) throws -> [[Float]]) throws -> [[Float]] {
        var bar: ProgressBar?
        var last = 0
        let r = try body(enabled ? { done, total in
            if bar == nil { bar = ProgressBar(label, total: total, enabled: true) }
            bar?.advance(done - last)
            last = done
        } : nil)
        bar?.finish()
        return r
    }

    /// The hidden rows of `block` ((sequence, position) pairs), contiguous.
    static func gather(_ hidden: [[Float]], _ block: [(Int, Int)], _ d: Int) -> [Float] {
        var out = [Float](repeating: 0, count: block.count * d)
        for (i, (s, p)) in block.enumerated() {
            out.replaceSubrange(i * d ..< (i + 1) * d, with: hidden[s][p * d ..< (p + 1) * d])
        }
        return out
    }

    /// Runs one model's logits function on `n` gathered hidden rows into the first `n × V` floats of `out`.
    static func logits(_ f: (UnsafeBufferPointer<Float>, Int, UnsafeMutableBufferPointer<Float>) throws -> Void,
                       _ hidden: [Float], _ n: Int, _ V: Int, _ out: inout [Float]) throws {
        try hidden.withUnsafeBufferPointer { h in
            try out.withUnsafeMutableBufferPointer { o in try f(h, n, UnsafeMutableBufferPointer(rebasing: o[0 ..< n * V])) }
        }
    }

    /// Per-position comparisons of the first `targets.count` rows of each candidate block with the source block,
    /// positions spread over the threads (the source row's softmax is computed once for all candidates).
    static func compare(_ s: [Float], _ candidates: [[Float]], targets: [Int], vocabulary V: Int, threads: Int) -> [[PositionComparison]] {
        let n = targets.count, k = candidates.count
        let workers = min(max(1, threads), n)
        var flat = [PositionComparison?](repeating: nil, count: n * k)
        flat.withUnsafeMutableBufferPointer { buf in
            let out = SendableBuffer(buf)
            s.withUnsafeBufferPointer { sb in
                let sp = SendableFloats(sb)
                DispatchQueue.concurrentPerform(iterations: workers) { w in
                    let scratch = UnsafeMutableBufferPointer<Double>.allocate(capacity: V)
                    defer { scratch.deallocate() }
                    var i = w
                    while i < n {
                        let row = SourceRow(UnsafeBufferPointer(rebasing: sp.b[i * V ..< (i + 1) * V]), scratch: scratch)
                        for (j, c) in candidates.enumerated() {
                            out.b[j * n + i] = c.withUnsafeBufferPointer { cb in
                                PositionComparison(source: row, candidate: UnsafeBufferPointer(rebasing: cb[i * V ..< (i + 1) * V]), target: targets[i])
                            }
                        }
                        i += workers
                    }
                }
            }
        }
        return (0 ..< k).map { j in flat[j * n ..< (j + 1) * n].map { $0! } }
    }

    /// One tensor of both sides, for the lossless test (`blk.0.ffn_gate.weight`; nil when unreadable).
    static func probe(_ source: any TensorSource, _ candidate: any TensorSource) -> (source: [Float], candidate: [Float])? {
        func floats(_ s: any TensorSource) -> [Float]? {
            guard let t = try? s.tensor(named: "blk.0.ffn_gate.weight") else { return nil }
            return try? s.withBytes(of: t) { bytes in
                var out = [Float](repeating: 0, count: t.elementCount)
                try out.withUnsafeMutableBufferPointer { try Quantizer.dequantize(t.type, bytes, count: t.elementCount, into: $0) }
                return out
            }
        }
        guard let a = floats(source), let b = floats(candidate) else { return nil }
        return (a, b)
    }
}

struct SendableBuffer<T>: @unchecked Sendable { let b: UnsafeMutableBufferPointer<T>; init(_ b: UnsafeMutableBufferPointer<T>) { self.b = b } }
struct SendableFloats: @unchecked Sendable { let b: UnsafeBufferPointer<Float>; init(_ b: UnsafeBufferPointer<Float>) { self.b = b } }
