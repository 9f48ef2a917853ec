import CStb
import KilnCore

/// An 8-bit RGB image, rows top to bottom, pixels `R G B` interleaved (llama.cpp's `clip_image_u8`).
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// `height × width × 3` bytes.
    public let pixels: [UInt8]

    /// The largest image Kiln decodes (128 Mi pixels, 384 MiB of RGB): far beyond any photo, small enough that a
    /// header announcing absurd dimensions is refused before anything is allocated.
    public static let maxPixels = 1 << 27

    public init(width: Int, height: Int, pixels: [UInt8]) throws(KilnError) {
        guard width > 0, height > 0, let n = Checked.product(width, height), n <= Self.maxPixels, pixels.count == n * 3 else {
            throw KilnError(.invalid, "an RGB image of \(width)×\(height) cannot hold \(pixels.count) bytes")
        }
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// Decodes the image file at `path` with stb_image (Debian's libstb), the decoder llama.cpp's libmtmd uses
    /// (`mtmd_helper_bitmap_init_from_buf` → `stbi_load_from_memory(buf, len, &nx, &ny, &nc, 3)`), so the same file
    /// gives the same pixels on both sides: PNG (8/16-bit, palette, grey, alpha dropped), JPEG (baseline and
    /// progressive), BMP, GIF (first frame), PSD, PIC, PNM, TGA and HDR, converted to 8-bit RGB.
    ///
    /// A file stb_image does not recognise is `.unsupported`; a recognised but corrupt or truncated one is `.invalid`
    /// with stb_image's reason; both name the file.
    public static func load(path: String) throws(KilnError) -> RGBImage {
        let file = try MappedFile(path: path)
        return try decode(file.bytes, path: path)
    }

    /// Decodes an image held in memory (`path` names it in errors).
    public static func decode(_ bytes: UnsafeRawBufferPointer, path: String) throws(KilnError) -> RGBImage {
        guard let base = bytes.baseAddress, bytes.count > 0 else {
            throw KilnError(.truncated, "the image file is empty", file: path)
        }
        guard let length = Int32(exactly: bytes.count) else {
            throw KilnError(.unsupported, "image files over 2 GiB are not decoded (stb_image takes an int length)", file: path)
        }
        let data = base.assumingMemoryBound(to: stbi_uc.self)
        var w: Int32 = 0, h: Int32 = 0, channels: Int32 = 0
        guard stbi_info_from_memory(data, length, &w, &h, &channels) != 0 else {
            let reason = failureReason()
            if reason == "unknown image type" {
                throw KilnError(.unsupported, "not an image format stb_image decodes (PNG, JPEG, BMP, GIF, PSD, PIC, PNM, TGA, HDR)",
                                file: path)
            }
            throw KilnError(.invalid, "cannot read the image header: \(reason) (corrupt or truncated image)", file: path)
        }
        guard w > 0, h > 0, let n = Checked.product(Int(w), Int(h)), n <= maxPixels else {
            throw KilnError(.unsupported, "a \(w)×\(h) image is larger than the \(maxPixels) pixels Kiln decodes", file: path)
        }
        guard let decoded = stbi_load_from_memory(data, length, &w, &h, &channels, 3) else {
            throw KilnError(.invalid, "cannot decode the image: \(failureReason()) (corrupt or truncated image)", file: path)
        }
        defer { stbi_image_free(decoded) }
        guard w > 0, h > 0, let n = Checked.product(Int(w), Int(h)), n <= maxPixels else {
            throw KilnError(.invalid, "stb_image returned a \(w)×\(h) image", file: path)
        }
        let pixels = Array(UnsafeBufferPointer(start: decoded, count: n * 3))
        return try RGBImage(width: Int(w), height: Int(h), pixels: pixels)
    }

    /// stb_image's (thread-local) reason for its last failure.
    static func failureReason() -> String {
        guard let r = stbi_failure_reason() else { return "unknown error" }
        return String(cString: r)
    }
}
