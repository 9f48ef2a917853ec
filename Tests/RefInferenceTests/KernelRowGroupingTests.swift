import CKernels
import KilnTestSupport
import Testing

/// The repacked Q4_0 product computes eight rows at once (one lane each) on AVX2; a row's result must not depend on
/// whether it was computed in a group of eight or alone (threads split rows at any boundary). Self-agreement by design:
/// the grouped path's agreement with llama.cpp itself is EngineTinyModelTests' bit-exact logits and
/// scripts/check-kernels-vs-ggml.sh. The same holds for the tensor repacked to Kiln's interleaved layout
/// (`ck_repack_q4_0x8`, what the engine multiplies on AVX2), which must also give the stored rows' bits and unpack back
/// to them byte for byte (scripts/check-kernels-vs-ggml.sh checks that product against ggml_gemv_q4_0_8x8_q8_0 itself).
struct KernelRowGroupingTests {
    @Test(arguments: [1, 3, 6])
    func q4_0RowsAreTheSameAloneOrInGroupsOfEight(batch: Int) {
        let rows = 24, cols = 256, blocks = cols / 32
        var rng = SplitMix64(seed: 7)
        // block_q4_0: f16 scale + 16 bytes of nibbles.
        var w = [UInt8](repeating: 0, count: rows * blocks * 18)
        for b in 0 ..< rows * blocks {
            var h = [UInt16](repeating: 0, count: 1)
            var f = Float(rng.next() % 1000 + 1) / 50_000
            ck_f32_to_f16(&f, &h, 1)
            w[b * 18] = UInt8(h[0] & 0xFF); w[b * 18 + 1] = UInt8(h[0] >> 8)
            for j in 0 ..< 16 { w[b * 18 + 2 + j] = UInt8(truncatingIfNeeded: rng.next()) }
        }
        var x = (0 ..< batch * cols).map { _ in Float(Int(rng.next() % 2001) - 1000) / 300 }
        var act = [UInt8](repeating: 0, count: batch * blocks * 34)
        for b in 0 ..< batch {
            x.withUnsafeMutableBufferPointer { xb in act.withUnsafeMutableBufferPointer { ab in
                ck_quantize_q8_0(xb.baseAddress! + b * cols, ab.baseAddress! + b * blocks * 34, Int64(cols))
            } }
        }
        var packed = [UInt8](repeating: 0, count: w.count)
        ck_repack_q4_0x8(w, blocks * 18, Int32(rows), Int32(cols), &packed)
        func run(_ ranges: [Range<Int>], repacked: Bool = false) -> [Float] {
            var out = [Float](repeating: .nan, count: batch * rows)
            for r in ranges {
                (repacked ? packed : w).withUnsafeBytes { wb in act.withUnsafeBytes { ab in out.withUnsafeMutableBufferPointer { ob in
                    ck_matmul(repacked ? CK_Q4_0_X8 : 2, wb.baseAddress!, blocks * 18, Int32(rows), Int32(r.lowerBound), Int32(r.upperBound), Int32(cols),
                              ab.baseAddress!, blocks * 34, Int32(batch), ob.baseAddress!, Int32(rows))
                } } }
            }
            return out
        }
        let grouped = run([0 ..< rows])
        let alone = run((0 ..< rows).map { $0 ..< $0 + 1 })
        let unaligned = run([0 ..< 3, 3 ..< 13, 13 ..< rows])
        #expect(grouped.map(\.bitPattern) == alone.map(\.bitPattern))
        #expect(unaligned.map(\.bitPattern) == alone.map(\.bitPattern))
        #expect(!grouped.contains { $0.isNaN })
        do {   // on the portable kernels too (row by row, unpacked back)
            for ranges in [[0 ..< rows], (0 ..< rows).map { $0 ..< $0 + 1 }, [0 ..< 3, 3 ..< 13, 13 ..< rows]] {
                #expect(run(ranges, repacked: true).map(\.bitPattern) == alone.map(\.bitPattern))
            }
        }
        var row = [UInt8](repeating: 0, count: blocks * 18)
        for r in 0 ..< rows {
            ck_unrepack_q4_0x8_row(packed, Int32(cols), Int32(r), &row)
            #expect(row == Array(w[r * blocks * 18 ..< (r + 1) * blocks * 18]))
        }
    }
}

