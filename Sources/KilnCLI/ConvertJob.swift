import Conversion
import FlaxCheckpoint
import Foundation
import GGUFWriter
import KilnCore
import QuantCore
import Tokenizers

/// Everything `convert` can be asked to do, independent of argument parsing.
public struct ConvertOptions: Sendable {
    public var output: String
    /// "auto" (QAT grid → lossless Q4_0), a ggml type name, or a llama-quantize preset.
    public var type = "auto"
    public var embeddingType: String?
    public var tensorTypes: [String] = []
    public var tokenizer: String?
    public var modelName: String?
    public var threads = ProcessInfo.processInfo.activeProcessorCount
    public var allowRequantize = false
    public var dryRun = false
    public var progress = Terminal.stderrIsTTY
    /// Where the vision tower's llama.cpp mmproj GGUF goes (default: `mmproj-<output name>` beside the output).
    public var mmproj: String?
    /// Do not write the mmproj even when the checkpoint has a vision tower.
    public var noMMProj = false
    /// Also write `OUT.sha256` (sha256sum format) beside each output.
    public var checksum = false
    /// The CheckpointManager step to read (nil: the newest committed one).
    public var step: Int?

    public init(output: String) { self.output = output }
}

/// `convert`: a checkpoint (Orbax/Flax or safetensors) or a GGUF file in, a GGUF file out.
public enum ConvertJob {
    /// Runs the conversion and returns the summary lines for stderr (or the plan, for a dry run).
    public static func run(input: String, options: ConvertOptions) throws -> String {
        let summary = try write(input: input, options: options)
        guard options.checksum && !options.dryRun else { return summary }
        return summary + (try checksumLine(options.output))
    }

    static func write(input: String, options: ConvertOptions) throws -> String {
        let source = try SourceOpener.open(input, step: options.step)
        if let gguf = source as? GGUFFile {
            guard options.type != "auto" || options.embeddingType != nil || !options.tensorTypes.isEmpty else {
                return try GGUFRewrite.run(source: gguf, output: options.output, threads: options.threads, progress: options.progress)
            }
            return try requantize(gguf, options: options)
        }
        return try convertCheckpoint(source, input: input, options: options)
    }

    /// Writes `path.sha256` (hashing the file as it is on disk) and returns the summary line.
    static func checksumLine(_ path: String) throws -> String {
        let digest = try ChecksumFile.write(for: path)
        return "\nsha256 \(digest) → \(ChecksumFile.path(for: path))"
    }

    /// GGUF → GGUF with a llama-quantize type mix (`--type` names a preset such as Q4_K_M or a type such as Q8_0).
    static func requantize(_ gguf: GGUFFile, options o: ConvertOptions) throws -> String {
        let name = o.type.lowercased() == "auto" ? gguf.metadata[key: GGUFKey.fileType].flatMap { $0.intValue }.flatMap { UInt32(exactly: $0) }.flatMap { QuantMix.preset(fileType: $0)?.name } ?? "F16" : o.type
        guard var mix = QuantMix.preset(named: name) else {
            throw KilnError(.usage, "unknown --type '\(o.type)' for a GGUF input (one of " + QuantMix.presetNames.joined(separator: ", ") + ")")
        }
        if let e = o.embeddingType {
            guard let t = GGMLType.named(e) else { throw KilnError(.usage, "unknown --embedding-type '\(e)'") }
            mix.tokenEmbeddingType = t
        }
        for spec in o.tensorTypes { try mix.addOverride(spec) }
        let (plan, metadata, warnings) = try RequantizePlan.make(gguf, mix: mix, allowRequantize: o.allowRequantize)
        if o.dryRun { return plan.text + "tensor data: \(TextTable.grouped(plan.dataBytes)) bytes" }
        for w in warnings { Terminal.error(w) }
        let progress = ProgressBar("quantizing", total: plan.tensors.reduce(0) { $0 + $1.tensor.elementCount }, enabled: o.progress)
        let report = try PlanExecutor(threads: o.threads, progress: progress)
            .write(plan: plan, source: gguf, metadata: metadata, to: o.output, inputs: [gguf.path])
        return "wrote \(o.output) (\(mix.name)): \(report.tensors) tensors (" + plan.typeCounts
            + "), \(TextTable.grouped(report.bytes)) bytes of tensor data in \(String(format: "%.2f", report.seconds)) s"
    }

    static func typeRequest(_ o: ConvertOptions) throws -> TypeRequest {
        var r = TypeRequest()
        if o.type.lowercased() != "auto" {
            if let t = GGMLType.named(o.type) {
                r.base = .single(t)
            } else if let mix = QuantMix.preset(named: o.type) {
                r.base = .mix(mix)
            } else {
                throw KilnError(.usage, "unknown --type '\(o.type)' (auto, a ggml type such as q4_0, q8_0, q4_k, f16, bf16, f32, or a llama-quantize preset such as Q4_K_M)")
            }
        }
        if let e = o.embeddingType {
            guard let t = GGMLType.named(e) else { throw KilnError(.usage, "unknown --embedding-type '\(e)'") }
            r.embedding = t
        }
        r.overrides = try o.tensorTypes.map { spec throws(KilnError) in try TensorTypeOverride(parsing: spec) }
        return r
    }

