import CKernels
import KilnCore
import QuantCore

/// How a matrix product runs.
public enum MatMulMode: Sendable, Equatable {
    /// Integer dot products on the stored blocks against activations quantized the way llama.cpp's CPU backend
    /// quantizes them (Q8_0 for Q4_0/Q5_0/Q8_0, Q8_1 for Q4_1/Q5_1, Q8_K for K-quants, f16 for F16); C SIMD kernels
    /// (`ck_matmul`, which also follows llama.cpp's per-type choice of repacked, tiled or vec_dot path).
    case fast
    /// Plain Swift loops over dequantized weight rows, activations rounded exactly as in `.fast`.
    case referenceEmulated
    /// Plain Swift loops over dequantized weight rows and float activations (no rounding emulation).
    case referencePlain
}

/// Activation rows made ready for one weight matrix (quantized, rounded or copied). Immutable once built.
public final class PreparedActivations: @unchecked Sendable {
    /// Number of activation rows.
    public let batch: Int
    /// Bytes per row in `storage`.
    let rowBytes: Int
    /// True when rows are in the C kernels' activation format (`.fast`); false for float rows of the reference path.
    let kernelReady: Bool
    let storage: UnsafeMutableRawPointer
    /// Reference path with Q8_1 rounding only: each 32-block's s as ggml's Q8_1 stores it (`ActivationRounding.roundTrip`),
    /// `batch` rows of `blocksPerRow`.
    let blockSums: UnsafeMutablePointer<Float>?

    init(batch: Int, rowBytes: Int, kernelReady: Bool, blocksPerRow: Int = 0) {
        self.batch = batch
        self.rowBytes = rowBytes
        self.kernelReady = kernelReady
        storage = .allocate(byteCount: max(1, batch * rowBytes), alignment: 64)
        blockSums = blocksPerRow > 0 ? .allocate(capacity: batch * blocksPerRow) : nil
    }

    deinit {
        storage.deallocate()
        blockSums?.deallocate()
    }

    var floats: UnsafeMutablePointer<Float> { storage.assumingMemoryBound(to: Float.self) }
}

/// A weight matrix `W[rows, columns]` that multiplies activation rows: `y[b][r] = Σ_c W[r][c] · x[b][c]`.
///
/// The engine talks to weights only through this protocol, so a model can run from memory-mapped GGUF blocks
/// (`QuantizedWeightMatrix`) or from float weights of any source (`FloatWeightMatrix`).
public protocol WeightMatrix: Sendable {
    /// Output features.
    var rows: Int { get }
    /// Input features.
    var columns: Int { get }
    /// The storage type, for reports ("Q4_K", "F32", ...).
    var typeName: String { get }
    /// What `prepare` produces in `mode`: matrices with equal formats accept each other's prepared activations.
    func activationFormat(mode: MatMulMode) -> ActivationFormat
    /// Converts `batch` rows of `columns` floats into what `multiply` consumes, the rows split between `threads`
    /// (each row is converted on its own, so the result does not depend on the split).
    func prepare(_ x: UnsafePointer<Float>, batch: Int, mode: MatMulMode, threads: Int) -> PreparedActivations
    /// Computes output rows `rows` for every prepared activation row into `y[b * ldo + r]`.
    /// Safe to call concurrently for disjoint row ranges.
    func multiply(_ input: PreparedActivations, rows: Range<Int>, into y: UnsafeMutablePointer<Float>, ldo: Int)
    /// Row `r` as floats (embedding lookup).
    func copyRow(_ r: Int, into out: UnsafeMutablePointer<Float>)
}

extension WeightMatrix {
    /// `prepare` on one thread.
    public func prepare(_ x: UnsafePointer<Float>, batch: Int, mode: MatMulMode) -> PreparedActivations {
        prepare(x, batch: batch, mode: mode, threads: 1)
    }

    /// `x @ Wᵀ` for `batch = x.count / columns` rows, parallel over output rows (`[batch][rows]`).
    public func apply(to x: [Float], mode: MatMulMode, threads: Int) -> [Float] {
        let batch = x.count / columns
        let prepared = x.withUnsafeBufferPointer { prepare($0.baseAddress!, batch: batch, mode: mode, threads: threads) }
        var y = [Float](repeating: 0, count: batch * rows)
        let rows = self.rows
        y.withUnsafeMutableBufferPointer { yb in
            let out = SendablePointer(yb.baseAddress!)
            parallelRanges(rows, threads: threads, align: 16) { r in
                multiply(prepared, rows: r, into: out.p, ldo: rows)
            }
        }
        return y
    }
}

