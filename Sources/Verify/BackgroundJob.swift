import Foundation
import KilnCore
import Synchronization

/// Runs a closure on a thread of its own while the caller goes on; `wait()` returns its result or rethrows its error.
/// For verify's independent forward passes (each deterministic on its own, so running them side by side changes
/// their timing only).
final class BackgroundJob<T>: @unchecked Sendable {
    private var result: Result<T, any Error>?
    private let done = DispatchSemaphore(value: 0)

    init(_ body: @escaping () throws -> T) {
        let work = UncheckedBox(body)
        let thread = Thread { [self] in
            result = Result { try work.value() }
            done.signal()
        }
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// Blocks until the closure has returned (once).
    func wait() throws -> T {
        done.wait()
        done.signal()
        return try result!.get()
    }
}

/// Moves a value that is only touched by one thread at a time across a thread boundary.
private struct UncheckedBox<V>: @unchecked Sendable {
    let value: V
    init(_ value: V) { self.value = value }
}

/// One progress bar for passes that run side by side: each pass reports `done` of its own `total` units, and the bar
/// shows the passes' mean fraction (a terminal has one line for it).
final class PassProgress: Sendable {
    private static let scale = 1000
    private let bar: ProgressBar
    private let done: Mutex<[Int]>

    init(passes: Int, enabled: Bool) {
        bar = ProgressBar("forward passes", total: passes * Self.scale, enabled: enabled)
        done = Mutex([Int](repeating: 0, count: passes))
    }

    func report(_ pass: Int, _ units: Int, _ total: Int) {
        let now = total > 0 ? min(Self.scale, units * Self.scale / total) : Self.scale
        let delta = done.withLock { d in
            let step = max(0, now - d[pass])
            d[pass] += step
            return step
        }
        if delta > 0 { bar.advance(delta) }
    }

    func finish() { bar.finish() }
}
