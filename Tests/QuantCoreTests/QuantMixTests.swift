import Foundation
import GGUFWriter
import KilnCore
import Testing
@testable import QuantCore

/// fixtures/quant/gemma3-270m-q4_k_m.types.json (scripts/gen_quant_mix_golden.py): the real llama-quantize output.
struct MixGolden: Decodable {
    struct Tensor: Decodable { let name: String; let ne: [Int]; let type: String }
    let file_type: UInt32
    let block_count: Int
    let head_count: Int
    let head_count_kv: Int
    let architecture: String
    let tensors: [Tensor]

    static let gemma270m: MixGolden = {
        let url = URL(fileURLWithPath: QuantGoldens.directory + "/gemma3-270m-q4_k_m.types.json")
        return try! JSONDecoder().decode(MixGolden.self, from: Data(contentsOf: url))
    }()

    var model: QuantModelInfo {
        QuantModelInfo(architecture: architecture, layerCount: block_count, headCount: head_count, headCountKV: head_count_kv)
    }

    /// The model as an F32 source would present it (every tensor F32).
    var f32Tensors: [QuantTensor] { tensors.map { QuantTensor(name: $0.name, ne: $0.ne, sourceType: .f32) } }
}

@Suite("type mixes")
struct QuantMixTests {
    let golden = MixGolden.gemma270m

    @Test("Q4_K_M reproduces the real Gemma 3 270M file tensor by tensor")
    func gemmaQ4KM() throws {
        let mix = try #require(QuantMix.preset(named: "Q4_K_M"))
        #expect(mix.fileType == golden.file_type)
        let types = try mix.types(for: golden.f32Tensors, model: golden.model)
        for (t, got) in zip(golden.tensors, types) {
            #expect(got.name == t.type, "\(t.name): \(got.name) vs file \(t.type)")
        }
    }

    @Test("requantizing the Q4_K_M file to Q4_K_M keeps every type (so llama-quantize copies every tensor)")
    func gemmaIdempotent() throws {
        let mix = try #require(QuantMix.preset(named: "q4_k"))   // alias
        let src = golden.tensors.map { QuantTensor(name: $0.name, ne: $0.ne, sourceType: GGMLType.named($0.type)!) }
        #expect(try mix.types(for: src, model: golden.model) == src.map(\.sourceType))
    }

    /// fixtures/quant/gemma3-270m-mixes.json: llama.cpp's own choice (dry run of llama_model_quantize) for every preset.
    struct Mixes: Decodable {
        struct Mix: Decodable { let preset: String; let file_type: UInt32; let types: [String] }
        let mixes: [Mix]
    }

    @Test("every preset picks llama.cpp's type for every Gemma 3 270M tensor")
    func allPresetsMatchLlamaCpp() throws {
        let url = URL(fileURLWithPath: QuantGoldens.directory + "/gemma3-270m-mixes.json")
        let mixes = try JSONDecoder().decode(Mixes.self, from: Data(contentsOf: url)).mixes
        #expect(Set(mixes.map(\.preset)) == Set(QuantMix.presetNames))
        for m in mixes {
            let mix = try #require(QuantMix.preset(named: m.preset))
            #expect(mix.fileType == m.file_type)
            let types = try mix.types(for: golden.f32Tensors, model: golden.model)
            let diffs = zip(golden.tensors, zip(types, m.types)).filter { $0.1.0.name != $0.1.1 }
            #expect(diffs.isEmpty, "\(m.preset): \(diffs.prefix(3).map { "\($0.0.name) \($0.1.0) vs \($0.1.1)" })")
        }
    }

    @Test("the per-tensor form agrees with the whole-model plan")
    func perTensor() throws {
        for preset in ["Q4_K_M", "Q3_K_M", "Q4_K_S", "Q2_K", "Q5_K_M"] {
            let mix = try #require(QuantMix.preset(named: preset))
            let plan = try mix.types(for: golden.f32Tensors, model: golden.model)
            for (t, want) in zip(golden.tensors, plan) {
                let got = try mix.type(for: t.name, ne: t.ne, model: golden.model, tiedEmbeddings: true)
                #expect(got == want, "\(preset) \(t.name)")
            }
        }
    }

    @Test("tensor order follows llama.cpp's weight_name_comparer")
    func order() {
        let names = golden.tensors.map(\.name)
        let shuffled = names.reversed().map { $0 }
        #expect(TensorOrder.indices(shuffled).map { shuffled[$0] } == names)
        #expect(TensorOrder.layer(of: "blk.17.ffn_up.weight") == 17)
        #expect(TensorOrder.layer(of: "blkx.1.a") == nil)
    }

    @Test("PATTERN=TYPE overrides win, then the shape fallback applies")
    func overrides() throws {
        var mix = try #require(QuantMix.preset(named: "Q4_K_M"))
        try mix.addOverride("attn_v=q4_k")          // 640-wide → falls back to Q5_0
        try mix.addOverride(#"blk\.1\.ffn_down=Q8_0"#)
        try mix.addOverride("ffn_down=q5_k")
        let types = try mix.types(for: golden.f32Tensors, model: golden.model)
        let byName = Dictionary(uniqueKeysWithValues: zip(golden.tensors.map(\.name), types))
        #expect(byName["blk.0.attn_v.weight"] == .q5_0)
        #expect(byName["blk.1.ffn_down.weight"] == .q8_0)
        #expect(byName["blk.0.ffn_down.weight"] == .q5_K)
        #expect(byName["blk.0.attn_norm.weight"] == .f32)
        #expect(byName["token_embd.weight"] == .q8_0)
        #expect(throws: KilnError.self) { try mix.addOverride("no-equals") }
        #expect(throws: KilnError.self) { try mix.addOverride("x=q9_9") }
        #expect(throws: KilnError.self) { try mix.addOverride("(=q8_0") }
    }

    @Test("every preset resolves with llama.cpp's file type id")
    func presets() {
        let ids: [String: UInt32] = ["F32": 0, "F16": 1, "Q4_0": 2, "Q4_1": 3, "Q8_0": 7, "Q5_0": 8, "Q5_1": 9, "Q2_K": 10,
                                     "Q3_K_S": 11, "Q3_K_M": 12, "Q3_K_L": 13, "Q4_K_S": 14, "Q4_K_M": 15, "Q5_K_S": 16,
                                     "Q5_K_M": 17, "Q6_K": 18, "BF16": 32]
        #expect(Set(QuantMix.presetNames) == Set(ids.keys))
        for (name, id) in ids {
            #expect(QuantMix.preset(named: name.lowercased())?.fileType == id)
            #expect(QuantMix.preset(fileType: id)?.name == name)
        }
        #expect(QuantMix.preset(named: "IQ2_XXS") == nil)
    }

    @Test("use_more_bits layers for an 18-layer model")
    func useMoreBitsLayers() throws {
        let types = try QuantMix.preset(named: "Q5_K_M")!.types(for: golden.f32Tensors, model: golden.model)
        let down = zip(golden.tensors, types).filter { $0.0.name.hasSuffix("ffn_down.weight") }.map { $0.1 }
        let more = down.indices.filter { down[$0] == .q6_K }
        #expect(more == [0, 1, 4, 7, 10, 13, 15, 16, 17])
    }
}
