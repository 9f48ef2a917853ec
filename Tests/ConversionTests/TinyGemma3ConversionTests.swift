import Conversion
import Foundation
import GGUFWriter
import KilnCLI
import KilnCore
import KilnTestSupport
import QuantCore
import Safetensors
import Testing

/// The tiny Kaggle-layout checkpoint (written by the real orbax, scripts/make_gemma3_fixtures.py) converted to GGUF,
/// checked against the same weights written in HF layout by the real `safetensors` package.
@Suite struct TinyGemma3ConversionTests {
    static let kaggle = Fixtures.path("gemma3/tiny-kaggle")
    static let hf = Fixtures.path("gemma3/tiny-hf")

    static func convert(_ input: String, _ configure: (inout ConvertOptions) -> Void = { _ in }) throws -> (String, String) {
        let dir = Fixtures.tempDirectory()
        var o = ConvertOptions(output: dir + "/out.gguf")
        o.progress = false
        o.modelName = "gemma3-tiny-int4"
        configure(&o)
        let summary = try ConvertJob.run(input: input, options: o)
        return (o.output, summary)
    }

    /// GGUF name → the HF tensor holding the same values (GGUF rows = HF rows).
    static func hfName(_ gguf: String) -> String {
        if gguf == "token_embd.weight" { return "model.embed_tokens.weight" }
        if gguf == "output_norm.weight" { return "model.norm.weight" }
        let parts = gguf.split(separator: ".")
        let map = ["attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
                   "attn_output": "self_attn.o_proj", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj",
                   "ffn_down": "mlp.down_proj", "attn_q_norm": "self_attn.q_norm", "attn_k_norm": "self_attn.k_norm",
                   "attn_norm": "input_layernorm", "post_attention_norm": "post_attention_layernorm",
                   "ffn_norm": "pre_feedforward_layernorm", "post_ffw_norm": "post_feedforward_layernorm"]
        return "model.layers.\(parts[1]).\(map[String(parts[2])]!).weight"
    }

    static func floats(_ source: any TensorSource, _ t: TensorInfo) throws -> [Float] {
        var out = [Float](repeating: 0, count: t.elementCount)
        try source.withBytes(of: t) { bytes in try out.withUnsafeMutableBufferPointer { try Quantizer.dequantize(t.type, bytes, count: t.elementCount, into: $0) } }
        return out
    }

