import Foundation
import GGUFWriter
import KilnCore
import KilnTestSupport
import Testing

/// The gguf-py fixtures truncated at every byte offset and corrupted at every byte: a typed error or a file whose
/// every tensor view lies inside it, never a trap.
@Suite struct DamagedGGUFTests {
    static let fixtures = ["gguf/all-value-types.gguf", "gguf/aligned64.gguf"]

    static func check(_ bytes: [UInt8], _ how: String) {
        let file = bytes.withUnsafeBytes { MappedFile(copying: $0, path: "damaged.gguf") }
        do {
            let g = try GGUFFile(mapped: file)
            for info in g.tensorInfos { #expect(Mutations.isInside(g.data(of: info), file.bytes), "\(how): \(info.name) outside the file") }
        } catch {
            // A typed KilnError (these readers throw nothing else): the expected outcome for damaged input.
        }
    }

    @Test(arguments: fixtures)
    func truncatedAndCorrupted(_ name: String) throws {
        Mutations.forEachDamaged([UInt8](try Fixtures.data(name)), corruptions: 4096) { Self.check($0, "\(name) \($1)") }
    }
}
