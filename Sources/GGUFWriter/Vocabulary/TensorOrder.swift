/// The tensor order llama.cpp's loader (and so llama-quantize's output) uses: tensors outside `blk.N.` first, by
/// name; then by layer number, and by name (bytewise) within a layer (`weight_name_comparer`,
/// src/llama-model-loader.h). The mmproj is ordered by the same rule with `v.blk.N.` as the layer prefix.
/// The one implementation of this rule: conversion, requantization and the mmproj all sort through it.
public enum TensorOrder {
    /// N in a name starting with "`prefix`N." (what `sscanf(name, "blk.%d.")` reads), or nil.
    public static func layer(of name: String, prefix: String = GGUFTensorName.blockPrefix) -> Int? {
        guard name.hasPrefix(prefix) else { return nil }
        let rest = name.utf8.dropFirst(prefix.utf8.count)
        var value = 0, digits = 0, sign = 1
        var it = rest.makeIterator()
        var c = it.next()
        if c == UInt8(ascii: "-") || c == UInt8(ascii: "+") { sign = c == UInt8(ascii: "-") ? -1 : 1; c = it.next() }
        while let d = c, d >= 48, d <= 57 {
            value = value * 10 + Int(d - 48)
            digits += 1
            if value > Int(Int32.max) { return nil }
            c = it.next()
        }
        guard digits > 0, c == UInt8(ascii: ".") else { return nil }
        return sign * value
    }

    /// Indices of `names` in llama.cpp's order: names without a layer (-1) first, then by layer, then by name.
    public static func indices(_ names: [String], layerPrefix prefix: String = GGUFTensorName.blockPrefix) -> [Int] {
        let keys = names.map { (layer: layer(of: $0, prefix: prefix) ?? -1, utf8: Array($0.utf8)) }
        return names.indices.sorted { a, b in
            if keys[a].layer != keys[b].layer { return keys[a].layer < keys[b].layer }
            return keys[a].utf8.lexicographicallyPrecedes(keys[b].utf8)
        }
    }

    /// `items` sorted by their names in llama.cpp's order.
    public static func sorted<T>(_ items: [T], layerPrefix prefix: String = GGUFTensorName.blockPrefix,
                                 name: (T) -> String) -> [T] {
        indices(items.map(name), layerPrefix: prefix).map { items[$0] }
    }
}
