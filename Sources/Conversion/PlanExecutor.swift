import Dispatch
import Foundation
import GGUFWriter
import KilnCore
import QuantCore
import Synchronization

/// What a conversion did, for the closing summary.
public struct ConversionReport: Sendable {
    public var tensors = 0
    public var bytes = 0
    public var losslessTensors = 0
    public var qat = QATGrid.Stats()
    public var seconds = 0.0
}

/// Executes a plan: tensor by tensor, in row blocks of bounded size, quantizing each block on `threads` threads and
/// appending the bytes to a streaming GGUF writer. The bytes do not depend on the thread count.
public struct PlanExecutor {
    public var threads: Int
    /// Values per row block (bounds memory for streamable tensors).
    public var blockValues = 1 << 22
    public var progress: ProgressBar?

    public init(threads: Int, progress: ProgressBar? = nil) {
        self.threads = max(1, threads)
        self.progress = progress
    }

    public func write(plan: ConversionPlan, source: any TensorSource, metadata: [GGUFMetadataEntry], to path: String,
                      inputs: [String]) throws -> ConversionReport {
        let (report, output) = try writePending(plan: plan, source: source, metadata: metadata, to: path, inputs: inputs)
        try output.commit()
        return report
    }

    /// Like `write`, but the output is left complete and unrenamed: the caller commits it (or drops it, which
    /// removes it), so that several outputs can appear together.
    public func writePending(plan: ConversionPlan, source: any TensorSource, metadata: [GGUFMetadataEntry], to path: String,
                             inputs: [String]) throws -> (report: ConversionReport, output: AtomicOutputFile) {
        let start = Date()
        let infos = plan.tensors.map { GGUFTensorInfo(name: $0.tensor.name, ne: $0.tensor.ne, type: $0.type) }
        let writer = try GGUFStreamWriter(path: path, metadata: metadata, tensors: infos, inputs: inputs)
        var report = ConversionReport()

        // A reader thread decodes source rows ahead of us (bounded), while this thread quantizes and writes.
        let queue = BlockQueue(limitBytes: 4 * blockValues * 4)
        let done = DispatchSemaphore(value: 0)
        let reader = Thread { [blockValues] in
            PlanExecutor.produce(plan, source: source, into: queue, blockValues: blockValues)
            done.signal()
        }
        reader.stackSize = 1 << 20
        reader.start()
        defer {
            queue.cancel()
            done.wait()  // the reader must be finished before `source` may go away
        }

        var lossless = Set<Int>()
        consume: while true {
            switch queue.pop() {
            case .rows(let index, let firstRow, let values):
                let p = plan.tensors[index]
                do {
                    try values.withUnsafeBufferPointer { all in
                        let rowLength = p.tensor.rowLength
                        let rowsPerBlock = max(1, blockValues / rowLength)
                        var r = 0
                        let rows = all.count / rowLength
                        while r < rows {
                            let n = min(rowsPerBlock, rows - r)
                            let bytes = try encodeBlock(p, UnsafeBufferPointer(rebasing: all[r * rowLength ..< (r + n) * rowLength]),
                                                        firstRow: firstRow + r, report: &report)
                            try bytes.withUnsafeBytes { try writer.write($0) }
                            r += n
                        }
                    }
                } catch let e as KilnError {
                    throw e.inTensor(p.tensor.name)
                }
                if p.mode == .qatLossless { lossless.insert(index) }
            case .passthrough(let index):
                let p = plan.tensors[index]
                do {
                    let info = try source.tensor(named: p.tensor.source)
                    let rowsPerBlock = max(1, blockValues / max(info.elementsPerRow, 1))
                    var r = 0
                    while r < info.rowCount {
                        let n = min(rowsPerBlock, info.rowCount - r)
                        try source.withBytes(of: info, rows: r ..< r + n) { try writer.write($0) }
                        r += n
                    }
                } catch let e as KilnError {
                    throw e.inTensor(p.tensor.name)
                }
                report.tensors += 1
                report.bytes += p.byteCount
                progress?.advance(p.tensor.elementCount, note: p.tensor.name)
                TestHooks.tensorWritten()
            case .tensorDone(let index):
                let p = plan.tensors[index]
                report.tensors += 1
                report.bytes += p.byteCount
                progress?.advance(p.tensor.elementCount, note: p.tensor.name)
                TestHooks.tensorWritten()
            case .failed(let error):
                throw error
            case .end:
                break consume
            }
        }
        report.losslessTensors = lossless.count
        let output = try writer.finishPending()
        progress?.finish()
        report.seconds = Date().timeIntervalSince(start)
        return (report, output)
    }

