import Foundation
import GGUFWriter
import KilnCLI
import KilnCore
import KilnTestSupport
import Testing

/// Kiln's HF route judged by llama.cpp's own converter: `convert_hf_to_gguf.py` (llama-cpp-python 0.3.36's vendored
/// llama.cpp) ran on tiny Gemma 3 checkpoints written by `transformers` itself, and its files were recorded key by key
/// and tensor by tensor (scripts/gen_llama_converter_goldens.py → fixtures/llama-converter/goldens.json). Kiln converts
/// the same checkpoints with the same output type and must agree: every tensor byte-identical, every key with the same
/// type and value — except the differences listed in `justified`, each with its reason. The list is exact: a listed
/// difference that no longer occurs fails too, so the list cannot go stale.
@Suite struct LlamaConverterGoldenTests {
    static let outtypes = ["f32", "f16", "bf16", "q8_0"]

    /// One way Kiln's file differs from llama.cpp's.
    enum Difference: Hashable, CustomStringConvertible {
        case onlyInLlamaCpp(String)
        case onlyInKiln(String)
        case value(String)
        /// llama.cpp padded the vocabulary (key or token_embd) to config.json's vocab_size; Kiln's equals its prefix.
        case padded(String)
        case keyOrder
        case tensorOrder

        var description: String {
            switch self {
            case .onlyInLlamaCpp(let k): "only in llama.cpp's file: \(k)"
            case .onlyInKiln(let k): "only in Kiln's file: \(k)"
            case .value(let k): "different value: \(k)"
            case .padded(let k): "llama.cpp padded, Kiln equals the unpadded prefix: \(k)"
            case .keyOrder: "metadata key order"
            case .tensorOrder: "tensor order"
            }
        }
    }

    // Reasons shared by several checkpoints.
    static let order = "GGUF readers look keys and tensors up by name; Kiln writes the order of llama.cpp's own Gemma 3 files (the real 270M GGUF), the HF converter the order it meets them in"
    static let naming = "general.* naming is derived from the directory name by llama.cpp's metadata heuristics (\"tiny-vision\" → basename \"tiny\", finetune \"vision\"); Kiln writes the model family (basename \"gemma-3\") and no finetune; llama.cpp never reads these keys"
    static let chatTemplate = "Kiln adds Gemma 3's chat template (README); llama.cpp's converter copies tokenizer_config.json's, which these tiny checkpoints do not have"
    static let padding = "llama.cpp pads the vocabulary to config.json's vocab_size with [PADn] tokens and keeps the padded embedding rows; Kiln stops at the tokenizer's pieces (as its Flax route and the real 270M GGUF do). The padded ids are never produced by the tokenizer; the unpadded entries and rows are byte-identical"
    static let sizeLabel = "general.size_label counts parameters, and llama.cpp counts the padded embedding rows"

    /// Every difference, per checkpoint and kind, with its justification.
    static func justified(checkpoint: String, kind: String) -> [Difference: String] {
        var d: [Difference: String] = [.keyOrder: order, .tensorOrder: order]
        switch (checkpoint, kind) {
        case ("tiny-text", "text"):
            d[.onlyInKiln("general.basename")] = naming
            d[.onlyInKiln("tokenizer.chat_template")] = chatTemplate
        case ("tiny-vision", "text"):
            d[.onlyInLlamaCpp("general.finetune")] = naming
            d[.value("general.basename")] = naming
            d[.value("general.size_label")] = sizeLabel
            d[.onlyInKiln("tokenizer.chat_template")] = chatTemplate
            for k in ["tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type", "token_embd.weight"] {
                d[.padded(k)] = padding
            }
        case ("tiny-vision", "mmproj"):
            d[.onlyInLlamaCpp("general.finetune")] = naming
            d[.onlyInLlamaCpp("general.basename")] = naming
            d[.onlyInLlamaCpp("general.size_label")] = "llama.cpp's converter labels the mmproj with its parameter count; Kiln writes no size label for the mmproj, and nothing reads it"
            d[.keyOrder] = nil
        default:
            break
        }
        return d
    }

    /// The recorded outputs of a goldens file (Gemma 3's `goldens.json`, Gemma 2's `gemma2-goldens.json`).
    static func goldens(_ file: String = "goldens.json") throws -> [[String: Any]] {
        let doc = try #require(try Fixtures.json("llama-converter/" + file) as? [String: Any])
        return try #require(doc["outputs"] as? [[String: Any]])
    }

