import KilnCore

extension InspectReport {
    /// The human-readable report: header line, metadata, tensor table, totals and type histogram.
    public var text: String {
        var out = ""
        let headerText = header.map { "\($0.0)=\(InspectReport.short($0.1))" }.joined(separator: " ")
        out += "\(source.path): \(source.formatName)\(headerText.isEmpty ? "" : " (" + headerText + ")")\n"
        let meta = metadata
        if !meta.isEmpty {
            out += "\nmetadata (\(meta.count))\n"
            let rows = meta.map { m -> [String] in
                guard case .object(let f) = m else { return [] }
                let d = Dictionary(f, uniquingKeysWith: { a, _ in a })
                let key = InspectReport.short(d["key"] ?? .null)
                if let et = d["element_type"], let n = d["length"] {
                    let items = d["values"] ?? d["first"] ?? .array([])
                    let more = d["first"] != nil ? ", ..." : ""
                    var preview = InspectReport.short(items)
                    if preview.hasSuffix("]") { preview.removeLast(); preview += "\(more)]" }
                    return [key, "\(InspectReport.short(et))[\(InspectReport.short(n))]", preview]
                }
                return [key, InspectReport.short(d["type"] ?? .null), InspectReport.short(d["value"] ?? .null)]
            }
            out += TextTable.render(rows, header: nil, maxWidths: [48, 16, 90])
        }
        let tensors = source.tensors
        out += "\ntensors (\(tensors.count))\n"
        let rows = tensors.map { t in
            [t.name, "[" + t.shape.map(String.init).joined(separator: ", ") + "]", t.type.description,
             TextTable.grouped(t.byteCount), t.fileOffset.map(TextTable.grouped) ?? "-"]
        }
        out += TextTable.render(rows, header: ["name", "shape", "type", "bytes", "offset"], rightAligned: [3, 4])
        let totalBytes = tensors.reduce(0) { $0 + $1.byteCount }
        let totalElements = tensors.reduce(0) { $0 + $1.elementCount }
        out += "\ntotal: \(tensors.count) tensors, \(TextTable.grouped(totalElements)) elements, \(TextTable.grouped(totalBytes)) bytes\n"
        out += TextTable.render(histogram.map { [$0.type, "\($0.tensors) tensors", TextTable.grouped($0.bytes) + " bytes"] },
                                header: nil, rightAligned: [1, 2])
        return out
    }

    static func short(_ v: JSONValue) -> String {
        switch v {
        case .string(let s): s.count > 200 ? String(s.prefix(200)).debugDescription + "..." : (s.contains(where: { $0.isWhitespace && $0 != " " }) || s.isEmpty ? s.debugDescription : s)
        case .array(let items): "[" + items.map { if case .string(let s) = $0 { return s.debugDescription }; return short($0) }.joined(separator: ", ") + "]"
        default: v.serialized(pretty: false)
        }
    }
}

/// Plain-text column alignment for terminal tables.
enum TextTable {
    static func render(_ rows: [[String]], header: [String]?, rightAligned: Set<Int> = [], maxWidths: [Int] = []) -> String {
        let all = (header.map { [$0] } ?? []) + rows
        guard let columns = all.map(\.count).max(), columns > 0 else { return "" }
        var widths = [Int](repeating: 0, count: columns)
        let clipped = all.map { row in
            row.enumerated().map { i, cell in
                i < maxWidths.count && cell.count > maxWidths[i] ? String(cell.prefix(maxWidths[i] - 3)) + "..." : cell
            }
        }
        for row in clipped { for (i, c) in row.enumerated() { widths[i] = max(widths[i], c.count) } }
        var out = ""
        for row in clipped {
            var line = "  "
            for (i, c) in row.enumerated() {
                let pad = String(repeating: " ", count: widths[i] - c.count)
                line += rightAligned.contains(i) ? pad + c : (i + 1 == row.count ? c : c + pad)
                if i + 1 < row.count { line += "  " }
            }
            out += line + "\n"
        }
        return out
    }

    /// 1234567 → "1,234,567".
    static func grouped(_ n: Int) -> String {
        let s = String(n.magnitude)
        var out = ""
        for (i, ch) in s.enumerated() {
            if i > 0, (s.count - i) % 3 == 0 { out += "," }
            out.append(ch)
        }
        return (n < 0 ? "-" : "") + out
    }
}