/// Activation rounding shared by both implementations.
enum ActivationRounding {
    /// The activation format llama.cpp's CPU backend uses for a weight type (`vec_dot_type`).
    static func dotType(for weight: GGMLType) -> GGMLType {
        switch weight {
        case .f32: .f32
        case .f16: .f16
        case .bf16: .bf16   // ggml-cpu: BF16 rows dot BF16 activations, products and sums in float
        case .q4_0, .q5_0, .q8_0, .iq4_nl: .q8_0
        case .q4_1, .q5_1: .q8_1   // Q8_0's values plus each block's s, which stands in for Σx against the weights' min
        default: .q8_K
        }
    }

    /// Rounds `n` floats in place as `dotType` quantization followed by dequantization would. For Q8_1, `blockSums`
    /// (n / 32 floats) receives each block's s as ggml stores it: f16(d·Σq) with the float d, which is not Σ of the
    /// rounded values (those use the f16 d).
    static func roundTrip(_ x: UnsafeMutablePointer<Float>, count n: Int, dotType: GGMLType, blockSums: UnsafeMutablePointer<Float>? = nil) {
        switch dotType {
        case .f16: ck_round_f16(x, Int64(n))
        case .bf16: ck_round_bf16(x, Int64(n))
        case .q8_1:
            // block_q8_1: half d, half s, int8 qs[32]
            let tmp = UnsafeMutableRawPointer.allocate(byteCount: dotType.byteCount(elements: n)!, alignment: 64)
            defer { tmp.deallocate() }
            ck_quantize_q8_1(x, tmp, Int64(n))
            for i in 0 ..< n / 32 {
                let blk = tmp + 36 * i
                let d = half(blk, 0)
                for j in 0 ..< 32 { x[32 * i + j] = d * Float(blk.load(fromByteOffset: 4 + j, as: Int8.self)) }
                blockSums?[i] = half(blk, 2)
            }
        case .q8_0, .q8_K:
            let bytes = dotType.byteCount(elements: n)!
            let tmp = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
            defer { tmp.deallocate() }
            if dotType == .q8_0 { ck_quantize_q8_0(x, tmp, Int64(n)) } else { ck_quantize_q8_K(x, tmp, Int64(n)) }
            try! Quantizer.dequantize(.ggml(dotType), UnsafeRawBufferPointer(start: tmp, count: bytes), count: n,
                                      into: UnsafeMutableBufferPointer(start: x, count: n))
        default: break
        }
    }

    /// The IEEE half at `p + offset` (little-endian), widened exactly.
    static func half(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
        Float(Float16(bitPattern: UInt16(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self))))
    }
}

/// A weight matrix computed directly on GGUF blocks (any QuantCore type), typically a view into a memory mapping.
public struct QuantizedWeightMatrix: WeightMatrix, @unchecked Sendable {
    public let rows: Int
    public let columns: Int
    public let type: GGMLType
    let base: UnsafeRawPointer
    let rowBytes: Int
    /// How the blocks are arranged in `base`.
    let layout: QuantizedLayout
    /// Keeps the mapping alive.
    let owner: AnyObject?

    /// `bytes` holds `rows` rows of `columns` elements of `type` (ggml `ne = [columns, rows]`), arranged as `layout` says.
    public init(type: GGMLType, rows: Int, columns: Int, bytes: UnsafeRawBufferPointer, owner: AnyObject?, name: String = "",
                layout: QuantizedLayout = .rows) throws(KilnError) {
        guard Quantizer.canDequantize(ElementType(ggml: type)) else {
            throw KilnError(.unsupported, "the engine cannot compute with \(type.name) weights", tensor: name)
        }
        guard columns % type.blockSize == 0, let rb = type.byteCount(elements: columns),
              let total = Checked.product(rb, rows), total <= bytes.count, let p = bytes.baseAddress else {
            throw KilnError(.invalid, "\(rows)×\(columns) \(type.name) needs more bytes than the \(bytes.count) stored", tensor: name)
        }
        // Activations are quantized in whole blocks of the dot type (Q8_K: 256); a row that does not fill them
        // cannot be multiplied the way llama.cpp would, so it is refused here instead of trapping later.
        let dot = ActivationRounding.dotType(for: type)
        guard columns % dot.blockSize == 0 else {
            throw KilnError(.unsupported, "\(type.name) rows of \(columns) elements: activations would need whole \(dot.name) blocks of \(dot.blockSize)",
                            tensor: name)
        }
        self.rows = rows
        self.columns = columns
        self.type = type
        self.base = p
        if layout != .rows {
            guard layout.storedType == type, rows % 8 == 0, let gb = layout.groupBytes(columns: columns), columns > 0,
                  let total = Checked.product(gb, rows / 8), total <= bytes.count else {
                throw KilnError(.invalid, "\(rows)×\(columns) \(type.name) cannot be held as \(layout) in \(bytes.count) bytes", tensor: name)
            }
        }
        self.rowBytes = rb
        self.layout = layout
        self.owner = owner
    }

