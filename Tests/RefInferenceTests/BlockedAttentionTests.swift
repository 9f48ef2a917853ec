import CKernels
import Foundation
import Testing
@testable import RefInference

/// Kiln's vectorized exp against the C library's `expf` (glibc: correctly rounded in practice), and the batched
/// attention of the vision encoders' fast path against the reference attention one query at a time.
@Suite struct BlockedAttentionTests {
    /// Distance in units in the last place between two positive finite floats.
    static func ulps(_ a: Float, _ b: Float) -> Int {
        abs(Int(Int32(bitPattern: a.bitPattern)) - Int(Int32(bitPattern: b.bitPattern)))
    }

    @Test func expIsWithinTwoULPOfTheLibrary() {
        // A dense sweep of the whole normal range plus the softmax range [-30, 0] in finer steps; 9 values so the
        // vector loop and the scalar tail both run, on the AVX2 and the portable variant alike.
        var x: [Float] = stride(from: -87.3, through: 88, by: 0.0037).map { Float($0) }
        x += stride(from: -30, through: 0, by: 0.00013).map { Float($0) }
        x += [0, -0.0, 1e-8, -1e-8, 88, -87.33]
        var y = [Float](repeating: .nan, count: x.count)
        ck_exp_f32(x, &y, Int64(x.count))
        var worst = 0
        for (i, v) in x.enumerated() where y[i] >= Float.leastNormalMagnitude {
            worst = max(worst, Self.ulps(y[i], expf(v)))
        }
        #expect(worst <= 2, "max \(worst) ulp")
        var edges: [Float] = [-.infinity, -100, -87.4, .nan, 89, 1000, 0, 0, 0]
        ck_exp_f32(edges, &edges, Int64(edges.count))
        #expect(Array(edges[0 ..< 4]) == [0, 0, 0, 0])
        #expect(edges[4] == expf(88) && edges[5] == expf(88) && edges[6] == 1)
    }

    @Test func expSubtractsAndSums() {
        var row: [Float] = (0 ..< 21).map { Float($0) / 4 - 3 }
        let want = row.map { expf($0 - 2) }
        let sum = ck_exp_sub_f32(&row, Int64(row.count), 2)
        for i in row.indices { #expect(Self.ulps(row[i], want[i]) <= 2) }
        #expect(abs(Double(sum) - want.reduce(0.0) { $0 + Double($1) }) < 1e-5)
        #expect(ck_max_f32(row, Int64(row.count)) == row.max())
    }

    /// The reference: `GemmaNumerics.attend` (scalar dots, libm exp, double sum) per query and head.
    static func reference(q: [Float], k: [Float], v: [Float], T: Int, H: Int, hd: Int, scale: Float) -> [Float] {
        let D = H * hd
        var out = [Float](repeating: 0, count: T * D)
        var scores = [Float](repeating: 0, count: T + 1)
        q.withUnsafeBufferPointer { qb in k.withUnsafeBufferPointer { kb in v.withUnsafeBufferPointer { vb in
            out.withUnsafeMutableBufferPointer { ob in
                for h in 0 ..< H {
                    // Head-major keys and values (stride 1 in `attend`).
                    var kh = [Float](repeating: 0, count: T * hd), vh = kh
                    for t in 0 ..< T {
                        for i in 0 ..< hd { kh[t * hd + i] = kb[t * D + h * hd + i]; vh[t * hd + i] = vb[t * D + h * hd + i] }
                    }
                    for t in 0 ..< T {
                        GemmaNumerics.attend(query: qb.baseAddress! + t * D + h * hd, keys: kh, values: vh, stride: 1, rows: 0 ... T - 1,
                                             headDim: hd, valueDim: hd, scores: &scores, simd: false, roundProbabilities: false,
                                             scale: scale, into: ob.baseAddress! + t * D + h * hd)
                    }
                }
            }
        } } }
        return out
    }

    @Test func blockedAttentionMatchesTheReferenceAndIgnoresThreadCount() {
        // More tokens than one query block with a ragged last block; scores spread wide enough that the softmax is
        // far from uniform.
        let T = BlockedAttention.queryBlock + 37, H = 3, hd = 20, scale: Float = 1 / Float(hd).squareRoot()
        let q = FloatGemmTests.random(T * H * hd, seed: 11).map { $0 * 3 }, k = FloatGemmTests.random(T * H * hd, seed: 12)
        let v = FloatGemmTests.random(T * H * hd, seed: 13)
        let want = Self.reference(q: q, k: k, v: v, T: T, H: H, hd: hd, scale: scale)
        let one = BlockedAttention.run(q: q, k: k, v: v, tokens: T, heads: H, headDim: hd, scale: scale, threads: 1)
        var worst: Float = 0
        for i in want.indices { worst = max(worst, abs(one[i] - want[i])) }
        // Outputs are averages of values ≤ 1; float summation orders differ (sgemm blocks, 8-lane sums vs double):
        // measured ~1e-7, bound 1e-5.
        #expect(worst < 1e-5, "max |Δ| \(worst)")
        for threads in [2, 3] {
            #expect(BlockedAttention.run(q: q, k: k, v: v, tokens: T, heads: H, headDim: hd, scale: scale, threads: threads) == one)
        }
    }
}