    /// The tokenizer.model for a checkpoint: `--tokenizer`, the Kaggle root's, or one in the checkpoint directory.
    public static func tokenizerPath(_ source: any TensorSource, input: String, options: ConvertOptions) throws -> String {
        if let t = options.tokenizer { return t }
        if let t = source.orbaxCheckpoint?.tokenizerModelPath { return t }
        let dir = FileIdentity.isDirectory(input) ? input : (input as NSString).deletingLastPathComponent
        for candidate in [dir + "/tokenizer.model", (dir as NSString).deletingLastPathComponent + "/tokenizer.model"]
        where FileIdentity.exists(candidate) {
            return candidate
        }
        throw KilnError(.notFound, "no tokenizer.model beside the checkpoint; pass --tokenizer PATH", file: input)
    }

    static func convertCheckpoint(_ source: any TensorSource, input: String, options: ConvertOptions) throws -> String {
        let family = try Architectures.family(of: source)
        let tokenizer = try tokenizerPath(source, input: input, options: options)
        let vocabulary = try family.vocabulary(tokenizerModel: tokenizer)
        let arch = try family.init(source: source, vocabularySize: vocabulary.count)
        var request = try typeRequest(options)
        if request.base == .auto { request.auto = try AutoTypeDecision.decide(outputs: arch.outputTensors, source: source) }
        let plan = try ConversionPlan(outputs: arch.outputTensors, request: request, model: arch.quantModelInfo)
        let weights = arch.outputTensors.filter { $0.ne.count > 1 && $0.role != .norm }.count
        let autoLine = request.auto.flatMap { $0.summary(weights: weights) }.map { $0 + "\n" } ?? ""
        let mmproj = try MMProjJob.plan(arch: arch, source: source, options: options)
        if options.dryRun {
            return sourceLine(source) + autoLine + arch.summary + "\n" + plan.text + "tensor data: \(TextTable.grouped(plan.dataBytes)) bytes" + MMProjJob.dryRunText(mmproj)
        }
        let name = options.modelName ?? defaultModelName(source, input: input)
        var metadata = arch.metadata(modelName: name)
        metadata.append(contentsOf: arch.tokenizerMetadata(vocabulary))
        metadata.append(GGUFMetadataEntry(GGUFKey.quantizationVersion, .uint32(ggmlQuantizationVersion)))
        metadata.append(GGUFMetadataEntry(GGUFKey.fileType, .uint32(plan.fileType)))

        let progress = ProgressBar("converting", total: plan.tensors.reduce(0) { $0 + $1.tensor.elementCount }, enabled: options.progress)
        let executor = PlanExecutor(threads: options.threads, progress: progress)
        let inputs = [tokenizer] + source.inputPaths + (source.orbaxCheckpoint.map { [$0.checkpointDirectory] } ?? [])
        // Both outputs are written completely to temp files first; then the mmproj is renamed, then the model, so
        // a model never appears without its mmproj. On any failure both temp files are removed.
        let (report, model) = try executor.writePending(plan: plan, source: source, metadata: metadata, to: options.output, inputs: inputs)
        let (projector, projectorSummary) = try MMProjJob.writePending(mmproj, source: source, modelName: name, inputs: inputs, options: options)
        try projector?.commit()
        do {
            try model.commit()
        } catch {
            if let projector { unlink(projector.path) }
            throw error
        }
        let projectorChecksum = try projector.map { options.checksum ? try checksumLine($0.path) : "" } ?? ""
        return sourceLine(source) + autoLine + summary(arch: arch, plan: plan, report: report, output: options.output) + projectorSummary + projectorChecksum
    }

    /// What was read, when it is not a plain Kaggle release: the tree layout, the step, what was left out.
    static func sourceLine(_ source: any TensorSource) -> String {
        guard let p = source as? FlaxModelParams, p.layout != .flat || p.checkpoint.step != nil else { return "" }
        var parts = ["read a \(p.layout.rawValue.uppercased()) Flax tree: \(p.tensors.count) parameters"]
        if let step = p.checkpoint.step { parts.append("step \(step)") }
        if p.ignoredArrays > 0 { parts.append("\(p.ignoredArrays) other arrays (optimizer state, step, collections) not read") }
        return parts.joined(separator: ", ") + "\n"
    }

    public static func defaultModelName(_ source: any TensorSource, input: String) -> String {
        if let o = source.orbaxCheckpoint { return o.modelName }
        return ((input as NSString).standardizingPath as NSString).lastPathComponent
    }

    static func summary(arch: any Architecture, plan: ConversionPlan, report: ConversionReport, output: String) -> String {
        var lines = [arch.summary]
        lines.append("wrote \(output): \(report.tensors) tensors (" + plan.typeCounts
                     + "), \(TextTable.grouped(report.bytes)) bytes of tensor data in \(String(format: "%.2f", report.seconds)) s")
        if report.losslessTensors > 0 {
            lines.append("QAT int4 grid: \(report.losslessTensors) tensors packed losslessly as Q4_0 (\(report.qat.blocks) blocks, "
                         + "\(report.qat.zeroBlocks) all-zero, \(report.qat.inexactBlocks) reproduced within tolerance); "
                         + "max fp16 scale rounding error \(String(format: "%.3g", report.qat.maxScaleRelError)) relative, "
                         + "max |Δ| \(String(format: "%.3g", report.qat.maxAbsError))")
        }
        return lines.joined(separator: "\n")
    }
}
