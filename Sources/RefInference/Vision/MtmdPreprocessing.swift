#if canImport(Glibc)
import Glibc
#endif

/// llama.cpp's libmtmd image preprocessing for fixed-size encoders such as Gemma 3's SigLIP, restated so the same
/// decoded pixels give the same model input as `mtmd_tokenize` does (tools/mtmd/mtmd-image.cpp, llama-cpp-python
/// 0.3.36's vendored tree):
///
/// 1. `mtmd_image_preprocessor_fixed_size`: an image already `size × size` is used as is. Otherwise it is letterboxed
///    (`img_tool::resize` with `PAD_CEIL`, black padding): `scale = min(size/w, size/h)` in float, the resized size
///    `min(ceil(w·scale), size) × min(ceil(h·scale), size)` (float products), the image resized to it with
///    `resize_pillow` and pasted at `((size − w′)/2, (size − h′)/2)` (integer division) on black. Gemma 3 uses
///    `RESIZE_ALGO_BILINEAR` (clip.cpp). Note this keeps the aspect ratio, where Hugging Face's Gemma 3 processor
///    stretches the image to the square.
/// 2. `resize_pillow`: Pillow's separable resampling (horizontal pass, then vertical; each skipped when that side
///    keeps its size): per output pixel the filter support is widened by the downscale factor, weights computed in
///    double, normalised, and stored as 22-bit fixed point (`w·2²² ± 0.5` truncated); sums start at 2²¹, are shifted
///    right by 22 and clamped to 0...255 after each pass.
/// 3. `clip_image_f32::from_u8` and `normalize`: `(v / 255 − mean[c]) / std[c]` in float, with the mmproj's
///    `clip.vision.image_mean` / `image_std` (0.5 for Gemma 3, so values land in [−1, 1]).
public enum MtmdPreprocessing {
    /// A resampling filter of `resize_pillow` (Gemma 3 uses bilinear; the others are not needed yet).
    public enum Filter: Sendable {
        case bilinear

        var support: Double {
            switch self { case .bilinear: 1 }
        }

        func weight(_ x: Double) -> Double {
            switch self {
            case .bilinear:
                let a = abs(x)
                return a < 1 ? 1 - a : 0
            }
        }
    }

    /// The model input of `image` for a `size × size` encoder: letterboxed (step 1), then normalised per channel
    /// (step 3) into planar channels `[3][size][size]` (the layout of clip.cpp's `inp_raw`).
    public static func pixels(_ image: RGBImage, size: Int, filter: Filter = .bilinear, mean: [Float], std: [Float]) -> [Float] {
        normalizedPlanes(letterbox(image, size: size, filter: filter), mean: mean, std: std)
    }

    /// Step 1: `image` as `mtmd_image_preprocessor_fixed_size` makes it `size × size`.
    public static func letterbox(_ image: RGBImage, size: Int, filter: Filter = .bilinear) -> RGBImage {
        if image.width == size && image.height == size { return image }
        let placement = letterboxPlacement(width: image.width, height: image.height, size: size)
        let resized = resize(image, width: placement.width, height: placement.height, filter: filter)
        var out = [UInt8](repeating: 0, count: size * size * 3)
        for y in 0 ..< placement.height {
            let src = y * placement.width * 3, dst = ((y + placement.y) * size + placement.x) * 3
            for i in 0 ..< placement.width * 3 { out[dst + i] = resized.pixels[src + i] }
        }
        return try! RGBImage(width: size, height: size, pixels: out)  // size × size × 3 by construction
    }

    /// Where step 1 puts a `width × height` image inside the `size × size` square: resized size and offset.
    public static func letterboxPlacement(width: Int, height: Int, size: Int) -> (width: Int, height: Int, x: Int, y: Int) {
        if width == size && height == size { return (size, size, 0, 0) }
        let scale = min(Float(size) / Float(width), Float(size) / Float(height))
        let w = min(Int((Float(width) * scale).rounded(.up)), size)
        let h = min(Int((Float(height) * scale).rounded(.up)), size)
        return (w, h, (size - w) / 2, (size - h) / 2)
    }

