import Foundation
import KilnCore

/// Finds the Orbax array checkpoint behind a user-supplied path: a checkpoint directory, a CheckpointManager root
/// (latest committed step), a step or Composite directory (`params/`, `default/`), or a Kaggle download root.
struct OrbaxLayout: Sendable {
    /// The directory holding `_METADATA` and the array store.
    var checkpointDirectory: String
    /// `tokenizer.model` next to the weights (Kaggle layout), when present.
    var tokenizerModelPath: String?
    /// The CheckpointManager step chosen, when the path was a manager root.
    var step: Int?

    static let tmpMarker = ".orbax-checkpoint-tmp"

    /// `step` picks that step of a CheckpointManager directory instead of the newest committed one.
    static func resolve(_ path: String, step: Int? = nil) throws(KilnError) -> OrbaxLayout {
        var p = path
        while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
        guard FileIdentity.exists(p) else { throw KilnError(.notFound, "no such file or directory", file: p) }
        if !FileIdentity.isDirectory(p) {
            let name = (p as NSString).lastPathComponent
            guard ["_METADATA", "manifest.ocdbt", "_CHECKPOINT_METADATA"].contains(name) else {
                throw KilnError(.badMagic, "not an Orbax checkpoint directory", file: p)
            }
            p = (p as NSString).deletingLastPathComponent
        }
        var layout = try find(p, depth: 0, step: step)
        if let step, layout.step != step {
            throw KilnError(.usage, "--step \(step): this is not a CheckpointManager directory with numbered steps", file: p)
        }
        if layout.tokenizerModelPath == nil {
            // Pointed at the weights directory of a Kaggle download: the tokenizer sits beside it.
            let dir = layout.checkpointDirectory
            let parent = (dir as NSString).deletingLastPathComponent
            for candidate in [dir + "/tokenizer.model", parent + "/tokenizer.model"] where FileIdentity.exists(candidate) {
                layout.tokenizerModelPath = candidate
                break
            }
        }
        return layout
    }

    static func subdirectories(_ dir: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return names.filter { !$0.hasPrefix(".") && !$0.contains(tmpMarker) && FileIdentity.isDirectory(dir + "/" + $0) }.sorted()
    }

    /// True when `dir` itself holds an array checkpoint (metadata or an OCDBT store).
    static func isArrayCheckpoint(_ dir: String) -> Bool {
        FileIdentity.exists(dir + "/_METADATA") || FileIdentity.exists(dir + "/manifest.ocdbt")
            || subdirectories(dir).contains(where: {
                $0.hasPrefix("ocdbt.process_") || FileIdentity.exists(dir + "/" + $0 + "/.zarray")
                    || FileIdentity.exists(dir + "/" + $0 + "/zarr.json")
            })
    }

    static func stepNumber(_ name: String) -> Int? {
        if let n = Int(name), n >= 0, name.allSatisfy(\.isASCII) { return n }
        for prefix in ["checkpoint_", "step_", "ckpt_"] where name.hasPrefix(prefix) {
            if let n = Int(name.dropFirst(prefix.count)), n >= 0 { return n }
        }
        return nil
    }

    /// True for the folders Orbax and Kauldron add around a checkpoint (item `default`/`params`, the manager's
    /// `checkpoints`, a step): not names a user gave the model.
    static func isBookkeeping(_ name: String) -> Bool {
        ["default", "params", "checkpoints"].contains(name) || stepNumber(name) != nil
    }

    static func uncommitted(_ dir: String, _ why: String) -> KilnError {
        KilnError(.invalid, "uncommitted checkpoint: \(why)", file: dir)
    }

