/// A JSON value: the one JSON type of Kiln, read from Orbax/zarr metadata (`parse`) and written for `--json` reports
/// (`serialized`). Numbers keep their text so integers round-trip exactly (fill values, shapes); object members keep
/// their order (Orbax's `_METADATA` order is the tensor order; reports read in a sensible order).
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// A number as written in JSON text ("3", "-0.5", "1e-6"; "nan"/"inf"/"-inf" for Python's NaN/Infinity).
    case number(String)
    case string(String)
    case array([JSONValue])
    /// Members in order.
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): true
        case let (.bool(x), .bool(y)): x == y
        case let (.number(x), .number(y)): x == y
        case let (.string(x), .string(y)): x == y
        case let (.array(x), .array(y)): x == y
        case let (.object(x), .object(y)): x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: false
        }
    }

    /// An integer.
    public static func int(_ i: Int) -> JSONValue { .number(String(i)) }

    /// A double as Python's `json.dumps` prints it: integral values with one decimal ("3.0"); NaN and infinities,
    /// which JSON cannot hold, as the strings "NaN", "Infinity", "-Infinity".
    public static func double(_ d: Double) -> JSONValue {
        guard d.isFinite else { return .string(d.isNaN ? "NaN" : (d > 0 ? "Infinity" : "-Infinity")) }
        return .number((d == d.rounded() && abs(d) < 1e15) ? String(Int64(d)) + ".0" : "\(d)")
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members.first(where: { $0.0 == key })?.1 }
        return nil
    }

    public var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    public var boolValue: Bool? { if case .bool(let b) = self { return b }; return nil }
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { return a }; return nil }
    public var objectValue: [(String, JSONValue)]? { if case .object(let o) = self { return o }; return nil }
    public var isNull: Bool { if case .null = self { return true }; return false }

    /// An integer number (no fraction or exponent) that fits in Int.
    public var intValue: Int? { if case .number(let s) = self { return Int(s) }; return nil }
    public var doubleValue: Double? { if case .number(let s) = self { return Double(s) }; return nil }

    /// A list of non-negative integers (shapes, chunk shapes).
    public var intList: [Int]? {
        guard let a = arrayValue else { return nil }
        var out: [Int] = []
        for v in a {
            guard let i = v.intValue, i >= 0 else { return nil }
            out.append(i)
        }
        return out
    }
}
