#if canImport(Glibc)
import Glibc
#endif
import KilnCore
import KilnTestSupport
import Testing
@testable import QuantCore

let goldenTypes: [GGMLType] = [.f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .q8_K]

func quantizeBytes(_ type: GGMLType, _ x: [Float], rowLength: Int, path: Quantizer.Path = .fast) throws(KilnError) -> [UInt8] {
    var out = [UInt8](repeating: 0xAA, count: type.byteCount(elements: x.count) ?? 0)
    let result: Result<Void, KilnError> = x.withUnsafeBufferPointer { src in
        out.withUnsafeMutableBytes { dst in
            Result { () throws(KilnError) in try Quantizer.quantize(type, src, rowLength: rowLength, into: dst, path: path) }
        }
    }
    try result.get()
    return out
}

func dequantizeFloats(_ type: GGMLType, _ bytes: [UInt8], count: Int) throws(KilnError) -> [Float] {
    var out = [Float](repeating: .nan, count: count)
    let result: Result<Void, KilnError> = bytes.withUnsafeBytes { src in
        out.withUnsafeMutableBufferPointer { dst in
            Result { () throws(KilnError) in try Quantizer.dequantize(ElementType(ggml: type), src, count: count, into: dst) }
        }
    }
    try result.get()
    return out
}

/// Index of the first differing element, or nil.
func firstDifference<T: Equatable>(_ a: [T], _ b: [T]) -> Int? {
    if a.count != b.count { return min(a.count, b.count) }
    return a.indices.first { a[$0] != b[$0] }
}

@Suite("ggml goldens")
struct GoldenTests {
    @Test("quantize is byte-identical with ggml_quantize_chunk", arguments: goldenTypes, [Quantizer.Path.fast, .reference])
    func quantizeMatches(type: GGMLType, path: Quantizer.Path) throws {
        let records = QuantGoldens.records(type)
        #expect(!records.isEmpty)
        for r in records {
            let got = try quantizeBytes(type, r.input.values, rowLength: r.input.rowLength, path: path)
            let at = firstDifference(got, r.quantized)
            #expect(at == nil, "\(type) \(path) case \(r.input.name): first differing byte \(at ?? -1) of \(got.count)")
            if let ref = r.reference {
                Issue.record("ggml's _ref differs from its chunk quantizer for \(type) \(r.input.name) (\(ref.count) bytes)")
            }
        }
    }

    @Test("dequantize is bit-identical with ggml's to_float", arguments: goldenTypes)
    func dequantizeMatches(type: GGMLType) throws {
        for r in QuantGoldens.records(type) {
            let got = try dequantizeFloats(type, r.quantized, count: r.input.values.count)
            let at = firstDifference(got.map(\.bitPattern), r.dequantized.map(\.bitPattern))
            #expect(at == nil, "\(type) case \(r.input.name): first differing float \(at ?? -1): \(at.map { "\(got[$0]) vs \(r.dequantized[$0])" } ?? "")")
        }
    }
}

@Suite("quantizer behaviour")
struct QuantizerBehaviourTests {
    @Test("NaN and Inf are rejected naming the element", arguments: [Float.nan, .infinity, -.infinity])
    func rejectsNonFinite(bad: Float) {
        for type in goldenTypes {
            var x = (0 ..< 512).map { Float($0) * 0.01 }
            x[300] = bad
            #expect {
                _ = try quantizeBytes(type, x, rowLength: 256)
            } throws: { error in
                guard let e = error as? KilnError else { return false }
                return e.kind == .numeric && e.message.contains("element 300")
            }
        }
    }

    @Test("bad geometry is a usage error")
    func badGeometry() {
        #expect(throws: KilnError.self) { _ = try quantizeBytes(.q4_K, [Float](repeating: 0, count: 320), rowLength: 320) }
        #expect(throws: KilnError.self) { _ = try quantizeBytes(.q8_0, [Float](repeating: 0, count: 96), rowLength: 64) }
        #expect(!Quantizer.canQuantize(.iq2_xxs))
        #expect(Quantizer.canDequantize(.ggml(.q6_K)))
        #expect(Quantizer.canDequantize(.bfloat16))
    }

    @Test("truncated input to dequantize throws")
    func truncatedDequant() {
        #expect(throws: KilnError.self) { _ = try dequantizeFloats(.q4_K, [UInt8](repeating: 0, count: 100), count: 256) }
        #expect(throws: KilnError.self) { _ = try dequantizeFloats(.q8_0, [UInt8](repeating: 0, count: 34), count: 33) }
    }

    @Test("fast and reference paths agree on random rows",
          arguments: [GGMLType.q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1])
    func fastEqualsReference(type: GGMLType) throws {
        var rng = SplitMix64(seed: 7)
        var x: [Float] = []
        for scale in [Float(1e-3), 0.05, 1, 30, Float.leastNormalMagnitude / 12, 1e25] {
            x += (0 ..< 1024).map { _ in rng.normal() * scale * (rng.next() % 17 == 0 ? 8 : 1) }
        }
        // sub-blocks that are all zero, constant, or a single spike, and a subnormal/normal mix
        for k in 0 ..< 1024 { x.append(k % 64 < 16 ? 0 : k % 64 < 32 ? 0.25 : k % 64 == 40 ? -3 : 0) }
        for k in 0 ..< 1024 { x.append(k % 3 == 0 ? -0.0 : k % 97 == 5 ? 1e-3 : 0) }   // signed zeros
        for k in 0 ..< 1024 { x.append((k / 16) % 2 == 0 ? rng.normal() * (Float.leastNormalMagnitude / 1000) : rng.normal() * 1e-3) }
        let fast = try quantizeBytes(type, x, rowLength: 1024, path: .fast)
        let ref = try quantizeBytes(type, x, rowLength: 1024, path: .reference)
        let at = firstDifference(fast, ref)
        #expect(at == nil, "\(type): first difference at byte \(at ?? -1)")
    }
}

@Suite("half precision")
struct HalfTests {
    @Test("f16 → f32 matches Float16 for every bit pattern")
    func f16ToFloat() {
        for h in 0 ... UInt16.max {
            let want = Float(Float16(bitPattern: h))
            let got = F16.toFloat(h)
            if want.isNaN { #expect(got.isNaN) } else { #expect(got.bitPattern == want.bitPattern, "h=\(h)") }
        }
    }

    @Test("f32 → f16 rounds like Float16 (ties to even) across the whole range")
    func floatToF16() {
        var rng = SplitMix64(seed: 3)
        var bad = 0
        for i in 0 ..< 400_000 {
            // every exponent, random mantissas, plus exact halfway points
            let u = UInt32(truncatingIfNeeded: rng.next())
            let f = i % 2 == 0 ? Float(bitPattern: u) : Float(bitPattern: (u & 0xFFFF_E000) | 0x1000)
            let want: UInt16 = f.isNaN ? ((f.sign == .minus ? 0x8000 : 0) | 0x7E00) : Float16(f).bitPattern
            if F16.fromFloat(f) != want { bad += 1 }
        }
        #expect(bad == 0)
    }
}

extension SplitMix64 {
    mutating func uniform() -> Float { Float(next() >> 40) / Float(1 << 24) }
    mutating func normal() -> Float {
        let u1 = max(uniform(), 1e-7), u2 = uniform()
        return Float((-2 * log(Double(u1))).squareRoot() * cos(2 * Double.pi * Double(u2)))
    }
}
