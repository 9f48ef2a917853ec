import Foundation
import GGUFWriter
import KilnCLI
import KilnCore
import KilnTestSupport
import Testing
@testable import Verify

/// The whole `verify` on the tiny fixtures: the checkpoint converted losslessly (auto) and with lossy types.
@Suite(.serialized)
struct TinyVerifyTests {
    /// The source side: the Kaggle-layout checkpoint itself (Orbax/OCDBT, float32 on the int4 grid).
    static func source() throws -> String { Fixtures.path("gemma3/tiny-kaggle") }

    static func options() -> VerifyJobOptions {
        var o = VerifyJobOptions()
        o.verify.threads = 2
        o.verify.progress = false
        o.verify.prompts = .items(TinyModels.prompts)
        o.verify.maxNewTokens = 6
        return o
    }

    @Test func losslessConversionHasTinyKLAndLossyTypesGrow() throws {
        var kl: [String: Double] = [:]
        for type in ["auto", "q8_0", "Q4_K_M", "q2_k"] {
            let out = try VerifyJob.run(source: try Self.source(), candidate: try TinyModels.converted(type: type), options: Self.options())
            kl[type] = out.report.weights.meanKLD.value
            if type == "auto" {
                #expect(out.report.candidateClass == .lossless)
                #expect(out.passed, "\(out.failures)")
                #expect(out.report.weights.meanKLD.value <= 1e-5)
                #expect(out.report.weights.sameTop.value == 1)
            }
        }
        print("tiny weights-row mean KL by type:", kl)
        #expect(kl["auto"]! < kl["q8_0"]! && kl["q8_0"]! < kl["Q4_K_M"]! && kl["Q4_K_M"]! < kl["q2_k"]!, "\(kl)")
    }

    /// An HF safetensors checkpoint as SOURCE (the same weights as tiny-kaggle in HF layout) against its conversion.
    @Test func safetensorsSourceVerifies() throws {
        let out = try VerifyJob.run(source: Fixtures.path("gemma3/tiny-hf"), candidate: try TinyModels.converted("tiny-hf"), options: Self.options())
        #expect(out.report.candidateClass == .lossless)
        #expect(out.report.weights.meanKLD.value <= 1e-5)
        #expect(out.passed, "\(out.failures)")
    }

    @Test func failsWithTheMetricNamed() throws {
        var o = Self.options()
        o.maxKL = 1e-12
        let out = try VerifyJob.run(source: try Self.source(), candidate: try TinyModels.converted(type: "q2_k"), options: o)
        #expect(!out.passed)
        #expect(out.failures.first?.contains("--max-kl") == true)
    }

    /// `convert --verify` on a conversion that fails its check: the outcome names the failing metric, and the output
    /// stays where it was written, byte for byte (it is a valid file; the command exits 1 and says it is kept).
    @Test func convertVerifyKeepsAFailingOutput() throws {
        let out = Fixtures.tempDirectory() + "/failing.gguf"
        var convert = ConvertOptions(output: out)
        convert.type = "q8_0"
        convert.progress = false
        convert.threads = 2
        _ = try ConvertJob.run(input: try Self.source(), options: convert)
        let written = try Data(contentsOf: URL(fileURLWithPath: out))
        var check = Self.options()
        check.maxKL = 1e-12
        let outcome = try ConvertJob.verifyOutput(input: try Self.source(), options: convert, verify: check)
        #expect(!outcome.passed)
        #expect(outcome.failures.count == 1 && outcome.failures[0].contains("weights mean KL") && outcome.failures[0].contains("--max-kl 1e-12"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: out)) == written)
        #expect((try GGUFFile(path: out)).tensors.count > 0)
    }

