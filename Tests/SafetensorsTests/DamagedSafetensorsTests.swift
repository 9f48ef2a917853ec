import Foundation
import KilnCore
import KilnTestSupport
import Safetensors
import Testing

/// The safetensors fixtures truncated at every byte offset and corrupted at every byte: a typed error or a file whose
/// every tensor view lies inside it, never a trap.
@Suite struct DamagedSafetensorsTests {
    static var fixtures: [String] {
        let sharded = (try? FileManager.default.contentsOfDirectory(atPath: Fixtures.path("safetensors/sharded"))) ?? []
        return ["safetensors/all-dtypes.safetensors"] + sharded.filter { $0.hasSuffix(".safetensors") }.sorted().map { "safetensors/sharded/" + $0 }
    }

    static func check(_ bytes: [UInt8], _ how: String) {
        let file = bytes.withUnsafeBytes { MappedFile(copying: $0, path: "damaged.safetensors") }
        do {
            let s = try SafetensorsFile(mapped: file)
            for t in s.tensors {
                #expect(Mutations.isInside(s.data(of: t), file.bytes), "\(how): \(t.name) outside the file")
                _ = (t.elementCount, t.elementsPerRow, t.bytesPerRow)   // shape products must not overflow
            }
        } catch {
            // A typed KilnError (these readers throw nothing else): the expected outcome for damaged input.
        }
    }

    @Test func truncatedAndCorrupted() throws {
        #expect(Self.fixtures.count >= 2)
        for name in Self.fixtures {
            Mutations.forEachDamaged([UInt8](try Fixtures.data(name)), corruptions: 4096) { Self.check($0, "\(name) \($1)") }
        }
    }
}
