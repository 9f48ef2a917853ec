import KilnCore

/// How an output tensor's values are made from one source tensor. Rows are GGUF rows: `ne[0]` values each.
public enum TensorTransform: Sendable, Equatable, CustomStringConvertible {
    /// The source values in stored order; `select` takes one index of the leading axis first (fused einsums).
    case copy(select: Int?)
    /// A norm scale stored as `scale`, written as `1 + scale` (Gemma's RMSNorm multiplies by 1 + w).
    case plusOne
    /// `(heads, D, H)` (after `select`) → `(heads·H, D)`: each head's `(D, H)` block transposed, heads kept in order.
    case headsMajor(select: Int?)
    /// The source flattened to `(rows, last axis)` and transposed.
    case transpose
    /// The first `rows` rows of a row-major source (drops padding rows, e.g. HF's 64 extra embedding rows).
    case leadingRows(Int)
    /// The source (after `select` takes one index of the leading axis) with its axes reordered: output axis `i` is
    /// source axis `axes[i]`, values in row-major order of the permuted shape. The output's `ne` may be any shape with
    /// that many values, so identity `axes` is a plain reshape (e.g. `(1, P, W)` → `(P, W)`, `(heads, hd)` → `(heads·hd)`).
    case permute([Int], select: Int?)

    public var description: String {
        switch self {
        case .copy(nil): "copy"
        case .copy(let i?): "select[\(i)]"
        case .plusOne: "1+x"
        case .headsMajor(nil): "heads(D,H)->(H,D)"
        case .headsMajor(let i?): "select[\(i)],heads(D,H)->(H,D)"
        case .transpose: "transpose"
        case .leadingRows(let n): "rows[0..<\(n)]"
        case .permute(let axes, let select):
            (select.map { "select[\($0)]," } ?? "")
                + (axes == Array(axes.indices) ? "reshape" : "permute(" + axes.map(String.init).joined(separator: ",") + ")")
        }
    }
}

/// One tensor of the output GGUF: its name, shape in ggml order, where its values come from, and what it is.
public struct OutputTensor: Sendable, Equatable {
    /// What a tensor is for; type choices depend on it.
    public enum Role: Sendable, Equatable {
        case embedding, weight, norm, other
    }

    public var name: String
    /// GGUF `ne`: `ne[0]` is the row length.
    public var ne: [Int]
    public var source: String
    public var transform: TensorTransform
    public var role: Role
    /// The exact shape the source tensor must have (nil where the architecture checks it itself).
    public var sourceShape: [Int]?

    public init(name: String, ne: [Int], source: String, transform: TensorTransform, role: Role, sourceShape: [Int]? = nil) {
        self.name = name
        self.ne = ne
        self.source = source
        self.transform = transform
        self.role = role
        self.sourceShape = sourceShape
    }

    public var rowLength: Int { ne[0] }
    public var rowCount: Int { ne.dropFirst().reduce(1, *) }
    public var elementCount: Int { ne.reduce(1, *) }
}