    private static func find(_ dir: String, depth: Int, step wanted: Int? = nil) throws(KilnError) -> OrbaxLayout {
        guard depth < 4 else { throw KilnError(.notFound, "no Orbax checkpoint found (nested too deeply)", file: dir) }
        if (dir as NSString).lastPathComponent.contains(tmpMarker) {
            throw uncommitted(dir, "an unfinished '*\(tmpMarker)*' directory (the save did not complete)")
        }
        if depth == 0, stepNumber((dir as NSString).lastPathComponent) != nil,
           !FileIdentity.exists(dir + "/commit_success.txt") {
            // A step of a CheckpointManager whose other steps carry commit markers is expected to carry one too.
            let root = (dir as NSString).deletingLastPathComponent
            let siblings = subdirectories(root).filter { stepNumber($0) != nil }
            if siblings.contains(where: { FileIdentity.exists(root + "/" + $0 + "/commit_success.txt") }) {
                throw uncommitted(dir, "no commit_success.txt, although the other steps of this CheckpointManager have one")
            }
        }
        if isArrayCheckpoint(dir) { return OrbaxLayout(checkpointDirectory: dir) }
        let subs = subdirectories(dir)
        // Composite / single-item step directory: params/ (Orbax Composite), default/ (unnamed item, Kauldron).
        let items = subs.filter { stepNumber($0) == nil && isArrayCheckpoint(dir + "/" + $0) }
        if !items.isEmpty {
            let pick = items.first(where: { $0 == "params" }) ?? items.first(where: { $0 == "default" }) ?? items[0]
            var layout = OrbaxLayout(checkpointDirectory: dir + "/" + pick)
            if FileIdentity.exists(dir + "/tokenizer.model") { layout.tokenizerModelPath = dir + "/tokenizer.model" }
            return layout
        }
        // CheckpointManager root: integer step directories; the newest committed one wins.
        let steps = subs.compactMap { n in stepNumber(n).map { ($0, n) } }.sorted { $0.0 < $1.0 }
        if !steps.isEmpty {
            let markers = steps.filter { FileIdentity.exists(dir + "/" + $0.1 + "/commit_success.txt") }
            // Where steps carry commit markers, a step without one is an unfinished save: skip it.
            let committed = markers.isEmpty ? steps : markers
            if let wanted {
                guard let (n, name) = steps.first(where: { $0.0 == wanted }) else {
                    throw KilnError(.notFound, "no step \(wanted) here (steps: \(steps.map { String($0.0) }.joined(separator: ", ")))", file: dir)
                }
                var layout = try find(dir + "/" + name, depth: depth + 1)
                layout.step = n
                return layout
            }
            var firstError: KilnError?
            for (n, name) in committed.reversed() {
                do {
                    var layout = try find(dir + "/" + name, depth: depth + 1)
                    layout.step = n
                    return layout
                } catch {
                    if firstError == nil { firstError = error }
                }
            }
            throw firstError ?? uncommitted(dir, "no step directory holds a complete checkpoint")
        }
        // Kaggle download root: tokenizer.model beside one weights directory.
        if FileIdentity.exists(dir + "/tokenizer.model") {
            var stepError: KilnError?
            for s in subs {
                do {
                    var layout = try find(dir + "/" + s, depth: depth + 1, step: wanted)
                    layout.tokenizerModelPath = dir + "/tokenizer.model"
                    return layout
                } catch {
                    // A CheckpointManager below the download root that lacks --step's step is worth reporting;
                    // other subdirectories are simply not checkpoints.
                    let isManager = subdirectories(dir + "/" + s).contains { stepNumber($0) != nil }
                    if wanted != nil, isManager, stepError == nil { stepError = error }
                }
            }
            if let stepError { throw stepError }
        }
        if FileIdentity.exists(dir + "/_CHECKPOINT_METADATA") || FileIdentity.exists(dir + "/d") {
            throw uncommitted(dir, "Orbax files are present but neither _METADATA nor an OCDBT manifest")
        }
        throw KilnError(.notFound, "no Orbax checkpoint here (no _METADATA, manifest.ocdbt, step or item directory)", file: dir)
    }
}
