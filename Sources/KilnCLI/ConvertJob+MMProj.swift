import Conversion
import Foundation
import GGUFWriter
import KilnCore

/// The vision half of `convert`: when the checkpoint carries a vision tower, llama.cpp's mmproj GGUF is written after
/// the text model (both stay temp files until both are complete), by the same plan executor (`--mmproj PATH`, default `mmproj-<output name>` beside the output, as
/// llama.cpp's `convert_hf_to_gguf.py --mmproj` names it; `--no-mmproj` skips it).
enum MMProjJob {
    struct Planned {
        let projector: any VisionProjector
        let plan: ConversionPlan
        let path: String
    }

    /// What happens to the vision part of a checkpoint.
    enum Outcome {
        /// Nothing to write; the note (if any) goes into the summary.
        case none(note: String?)
        case write(Planned)
    }

    /// `mmproj-<name>` in the output's directory.
    static func defaultPath(forOutput output: String) -> String {
        let dir = (output as NSString).deletingLastPathComponent
        let name = "mmproj-" + (output as NSString).lastPathComponent
        return dir.isEmpty ? name : (dir as NSString).appendingPathComponent(name)
    }

    /// Decides and plans the mmproj before anything is written, so a malformed tower fails the whole conversion early.
    static func plan(arch: any Architecture, source: any TensorSource, options: ConvertOptions) throws -> Outcome {
        if options.noMMProj, options.mmproj != nil {
            throw KilnError(.usage, "--mmproj and --no-mmproj contradict each other")
        }
        guard let multimodal = arch as? any VisionArchitecture else {
            return .none(note: options.mmproj == nil ? nil : "--mmproj ignored: \(type(of: arch).name) has no vision tower support")
        }
        switch try multimodal.visionTower(source: source) {
        case .absent:
            return .none(note: options.mmproj == nil ? nil : "--mmproj ignored: the checkpoint has no vision tower")
        case .unusable(let reason):
            return .none(note: options.noMMProj ? nil : reason)
        case .present(let projector):
            if options.noMMProj { return .none(note: "vision tower not converted (--no-mmproj)") }
            let path = options.mmproj ?? defaultPath(forOutput: options.output)
            guard !FileIdentity.same(path, options.output) && path != options.output else {
                throw KilnError(.usage, "the mmproj path is the text model's output; choose another with --mmproj", file: path)
            }
            let dir = (path as NSString).deletingLastPathComponent
            guard dir.isEmpty || FileIdentity.isDirectory(dir) else {
                throw KilnError(.notFound, "the mmproj's directory does not exist", file: path)
            }
            let weightType = TypeRequest.mmprojWeightType(forTextType: options.type)
            let plan = try ConversionPlan(outputs: projector.outputTensors, request: projector.typeRequest(weightType: weightType))
            return .write(Planned(projector: projector, plan: plan, path: path))
        }
    }

    /// The `--dry-run` addition.
    static func dryRunText(_ outcome: Outcome) -> String {
        switch outcome {
        case .none(let note?): return "\n" + note
        case .none(nil): return ""
        case .write(let p):
            return "\n" + p.projector.summary + " → \(p.path)\n" + p.plan.text + "mmproj tensor data: \(TextTable.grouped(p.plan.dataBytes)) bytes"
        }
    }

    /// Writes the mmproj (if planned) to its temp file, complete but not renamed, and returns it (nil when there is
    /// none) with the summary lines to append ("" when there is nothing to say). The caller renames it before the
    /// text model, so a model never appears without its mmproj.
    static func writePending(_ outcome: Outcome, source: any TensorSource, modelName: String, inputs: [String],
                             options: ConvertOptions) throws -> (output: AtomicOutputFile?, summary: String) {
        switch outcome {
        case .none(let note): return (nil, note.map { "\n" + $0 } ?? "")
        case .write(let p):
            let metadata = p.projector.metadata(modelName: modelName, fileType: p.plan.fileType)
            let progress = ProgressBar("mmproj", total: p.plan.tensors.reduce(0) { $0 + $1.tensor.elementCount }, enabled: options.progress)
            let executor = PlanExecutor(threads: options.threads, progress: progress)
            let (report, output) = try executor.writePending(plan: p.plan, source: source, metadata: metadata, to: p.path, inputs: inputs)
            return (output, "\n" + p.projector.summary
                + "\nwrote \(p.path): \(report.tensors) tensors (" + p.plan.typeCounts
                + "), \(TextTable.grouped(report.bytes)) bytes of tensor data in \(String(format: "%.2f", report.seconds)) s")
        }
    }
}

extension ConvertJob {
    /// Where the mmproj goes without `--mmproj`: `mmproj-<output name>` in the output's directory.
    public static func defaultMMProjPath(forOutput output: String) -> String { MMProjJob.defaultPath(forOutput: output) }
}
