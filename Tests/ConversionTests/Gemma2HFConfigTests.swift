@testable import Conversion
import Foundation
import KilnCore
import KilnTestSupport
import Testing

/// config.json of an HF Gemma 2 checkpoint, read as llama.cpp's converter reads it (through transformers'
/// Gemma2Config, whose defaults — 8192, 4096, 256, 256, 50, 30, 1e-6, RoPE 10 000 — transformers 4.57.6 printed).
/// Agreement on a real transformers-written config is Gemma2ConversionTests; these cover what that file does not.
@Suite struct Gemma2HFConfigTests {
    func read(_ json: String) throws -> Gemma2.HFTextConfig? {
        let dir = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir) }
        try json.write(toFile: dir + "/config.json", atomically: true, encoding: .utf8)
        return try Gemma2.HFTextConfig.read(directory: dir)
    }

    @Test func absentKeysTakeTransformersDefaults() throws {
        let c = try #require(try read(#"{"model_type": "gemma2"}"#))
        #expect(c == Gemma2.HFTextConfig())
        #expect(c.contextLength == 8192 && c.slidingWindow == 4096 && c.headDim == 256 && c.queryPreAttentionScalar == 256)
        #expect(c.attentionLogitSoftcap == 50 && c.finalLogitSoftcap == 30 && c.rmsEpsilon == 1e-6)
    }

    @Test func statedValuesWin() throws {
        let c = try #require(try read("""
            {"max_position_embeddings": 4096, "sliding_window": 128, "head_dim": 128, "query_pre_attn_scalar": 144,
             "attn_logit_softcapping": 40.0, "final_logit_softcapping": 20.0, "rms_norm_eps": 1e-5, "rope_theta": 10000}
            """))
        #expect(c.contextLength == 4096 && c.slidingWindow == 128 && c.headDim == 128 && c.queryPreAttentionScalar == 144)
        #expect(c.attentionLogitSoftcap == 40 && c.finalLogitSoftcap == 20 && c.rmsEpsilon == 1e-5)
    }

    @Test func unsupportedOrInvalidValuesAreErrorsNamingTheFile() throws {
        for json in [#"{"attn_logit_softcapping": null}"#, #"{"final_logit_softcapping": 0}"#, #"{"rope_theta": 500000}"#,
                     #"{"model_type": "gemma"}"#, #"{"head_dim": 0}"#, #"{"sliding_window": 1e30}"#, "[1, 2]"] {
            #expect("\(json)", performing: { _ = try read(json) }, throws: { e in (e as? KilnError)?.file?.hasSuffix("/config.json") == true })
        }
    }
}
