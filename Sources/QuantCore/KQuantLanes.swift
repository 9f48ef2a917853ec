/// Lane-parallel versions of the K-quant scale searches: the independent sub-blocks of one super-block run side by
/// side in SIMD lanes. Each lane performs exactly the scalar operation sequence of ggml's helper (same order, no
/// fusion, sequential sums), so results are bit-identical; only the scheduling differs.
///
/// Four lanes (one SSE register): on the default x86-64 target wider masks are legalized through 16-bit lanes.
/// Comparisons are written as scalar lane loops (see `lt`), which LLVM turns into cmpps/and/or.
typealias Lanes = SIMD4<Float>
typealias LaneInts = SIMD4<Int32>
typealias LaneBits = SIMD4<UInt32>
let laneCount = 4

extension KQuant {
    static let magicLanes = Lanes(repeating: 12_582_912)

    /// `nearest_int` on every lane (same bit trick, same results for any input).
    @inline(__always)
    static func nearestIntLanes(_ v: Lanes) -> LaneInts {
        let s = unsafeBitCast(v + magicLanes, to: LaneInts.self)
        return (s & 0x007F_FFFF) &- 0x0040_0000
    }

    /// Exact float value of small integers (|l| < 2²²) without a conversion instruction.
    @inline(__always)
    static func toFloatLanes(_ l: LaneInts) -> Lanes {
        unsafeBitCast(l &+ 0x4B40_0000, to: Lanes.self) - magicLanes
    }

    // Comparisons are written as scalar lane loops: LLVM turns them into cmpps/and/or, whereas the stdlib's
    // SIMDMask comparisons are materialized lane by lane through general-purpose registers on this target.
    typealias Mask = LaneBits

    /// Lanes where a < b (all ones) or not (zero); false for NaN, like C.
    @inline(__always)
    static func lt(_ a: Lanes, _ b: Lanes) -> Mask {
        var m = Mask()
        for j in 0 ..< laneCount { m[j] = a[j] < b[j] ? ~0 : 0 }
        return m
    }

    @inline(__always)
    static func gt(_ a: Lanes, _ b: Lanes) -> Mask { lt(b, a) }

    @inline(__always)
    static func eq(_ a: Lanes, _ b: Lanes) -> Mask {
        var m = Mask()
        for j in 0 ..< laneCount { m[j] = a[j] == b[j] ? ~0 : 0 }
        return m
    }

    /// Lane select `m ? a : b`.
    @inline(__always)
    static func sel(_ m: Mask, _ a: Lanes, _ b: Lanes) -> Lanes {
        let ai = unsafeBitCast(a, to: Mask.self), bi = unsafeBitCast(b, to: Mask.self)
        return unsafeBitCast((ai & m) | (bi & ~m), to: Lanes.self)
    }

    /// True when any lane of the mask is set.
    @inline(__always)
    static func anyLane(_ m: Mask) -> Bool {
        var r: UInt32 = 0
        for j in 0 ..< laneCount { r |= m[j] }
        return r != 0
    }

    /// Gathers `p[stride * j + offset]` for every lane j.
    @inline(__always)
    static func gather(_ p: UnsafePointer<Float>, stride: Int, offset: Int) -> Lanes {
        var v = Lanes()
        for j in 0 ..< laneCount { v[j] = p[stride * j + offset] }
        return v
    }

    /// `fabsf` on every lane (clears the sign bit).
    @inline(__always)
    static func absLanes(_ v: Lanes) -> Lanes {
        unsafeBitCast(unsafeBitCast(v, to: LaneBits.self) & 0x7FFF_FFFF, to: Lanes.self)
    }

    /// Float value of `max(lo, min(hi, nearest_int(v)))` per lane. `nearest_int` always lies in [−2²², 2²²), where
    /// `toFloatLanes` is exact, and float comparisons vectorize (SIMD integer comparisons are per-lane loops).
    @inline(__always)
    static func levelLanes(_ v: Lanes, _ hi: Lanes) -> Lanes {
        let l = toFloatLanes(nearestIntLanes(v))
        let a = sel(lt(l, Lanes()), Lanes(), l)
        return sel(gt(a, hi), hi, a)
    }