    public var typeName: String { type.name }

    var fastSupported: Bool { ck_supports(type.id) != 0 }

    public func activationFormat(mode: MatMulMode) -> ActivationFormat {
        let kernel = mode == .fast && fastSupported
        let rounded = kernel || mode == .referenceEmulated
        return ActivationFormat(typeID: rounded ? Int(ActivationRounding.dotType(for: type).id) : -1, columns: columns, kernelReady: kernel)
    }

    public func prepare(_ x: UnsafePointer<Float>, batch: Int, mode: MatMulMode, threads: Int) -> PreparedActivations {
        let dot = ActivationRounding.dotType(for: type)
        if mode == .fast && fastSupported {
            let rb = dot.byteCount(elements: columns)!, columns = columns
            let p = PreparedActivations(batch: batch, rowBytes: rb, kernelReady: true)
            let src = SendablePointer(UnsafeMutablePointer(mutating: x)), dst = SendableRawPointer(p.storage)
            forRows(batch, width: columns, threads: threads) { rows in
                for b in rows {
                    let x = src.p + b * columns, y = dst.p + b * rb
                    switch dot {
                    case .q8_0: ck_quantize_q8_0(x, y, Int64(columns))
                    case .q8_1: ck_quantize_q8_1(x, y, Int64(columns))
                    case .q8_K: ck_quantize_q8_K(x, y, Int64(columns))
                    case .f16: ck_f32_to_f16(x, y.assumingMemoryBound(to: UInt16.self), Int64(columns))
                    case .bf16: ck_f32_to_bf16(x, y.assumingMemoryBound(to: UInt16.self), Int64(columns))
                    default: y.copyMemory(from: x, byteCount: rb)
                    }
                }
            }
            return p
        }
        let nb = columns / 32
        let p = PreparedActivations(batch: batch, rowBytes: columns * 4, kernelReady: false,
                                    blocksPerRow: mode != .referencePlain && dot == .q8_1 ? nb : 0)
        p.floats.update(from: x, count: batch * columns)
        if mode != .referencePlain {
            for b in 0 ..< batch {
                ActivationRounding.roundTrip(p.floats + b * columns, count: columns, dotType: dot, blockSums: p.blockSums.map { $0 + b * nb })
            }
        }
        return p
    }

    public func multiply(_ input: PreparedActivations, rows range: Range<Int>, into y: UnsafeMutablePointer<Float>, ldo: Int) {
        if input.kernelReady {
            ck_matmul(layout.kernelType(type), base, rowBytes, Int32(rows), Int32(range.lowerBound), Int32(range.upperBound), Int32(columns),
                      input.storage, input.rowBytes, Int32(input.batch), y, Int32(ldo))
            return
        }
        if let sums = input.blockSums {
            multiplyWithMins(input, blockSums: sums, rows: range, into: y, ldo: ldo)
            return
        }
        // Reference: dequantize each row, then a plain sequential dot product per activation row.
        let w = UnsafeMutablePointer<Float>.allocate(capacity: columns)
        defer { w.deallocate() }
        for r in range {
            copyRow(r, into: w)
            for b in 0 ..< input.batch {
                let x = input.floats + b * columns
                var s: Float = 0
                for c in 0 ..< columns { s += w[c] * x[c] }
                y[b * ldo + r] = s
            }
        }
    }

