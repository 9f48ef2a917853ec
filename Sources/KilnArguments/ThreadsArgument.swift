import ArgumentParser
import Foundation

/// `--threads N` for the commands whose work is split over cores (convert, verify): positive, default all cores.
/// Results never depend on it.
public struct ThreadsArgument: ParsableArguments {
    @Option(help: "Worker threads (default: all cores). Results do not depend on it.")
    public var threads: Int?

    public init() {}

    public func validate() throws {
        if let threads, threads <= 0 { throw ValidationError("--threads must be positive") }
    }

    /// The count to use: the option, else every active core.
    public var count: Int { threads ?? ProcessInfo.processInfo.activeProcessorCount }
}
