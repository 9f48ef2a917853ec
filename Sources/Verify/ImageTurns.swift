import GGUFWriter
import KilnCore
import RefInference
import Tokenizers

/// The image turns of `verify --image`: for each image, one chat turn as `chat --image FILE -p QUESTION` frames it
/// (libmtmd's `mtmd_tokenize`: `<start_of_turn>user\n`, `<start_of_image>`, the image's soft tokens, `<end_of_image>`,
/// the question, `<end_of_turn>\n<start_of_turn>model\n`), followed by a fixed model answer that both sides read
/// teacher-forced; the positions predicting the answer and its `<end_of_turn>` are scored, as the model turns of the
/// text prompt set are.
///
/// Three runs of the same tokens, with the soft tokens of each side:
/// - source: the checkpoint's vision tower in float32 (`ImageCheck`'s reference encoder) → the source's float32 text
///   model (`StreamedFloatModel`);
/// - weights row: the candidate mmproj (Kiln's SigLIP on llama.cpp's numerics, as `chat` runs it) → the candidate's
///   weights on the float32 text path;
/// - runtime row: the same soft tokens → the candidate on the engine's llama.cpp numerics.
/// Image rows attend bidirectionally among themselves on every side (`GemmaEngine.evaluate(embeddings:count:
/// bidirectional:)`'s rule, libmtmd's for Gemma 3). The statistics are `KLStatistics` over the scored positions of all
/// image turns, the same figures as the text rows.
public enum ImageTurns {
    /// The user's question after the image.
    public static let question = "What is in this picture? Answer in one sentence."
    /// The model turn both sides read (Kiln's text; the figures are about distributions, not about the answer).
    public static let answer = "The picture shows a few simple shapes and colours on a plain background."

    public struct Result: Sendable {
        /// Image turns run (one per `--image`).
        public var turns: Int
        public var weights: KLStatistics
        public var runtime: KLStatistics
    }

    /// One image turn's tokens: `tokens[image ..< image + tokensPerImage]` are placeholders for the soft tokens.
    struct Turn {
        var tokens: [Int32]
        var image: Int
        var scored: [Int]
    }

    /// The turn for an encoder of `tokensPerImage` soft tokens framed by `start` and `end`, tokenized piece by piece as
    /// `ChatSession.promptChunks` (libmtmd) does.
    static func turn(_ tokenizer: SPMTokenizer, tokensPerImage n: Int, start: String, end: String) throws(KilnError) -> Turn {
        let marker = "<__media__>"
        let parts = GemmaChatFormat.userTurn(marker + question).components(separatedBy: marker)
        let before = tokenizer.tokenize(parts[0], addBOS: true, parseSpecial: true) + tokenizer.tokenize(start, addBOS: false, parseSpecial: true)
        let closing = tokenizer.tokenize(end, addBOS: false, parseSpecial: true)
        let header = tokenizer.tokenize(parts[1], addBOS: false, parseSpecial: true)
        let after = tokenizer.tokenize(parts[1] + answer + "<end_of_turn>", addBOS: false, parseSpecial: true)
        guard !header.isEmpty, after.starts(with: header), after.count > header.count else {
            throw KilnError(.invalid, "the image turn's answer tokens do not line up with its header's")
        }
        let offset = before.count + n + closing.count
        return Turn(tokens: before + [Int32](repeating: 0, count: n) + closing + after, image: before.count,
                    scored: Array(offset + header.count - 1 ..< offset + after.count - 1))
    }

    /// `verify --image`: each image encoded by both towers (`ImageCheck`), then its image turn run on the source and
    /// the candidate. Returns the embedding-level check of each image and the turns' statistics.
    public static func run(source: any TensorSource, candidatePath: String, mmproj: String, images: [String],
                           threads: Int) throws -> (images: [ImageCheck.Result], turns: Result) {
        let (checks, framing) = try ImageCheck.encode(source: source, mmproj: mmproj, images: images, threads: threads)
        return (checks, try run(source: source, candidatePath: candidatePath, images: checks, framing: framing, threads: threads))
    }