    /// `make_qkx2_quants(n, nmax, …)` for 4 sub-blocks at once.
    /// `xt[l]` holds element l of every sub-block; on return `Lt[l]` holds the chosen levels and scale/min per lane.
    @inline(__always)
    static func makeQkx2Lanes(_ n: Int, _ xt: UnsafePointer<Lanes>, _ w: UnsafePointer<Lanes>, _ Lt: UnsafeMutablePointer<Lanes>,
                              _ Laux: UnsafeMutablePointer<Lanes>, nmax: Int32, rmin: Float, rdelta: Float, nstep: Int,
                              useMad: Bool) -> (scale: Lanes, min: Lanes) {
        var lo = xt[0]
        var hi = xt[0]
        var sumW = w[0]
        var sumX = sumW * xt[0]
        for i in 1 ..< n {
            let xi = xt[i]
            lo = sel(lt(xi, lo), xi, lo)
            hi = sel(gt(xi, hi), xi, hi)
            sumW += w[i]
            sumX += w[i] * xi
        }
        lo = sel(gt(lo, Lanes()), Lanes(), lo)
        let flat = eq(hi, lo)
        let fnmax = Lanes(repeating: Float(nmax))
        var iscale = fnmax / (hi - lo)
        var scale = 1 / iscale
        var bestError = Lanes()
        for i in 0 ..< n {
            let l = levelLanes(iscale * (xt[i] - lo), fnmax)
            Lt[i] = l
            let diff = scale * l + lo - xt[i]
            bestError += w[i] * (useMad ? absLanes(diff) : diff * diff)
        }
        for step in 0 ... nstep {
            iscale = Lanes(repeating: rmin + rdelta * Float(step) + Float(nmax)) / (hi - lo)
            var sumL = Lanes(), sumL2 = Lanes(), sumXL = Lanes()
            for i in 0 ..< n {
                let l = levelLanes(iscale * (xt[i] - lo), fnmax)
                Laux[i] = l
                let wl = w[i] * l
                sumL += wl
                sumL2 += wl * l
                sumXL += wl * xt[i]
            }
            let D = sumW * sumL2 - sumL * sumL
            let positive = gt(D, Lanes())
            if !anyLane(positive) { continue }
            var thisScale = (sumW * sumXL - sumX * sumL) / D
            var thisMin = (sumL2 * sumX - sumL * sumXL) / D
            let clampMin = gt(thisMin, Lanes())
            thisMin = sel(clampMin, Lanes(), thisMin)
            thisScale = sel(clampMin, sumXL / sumL2, thisScale)
            var curError = Lanes()
            for i in 0 ..< n {
                let diff = thisScale * Laux[i] + thisMin - xt[i]
                curError += w[i] * (useMad ? absLanes(diff) : diff * diff)
            }
            let better = positive & lt(curError, bestError)
            if !anyLane(better) { continue }
            for i in 0 ..< n { Lt[i] = sel(better, Laux[i], Lt[i]) }
            bestError = sel(better, curError, bestError)
            scale = sel(better, thisScale, scale)
            lo = sel(better, thisMin, lo)
        }
        if anyLane(flat) {
            for i in 0 ..< n { Lt[i] = sel(flat, Lanes(), Lt[i]) }
            scale = sel(flat, Lanes(), scale)
        }
        return (scale, -lo)
    }

