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

    /// `d[key]` as a positive integer that fits GGUF's uint32, nil when absent.
    func positive(_ d: [String: Any], _ key: String) throws(KilnError) -> Int? {
        guard let n = number(d, key) else { return nil }
        guard n.doubleValue >= 1, n.doubleValue <= Double(UInt32.max), n.doubleValue == n.doubleValue.rounded() else {
            throw KilnError(.invalid, "\(key) = \(n) is not a positive integer that fits GGUF's uint32", file: path)
        }
        return n.intValue
    }
}