    static func golden(_ checkpoint: String, _ kind: String, _ outtype: String, file: String = "goldens.json") throws -> [String: Any] {
        try #require(try goldens(file).first {
            $0["checkpoint"] as? String == "llama-converter/" + checkpoint && $0["kind"] as? String == kind && $0["outtype"] as? String == outtype
        })
    }

    @Test(arguments: ["tiny-text", "tiny-vision"], outtypes)
    func textModel(_ checkpoint: String, _ outtype: String) throws {
        let dir = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir) }
        var o = ConvertOptions(output: dir + "/out.gguf")
        o.progress = false
        o.type = outtype
        o.modelName = "kiln-tiny-gemma3"  // the script's --model-name
        o.noMMProj = true
        _ = try ConvertJob.run(input: Fixtures.path("llama-converter/" + checkpoint), options: o)
        try compare(golden: try Self.golden(checkpoint, "text", outtype), kiln: GGUFFile(path: o.output),
                    expected: Self.justified(checkpoint: checkpoint, kind: "text"), label: "\(checkpoint) \(outtype)")
    }

    @Test(arguments: outtypes)
    func mmproj(_ outtype: String) throws {
        let dir = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir) }
        var o = ConvertOptions(output: dir + "/out.gguf")
        o.progress = false
        o.type = outtype
        o.modelName = "kiln-tiny-gemma3"
        _ = try ConvertJob.run(input: Fixtures.path("llama-converter/tiny-vision"), options: o)
        try compare(golden: try Self.golden("tiny-vision", "mmproj", outtype), kiln: GGUFFile(path: dir + "/mmproj-out.gguf"),
                    expected: Self.justified(checkpoint: "tiny-vision", kind: "mmproj"), label: "mmproj \(outtype)")
    }

    /// Records every difference between llama.cpp's recorded file and Kiln's; they must be exactly the justified ones.
    func compare(golden: [String: Any], kiln: GGUFFile, expected: [Difference: String], label: String) throws {
        var found = Set<Difference>()
        let theirs = try #require(golden["metadata"] as? [[String: Any]])
        let ours = Dictionary(kiln.metadata.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
        for kv in theirs {
            let key = try #require(kv["key"] as? String)
            guard let value = ours[key] else { found.insert(.onlyInLlamaCpp(key)); continue }
            switch Self.agreement(kv, value) {
            case .same: break
            case .prefix: found.insert(.padded(key))
            case .different: found.insert(.value(key))
            }
        }
        let theirKeys = theirs.compactMap { $0["key"] as? String }
        for e in kiln.metadata where !theirKeys.contains(e.key) { found.insert(.onlyInKiln(e.key)) }
        if theirKeys.filter({ ours[$0] != nil }) != kiln.metadata.map(\.key).filter({ theirKeys.contains($0) }) { found.insert(.keyOrder) }

        let tensors = try #require(golden["tensors"] as? [[String: Any]])
        let names = tensors.compactMap { $0["name"] as? String }
        for t in tensors {
            let name = try #require(t["name"] as? String)
            guard let info = kiln.tensorInfos.first(where: { $0.name == name }) else { found.insert(.onlyInLlamaCpp(name)); continue }
            let digest = SHA256.hex(kiln.data(of: info))
            let sameKind = info.type.name == t["type"] as? String
            if sameKind, info.ne == t["ne"] as? [Int], info.byteCount == t["bytes"] as? Int, digest == t["sha256"] as? String { continue }
            if sameKind, let p = t["prefix"] as? [String: Any], info.ne.last == p["rows"] as? Int, digest == p["sha256"] as? String {
                found.insert(.padded(name))
            } else {
                found.insert(.value(name))
            }
        }
        for t in kiln.tensorInfos where !names.contains(t.name) { found.insert(.onlyInKiln(t.name)) }
        if kiln.tensorInfos.map(\.name).filter({ names.contains($0) }) != names.filter({ n in kiln.tensorInfos.contains { $0.name == n } }) {
            found.insert(.tensorOrder)
        }

        let unexpected = found.subtracting(expected.keys)
        let missing = Set(expected.keys).subtracting(found)
        #expect(unexpected.isEmpty, "\(label): differences from llama.cpp's converter nobody justified: \(unexpected.map(\.description).sorted())")
        #expect(missing.isEmpty, "\(label): listed differences that no longer occur (remove them): \(missing.map(\.description).sorted())")
    }

    enum Agreement { case same, prefix, different }

    /// A recorded key (gguf-py's type names; arrays as element type, length and the sha256 of their GGUF element
    /// encoding) against Kiln's value.
    static func agreement(_ kv: [String: Any], _ value: GGUFValue) -> Agreement {
        guard kv["type"] as? String == value.type.description else { return .different }
        switch value {
        case .string(let s): return s == kv["value"] as? String ? .same : .different
        case .bool(let b): return b == kv["value"] as? Bool ? .same : .different
        case .float32(let f): return UInt32(exactly: (kv["bits"] as? NSNumber)?.int64Value ?? -1) == f.bitPattern ? .same : .different
        case .uint32(let x): return Int(x) == kv["value"] as? Int ? .same : .different
        case .int32(let x): return Int(x) == kv["value"] as? Int ? .same : .different
        case .uint64(let x): return Int(exactly: x) == kv["value"] as? Int ? .same : .different
        case .array(let a):
            guard kv["element_type"] as? String == a.elementType.description else { return .different }
            let digest = elementDigest(a)
            if a.count == kv["length"] as? Int, digest == kv["sha256"] as? String { return .same }
            if let p = kv["prefix"] as? [String: Any], a.count == p["length"] as? Int, digest == p["sha256"] as? String { return .prefix }
            return .different
        default:
            return .different  // no other value type occurs in these files
        }
    }

    /// sha256 of an array's elements as GGUF stores them (strings: u64 length + UTF-8; numbers little-endian).
    static func elementDigest(_ a: GGUFArray) -> String {
        var bytes: [UInt8] = []
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
        switch a {
        case .string(let xs): for s in xs { put(UInt64(s.utf8.count)); bytes.append(contentsOf: s.utf8) }
        case .float32(let xs): for x in xs { put(x.bitPattern) }
        case .int32(let xs): for x in xs { put(x) }
        case .uint32(let xs): for x in xs { put(x) }
        case .bool(let xs): for x in xs { bytes.append(x ? 1 : 0) }
        default: return "unsupported element type \(a.elementType)"
        }
        return bytes.withUnsafeBytes { SHA256.hex($0) }
    }
}
