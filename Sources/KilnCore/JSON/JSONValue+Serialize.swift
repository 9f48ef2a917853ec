extension JSONValue {
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
        case .number(let text): out += text
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
