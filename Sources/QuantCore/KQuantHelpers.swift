/// Scale searches shared by the K-quants, in the exact operation order of ggml-quants.c
/// (`make_qx_quants`, `make_q3_quants`, `make_qkx2_quants`, `get_scale_min_k4`).
enum KQuant {
    static let groupMaxEps: Float = 1e-15

    /// Symmetric scale search with x² weights (`make_qx_quants` with `rmse_type == 1`, no importance weights).
    /// Writes L in 0 ..< 2·nmax and returns the scale.
    static func makeQxQuants(_ n: Int, _ nmax: Int32, _ x: UnsafePointer<Float>, _ L: UnsafeMutablePointer<Int8>) -> Float {
        var mx: Float = 0
        var amax: Float = 0
        for i in 0 ..< n {
            let ax = abs(x[i])
            if ax > amax { amax = ax; mx = x[i] }
        }
        if amax < groupMaxEps {
            for i in 0 ..< n { L[i] = 0 }
            return 0
        }
        let fnmax = Float(nmax)
        var iscale = Float(-nmax) / mx
        var sumlx: Float = 0
        var suml2: Float = 0
        for i in 0 ..< n {
            var l = nearestInt(iscale * x[i])
            l = max(-nmax, min(nmax - 1, l))
            L[i] = Int8(truncatingIfNeeded: l + nmax)
            let w = x[i] * x[i]
            let fl = Float(l)
            sumlx += w * x[i] * fl
            suml2 += w * fl * fl
        }
        var scale: Float = suml2 != 0 ? sumlx / suml2 : 0
        var best = scale * sumlx
        for step in -9 ... 9 where step != 0 {
            iscale = -(fnmax + 0.1 * Float(step)) / mx
            sumlx = 0
            suml2 = 0
            for i in 0 ..< n {
                let l = max(-nmax, min(nmax - 1, nearestInt(iscale * x[i])))
                let w = x[i] * x[i]
                let fl = Float(l)
                sumlx += w * x[i] * fl
                suml2 += w * fl * fl
            }
            if suml2 > 0 && sumlx * sumlx > best * suml2 {
                for i in 0 ..< n {
                    let l = nearestInt(iscale * x[i])
                    L[i] = Int8(truncatingIfNeeded: nmax + max(-nmax, min(nmax - 1, l)))
                }
                scale = sumlx / suml2
                best = scale * sumlx
            }
        }
        return scale
    }

    /// Symmetric 3-bit search with coordinate descent (`make_q3_quants(n, nmax, x, L, true)`).
    static func makeQ3Quants(_ n: Int, _ nmax: Int32, _ x: UnsafePointer<Float>, _ L: UnsafeMutablePointer<Int8>) -> Float {
        var mx: Float = 0
        var amax: Float = 0
        for i in 0 ..< n {
            let ax = abs(x[i])
            if ax > amax { amax = ax; mx = x[i] }
        }
        if amax < groupMaxEps {
            for i in 0 ..< n { L[i] = 0 }
            return 0
        }
        let iscale = Float(-nmax) / mx
        var sumlx: Float = 0
        var suml2: Float = 0
        for i in 0 ..< n {
            let l = max(-nmax, min(nmax - 1, nearestInt(iscale * x[i])))
            L[i] = Int8(truncatingIfNeeded: l)
            let w = x[i] * x[i]
            let fl = Float(l)
            sumlx += w * x[i] * fl
            suml2 += w * fl * fl
        }
        for _ in 0 ..< 5 {
            var changed = 0
            for i in 0 ..< n {
                let w = x[i] * x[i]
                let li = Float(L[i])
                var slx = sumlx - w * x[i] * li
                if slx > 0 {
                    var sl2 = suml2 - w * li * li
                    let newL = max(-nmax, min(nmax - 1, nearestInt(x[i] * sl2 / slx)))
                    if newL != Int32(L[i]) {
                        let fn = Float(newL)
                        slx += w * x[i] * fn
                        sl2 += w * fn * fn
                        if sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2 {
                            L[i] = Int8(truncatingIfNeeded: newL)
                            sumlx = slx
                            suml2 = sl2
                            changed += 1
                        }
                    }
                }
            }
            if changed == 0 { break }
        }
        for i in 0 ..< n { L[i] = L[i] &+ Int8(truncatingIfNeeded: nmax) }
        return suml2 > 0 ? sumlx / suml2 : 0
    }

