import Conversion
import Foundation
import GGUFWriter
import KilnCLI
import KilnCore
import KilnTestSupport
import Testing

/// The real Gemma 3 270M weights in a Kaggle-layout int4 Orbax checkpoint (built by scripts/prepare-real-model.sh
/// with the real orbax library), converted and compared with the llama.cpp-made original GGUF and with what
/// llama.cpp did when it ran Kiln's output (fixtures/gemma3/kaggle270m-llama.json, scripts/gen_kaggle270m_golden.py).
@Suite(RealModel.required("Kaggle270mTests"))
struct Kaggle270mTests {
    @Test func convertsLosslesslyAndMatchesTheOriginalGGUFsVocabularyAndConfig() throws {
        let dir = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir) }
        var o = ConvertOptions(output: dir + "/k270.gguf")
        o.progress = false
        o.modelName = "gemma3-270m-int4"
        let summary = try ConvertJob.run(input: try RealModel.kaggle270m(), options: o)
        #expect(summary.contains("127 tensors packed losslessly as Q4_0"))

        let ours = try GGUFFile(path: o.output)
        let original = try GGUFFile(path: try RealModel.gemma270m())
        for key in ["tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type",
                    "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id", "tokenizer.ggml.unknown_token_id",
                    "tokenizer.ggml.padding_token_id", "tokenizer.ggml.add_bos_token", "tokenizer.ggml.add_eos_token",
                    "tokenizer.ggml.add_space_prefix", "tokenizer.ggml.model", "tokenizer.ggml.pre"] {
            #expect(ours.metadata[key: key] == original.metadata[key: key], "\(key)")
        }
        for e in original.metadata where e.key.hasPrefix("gemma3.") {
            #expect(ours.metadata[key: e.key] == e.value, "\(e.key)")
        }
        #expect(ours.tensorInfos.map(\.name) == original.tensorInfos.map(\.name))
        for (a, b) in zip(ours.tensorInfos, original.tensorInfos) {
            #expect(a.ne == b.ne, "\(a.name)")
            #expect(a.type == (a.ne.count == 1 ? .f32 : .q4_0), "\(a.name)")
        }

        // A regression lock, not evidence: the digest is of Kiln's own output. It ties this output to the file
        // llama.cpp ran (kaggle270m-llama.json), so the llama.cpp continuation and logits recorded there apply to it;
        // the evidence that the conversion is right is the comparison with the llama.cpp-made original above and
        // Google's gemma library goldens (GemmaLibraryGoldenTests).
        let golden = try Fixtures.json("gemma3/kaggle270m-llama.json") as! [String: Any]
        #expect(try SHA256.hex(ofFile: o.output) == golden["kiln_output_sha256"] as? String,
                "llama.cpp ran a file with this digest and continued the prompt sensibly; see the golden")
    }

    /// `--type Q4_K_M` on a checkpoint picks, tensor by tensor, what llama-quantize picked for the original file.
    @Test func presetMixMatchesLlamaQuantizesChoices() throws {
        let dir = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir) }
        var o = ConvertOptions(output: dir + "/k270-q4_k_m.gguf")
        o.progress = false
        o.type = "Q4_K_M"
        _ = try ConvertJob.run(input: try RealModel.kaggle270m(), options: o)
        let ours = try GGUFFile(path: o.output)
        let original = try GGUFFile(path: try RealModel.gemma270m())
        #expect(ours.tensorInfos.map(\.name) == original.tensorInfos.map(\.name))
        for (a, b) in zip(ours.tensorInfos, original.tensorInfos) { #expect(a.type == b.type, "\(a.name)") }
        #expect(ours.metadata[key: "general.file_type"] == .uint32(15))
    }
}
