import Foundation
import KilnCore
import KilnTestSupport
import RefInference
import Testing

/// Image files through stb_image (Debian's libstb) against libmtmd's own decode of the same files, and damaged files.
/// Goldens: scripts/gen_vision_goldens.py (fixtures/gemma3/vision-goldens.json; libmtmd from llama-cpp-python 0.3.36,
/// which vendors stb_image 2.30, against Debian's 2.27 here).
@Suite struct ImageDecodingTests {
    static let goldens = "gemma3/vision-goldens.json"

    static func decode(_ bytes: [UInt8], path: String) throws(KilnError) -> RGBImage {
        let copy = MappedFile(copying: UnsafeRawBufferPointer(start: bytes, count: bytes.count), path: path)
        return try RGBImage.decode(copy.bytes, path: path)
    }

    static func images() throws -> [[String: Any]] {
        let doc = try #require(try Fixtures.json(goldens) as? [String: Any])
        return try #require(doc["images"] as? [[String: Any]])
    }

    /// Every golden image (PNG RGB, PNG grey, JPEG) decodes to exactly libmtmd's RGB bytes.
    @Test func decodesLikeLibmtmd() throws {
        let images = try Self.images()
        #expect(images.count == 4)
        for entry in images {
            let file = try #require(entry["file"] as? String)
            #expect(try SHA256.hex(ofFile: Fixtures.path(file)) == entry["sha256"] as? String, "\(file) is the file the script wrote")
            let decoded = try #require(entry["decoded"] as? [String: Any])
            let image = try RGBImage.load(path: Fixtures.path(file))
            #expect(image.width == decoded["width"] as? Int && image.height == decoded["height"] as? Int, "\(file)")
            let digest = image.pixels.withUnsafeBytes { SHA256.hex($0) }
            #expect(digest == decoded["rgb_sha256"] as? String, "\(file): pixels differ from libmtmd's decode")
        }
    }

    /// The bundled PPM of the mmproj goldens decodes to the pixels its script generated (a PPM is raw RGB after a
    /// short header, so the decoded bytes are the file's tail).
    @Test func decodesThePPMOfTheMMProjGoldens() throws {
        let path = Fixtures.path("gemma3/mmproj-image.ppm")
        let image = try RGBImage.load(path: path)
        let bytes = try Fixtures.data("gemma3/mmproj-image.ppm")
        #expect(image.width == 224 && image.height == 224)
        #expect(image.pixels == Array(bytes.suffix(224 * 224 * 3)))
    }

    /// Every truncation and 1,000 single-byte corruptions of a PNG and a JPEG: each either decodes to an image of
    /// the announced kind or throws a KilnError naming the file — never a trap. stb_image does not check PNG CRCs, so
    /// many corruptions still decode; truncations into the pixel data must fail.
    @Test func damagedImagesAreTypedErrors() throws {
        for name in ["gemma3/vision-small.png", "gemma3/vision-small.jpg"] {
            let original = [UInt8](try Fixtures.data(name))
            var errors = 0, decoded = 0
            Mutations.forEachDamaged(original) { bytes, damage in
                do throws(KilnError) {
                    let image = try Self.decode(bytes, path: "damaged.img")
                    #expect(image.pixels.count == image.width * image.height * 3, "\(name) \(damage)")
                    decoded += 1
                } catch {
                    #expect(error.file == "damaged.img", "\(name) \(damage): \(error)")
                    #expect([.invalid, .unsupported, .truncated].contains(error.kind), "\(name) \(damage): \(error)")
                    errors += 1
                }
            }
            #expect(errors > original.count / 2, "\(name): \(errors) errors, \(decoded) decoded")
        }
    }

    /// Files that are not images, and the empty file, name the file with the right kind.
    @Test func notAnImage() throws {
        let dir = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir) }
        let text = dir + "/notes.png", empty = dir + "/empty.png"
        try Data("hello, this is not a PNG".utf8).write(to: URL(fileURLWithPath: text))
        try Data().write(to: URL(fileURLWithPath: empty))
        func failure(_ body: () throws(KilnError) -> RGBImage) -> KilnError? {
            do { _ = try body(); return nil } catch { return error }
        }
        let notImage = failure { () throws(KilnError) in try RGBImage.load(path: text) }
        #expect(notImage?.kind == .unsupported && notImage?.file == text && notImage?.message.contains("PNG, JPEG") == true)
        let none = failure { () throws(KilnError) in try RGBImage.load(path: empty) }
        #expect(none?.kind == .truncated && none?.file == empty)
        #expect(failure { () throws(KilnError) in try RGBImage.load(path: dir + "/missing.png") }?.kind == .io)
        // A PNG header announcing 2^30 × 2^30 pixels is refused before anything is allocated.
        var png = [UInt8](try Fixtures.data("gemma3/vision-small.png"))
        png.replaceSubrange(16 ..< 24, with: [0x40, 0, 0, 0, 0x40, 0, 0, 0])
        let huge = failure { () throws(KilnError) in try Self.decode(png, path: "huge.png") }
        #expect(huge?.file == "huge.png" && (huge?.kind == .unsupported || huge?.kind == .invalid), "\(String(describing: huge))")
    }
}
