import Foundation
import KilnCore

/// An HF checkpoint's `config.json` as a JSON object, with checked readers for the values in it: what each family's
/// HF config reader (`Gemma3.HFTextConfig`, `Gemma2.HFTextConfig`) shares.
struct HFConfigFile {
    let path: String
    let root: [String: Any]

    /// Nil when the directory holds no `config.json`; throws when it is not a JSON object.
    static func open(directory: String) throws(KilnError) -> HFConfigFile? {
        let path = directory + "/config.json"
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw KilnError(.invalid, "config.json is not a JSON object", file: path)
        }
        return HFConfigFile(path: path, root: root)
    }

    func number(_ d: [String: Any], _ key: String) -> NSNumber? { d[key] as? NSNumber }

    /// Throws unless the top-level `model_type` is absent or `expected` (the family llama.cpp's converter would pick).
    func checkModelType(_ expected: String) throws(KilnError) {
        if let type = root["model_type"] as? String, type != expected {
            throw KilnError(.unsupported, "config.json says model_type '\(type)', not \(expected)", file: path)
        }
    }

    /// Throws when `rope_theta` states a base other than 10 000 for `architecture`, whose llama.cpp converter writes no
    /// RoPE base (so llama.cpp's default 10 000 applies).
    func checkDefaultRopeBase(architecture: String) throws(KilnError) {
        if let theta = number(root, "rope_theta"), theta.doubleValue != 10_000 {
            throw KilnError(.unsupported, "rope_theta = \(theta): llama.cpp's \(architecture) converter writes no RoPE base (10 000 is used)", file: path)
        }
    }

    /// `max_position_embeddings`, `head_dim` and `rms_norm_eps` where present (what every Gemma text config states).
    func readCommon(contextLength: inout Int, headDim: inout Int, rmsEpsilon: inout Float) throws(KilnError) {
        if let v = try positive(root, "max_position_embeddings") { contextLength = v }
        if let v = try positive(root, "head_dim") { headDim = v }
        if let v = number(root, "rms_norm_eps") { rmsEpsilon = v.floatValue }
    }

    /// `d[key]` as a positive integer that fits GGUF's uint32, nil when absent.
    func positive(_ d: [String: Any], _ key: String) throws(KilnError) -> Int? {
        guard let n = number(d, key) else { return nil }
        guard n.doubleValue >= 1, n.doubleValue <= Double(UInt32.max), n.doubleValue == n.doubleValue.rounded() else {
            throw KilnError(.invalid, "\(key) = \(n) is not a positive integer that fits GGUF's uint32", file: path)
        }
        return n.intValue
    }
}
