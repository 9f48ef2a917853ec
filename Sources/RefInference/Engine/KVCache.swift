import CKernels

/// One layer's K and V rows for every cached position, `[contextLength][headCountKV × dim]`.
///
/// Under llama.cpp numerics K and V are already rounded to f16 when stored (llama.cpp's default F16 cache holds them
/// so), and they are kept as IEEE halves: half the memory of floats, and attention reads them through
/// `ck_dot_f32_f16`/`ck_axpy_f32_f16`, which give the f32 kernels' bits on f16-exact values. Without the emulation
/// (the plain reference path) the values are not f16-exact and stay float.
///
/// The buffers are left uninitialized: a row is written before any query reads it (attention reads only positions
/// already stored), so pages are committed only as the context fills.
final class KVCache: @unchecked Sendable {
    /// How the rows are held.
    enum Storage: Sendable, Equatable {
        /// IEEE binary16 bit patterns (values must be f16-exact: they are stored through `ck_f32_to_f16`).
        case half
        case float
    }

    /// The buffers of `Storage`, typed.
    enum Rows {
        case half(keys: UnsafeMutablePointer<UInt16>, values: UnsafeMutablePointer<UInt16>)
        case float(keys: UnsafeMutablePointer<Float>, values: UnsafeMutablePointer<Float>)
    }

    let rows: Rows
    /// Floats per position of K (`headCountKV × headDim`) and of V (`headCountKV × valueDim`).
    let keyWidth: Int, valueWidth: Int
    /// Positions the cache holds.
    let capacity: Int

    init(capacity: Int, keyWidth: Int, valueWidth: Int, storage: Storage) {
        self.capacity = capacity
        self.keyWidth = keyWidth
        self.valueWidth = valueWidth
        switch storage {
        case .half:
            rows = .half(keys: .allocate(capacity: capacity * keyWidth), values: .allocate(capacity: capacity * valueWidth))
        case .float:
            rows = .float(keys: .allocate(capacity: capacity * keyWidth), values: .allocate(capacity: capacity * valueWidth))
        }
    }

    deinit {
        switch rows {
        case let .half(k, v): k.deallocate(); v.deallocate()
        case let .float(k, v): k.deallocate(); v.deallocate()
        }
    }

    var storage: Storage {
        if case .half = rows { return .half }
        return .float
    }

    /// Stores `k.count / keyWidth` positions of K and V starting at `position` (the caller keeps them within
    /// `capacity`).
    func store(k: [Float], v: [Float], at position: Int) {
        let n = k.count / keyWidth
        precondition(position >= 0 && position + n <= capacity && v.count == n * valueWidth, "KV rows outside the cache")
        k.withUnsafeBufferPointer { kb in v.withUnsafeBufferPointer { vb in
            switch rows {
            case let .half(K, V):
                ck_f32_to_f16(kb.baseAddress!, K + position * keyWidth, Int64(kb.count))
                ck_f32_to_f16(vb.baseAddress!, V + position * valueWidth, Int64(vb.count))
            case let .float(K, V):
                (K + position * keyWidth).update(from: kb.baseAddress!, count: kb.count)
                (V + position * valueWidth).update(from: vb.baseAddress!, count: vb.count)
            }
        } }
    }
}
