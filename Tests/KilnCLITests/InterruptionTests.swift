import Foundation
import GGUFWriter
import KilnCore
import KilnTestSupport
import Testing

/// The built `convert` binary beside the test bundle (`swift test` builds every product into the same directory).
enum BuiltBinary {
    static let directory: String = {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().path
    }()

    static func path(_ name: String) -> String? {
        let p = directory + "/" + name
        return FileManager.default.isExecutableFile(atPath: p) ? p : nil
    }
}

/// A `convert` process started with test hooks (see KilnCore's `TestHooks`), its stderr captured in a file.
final class ConvertProcess {
    let process = Process()
    let stderrPath: String

    init(_ arguments: [String], environment: [String: String] = [:], scratch: String) throws {
        let bin = try #require(BuiltBinary.path("convert"), "convert is not built beside the tests")
        process.executableURL = URL(fileURLWithPath: bin)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { $1 }
        process.environment = env
        stderrPath = scratch + "/stderr-\(UUID().uuidString).txt"
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.standardError = FileHandle(forWritingAtPath: stderrPath)
        process.standardOutput = FileHandle.nullDevice
        try process.run()
    }

    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// Waits (up to 120 s) for the pause announced by KILN_TEST_PAUSE_AFTER_TENSORS.
    func waitForPause() throws {
        let deadline = Date().addingTimeInterval(120)
        while !stderr.contains("kiln-test: paused after") {
            try #require(process.isRunning, "convert exited before the pause: \(stderr)")
            try #require(Date() < deadline, "no pause within 120 s")
            usleep(20_000)
        }
    }

    /// Waits for the exit (at most 300 s; then the process is killed and the test fails instead of hanging).
    func finish() -> Int32 {
        let deadline = Date().addingTimeInterval(300)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            Issue.record("convert did not exit within 300 s: \(stderr)")
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
        return process.terminationStatus
    }
}

/// Interruptions of a real `convert` process (issue 11): SIGINT/SIGTERM remove the temp files and exit non-zero with
/// a message; SIGKILL leaves at most temp files named with the dead process's id, which the next run removes; the
/// mmproj is renamed before the model and both temp files go on failure; an injected ENOSPC leaves nothing behind.
@Suite(.serialized) struct InterruptionTests {
    static let vision = Fixtures.path("gemma3/tiny-kaggle-vision")

