import CKernels
import Foundation
import GGUFWriter
@testable import RefInference
import Testing

/// The engine's F16 KV cache: the f16-row attention kernels against the f32 kernels they replace, and the engine's
/// logits with K and V held as halves against the same engine holding them as floats (a regression lock: our own
/// code on both sides, showing the storage change moves no bit; agreement with llama.cpp itself is
/// EngineTinyModelTests.tinyGGUFMatchesLlamaCpp, bit for bit on AVX2).
@Suite struct KVCacheTests {
    /// Random finite halves over the whole range (subnormals, zeros of both signs, up to ±65504), as bit patterns.
    static func halves(_ n: Int, _ rng: inout Xoshiro256) -> [UInt16] {
        (0 ..< n).map { _ in
            var h: UInt16
            repeat { h = UInt16(truncatingIfNeeded: rng.next()) } while h & 0x7C00 == 0x7C00
            return h
        }
    }

    /// Random floats of moderate size (queries and softmax weights), not f16-exact.
    static func floats(_ n: Int, _ rng: inout Xoshiro256) -> [Float] {
        (0 ..< n).map { _ in Float(rng.nextDouble() * 4 - 2) }
    }

    static let lengths = [1, 3, 7, 8, 9, 15, 16, 17, 31, 64, 255, 256, 257]

    /// The dispatched kernels (AVX2 here when the CPU has it, else the portable ones) equal ck_dot_f32 and
    /// ck_axpy_f32 bit for bit on the same values held as floats: every length mod 8, halves from subnormal to 65504.
    @Test func halfKernelsEqualTheFloatKernelsBitForBit() {
        var rng = Xoshiro256(seed: 14)
        for n in Self.lengths {
            for _ in 0 ..< 20 {
                let q = Self.floats(n, &rng), kh = Self.halves(n, &rng), kf = kh.map { Float(Float16(bitPattern: $0)) }
                #expect(ck_dot_f32_f16(q, kh, Int64(n)).bitPattern == ck_dot_f32(q, kf, Int64(n)).bitPattern, "n \(n)")
                let a = Float(rng.nextDouble() * 2 - 1)
                var yh = Self.floats(n, &rng), yf = yh
                ck_axpy_f32_f16(&yh, kh, a, Int64(n))
                ck_axpy_f32(&yf, kf, a, Int64(n))
                #expect(yh.map(\.bitPattern) == yf.map(\.bitPattern), "n \(n)")
            }
        }
    }

    /// The portable variants (called directly, whatever the CPU) against kernels_impl.h's portable ck_dot_f32 and
    /// ck_axpy_f32 written out here in the same order — eight partial sums, pairwise reduction, then the tail — since
    /// the f32 kernels cannot be forced to their portable variant on an AVX2 machine. (When the CPU lacks AVX2,
    /// `halfKernelsEqualTheFloatKernelsBitForBit` checks these against the real portable f32 kernels.)
    @Test func portableHalfKernelsFollowThePortableFloatKernels() {
        func dot(_ a: [Float], _ b: [Float]) -> Float {
            var s = [Float](repeating: 0, count: 8), i = 0
            while i + 8 <= a.count {
                for l in 0 ..< 8 { s[l] += a[i + l] * b[i + l] }
                i += 8
            }
            var t: Float = 0
            while i < a.count { t += a[i] * b[i]; i += 1 }
            return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7])) + t
        }
        var rng = Xoshiro256(seed: 15)
        for n in Self.lengths {
            for _ in 0 ..< 20 {
                let q = Self.floats(n, &rng), kh = Self.halves(n, &rng), kf = kh.map { Float(Float16(bitPattern: $0)) }
                #expect(ck_dot_f32_f16_portable(q, kh, Int64(n)).bitPattern == dot(q, kf).bitPattern, "n \(n)")
                let a = Float(rng.nextDouble() * 2 - 1)
                var yh = Self.floats(n, &rng)
                let yf = zip(yh, kf).map { $0 + a * $1 }
                ck_axpy_f32_f16_portable(&yh, kh, a, Int64(n))
                #expect(yh.map(\.bitPattern) == yf.map(\.bitPattern), "n \(n)")
            }
        }
    }

    /// Both variants widen every half — infinities and NaNs too — as Swift's Float16 → Float does (NaNs quieted).
    @Test func everyHalfWidensExactly() {
        let all = (0 ... UInt16.max).map { $0 }
        for axpy in [ck_axpy_f32_f16, ck_axpy_f32_f16_portable] {
            var y = [Float](repeating: 0, count: all.count)
            axpy(&y, all, 1, Int64(all.count))
            for (h, v) in zip(all, y) {
                let f = Float(Float16(bitPattern: h))
                #expect(f.isNaN ? v.isNaN : v.bitPattern == (f + 0).bitPattern, "half \(h)")
            }
        }
    }

    /// Regression lock: under llama.cpp numerics (fast path and emulating reference path) the engine stores K and V
    /// as halves, and its logits — a whole prompt, then the same tokens one at a time — are bit for bit those of the
    /// same engine holding the cache as floats, as it did before. The plain reference path keeps floats.
    @Test func halfCacheGivesTheFloatCachesLogitsBitForBit() throws {
        try EngineTinyModelTests().withTiny { path in
            let file = try GGUFFile(path: path)
            for options in [EngineOptions(threads: 2, contextLength: 32),
                            EngineOptions(contextLength: 32, path: .reference, llamaCppNumerics: true)] {
                let config = try GemmaEngine(gguf: file, options: options).config
                func engine(_ storage: KVCache.Storage) throws -> GemmaEngine {
                    try GemmaEngine(config: config, weights: try GemmaWeights(gguf: file, config: config), options: options,
                                    file: file, kvStorage: storage)
                }
                let half = try GemmaEngine(gguf: file, options: options), float = try engine(.float)
                #expect(half.kvCache.allSatisfy { $0.storage == .half })
                let a = try half.evaluate(EngineTinyModelTests.ids, allLogits: true)
                let b = try float.evaluate(EngineTinyModelTests.ids, allLogits: true)
                #expect(a.map(\.bitPattern) == b.map(\.bitPattern), "\(options.path)")
                let oneByOne = try engine(.half)
                var rows: [Float] = []
                for id in EngineTinyModelTests.ids { rows += try oneByOne.evaluate([id]) }
                #expect(rows.map(\.bitPattern) == b.map(\.bitPattern), "\(options.path), one token at a time")
            }
            let plain = try GemmaEngine(gguf: file, options: EngineOptions(contextLength: 32, path: .reference, llamaCppNumerics: false))
            #expect(plain.kvCache.allSatisfy { $0.storage == .float })
        }
    }
}
