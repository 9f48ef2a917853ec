import CKernels
import KilnTestSupport
import Testing

/// Q4_0, Q4_K and Q6_K weights as the engine multiplies them on AVX2: stored rows (eight-row groups of Q4_0 in
/// llama.cpp's repacked order, K-quant rows four activation rows at a time) and the same tensor interleaved eight rows
/// at a time (`ck_repack_q4_0x8`, `ck_repack_q4_Kx8`, `ck_repack_q6_Kx8`, the layouts `QuantizedLayout` picks). A
/// row's result must not depend on whether it was computed in a group or alone, nor on the layout, for any batch size
/// and any split of the rows between threads; the interleaved rows must unpack back to the stored bytes. Self-agreement
/// by design: the references behind it are scripts/check-kernels-vs-ggml.sh (Q4_0, stored and interleaved, against
/// ggml's own ggml_gemv_q4_0_8x8_q8_0), EngineTinyModelTests' logits (bit-exact with llama.cpp) and the engine's
/// llama.cpp goldens for the K-quants.
struct KernelRowGroupingTests {
    struct Kind: Sendable, CustomStringConvertible {
        let type: Int32, interleaved: Int32, blockBytes: Int, blockElements: Int, halves: [Int], groupBytes: Int
        var description: String { "type \(type)" }
    }

    static let kinds = [
        Kind(type: 2, interleaved: CK_Q4_0_X8, blockBytes: 18, blockElements: 32, halves: [0], groupBytes: Int(CK_Q4_0_X8_BYTES)),
        Kind(type: 12, interleaved: CK_Q4_K_X8, blockBytes: 144, blockElements: 256, halves: [0, 2], groupBytes: Int(CK_Q4_K_X8_BYTES)),
        Kind(type: 14, interleaved: CK_Q6_K_X8, blockBytes: 210, blockElements: 256, halves: [208], groupBytes: Int(CK_Q6_K_X8_BYTES)),
    ]

    @Test(arguments: kinds, [1, 3, 6])
    func rowsAreTheSameAloneGroupedAndInterleaved(kind: Kind, batch: Int) {
        let rows = 24, cols = 512, blocks = cols / kind.blockElements, rb = blocks * kind.blockBytes
        var rng = SplitMix64(seed: 7)
        var w = (0 ..< rows * rb).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        for b in 0 ..< rows * blocks {   // sane scales: f16 of small positive values
            for o in kind.halves {
                var f = Float(rng.next() % 1000 + 1) / 50_000, h: UInt16 = 0
                ck_f32_to_f16(&f, &h, 1)
                w[b * kind.blockBytes + o] = UInt8(h & 0xFF); w[b * kind.blockBytes + o + 1] = UInt8(h >> 8)
            }
        }
        // Q4_0 against Q8_0 activations (34-byte blocks of 32), K-quants against Q8_K (292-byte blocks of 256).
        var x = (0 ..< batch * cols).map { _ in Float(Int(rng.next() % 2001) - 1000) / 300 }
        let ab = kind.type == 2 ? cols / 32 * 34 : cols / 256 * 292
        var act = [UInt8](repeating: 0, count: batch * ab)
        for b in 0 ..< batch {
            x.withUnsafeMutableBufferPointer { xb in act.withUnsafeMutableBufferPointer { a in
                if kind.type == 2 { ck_quantize_q8_0(xb.baseAddress! + b * cols, a.baseAddress! + b * ab, Int64(cols)) }
                else { ck_quantize_q8_K(xb.baseAddress! + b * cols, a.baseAddress! + b * ab, Int64(cols)) }
            } }
        }
        var packed = [UInt8](repeating: 0, count: rows / 8 * blocks * kind.groupBytes)
        switch kind.type {
        case 2: ck_repack_q4_0x8(w, rb, Int32(rows), Int32(cols), &packed)
        case 12: ck_repack_q4_Kx8(w, rb, Int32(rows), Int32(cols), &packed)
        default: ck_repack_q6_Kx8(w, rb, Int32(rows), Int32(cols), &packed)
        }
        func run(_ ranges: [Range<Int>], interleaved: Bool) -> [Float] {
            var out = [Float](repeating: .nan, count: batch * rows)
            for r in ranges {
                (interleaved ? packed : w).withUnsafeBytes { wb in act.withUnsafeBytes { a in out.withUnsafeMutableBufferPointer { ob in
                    ck_matmul(interleaved ? kind.interleaved : kind.type, wb.baseAddress!, rb, Int32(rows), Int32(r.lowerBound),
                              Int32(r.upperBound), Int32(cols), a.baseAddress!, ab, Int32(batch), ob.baseAddress!, Int32(rows))
                } } }
            }
            return out
        }
        let alone = run((0 ..< rows).map { $0 ..< $0 + 1 }, interleaved: false)
        #expect(!alone.contains { $0.isNaN })
        for ranges in [[0 ..< rows], (0 ..< rows).map { $0 ..< $0 + 1 }, [0 ..< 3, 3 ..< 13, 13 ..< rows]] {
            #expect(run(ranges, interleaved: false).map(\.bitPattern) == alone.map(\.bitPattern))
            #expect(run(ranges, interleaved: true).map(\.bitPattern) == alone.map(\.bitPattern))
        }
        var row = [UInt8](repeating: 0, count: rb)
        for r in 0 ..< rows {
            switch kind.type {
            case 2: ck_unrepack_q4_0x8_row(packed, Int32(cols), Int32(r), &row)
            case 12: ck_unrepack_q4_Kx8_row(packed, Int32(cols), Int32(r), &row)
            default: ck_unrepack_q6_Kx8_row(packed, Int32(cols), Int32(r), &row)
            }
            #expect(row == Array(w[r * rb ..< (r + 1) * rb]))
        }
    }
}