    /// Fast path of `quantize_row_q4_K_ref` / `quantize_row_q5_K_ref`.
    static func quantizeQ4Q5Lanes(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, blocks: Int,
                                  nmax: Int32, rmin: Float, nstep: Int, blockBytes: Int) {
        withUnsafeTemporaryAllocation(of: Lanes.self, capacity: 4 * 32) { lanes in
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 256 + 16) { u8 in
                withUnsafeTemporaryAllocation(of: Float.self, capacity: 16) { f in
                    let xt = lanes.baseAddress!, w = xt + 32, Lt = w + 32, Laux = Lt + 32
                    let L = u8.baseAddress!, lsm = L + 256
                    let scales = f.baseAddress!, mins = scales + 8
                    for i in 0 ..< blocks {
                        let xb = x + i * 256
                        for g in 0 ..< 8 / laneCount {
                            let xg = xb + 32 * laneCount * g
                            for l in 0 ..< 32 { xt[l] = gather(xg, stride: 32, offset: l) }
                            var sumX2 = Lanes()
                            for l in 0 ..< 32 { sumX2 += xt[l] * xt[l] }
                            let avX = (sumX2 / 32).squareRoot()
                            for l in 0 ..< 32 { w[l] = avX + absLanes(xt[l]) }
                            let (sc, mn) = makeQkx2Lanes(32, xt, w, Lt, Laux, nmax: nmax, rmin: rmin, rdelta: 0.1, nstep: nstep, useMad: false)
                            for j in 0 ..< laneCount {
                                scales[laneCount * g + j] = sc[j]
                                mins[laneCount * g + j] = mn[j]
                            }
                            for l in 0 ..< 32 {
                                let v = Lt[l]
                                for j in 0 ..< laneCount { L[32 * (laneCount * g + j) + l] = UInt8(truncatingIfNeeded: Int32(v[j])) }
                            }
                        }
                        var maxScale: Float = 0
                        var maxMin: Float = 0
                        for j in 0 ..< 8 {
                            if scales[j] > maxScale { maxScale = scales[j] }
                            if mins[j] > maxMin { maxMin = mins[j] }
                        }
                        finishQ4Q5Block(xb, y + i * blockBytes, L, lsm, scales, mins, maxScale, maxMin, nmax: nmax)
                    }
                }
            }
        }
    }
}

extension KQuant {
    /// `make_qx_quants(16, nmax, x, L, rmse_type: 1, qw: NULL)` for 4 sub-blocks of 16 at once.
    /// `xt[i]` holds element i of every sub-block; `Lt[i]` receives the levels (already offset by nmax).
    @inline(__always)
    static func makeQxLanes(_ xt: UnsafePointer<Lanes>, _ Lt: UnsafeMutablePointer<Lanes>, _ Laux: UnsafeMutablePointer<Lanes>,
                            nmax: Int32) -> Lanes {
        let n = 16
        var mx = Lanes(), amax = Lanes()
        for i in 0 ..< n {
            let ax = absLanes(xt[i])
            let bigger = gt(ax, amax)
            amax = sel(bigger, ax, amax)
            mx = sel(bigger, xt[i], mx)
        }
        let zero = lt(amax, Lanes(repeating: groupMaxEps))
        let fnmax = Lanes(repeating: Float(nmax))
        let lowClamp = Lanes(repeating: Float(-nmax)), highClamp = Lanes(repeating: Float(nmax - 1))
        @inline(__always) func level(_ v: Lanes) -> Lanes {
            let l = toFloatLanes(nearestIntLanes(v))
            let a = sel(lt(l, lowClamp), lowClamp, l)
            return sel(gt(a, highClamp), highClamp, a)
        }
        var iscale = Lanes(repeating: Float(-nmax)) / mx
        var sumlx = Lanes(), suml2 = Lanes()
        for i in 0 ..< n {
            let l = level(iscale * xt[i])
            Lt[i] = l + fnmax
            let w = xt[i] * xt[i]
            sumlx += w * xt[i] * l
            suml2 += w * l * l
        }
        var scale = sel(~eq(suml2, Lanes()), sumlx / suml2, Lanes())
        var best = scale * sumlx
        for step in -9 ... 9 where step != 0 {
            iscale = -(fnmax + Lanes(repeating: 0.1 * Float(step))) / mx
            sumlx = Lanes()
            suml2 = Lanes()
            for i in 0 ..< n {
                let l = level(iscale * xt[i])
                Laux[i] = l
                let w = xt[i] * xt[i]
                sumlx += w * xt[i] * l
                suml2 += w * l * l
            }
            let better = gt(suml2, Lanes()) & gt(sumlx * sumlx, best * suml2)
            if !anyLane(better) { continue }
            for i in 0 ..< n { Lt[i] = sel(better, Laux[i] + fnmax, Lt[i]) }
            scale = sel(better, sumlx / suml2, scale)
            best = sel(better, scale * sumlx, best)
        }
        if anyLane(zero) {
            for i in 0 ..< n { Lt[i] = sel(zero, Lanes(), Lt[i]) }
            scale = sel(zero, Lanes(), scale)
        }
        return scale
    }
}

