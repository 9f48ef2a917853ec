import Foundation
import KilnCore

/// Finds the mmproj (vision projector GGUF) that belongs to a text model, by the rule LM Studio uses and `convert`
/// follows when it writes one: `mmproj-<model file name without .gguf>.gguf` beside the model, else the only
/// `mmproj*.gguf` in the model's folder.
public enum MMProjLocator {
    /// The mmproj for `model`: `explicit` when given (it must exist), else the discovered file, else nil when the
    /// folder holds none. Several candidates and no exact name is an error listing them.
    public static func find(model: String, explicit: String?) throws(KilnError) -> String? {
        let fm = FileManager.default
        if let explicit {
            guard fm.fileExists(atPath: explicit) else { throw KilnError(.io, "no such file", file: explicit) }
            return explicit
        }
        let dir = URL(fileURLWithPath: model).deletingLastPathComponent().path
        let stem = Self.stem(model)
        let exact = dir + "/mmproj-" + stem + ".gguf"
        if fm.fileExists(atPath: exact) { return exact }
        let names = ((try? fm.contentsOfDirectory(atPath: dir)) ?? []).filter {
            let n = $0.lowercased()
            return n.hasPrefix("mmproj") && n.hasSuffix(".gguf")
        }.sorted()
        switch names.count {
        case 0: return nil
        case 1: return dir + "/" + names[0]
        default:
            throw KilnError(.usage, "several mmproj files beside the model (\(names.joined(separator: ", "))) and none named "
                            + "mmproj-\(stem).gguf; choose one with --mmproj FILE", file: model)
        }
    }

    /// The model's file name without `.gguf`.
    static func stem(_ model: String) -> String {
        var name = URL(fileURLWithPath: model).lastPathComponent
        if name.lowercased().hasSuffix(".gguf") { name.removeLast(5) }
        return name
    }

    /// `find`, or an error saying where it looked when nothing is found (for commands given an image).
    public static func require(model: String, explicit: String?) throws(KilnError) -> String {
        guard let path = try find(model: model, explicit: explicit) else {
            throw KilnError(.notFound, "images need the model's vision projector: no mmproj-\(stem(model)).gguf or other mmproj*.gguf "
                            + "beside the model; give one with --mmproj FILE", file: model)
        }
        return path
    }
}