    /// The memory budget only decides what is kept decoded (output matrices, the source's own chat reply) and whether
    /// the source's forward pass runs beside the candidate's: with none, every figure is bit-identical to the run
    /// that keeps both output matrices and runs the passes side by side.
    @Test func memoryBudgetChangesSpeedNotFigures() throws {
        let candidate = try TinyModels.converted(type: "q8_0")
        var lean = Self.options()
        lean.verify.memoryBudget = 0
        let streamed = try VerifyJob.run(source: try Self.source(), candidate: candidate, options: lean)
        let kept = try VerifyJob.run(source: try Self.source(), candidate: candidate, options: Self.options())
        #expect(streamed.report.keptOutputMatrices == 0 && kept.report.keptOutputMatrices == 2)
        for (a, b) in [(streamed.report.weights, kept.report.weights), (streamed.report.runtime, kept.report.runtime)] {
            #expect(a.meanKLD.value == b.meanKLD.value && a.maxKLD == b.maxKLD && a.sameTop.value == b.sameTop.value)
            #expect(a.maxAbsLogitDiff == b.maxAbsLogitDiff && a.pplSource.value == b.pplSource.value)
        }
        #expect(streamed.report.chat.candidateTokens == kept.report.chat.candidateTokens)
        #expect(streamed.report.chat.firstDivergence == kept.report.chat.firstDivergence)
        #expect(kept.report.phases.map(\.name).contains("source logits (float32)"))
    }

    @Test func mismatchedModelsAreAClearError() throws {
        let oneLayer = Fixtures.path("gemma3/tiny-hf-offgrid")
        do {
            _ = try VerifyJob.run(source: oneLayer, candidate: try TinyModels.converted(), options: Self.options())
            Issue.record("expected a mismatch error")
        } catch let e as KilnError {
            #expect(e.description.contains("layers: source 1, candidate 6"), "\(e)")
        }
    }

    @Test func jsonHasTheDocumentedKeys() throws {
        let out = try VerifyJob.run(source: try Self.source(), candidate: try TinyModels.converted(), options: Self.options())
        let doc = try JSONSerialization.jsonObject(with: Data(out.json.serialized().utf8)) as! [String: Any]
        for row in ["weights", "runtime"] {
            let r = doc[row] as! [String: Any]
            for k in ["kl_mean", "kl_p99", "kl_max", "top1", "top5_overlap", "max_abs_logit_diff", "ppl_source", "ppl_candidate", "tokens"] {
                #expect(r[k] is NSNumber, "\(row).\(k)")
            }
        }
        let chat = doc["chat_check"] as! [String: Any]
        #expect(chat["source_reply"] is String && chat["candidate_reply"] is String && chat["identical_tokens"] is Bool)
        #expect(chat.keys.contains("first_divergence"))
        #expect((doc["phases"] as? [[String: Any]])?.first?["seconds"] is NSNumber)
        #expect(doc["kept_output_matrices"] is NSNumber)
    }

    /// The --kl-divergence-base layout: header, tokens, one record of n_vocab codes (+ scale, min) per scored position.
    @Test func savesLlamaPerplexityBaseFile() throws {
        let dir = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir) }
        var o = Self.options()
        o.verify.saveBase = dir + "/base.kld"
        o.verify.prompts = .text(String(repeating: "The quick brown fox jumps over the lazy dog. ", count: 12), context: 32, file: "t")
        let out = try VerifyJob.run(source: try Self.source(), candidate: try TinyModels.converted(), options: o)
        let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/base.kld"))
        func i32(_ at: Int) -> Int32 { data.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: at, as: Int32.self) } }
        #expect(String(decoding: data.prefix(8), as: UTF8.self) == "_logits_")
        let (ctx, vocab, chunks) = (Int(i32(8)), Int(i32(12)), Int(i32(16)))
        #expect(ctx == 32 && vocab == 400 && chunks == out.report.sequences)
        let nv = 2 * ((vocab + 1) / 2) + 4
        #expect(data.count == 20 + chunks * ctx * 4 + chunks * (ctx - 1 - ctx / 2) * nv * 2)
        #expect(out.report.weights.count == chunks * (ctx - 1 - ctx / 2))
    }
}