/// Q4_K and Q6_K repacked to Kiln's interleaved layouts (`ck_repack_q4_Kx8`, `ck_repack_q6_Kx8`, what the engine
/// multiplies on AVX2) against the stored rows: the same bits for every split of the rows and every batch size, and
/// the rows unpack back byte for byte. Self-agreement by design (Kiln's K-quant sums are its own order); the
/// stored-row product's agreement with llama.cpp is the engine's golden tests'.
struct KernelKQuantLayoutTests {
    @Test(arguments: [12, 14], [1, 3, 6])
    func repackedGivesTheStoredRowsBits(type: Int32, batch: Int) {
        let rows = 24, cols = 512, supers = cols / 256
        let (bb, halves, packedBytes) = type == 12 ? (144, [0, 2], Int(CK_Q4_K_X8_BYTES)) : (210, [208], 1680)
        let rb = supers * bb
        var rng = SplitMix64(seed: 11)
        var w = (0 ..< rows * rb).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        for b in 0 ..< rows * supers {   // sane scales (f16 of small positive values)
            for o in halves {
                var f = Float(rng.next() % 1000 + 1) / 50_000, h: UInt16 = 0
                ck_f32_to_f16(&f, &h, 1)
                w[b * bb + o] = UInt8(h & 0xFF); w[b * bb + o + 1] = UInt8(h >> 8)
            }
        }
        var x = (0 ..< batch * cols).map { _ in Float(Int(rng.next() % 2001) - 1000) / 300 }
        let ab = supers * 292
        var act = [UInt8](repeating: 0, count: batch * ab)
        for b in 0 ..< batch {
            x.withUnsafeMutableBufferPointer { xb in act.withUnsafeMutableBufferPointer { a in
                ck_quantize_q8_K(xb.baseAddress! + b * cols, a.baseAddress! + b * ab, Int64(cols))
            } }
        }
        var packed = [UInt8](repeating: 0, count: rows / 8 * supers * packedBytes)
        if type == 12 { ck_repack_q4_Kx8(w, rb, Int32(rows), Int32(cols), &packed) } else { ck_repack_q6_Kx8(w, rb, Int32(rows), Int32(cols), &packed) }
        func run(_ ranges: [Range<Int>], repacked: Bool) -> [Float] {
            var out = [Float](repeating: .nan, count: batch * rows)
            for r in ranges {
                (repacked ? packed : w).withUnsafeBytes { wb in act.withUnsafeBytes { a in out.withUnsafeMutableBufferPointer { ob in
                    ck_matmul(repacked ? (type == 12 ? CK_Q4_K_X8 : CK_Q6_K_X8) : type, wb.baseAddress!, rb, Int32(rows),
                              Int32(r.lowerBound), Int32(r.upperBound), Int32(cols), a.baseAddress!, ab, Int32(batch), ob.baseAddress!,
                              Int32(rows))
                } } }
            }
            return out
        }
        let stored = run([0 ..< rows], repacked: false)
        #expect(!stored.contains { $0.isNaN })
        for ranges in [[0 ..< rows], (0 ..< rows).map { $0 ..< $0 + 1 }, [0 ..< 3, 3 ..< 13, 13 ..< rows]] {
            #expect(run(ranges, repacked: true).map(\.bitPattern) == stored.map(\.bitPattern))
        }
        var row = [UInt8](repeating: 0, count: rb)
        for r in 0 ..< rows {
            if type == 12 { ck_unrepack_q4_Kx8_row(packed, Int32(cols), Int32(r), &row) } else { ck_unrepack_q6_Kx8_row(packed, Int32(cols), Int32(r), &row) }
            #expect(row == Array(w[r * rb ..< (r + 1) * rb]))
        }
    }
}