    @Test func kaggleLayoutDequantizesToTheSourceWeights() throws {
        let (out, summary) = try Self.convert(Self.kaggle)
        defer { Fixtures.cleanup((out as NSString).deletingLastPathComponent) }
        #expect(summary.contains("43 tensors packed losslessly"))
        let gguf = try GGUFFile(path: out)
        let want = try SafetensorsCheckpoint(path: Self.hf + "/model.safetensors")
        #expect(gguf.tensorInfos.count == 2 + 6 * 13)
        for info in gguf.tensorInfos {
            let got = try Self.floats(gguf, try gguf.tensor(named: info.name))
            let ref = try want.tensor(named: Self.hfName(info.name))
            var expected = try Self.floats(want, ref)
            #expect(info.ne == ref.shape.reversed(), "\(info.name)")
            if info.ne.count == 1 {
                #expect(info.type == .f32)
                for i in expected.indices { expected[i] += 1 }
                #expect(got == expected, "\(info.name): norms are 1 + scale exactly")
            } else {
                #expect(info.type == .q4_0)
                // Only the fp16 rounding of each block's scale may differ: |Δ| ≤ 8 · s · 2^-11 with s = max|block| / 7.
                for b in 0 ..< expected.count / 32 {
                    let block = expected[b * 32 ..< b * 32 + 32]
                    let s = block.map(abs).max()! / 7
                    for i in block.indices { #expect(abs(got[i] - expected[i]) <= 8 * s * 0x1p-11 + 1e-12, "\(info.name)[\(i)]") }
                }
            }
        }
    }

    @Test func flaxAndHuggingFaceRoutesWriteTheSameBytes() throws {
        let (a, _) = try Self.convert(Self.kaggle)
        let (b, _) = try Self.convert(Self.hf)
        defer { Fixtures.cleanup((a as NSString).deletingLastPathComponent); Fixtures.cleanup((b as NSString).deletingLastPathComponent) }
        #expect(try Data(contentsOf: URL(fileURLWithPath: a)) == Data(contentsOf: URL(fileURLWithPath: b)))
    }

    @Test(arguments: ["auto", "q8_0", "q4_k"])
    func outputDoesNotDependOnTheThreadCount(_ type: String) throws {
        var files: [Data] = []
        for threads in [1, 2, 3] {
            let (out, _) = try Self.convert(Self.kaggle) {
                $0.threads = threads
                $0.type = type
            }
            files.append(try Data(contentsOf: URL(fileURLWithPath: out)))
            Fixtures.cleanup((out as NSString).deletingLastPathComponent)
        }
        #expect(files[0] == files[1] && files[1] == files[2])
    }

    /// Rows narrower than 256 cannot hold K-quant blocks: llama-quantize's fallback types are used.
    @Test func kQuantsFallBackOnNarrowRows() throws {
        let (out, _) = try Self.convert(Self.kaggle) { $0.type = "q6_k" }
        defer { Fixtures.cleanup((out as NSString).deletingLastPathComponent) }
        let g = try GGUFFile(path: out)
        #expect(try g.tensorInfo(named: "blk.0.ffn_up.weight").type == .q8_0)
        #expect(try g.tensorInfo(named: "blk.0.attn_norm.weight").type == .f32)
    }

    @Test func metadataDescribesTheModel() throws {
        let (out, _) = try Self.convert(Self.kaggle)
        defer { Fixtures.cleanup((out as NSString).deletingLastPathComponent) }
        let m = try GGUFFile(path: out).metadata
        #expect(m[key: "general.architecture"] == .string("gemma3"))
        #expect(m[key: "gemma3.block_count"] == .uint32(6))
        #expect(m[key: "gemma3.embedding_length"] == .uint32(64))
        #expect(m[key: "gemma3.feed_forward_length"] == .uint32(128))
        #expect(m[key: "gemma3.attention.head_count"] == .uint32(2))
        #expect(m[key: "gemma3.attention.head_count_kv"] == .uint32(1))
        #expect(m[key: "gemma3.attention.key_length"] == .uint32(32))
        #expect(m[key: "gemma3.attention.sliding_window"] == .uint32(512))
        #expect(m[key: "general.file_type"] == .uint32(2))
        #expect(m.suffix(2).map(\.key) == ["general.quantization_version", "general.file_type"])
        #expect(m[key: "tokenizer.ggml.tokens"]?.arrayValue?.count == 400)
        #expect(m[key: "tokenizer.ggml.model"] == .string("llama"))
        #expect(m[key: "tokenizer.chat_template"]?.stringValue?.contains("<start_of_turn>") == true)
    }

    @Test func embeddingTypeAndTensorTypeOverrides() throws {
        let (out, _) = try Self.convert(Self.kaggle) {
            $0.embeddingType = "f16"
            $0.tensorTypes = ["ffn_down=q8_0"]
        }
        defer { Fixtures.cleanup((out as NSString).deletingLastPathComponent) }
        let g = try GGUFFile(path: out)
        #expect(try g.tensorInfo(named: "token_embd.weight").type == .f16)
        #expect(try g.tensorInfo(named: "blk.3.ffn_down.weight").type == .q8_0)
        #expect(try g.tensorInfo(named: "blk.3.ffn_up.weight").type == .q4_0)
    }

    /// Off-grid float32 weights under `--type auto` keep their precision as llama.cpp's `--outtype auto` would
    /// (no 2-D tensor stored as bfloat16/float16 → F16) instead of failing, and the summary says which rule applied.
    @Test func offGridWeightsKeepTheirPrecisionUnderAuto() throws {
        let dir = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir) }
        var o = ConvertOptions(output: dir + "/out.gguf")
        o.progress = false
        let summary = try ConvertJob.run(input: Fixtures.path("gemma3/tiny-hf-offgrid"), options: o)
        #expect(summary.contains("not on the QAT int4 grid → F16 (llama.cpp's --outtype auto rule: no 2-D tensor is stored as bfloat16 or float16: F16)"), "\(summary)")
        let g = try GGUFFile(path: o.output)
        #expect(try g.tensorInfo(named: "blk.0.attn_q.weight").type == .f16)
        #expect(g.metadata[key: GGUFKey.fileType]?.intValue == Int(LlamaFileType.mostlyF16.rawValue))
        o.type = "q8_0"
        _ = try ConvertJob.run(input: Fixtures.path("gemma3/tiny-hf-offgrid"), options: o)
        #expect(try GGUFFile(path: o.output).tensorInfo(named: "blk.0.attn_q.weight").type == .q8_0)
    }

    @Test func dryRunPrintsThePlanAndWritesNothing() throws {
        let dir = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir) }
        var o = ConvertOptions(output: dir + "/out.gguf")
        o.dryRun = true
        let plan = try ConvertJob.run(input: Self.kaggle, options: o)
        #expect(plan.contains("blk.5.attn_output.weight"))
        #expect(plan.contains("transformer/layer_5/attn/attn_vec_einsum.w transpose"))
        #expect(!FileManager.default.fileExists(atPath: o.output))
    }
}
