/// Checked arithmetic for numbers read from files: the one place that says how shapes, sizes and offsets taken from
/// untrusted input are combined, so that a hostile header gives a `KilnError` and never an overflow trap.
public enum Checked {
    /// The element count of `dims`, or nil when a dimension is negative or the product of the non-zero dimensions
    /// overflows `limit`.
    ///
    /// Zero dimensions are skipped while checking, so every partial product (a row's elements, the rows of a matrix)
    /// of an accepted shape also fits: `[0, 2^40, 2^40]` holds no elements but is rejected, because code that
    /// computes the elements per row would overflow.
    public static func elementCount(_ dims: some Sequence<Int>, limit: Int = Int.max) -> Int? {
        var nonZero = 1
        var hasZero = false
        for d in dims {
            guard d >= 0 else { return nil }
            if d == 0 { hasZero = true; continue }
            let (p, o) = nonZero.multipliedReportingOverflow(by: d)
            guard !o, p <= limit else { return nil }
            nonZero = p
        }
        return hasZero ? 0 : nonZero
    }

    /// `a + b`, or nil on overflow.
    public static func sum(_ a: Int, _ b: Int) -> Int? {
        let (s, o) = a.addingReportingOverflow(b)
        return o ? nil : s
    }

    /// `a * b`, or nil on overflow.
    public static func product(_ a: Int, _ b: Int) -> Int? {
        let (p, o) = a.multipliedReportingOverflow(by: b)
        return o ? nil : p
    }

    /// Largest model dimension (width, heads, layers, ...) accepted from a file: far beyond any real model, small
    /// enough that products of a few of them cannot overflow and every one fits a GGUF UINT32.
    public static let maxModelDimension = 1 << 24

    /// Throws `.invalid` unless every named model dimension is in 1...`maxModelDimension`.
    public static func modelDimensions(_ values: KeyValuePairs<String, Int>, file: String?) throws(KilnError) {
        for (what, v) in values where v < 1 || v > maxModelDimension {
            throw KilnError(.invalid, "\(what) \(v) is outside 1...\(maxModelDimension)", file: file)
        }
    }

    /// `value` as a UInt32 GGUF field, or a `.invalid` error naming what it is (GGUF stores counts and sizes as UINT32).
    public static func uint32(_ value: Int, _ what: @autoclosure () -> String, file: String? = nil) throws(KilnError) -> UInt32 {
        guard let v = UInt32(exactly: value) else {
            throw KilnError(.invalid, "\(what()) = \(value) does not fit in a UINT32", file: file)
        }
        return v
    }
}