    /// Asymmetric weighted search x ≈ scale·L − min (`make_qkx2_quants`). Returns scale; `theMin` receives min (≥ 0).
    static func makeQkx2Quants(_ n: Int, _ nmax: Int32, _ x: UnsafePointer<Float>, _ weights: UnsafePointer<Float>,
                               _ L: UnsafeMutablePointer<UInt8>, _ theMin: inout Float, _ Laux: UnsafeMutablePointer<UInt8>,
                               rmin: Float, rdelta: Float, nstep: Int, useMad: Bool) -> Float {
        var lo = x[0]
        var hi = x[0]
        var sumW = weights[0]
        var sumX = sumW * x[0]
        for i in 1 ..< n {
            if x[i] < lo { lo = x[i] }
            if x[i] > hi { hi = x[i] }
            let w = weights[i]
            sumW += w
            sumX += w * x[i]
        }
        if lo > 0 { lo = 0 }
        if hi == lo {
            for i in 0 ..< n { L[i] = 0 }
            theMin = -lo
            return 0
        }
        let fnmax = Float(nmax)
        var iscale = fnmax / (hi - lo)
        var scale = 1 / iscale
        var bestError: Float = 0
        for i in 0 ..< n {
            let l = max(0, min(nmax, nearestInt(iscale * (x[i] - lo))))
            L[i] = UInt8(truncatingIfNeeded: l)
            var diff = scale * Float(l) + lo - x[i]
            diff = useMad ? abs(diff) : diff * diff
            bestError += weights[i] * diff
        }
        if nstep < 1 {
            theMin = -lo
            return scale
        }
        for step in 0 ... nstep {
            iscale = (rmin + rdelta * Float(step) + fnmax) / (hi - lo)
            var sumL: Float = 0
            var sumL2: Float = 0
            var sumXL: Float = 0
            for i in 0 ..< n {
                let l = max(0, min(nmax, nearestInt(iscale * (x[i] - lo))))
                Laux[i] = UInt8(truncatingIfNeeded: l)
                let w = weights[i]
                let fl = Float(l)
                sumL += w * fl
                sumL2 += w * fl * fl
                sumXL += w * fl * x[i]
            }
            let D = sumW * sumL2 - sumL * sumL
            if D > 0 {
                var thisScale = (sumW * sumXL - sumX * sumL) / D
                var thisMin = (sumL2 * sumX - sumL * sumXL) / D
                if thisMin > 0 {
                    thisMin = 0
                    thisScale = sumXL / sumL2
                }
                var curError: Float = 0
                for i in 0 ..< n {
                    var diff = thisScale * Float(Laux[i]) + thisMin - x[i]
                    diff = useMad ? abs(diff) : diff * diff
                    curError += weights[i] * diff
                }
                if curError < bestError {
                    for i in 0 ..< n { L[i] = Laux[i] }
                    bestError = curError
                    scale = thisScale
                    lo = thisMin   // later candidates are measured from the updated min, as in ggml
                }
            }
        }
        theMin = -lo
        return scale
    }

    /// Unpacks the j-th 6-bit (scale, min) pair of a Q4_K/Q5_K `scales[12]` array (`get_scale_min_k4`).
    @inline(__always)
    static func scaleMinK4(_ j: Int, _ q: UnsafePointer<UInt8>) -> (sc: UInt8, m: UInt8) {
        if j < 4 { return (q[j] & 63, q[j + 4] & 63) }
        return ((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4), (q[j + 4] >> 4) | ((q[j] >> 6) << 4))
    }

    /// Packs eight 6-bit (scale, min) pairs into 12 bytes, the inverse of `scaleMinK4`.
    @inline(__always)
    static func packScaleMinK4(_ ls: UnsafePointer<UInt8>, _ lm: UnsafePointer<UInt8>, _ out: UnsafeMutablePointer<UInt8>) {
        for j in 0 ..< 8 {
            if j < 4 {
                out[j] = ls[j]
                out[j + 4] = lm[j]
            } else {
                out[j + 4] = (ls[j] & 0xF) | ((lm[j] & 0xF) << 4)
                out[j - 4] |= (ls[j] >> 4) << 6
                out[j] |= (lm[j] >> 4) << 6
            }
        }
    }

    /// Packs 256 2-bit values into 64 bytes the way Q2_K and Q3_K store them.
    @inline(__always)
    static func pack2Bit(_ L: UnsafePointer<UInt8>, _ qs: UnsafeMutablePointer<UInt8>) {
        for j in stride(from: 0, to: 256, by: 128) {
            for l in 0 ..< 32 {
                qs[j / 4 + l] = L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6)
            }
        }
    }
}