extension Q6_K {
    /// Lane-parallel scale search (4 sub-blocks per pass); byte-identical with `quantizeReference`.
    static func quantizeFast(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, blocks: Int) {
        withUnsafeTemporaryAllocation(of: Lanes.self, capacity: 3 * 16) { lanes in
            withUnsafeTemporaryAllocation(of: Int8.self, capacity: 256) { l8 in
                withUnsafeTemporaryAllocation(of: Float.self, capacity: 16) { f in
                    let xt = lanes.baseAddress!, Lt = xt + 16, Laux = Lt + 16
                    let L = l8.baseAddress!, scales = f.baseAddress!
                    for i in 0 ..< blocks {
                        let xb = x + i * 256
                        for g in 0 ..< 16 / laneCount {
                            let xs = xb + 16 * laneCount * g
                            for e in 0 ..< 16 { xt[e] = KQuant.gather(xs, stride: 16, offset: e) }
                            let sc = KQuant.makeQxLanes(xt, Lt, Laux, nmax: 32)
                            for j in 0 ..< laneCount { scales[laneCount * g + j] = sc[j] }
                            for e in 0 ..< 16 {
                                let v = Lt[e]
                                for j in 0 ..< laneCount { L[16 * (laneCount * g + j) + e] = Int8(truncatingIfNeeded: Int32(v[j])) }
                            }
                        }
                        var maxScale: Float = 0
                        var maxAbsScale: Float = 0
                        for ib in 0 ..< 16 where abs(scales[ib]) > maxAbsScale {
                            maxAbsScale = abs(scales[ib])
                            maxScale = scales[ib]
                        }
                        finishBlock(xb, y + i * blockBytes, L, scales, maxScale, maxAbsScale)
                    }
                }
            }
        }
    }
}

extension Q2_K {
    /// Lane-parallel scale search (4 sub-blocks per pass); byte-identical with `quantize`.
    static func quantizeFast(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, blocks: Int) {
        withUnsafeTemporaryAllocation(of: Lanes.self, capacity: 4 * 16) { lanes in
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 256) { u8 in
                withUnsafeTemporaryAllocation(of: Float.self, capacity: 32) { f in
                    let xt = lanes.baseAddress!, w = xt + 16, Lt = w + 16, Laux = Lt + 16
                    let L = u8.baseAddress!, scales = f.baseAddress!, mins = scales + 16
                    for i in 0 ..< blocks {
                        let xb = x + i * 256
                        for g in 0 ..< 16 / laneCount {
                            let xs = xb + 16 * laneCount * g
                            for e in 0 ..< 16 {
                                xt[e] = KQuant.gather(xs, stride: 16, offset: e)
                                w[e] = KQuant.absLanes(xt[e])
                            }
                            let (sc, mn) = KQuant.makeQkx2Lanes(16, xt, w, Lt, Laux, nmax: 3, rmin: -0.5, rdelta: 0.1,
                                                                nstep: 15, useMad: true)
                            for j in 0 ..< laneCount {
                                scales[laneCount * g + j] = sc[j]
                                mins[laneCount * g + j] = mn[j]
                            }
                            for e in 0 ..< 16 {
                                let v = Lt[e]
                                for j in 0 ..< laneCount { L[16 * (laneCount * g + j) + e] = UInt8(truncatingIfNeeded: Int32(v[j])) }
                            }
                        }
                        finishBlock(xb, y + i * blockBytes, L, scales, mins)
                    }
                }
            }
        }
    }
}

extension Q4_K {
    /// Lane-parallel scale search; byte-identical with `quantizeReference`.
    static func quantizeFast(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, blocks: Int) {
        KQuant.quantizeQ4Q5Lanes(x, y, blocks: blocks, nmax: 15, rmin: -1, nstep: 20, blockBytes: blockBytes)
    }
}

extension Q5_K {
    /// Lane-parallel scale search; byte-identical with `quantizeReference`.
    static func quantizeFast(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, blocks: Int) {
        KQuant.quantizeQ4Q5Lanes(x, y, blocks: blocks, nmax: 31, rmin: -0.5, nstep: 15, blockBytes: blockBytes)
    }
}