    /// Runs the image turns of `images` (the soft tokens of each image from the source's tower and from the candidate
    /// mmproj) on the source and the candidate.
    static func run(source: any TensorSource, candidatePath: String, images: [ImageCheck.Result], framing f: ImageCheck.Framing,
                    threads: Int) throws -> Result {
        let candidate = try GGUFFile(path: candidatePath)
        let tokenizer = try SPMTokenizer(metadata: candidate.metadata, file: candidatePath)
        let cand = try FloatView.open(candidate, vocabularySize: nil)
        let src = try FloatView.open(source, vocabularySize: tokenizer.vocabulary.count)
        let config = cand.config, d = config.embeddingLength, V = config.vocabularySize
        guard f.tokensPerImage * d == images.first?.candidateEmbeddings.count ?? f.tokensPerImage * d, src.config.embeddingLength == d else {
            throw KilnError(.invalid, "the mmproj's soft tokens are not as wide as the text model's embedding (\(d))", file: candidatePath)
        }
        let turn = try Self.turn(tokenizer, tokensPerImage: f.tokensPerImage, start: f.start, end: f.end)
        let sequences = [[Int32]](repeating: turn.tokens, count: images.count)
        func spans(_ soft: (ImageCheck.Result) -> [Float]) -> [[SoftTokenSpan]] {
            images.map { [SoftTokenSpan(start: turn.image, values: soft($0), bidirectional: f.bidirectional)] }
        }
        let options = FloatPathOptions(threads: threads)
        let sourceModel = try StreamedFloatModel(source: src.view, config: src.config, options: options)
        let sourceHidden = try sourceModel.finalHidden(sequences, softTokens: spans(\.sourceEmbeddings), progress: nil)
        let weightsModel = try StreamedFloatModel(source: cand.view, config: config, options: options)
        let weightsHidden = try weightsModel.finalHidden(sequences, softTokens: spans(\.candidateEmbeddings), progress: nil)
        let runtime = try EngineModel(gguf: candidate, config: config, threads: threads, contextLength: turn.tokens.count)
        let runtimeHidden = images.map { runtime.hidden(turn.tokens, soft: turn.image, $0.candidateEmbeddings, bidirectional: f.bidirectional) }

        var weightsRows: [PositionComparison] = [], runtimeRows: [PositionComparison] = []
        var s = [Float](repeating: 0, count: turn.scored.count * V), w = s, r = s
        let block = turn.scored.map { (0, $0) }, targets = turn.scored.map { Int(turn.tokens[$0 + 1]) }
        for i in images.indices {
            let n = block.count
            try Verifier.logits(sourceModel.logits, Verifier.gather([sourceHidden[i]], block, d), n, V, &s)
            try Verifier.logits(weightsModel.logits, Verifier.gather([weightsHidden[i]], block, d), n, V, &w)
            try Verifier.logits({ h, c, out in runtime.logits(hidden: h, count: c, into: out) },
                                Verifier.gather([runtimeHidden[i]], block, d), n, V, &r)
            let pair = Verifier.compare(s, [w, r], targets: targets, vocabulary: V, threads: threads)
            weightsRows += pair[0]
            runtimeRows += pair[1]
        }
        return Result(turns: images.count, weights: KLStatistics(weightsRows), runtime: KLStatistics(runtimeRows))
    }
}

extension EngineModel {
    /// Hidden rows (before the output norm) of `tokens` from position 0 whose rows `image ..< image + count` are the
    /// soft tokens `soft` (`count × n_embd`): the text in batches of the engine's batch size, the image in one batch
    /// as `GemmaEngine.evaluate(embeddings:count:bidirectional:)` decodes it.
    func hidden(_ tokens: [Int32], soft image: Int, _ soft: [Float], bidirectional: Bool) -> [Float] {
        let d = engine.config.embeddingLength, count = soft.count / d, batch = engine.options.batchSize
        var out: [Float] = []
        out.reserveCapacity(tokens.count * d)
        func run(_ input: [Float], _ positions: Range<Int>, _ bidirectional: Bool) {
            var x = input
            for il in 0 ..< engine.config.layerCount { x = engine.layer(il, x, positions: positions, bidirectional: bidirectional) }
            out += x
        }
        var p = 0
        while p < tokens.count {
            if p == image {
                run(soft, p ..< p + count, bidirectional)
                p += count
            } else {
                let end = min(p < image ? image : tokens.count, p + batch)
                run(engine.embed(Array(tokens[p ..< end])), p ..< end, false)
                p = end
            }
        }
        return out
    }
}
