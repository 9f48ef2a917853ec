import CKernels
@testable import RefInference
import Testing

/// The grouped attention kernels (all query heads of one KV head at once) against the one-head kernels they stand in
/// for, bit for bit. Self-agreement by design: the one-head kernels' agreement with llama.cpp is
/// EngineTinyModelTests.tinyGGUFMatchesLlamaCpp (bit-exact logits) and the engine golden tests.
@Suite struct GroupedAttentionTests {
    /// Group sizes 1…6 (Gemma 3 uses 1, 2, 4; more than four heads runs in sub-groups of four), odd and even widths,
    /// spans that start anywhere (sliding windows).
    @Test(arguments: [1, 2, 3, 4, 5, 6])
    func groupedKernelsEqualOneHeadAtATime(heads g: Int) {
        var rng = Xoshiro256(seed: UInt64(40 + g))
        for n in [8, 17, 64, 256] {
            let keys = 23, lo = Int(rng.next() % 5), hi = keys - 1 - Int(rng.next() % 3)
            let q = KVCacheTests.floats(g * n, &rng)
            let k = KVCacheTests.halves(keys * n, &rng).map { $0 & 0xBFFF }   // |k| < 2: finite products
            let v = KVCacheTests.halves(keys * n, &rng).map { $0 & 0xBFFF }
            var grouped = [Float](repeating: .nan, count: g * keys)
            ck_scores_group_f16(q, Int64(n), Int32(g), k, Int64(n), Int64(lo), Int64(hi), Int64(n), &grouped, Int64(keys))
            let p = KVCacheTests.floats(g * keys, &rng)
            var outGrouped = KVCacheTests.floats(g * n, &rng), outAlone = outGrouped
            ck_pv_group_f16(p, Int64(keys), Int32(g), v, Int64(n), Int64(lo), Int64(hi), Int64(n), &outGrouped, Int64(n))
            for h in 0 ..< g {
                for j in lo ... hi {
                    let alone = q.withUnsafeBufferPointer { qb in k.withUnsafeBufferPointer { kb in
                        ck_dot_f32_f16(qb.baseAddress! + h * n, kb.baseAddress! + j * n, Int64(n))
                    } }
                    #expect(grouped[h * keys + j].bitPattern == alone.bitPattern, "g \(g) n \(n) head \(h) key \(j)")
                    outAlone.withUnsafeMutableBufferPointer { ob in v.withUnsafeBufferPointer { vb in
                        ck_axpy_f32_f16(ob.baseAddress! + h * n, vb.baseAddress! + j * n, p[h * keys + j], Int64(n))
                    } }
                }
            }
            #expect(outGrouped.map(\.bitPattern) == outAlone.map(\.bitPattern), "g \(g) n \(n)")
        }
    }
}