    /// The reader: decodes each planned tensor's rows (row blocks for streamable tensors, whole tensors otherwise)
    /// and queues them in plan order. Stops at the first error (queued as `.failed`) or when the consumer cancels.
    static func produce(_ plan: ConversionPlan, source: any TensorSource, into queue: BlockQueue, blockValues: Int) {
        do {
            for (index, p) in plan.tensors.enumerated() {
                guard !queue.isCancelled else { return }
                if p.mode == .passthrough {
                    queue.push(.passthrough(index: index))
                    continue
                }
                let producer: RowProducer
                do { producer = try RowProducer(source: source, tensor: p.tensor) } catch let e as KilnError { throw e.inTensor(p.tensor.name) }
                if producer.streams {
                    let rowLength = p.tensor.rowLength, rows = p.tensor.rowCount
                    let rowsPerBlock = max(1, blockValues / rowLength)
                    var r = 0
                    while r < rows {
                        let n = min(rowsPerBlock, rows - r)
                        var values = [Float](repeating: 0, count: n * rowLength)
                        do {
                            try values.withUnsafeMutableBufferPointer { try producer.rows(r ..< r + n, into: $0) }
                        } catch let e as KilnError { throw e.inTensor(p.tensor.name) }
                        guard queue.push(.rows(index: index, firstRow: r, values: values)) else { return }
                        r += n
                    }
                } else {
                    let values: [Float]
                    do { values = try producer.all() } catch let e as KilnError { throw e.inTensor(p.tensor.name) }
                    guard queue.push(.rows(index: index, firstRow: 0, values: values)) else { return }
                }
                queue.push(.tensorDone(index: index))
            }
            queue.push(.end)
        } catch {
            queue.push(.failed(error))
        }
    }

    /// Encodes `values` (whole rows) on `threads` threads, each taking a contiguous run of rows.
    private func encodeBlock(_ p: PlannedTensor, _ values: UnsafeBufferPointer<Float>, firstRow: Int,
                             report: inout ConversionReport) throws -> [UInt8] {
        let rowLength = p.tensor.rowLength
        let rows = values.count / rowLength
        let rowBytes = p.type.byteCount(elements: rowLength)!
        var out = [UInt8](repeating: 0, count: rows * rowBytes)
        let parts = min(threads, rows)
        let results = Mutex([Int: Result<QATGrid.Stats, KilnError>]())
        out.withUnsafeMutableBytes { dst in
            let src = SendablePointers(values: values, out: dst)
            DispatchQueue.concurrentPerform(iterations: parts) { part in
                let r0 = rows * part / parts, r1 = rows * (part + 1) / parts
                let x = UnsafeBufferPointer(rebasing: src.values[r0 * rowLength ..< r1 * rowLength])
                let y = UnsafeMutableRawBufferPointer(rebasing: src.out[r0 * rowBytes ..< r1 * rowBytes])
                let result: Result<QATGrid.Stats, KilnError>
                switch p.mode {
                case .qatLossless:
                    switch QATGrid.packQ4_0(x, into: y) {
                    case .success(let s): result = .success(s)
                    case .failure(let miss):
                        let blocksPerRow = rowLength / 32
                        let block = r0 * blocksPerRow + miss.block
                        let row = firstRow + block / blocksPerRow, column = (block % blocksPerRow) * 32
                        result = .failure(KilnError(.numeric, "not on an int4 grid (first off-grid block: row \(row), columns \(column)..<\(column + 32), relative deviation \(miss.worstDeviation)); choose a type for it with --type or --tensor-type '\(p.tensor.name)=TYPE'"))
                    }
                default:
                    do throws(KilnError) {
                        try Quantizer.quantize(p.type, x, rowLength: rowLength, into: y)
                        result = .success(QATGrid.Stats())
                    } catch {
                        result = .failure(error)
                    }
                }
                results.withLock { $0[part] = result }
            }
        }
        let all = results.withLock { $0 }
        for part in 0 ..< parts {
            switch all[part]! {
            case .success(let s): report.qat.merge(s)
            case .failure(let e): throw e
            }
        }
        return out
    }
}

/// Raw buffers handed to worker threads; each worker touches a disjoint range.
private struct SendablePointers: @unchecked Sendable {
    let values: UnsafeBufferPointer<Float>
    let out: UnsafeMutableRawBufferPointer
}
