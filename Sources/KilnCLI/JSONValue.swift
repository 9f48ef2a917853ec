/// A JSON document with ordered object keys, so `--json` output is stable and reads in a sensible order.
public indirect enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): true
        case (.bool(let x), .bool(let y)): x == y
        case (.int(let x), .int(let y)): x == y
        case (.double(let x), .double(let y)): x == y || (x.isNaN && y.isNaN)
        case (.string(let x), .string(let y)): x == y
        case (.array(let x), .array(let y)): x == y
        case (.object(let x), .object(let y)): x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: false
        }
    }

    /// Serializes with two-space indentation (or compact), keys in insertion order.
    public func serialized(pretty: Bool = true) -> String {
        var out = ""
        write(to: &out, indent: pretty ? 0 : nil)
        return out
    }

    private func write(to out: inout String, indent: Int?) {
        let nl = indent == nil ? "" : "\n"
        let pad = { (n: Int) in String(repeating: "  ", count: n) }
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d):
            if d.isFinite {
                out += (d == d.rounded() && abs(d) < 1e15) ? String(format1: d) : "\(d)"
            } else {
                out += d.isNaN ? "\"NaN\"" : (d > 0 ? "\"Infinity\"" : "\"-Infinity\"")
            }
        case .string(let s): JSONValue.writeString(s, to: &out)
        case .array(let items):
            if items.isEmpty { out += "[]"; return }
            // Short arrays of scalars stay on one line.
            let scalars = items.allSatisfy { if case .array = $0 { return false }; if case .object = $0 { return false }; return true }
            if scalars || indent == nil {
                out += "["
                for (i, v) in items.enumerated() {
                    if i > 0 { out += indent == nil ? "," : ", " }
                    v.write(to: &out, indent: nil)
                }
                out += "]"
            } else {
                let n = indent! + 1
                out += "[" + nl
                for (i, v) in items.enumerated() {
                    out += pad(n)
                    v.write(to: &out, indent: n)
                    out += i + 1 < items.count ? "," + nl : nl
                }
                out += pad(indent!) + "]"
            }
        case .object(let fields):
            if fields.isEmpty { out += "{}"; return }
            let n = indent.map { $0 + 1 }
            out += "{" + nl
            for (i, (k, v)) in fields.enumerated() {
                if let n { out += pad(n) }
                JSONValue.writeString(k, to: &out)
                out += indent == nil ? ":" : ": "
                v.write(to: &out, indent: n)
                out += i + 1 < fields.count ? "," + nl : nl
            }
            if let indent { out += pad(indent) }
            out += "}"
        }
    }

    private static func writeString(_ s: String, to out: inout String) {
        out += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        out += "\""
    }
}

extension String {
    /// An integral double printed with one decimal ("3.0"), as Python prints floats.
    init(format1 d: Double) {
        self = String(Int64(d)) + ".0"
    }
}
