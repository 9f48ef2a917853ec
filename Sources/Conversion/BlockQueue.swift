import Foundation

/// A bounded hand-off between the thread that reads and decodes source tensors and the one that quantizes and
/// writes, so decompression of the next block overlaps the encoding of the current one. Bounded by bytes: the
/// producer waits while the queued blocks hold more than `limitBytes` (a single larger block is always allowed).
final class BlockQueue: @unchecked Sendable {
    enum Item {
        /// Output rows `firstRow...` of plan tensor `index`, as float32 values in GGUF row order.
        case rows(index: Int, firstRow: Int, values: [Float])
        /// Plan tensor `index` is copied byte for byte from the source by the consumer.
        case passthrough(index: Int)
        /// Every row of plan tensor `index` has been queued.
        case tensorDone(index: Int)
        case failed(any Error)
        case end
    }

    private let condition = NSCondition()
    private var items: [Item] = []
    private var queuedBytes = 0
    private var cancelled = false
    private let limitBytes: Int

    init(limitBytes: Int) { self.limitBytes = limitBytes }

    private static func size(_ item: Item) -> Int {
        if case .rows(_, _, let v) = item { return v.count * 4 }
        return 0
    }

    /// Queues `item`, waiting for room; returns false once the consumer has cancelled.
    @discardableResult
    func push(_ item: Item) -> Bool {
        let n = Self.size(item)
        condition.lock()
        defer { condition.unlock() }
        while !cancelled && queuedBytes > 0 && queuedBytes + n > limitBytes { condition.wait() }
        guard !cancelled else { return false }
        items.append(item)
        queuedBytes += n
        condition.broadcast()
        return true
    }

    /// The next item, waiting for one.
    func pop() -> Item {
        condition.lock()
        defer { condition.unlock() }
        while items.isEmpty { condition.wait() }
        let item = items.removeFirst()
        queuedBytes -= Self.size(item)
        condition.broadcast()
        return item
    }

    /// Stops the producer (its next push returns false) and drops what is queued.
    func cancel() {
        condition.lock()
        cancelled = true
        items.removeAll()
        queuedBytes = 0
        condition.broadcast()
        condition.unlock()
    }

    var isCancelled: Bool {
        condition.lock()
        defer { condition.unlock() }
        return cancelled
    }
}