    /// Reference for Q4_1/Q5_1 weights against Q8_1 activations, the per-block formula of ggml's
    /// `ggml_vec_dot_q4_1_q8_1` / `ggml_vec_dot_q5_1_q8_1`: a weight is d·q + m, and llama.cpp computes Σ (d·q + m)·x
    /// as Σ_blocks (Σ_j (d·q_j)·x_j + m·s) with the block's stored s = f16(d_x·Σq_x) in place of Σ_j x_j. Here in
    /// plain sequential float sums over dequantized values (d·q from QuantCore, with the block's m field zeroed: both
    /// block layouts begin `half d; half m`), so only the summation order differs from the kernel.
    func multiplyWithMins(_ input: PreparedActivations, blockSums: UnsafeMutablePointer<Float>, rows range: Range<Int>,
                          into y: UnsafeMutablePointer<Float>, ldo: Int) {
        precondition(type == .q4_1 || type == .q5_1, "Q8_1 block sums for \(type.name) weights")
        let nb = columns / 32, bb = type.typeSize
        let scaled = UnsafeMutablePointer<Float>.allocate(capacity: columns), mins = UnsafeMutablePointer<Float>.allocate(capacity: nb)
        let row = UnsafeMutableRawPointer.allocate(byteCount: rowBytes, alignment: 16)
        defer { scaled.deallocate(); mins.deallocate(); row.deallocate() }
        for r in range {
            row.copyMemory(from: base + r * rowBytes, byteCount: rowBytes)
            for i in 0 ..< nb {
                mins[i] = ActivationRounding.half(row, i * bb + 2)
                row.storeBytes(of: 0, toByteOffset: i * bb + 2, as: UInt16.self)
            }
            try! Quantizer.dequantize(ElementType(ggml: type), UnsafeRawBufferPointer(start: row, count: rowBytes), count: columns,
                                      into: UnsafeMutableBufferPointer(start: scaled, count: columns))
            for b in 0 ..< input.batch {
                let x = input.floats + b * columns, s = blockSums + b * nb
                var sum: Float = 0
                for i in 0 ..< nb {
                    var t: Float = 0
                    for j in 32 * i ..< 32 * i + 32 { t += scaled[j] * x[j] }
                    sum += t + mins[i] * s[i]
                }
                y[b * ldo + r] = sum
            }
        }
    }

    public func copyRow(_ r: Int, into out: UnsafeMutablePointer<Float>) {
        withStoredRow(r) { row in
            try! Quantizer.dequantize(ElementType(ggml: type), row, count: columns, into: UnsafeMutableBufferPointer(start: out, count: columns))
        }
    }

    /// Row `r`'s blocks as GGUF stores them (unpacked back from an interleaved layout into a scratch row).
    func withStoredRow<R>(_ r: Int, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        guard layout != .rows else { return body(UnsafeRawBufferPointer(start: base + r * rowBytes, count: rowBytes)) }
        let row = UnsafeMutableRawPointer.allocate(byteCount: rowBytes, alignment: 16)
        defer { row.deallocate() }
        layout.storedRow(r, of: base, rowBytes: rowBytes, columns: columns, into: row)
        return body(UnsafeRawBufferPointer(start: row, count: rowBytes))
    }
}

/// Float32 weights held in memory (e.g. converted from a safetensors/Orbax source via GGUF names).
public struct FloatWeightMatrix: WeightMatrix, @unchecked Sendable {
    public let rows: Int
    public let columns: Int
    let values: [Float]

    /// `values` is row-major `[rows][columns]`.
    public init(rows: Int, columns: Int, values: [Float]) {
        precondition(values.count == rows * columns, "FloatWeightMatrix: \(values.count) values for \(rows)×\(columns)")
        self.rows = rows
        self.columns = columns
        self.values = values
    }

    public var typeName: String { "F32" }

    public func activationFormat(mode: MatMulMode) -> ActivationFormat {
        ActivationFormat(typeID: -1, columns: columns, kernelReady: mode == .fast)
    }

    public func prepare(_ x: UnsafePointer<Float>, batch: Int, mode: MatMulMode, threads: Int) -> PreparedActivations {
        let p = PreparedActivations(batch: batch, rowBytes: columns * 4, kernelReady: mode == .fast)
        p.floats.update(from: x, count: batch * columns)
        return p
    }

    public func multiply(_ input: PreparedActivations, rows range: Range<Int>, into y: UnsafeMutablePointer<Float>, ldo: Int) {
        values.withUnsafeBufferPointer { w in
            let w = w.baseAddress!
            if input.kernelReady {
                ck_matmul(0, w, columns * 4, Int32(rows), Int32(range.lowerBound), Int32(range.upperBound), Int32(columns),
                          input.storage, input.rowBytes, Int32(input.batch), y, Int32(ldo))
                return
            }
            for r in range {
                for b in 0 ..< input.batch {
                    let x = input.floats + b * columns, wr = w + r * columns
                    var s: Float = 0
                    for c in 0 ..< columns { s += wr[c] * x[c] }
                    y[b * ldo + r] = s
                }
            }
        }
    }

    public func copyRow(_ r: Int, into out: UnsafeMutablePointer<Float>) {
        values.withUnsafeBufferPointer { out.update(from: $0.baseAddress! + r * columns, count: columns) }
    }
}
