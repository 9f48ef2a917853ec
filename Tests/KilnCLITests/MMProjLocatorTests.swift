import Foundation
import KilnCLI
import KilnCore
import KilnTestSupport
import Testing

/// The mmproj discovery rule (LM Studio's, and the name `convert` writes): `mmproj-<model name>.gguf` beside the
/// model, else the only `mmproj*.gguf` in its folder, else none; `--mmproj` wins.
@Suite struct MMProjLocatorTests {
    func touch(_ path: String) { FileManager.default.createFile(atPath: path, contents: Data()) }

    @Test func discoveryRule() throws {
        let dir = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir) }
        let model = dir + "/gemma-12b-q4_0.gguf"
        touch(model)
        #expect(try MMProjLocator.find(model: model, explicit: nil) == nil)
        #expect(throws: KilnError.self) { try MMProjLocator.require(model: model, explicit: nil) }
        touch(dir + "/mmproj-F16.gguf")
        #expect(try MMProjLocator.find(model: model, explicit: nil) == dir + "/mmproj-F16.gguf")
        touch(dir + "/mmproj-other.gguf")
        do {
            _ = try MMProjLocator.find(model: model, explicit: nil)
            Issue.record("two candidates were not refused")
        } catch {
            #expect(error.kind == .usage && error.message.contains("mmproj-F16.gguf, mmproj-other.gguf"))
        }
        touch(dir + "/mmproj-gemma-12b-q4_0.gguf")
        #expect(try MMProjLocator.find(model: model, explicit: nil) == dir + "/mmproj-gemma-12b-q4_0.gguf")
        #expect(try MMProjLocator.find(model: model, explicit: dir + "/mmproj-other.gguf") == dir + "/mmproj-other.gguf")
        #expect(throws: KilnError.self) { try MMProjLocator.find(model: model, explicit: dir + "/missing.gguf") }
    }
}