    /// Names in `dir`, sorted.
    func contents(_ dir: String) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted() }

    /// Tensors of the text model the vision fixture converts to (the pause counter runs over both outputs).
    static let textTensorCount: Int = {
        let dir = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir) }
        guard let p = try? ConvertProcess([vision, "-o", dir + "/m.gguf"], scratch: dir), p.finish() == 0,
              let f = try? GGUFFile(path: dir + "/m.gguf") else { return -1 }
        return f.tensorInfos.count
    }()

    @Test(arguments: [(SIGINT, Int32(130), "interrupted (SIGINT)"), (SIGTERM, Int32(143), "terminated (SIGTERM)")])
    func signalRemovesTempFiles(_ sig: Int32, _ status: Int32, _ message: String) throws {
        let dir = Fixtures.tempDirectory(), scratch = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir); Fixtures.cleanup(scratch) }
        let p = try ConvertProcess([Self.vision, "-o", dir + "/m.gguf"], environment: ["KILN_TEST_PAUSE_AFTER_TENSORS": "3"], scratch: scratch)
        try p.waitForPause()
        #expect(contents(dir) == [".m.gguf.kiln-tmp.\(p.process.processIdentifier)"])
        kill(p.process.processIdentifier, sig)
        #expect(p.finish() == status)
        #expect(p.process.terminationReason == .exit)
        #expect(p.stderr.contains(message))
        #expect(contents(dir).isEmpty, "left behind: \(contents(dir))")
    }

    /// A conversion of the vision fixture into `dir`, paused two tensors into the mmproj (the text model is
    /// complete but not renamed while the mmproj is written: only the two temp files exist).
    func pausedInTheMMProj(_ dir: String, scratch: String) throws -> ConvertProcess {
        let n = Self.textTensorCount
        try #require(n > 0)
        let p = try ConvertProcess([Self.vision, "-o", dir + "/m.gguf"], environment: ["KILN_TEST_PAUSE_AFTER_TENSORS": "\(n + 2)"], scratch: scratch)
        try p.waitForPause()
        let pid = p.process.processIdentifier
        #expect(contents(dir) == [".m.gguf.kiln-tmp.\(pid)", ".mmproj-m.gguf.kiln-tmp.\(pid)"])
        return p
    }

    @Test func signalDuringTheMMProjRemovesBothTempFiles() throws {
        let dir = Fixtures.tempDirectory(), scratch = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir); Fixtures.cleanup(scratch) }
        let p = try pausedInTheMMProj(dir, scratch: scratch)
        kill(p.process.processIdentifier, SIGINT)
        #expect(p.finish() == 130)
        #expect(contents(dir).isEmpty, "left behind: \(contents(dir))")
    }

    @Test func sigkillLeavesOnlyTempFilesThatTheNextRunRemoves() throws {
        let dir = Fixtures.tempDirectory(), scratch = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir); Fixtures.cleanup(scratch) }
        let p = try pausedInTheMMProj(dir, scratch: scratch)
        let pid = p.process.processIdentifier
        kill(pid, SIGKILL)
        _ = p.finish()
        #expect(p.process.terminationReason == .uncaughtSignal)
        // No output, only the temp files named with the killed process's id.
        #expect(contents(dir) == [".m.gguf.kiln-tmp.\(pid)", ".mmproj-m.gguf.kiln-tmp.\(pid)"])
        // A later run into the same directory removes them and writes both outputs.
        let again = try ConvertProcess([Self.vision, "-o", dir + "/m.gguf"], scratch: scratch)
        #expect(again.finish() == 0, "\(again.stderr)")
        #expect(contents(dir) == ["m.gguf", "mmproj-m.gguf"])
    }

    @Test func injectedDiskFullLeavesNoOutput() throws {
        let dir = Fixtures.tempDirectory(), scratch = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir); Fixtures.cleanup(scratch) }
        let complete = try ConvertProcess([Self.vision, "-o", dir + "/full.gguf"], scratch: scratch)
        try #require(complete.finish() == 0)
        let modelSize = try #require(try FileManager.default.attributesOfItem(atPath: dir + "/full.gguf")[.size] as? Int)
        try FileManager.default.removeItem(atPath: dir + "/full.gguf")
        try FileManager.default.removeItem(atPath: dir + "/mmproj-full.gguf")
        // Fail inside the text model, then inside the mmproj (after the model's temp file was complete).
        for limit in [4096, modelSize + 4096] {
            let p = try ConvertProcess([Self.vision, "-o", dir + "/m.gguf"], environment: ["KILN_TEST_FAIL_WRITE_AFTER": "\(limit)"], scratch: scratch)
            #expect(p.finish() == 1)
            #expect(p.stderr.contains("No space left on device"), "\(p.stderr)")
            #expect(contents(dir).isEmpty, "limit \(limit) left behind: \(contents(dir))")
        }
    }

    @Test func aTempFileOfALiveProcessIsLeftAlone() throws {
        // Only temp files whose process is gone are removed: one named with a live pid (our own parent) stays.
        let dir = Fixtures.tempDirectory(), scratch = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir); Fixtures.cleanup(scratch) }
        let live = ".other.gguf.kiln-tmp.\(getpid())"
        _ = FileManager.default.createFile(atPath: dir + "/" + live, contents: Data([1]))
        let p = try ConvertProcess([Fixtures.path("gemma3/tiny-kaggle"), "-o", dir + "/m.gguf"], scratch: scratch)
        #expect(p.finish() == 0)
        #expect(contents(dir) == [live, "m.gguf"])
    }
}
