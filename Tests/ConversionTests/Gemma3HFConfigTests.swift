@testable import Conversion
import Foundation
import KilnCore
import KilnTestSupport
import Testing

/// config.json as the authority for an HF checkpoint's text hyper-parameters, read as llama.cpp's converter reads it
/// (through transformers' Gemma3TextConfig defaults). The agreement with llama.cpp's own converter on real
/// transformers-written configs is LlamaConverterGoldenTests; these cover the cases those checkpoints do not.
@Suite struct Gemma3HFConfigTests {
    func read(_ json: String) throws -> Gemma3.HFTextConfig? {
        let dir = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir) }
        try json.write(toFile: dir + "/config.json", atomically: true, encoding: .utf8)
        return try Gemma3.HFTextConfig.read(directory: dir)
    }

    @Test func absentConfigLeavesTheSizeTableInCharge() throws {
        let dir = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir) }
        #expect(try Gemma3.HFTextConfig.read(directory: dir) == nil)
    }

    @Test func absentKeysTakeTransformersDefaults() throws {
        let c = try #require(try read(#"{"model_type": "gemma3", "vision_config": {}}"#))
        #expect(c == Gemma3.HFTextConfig())
        #expect(c.contextLength == 131_072 && c.slidingWindow == 4096 && c.ropeScalingFactor == nil && c.ropeFreqBaseLocal == nil)
    }

    @Test func textConfigAndRopeParameters() throws {
        let c = try #require(try read("""
            {"text_config": {"max_position_embeddings": 8192, "sliding_window": 256, "rms_norm_eps": 1e-5,
             "final_logit_softcapping": 30.0, "rope_parameters": {"full_attention": {"rope_type": "linear", "factor": 4.0,
             "rope_theta": 250000.0}, "sliding_attention": {"rope_type": "default", "rope_theta": 5000.0}}}}
            """))
        #expect(c.contextLength == 8192 && c.slidingWindow == 256 && c.rmsEpsilon == 1e-5 && c.finalLogitSoftcap == 30)
        #expect(c.ropeScalingFactor == 4 && c.ropeFreqBase == 250_000 && c.ropeFreqBaseLocal == 5000)
    }

    @Test func unsupportedOrInvalidValuesAreErrorsNamingTheFile() throws {
        for json in [#"{"rope_scaling": {"rope_type": "yarn", "factor": 8.0}}"#,
                     #"{"attn_logit_softcapping": 50.0}"#,
                     #"{"sliding_window": -1}"#,
                     #"{"max_position_embeddings": 1e30}"#,
                     #"{"rope_scaling": {"rope_type": "linear"}}"#,
                     "[1, 2]"] {
            #expect(throws: KilnError.self, "\(json)") { _ = try read(json) }
        }
    }
}
