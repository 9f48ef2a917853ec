import Foundation

/// A decoded chunk kept between row-range reads; freed when the cache drops it.
final class DecodedChunk: @unchecked Sendable {
    let buffer: UnsafeMutableRawBufferPointer
    init(bytes: Int) {
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes, 1), alignment: 64)
    }
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(buffer) }
    deinit { buffer.deallocate() }
}

/// Keeps the decoded chunks of one chunk row (the one a streaming read stopped inside), so that reading an array
/// in consecutive row ranges decodes each chunk once. Holds at most one band of chunks of one array.
final class ChunkCache: @unchecked Sendable {
    private let lock = NSLock()
    private var array = ""
    private var band = -1
    private var chunks: [[Int]: DecodedChunk] = [:]
    /// Chunk decodes avoided (for tests and benchmarks).
    private(set) var hits = 0

    func lookup(_ name: String, _ index: [Int]) -> DecodedChunk? {
        lock.lock()
        defer { lock.unlock() }
        guard name == array, let c = chunks[index] else { return nil }
        hits += 1
        return c
    }

    /// Remembers chunk `index` of `name`; entries of another array or chunk row are dropped first.
    func store(_ name: String, _ index: [Int], _ chunk: DecodedChunk) {
        lock.lock()
        defer { lock.unlock() }
        let row = index.first ?? 0
        if name != array || row != band {
            chunks.removeAll()
            array = name
            band = row
        }
        chunks[index] = chunk
    }

    private var stream: ZstdChunkStream?

    /// Row-range reads that continued an open zstd stream (for tests and benchmarks).
    private(set) var streamContinuations = 0

    /// The open stream of `name` if it stands exactly at `position` decoded bytes.
    func stream(_ name: String, at position: Int) -> ZstdChunkStream? {
        lock.lock()
        defer { lock.unlock() }
        guard let s = stream, s.name == name, s.position == position else { return nil }
        streamContinuations += 1
        return s
    }

    /// Keeps `s` for the next row range (replacing any other); nil drops it.
    func keepStream(_ s: ZstdChunkStream?) {
        lock.lock()
        stream = s
        lock.unlock()
    }

    func clear() {
        lock.lock()
        chunks.removeAll()
        array = ""
        band = -1
        stream = nil
        lock.unlock()
    }
}