    /// Step 2: `resize_pillow` of `image` to `width × height`.
    public static func resize(_ image: RGBImage, width: Int, height: Int, filter: Filter) -> RGBImage {
        var pixels = image.pixels
        var w = image.width
        if width != image.width {
            let k = Kernel(input: image.width, output: width, filter: filter)
            pixels = horizontal(pixels, width: image.width, rows: image.height, kernel: k)
            w = width
        }
        if height != image.height {
            let k = Kernel(input: image.height, output: height, filter: filter)
            pixels = vertical(pixels, rowElements: w * 3, kernel: k)
        }
        return try! RGBImage(width: width, height: height, pixels: pixels)  // both passes produce exactly this size
    }

    /// Step 3: planar `[3][h][w]` floats `(v / 255 − mean[c]) / std[c]`.
    public static func normalizedPlanes(_ image: RGBImage, mean: [Float], std: [Float]) -> [Float] {
        let n = image.width * image.height
        var out = [Float](repeating: 0, count: 3 * n)
        for i in 0 ..< n {
            for c in 0 ..< 3 {
                out[c * n + i] = (Float(image.pixels[i * 3 + c]) / 255 - mean[c]) / std[c]
            }
        }
        return out
    }

    static let precisionBits = 22

    /// Fixed-point filter coefficients of one dimension (`precompute_weights`).
    struct Kernel {
        let size: Int
        /// Per output pixel: first input pixel and count.
        var bounds: [(start: Int, count: Int)] = []
        /// `output × size` weights.
        var weights: [Int32] = []

        init(input: Int, output: Int, filter: Filter) {
            let scale = Double(input) / Double(output)
            let filterScale = max(scale, 1)
            let support = filter.support * filterScale
            size = Int(support.rounded(.up)) * 2 + 1
            var pre = [Double](repeating: 0, count: output * size)
            for xx in 0 ..< output {
                let center = (Double(xx) + 0.5) * scale
                let ss = 1 / filterScale
                let lo = max(Int(center - support + 0.5), 0)
                let count = min(Int(center + support + 0.5), input) - lo
                var sum = 0.0
                for x in 0 ..< max(count, 0) {
                    let w = filter.weight((Double(x + lo) - center + 0.5) * ss)
                    pre[xx * size + x] = w
                    sum += w
                }
                if sum != 0 { for x in 0 ..< max(count, 0) { pre[xx * size + x] /= sum } }
                bounds.append((lo, max(count, 0)))
            }
            let one = Double(1 << MtmdPreprocessing.precisionBits)
            weights = pre.map { Int32($0 * one + ($0 < 0 ? -0.5 : 0.5)) }
        }
    }

    static func clip8(_ v: Int32) -> UInt8 { UInt8(clamping: v >> Int32(precisionBits)) }

    static func horizontal(_ src: [UInt8], width: Int, rows: Int, kernel k: Kernel) -> [UInt8] {
        let outWidth = k.bounds.count
        var out = [UInt8](repeating: 0, count: outWidth * rows * 3)
        let half: Int32 = 1 << Int32(precisionBits - 1)
        for y in 0 ..< rows {
            for xx in 0 ..< outWidth {
                let (lo, count) = k.bounds[xx]
                var s0 = half, s1 = half, s2 = half
                for x in 0 ..< count {
                    let w = k.weights[xx * k.size + x], p = (y * width + lo + x) * 3
                    s0 &+= Int32(src[p]) &* w
                    s1 &+= Int32(src[p + 1]) &* w
                    s2 &+= Int32(src[p + 2]) &* w
                }
                let o = (y * outWidth + xx) * 3
                out[o] = clip8(s0)
                out[o + 1] = clip8(s1)
                out[o + 2] = clip8(s2)
            }
        }
        return out
    }

    static func vertical(_ src: [UInt8], rowElements n: Int, kernel k: Kernel) -> [UInt8] {
        let outRows = k.bounds.count
        var out = [UInt8](repeating: 0, count: n * outRows)
        var acc = [Int32](repeating: 0, count: n)
        for yy in 0 ..< outRows {
            let (lo, count) = k.bounds[yy]
            for i in 0 ..< n { acc[i] = 1 << Int32(precisionBits - 1) }
            for y in 0 ..< count {
                let w = k.weights[yy * k.size + y], row = (lo + y) * n
                for i in 0 ..< n { acc[i] &+= Int32(src[row + i]) &* w }
            }
            for i in 0 ..< n { out[yy * n + i] = clip8(acc[i]) }
        }
        return out
    }
}
