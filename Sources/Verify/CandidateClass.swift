import GGUFWriter
import KilnCore
import QuantCore

/// What kind of candidate a GGUF is, for the default thresholds: a float copy, a lossless conversion (its weights
/// reproduce the source's within fp16 scale rounding — a QAT checkpoint packed as Q4_0), Q8_0-class, 4-bit-class
/// (Q4_*, Q5_*, K-quant mixes around them) or lower (Q2_K, Q3_K).
public enum CandidateClass: String, Sendable, CaseIterable {
    case float = "F32/F16/BF16"
    case lossless = "lossless"
    case q8 = "Q8_0/Q6_K"
    case fourBit = "4-5 bit"
    case lower = "2-3 bit"

    /// The type holding most elements of the candidate's `blk.*` matrices.
    static func dominantType(_ gguf: GGUFFile) -> GGMLType? {
        var elements: [GGMLType: Int] = [:]
        for t in gguf.tensorInfos where t.name.hasPrefix("blk.") && t.ne.count >= 2 { elements[t.type, default: 0] += t.elementCount }
        return elements.max { $0.value < $1.value || ($0.value == $1.value && $0.key.id > $1.key.id) }?.key
    }

    /// Classifies by the dominant type; quantized candidates whose probe tensor matches the source within
    /// `losslessTolerance` of its largest magnitude count as lossless.
    static func classify(_ gguf: GGUFFile, probe: (source: [Float], candidate: [Float])?) -> CandidateClass {
        guard let t = dominantType(gguf) else { return .float }
        switch t {
        case .f32, .f16, .bf16: return .float
        default: break
        }
        if let p = probe, p.source.count == p.candidate.count, !p.source.isEmpty {
            var maxAbs: Float = 0, maxDiff: Float = 0
            for i in p.source.indices {
                maxAbs = max(maxAbs, abs(p.source[i]))
                maxDiff = max(maxDiff, abs(p.source[i] - p.candidate[i]))
            }
            if maxDiff <= losslessTolerance * maxAbs { return .lossless }
        }
        switch t {
        case .q8_0, .q6_K: return .q8
        case .q2_K, .q3_K: return .lower
        default: return .fourBit
        }
    }

    /// fp16 rounding of a block scale moves every value of the block by at most 2⁻¹¹ of its magnitude; allow twice that.
    static let losslessTolerance: Float = 1e-3
}

/// Pass/fail limits on the weights row (mean KL, top-1 agreement) and the runtime row (mean KL).
public struct Thresholds: Sendable, Equatable {
    public var maxKL: Double
    public var minTop1: Double
    public var maxRuntimeKL: Double

    public init(maxKL: Double, minTop1: Double, maxRuntimeKL: Double) {
        self.maxKL = maxKL
        self.minTop1 = minTop1
        self.maxRuntimeKL = maxRuntimeKL
    }

    /// Defaults per candidate class, set from measurements on Gemma 3 270M with the default prompt set (README
    /// "verify"): roughly 5–10× the measured value, so a correct conversion passes and a broken one does not.
    public static func defaults(for c: CandidateClass) -> Thresholds {
        switch c {
        case .float, .lossless: Thresholds(maxKL: 1e-4, minTop1: 0.99, maxRuntimeKL: 0.02)
        case .q8: Thresholds(maxKL: 2e-3, minTop1: 0.97, maxRuntimeKL: 0.02)
        case .fourBit: Thresholds(maxKL: 0.1, minTop1: 0.85, maxRuntimeKL: 0.15)
        case .lower: Thresholds(maxKL: 0.6, minTop1: 0.6, maxRuntimeKL: 0.8)
        }
    }
}
