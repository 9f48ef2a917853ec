/// The tensor order llama.cpp's loader (and so llama-quantize's output) uses: tensors outside `blk.N.` first, by
/// name; then by layer number, and by name within a layer (`weight_name_comparer`, src/llama-model-loader.h).
public enum TensorOrder {
    public static func layer(of name: String) -> Int {
        guard name.hasPrefix("blk.") else { return -1 }
        let rest = name.dropFirst(4)
        guard let dot = rest.firstIndex(of: "."), let n = Int(rest[..<dot]) else { return -1 }
        return n
    }

    /// True when `a` sorts before `b`.
    public static func precedes(_ a: String, _ b: String) -> Bool {
        let la = layer(of: a), lb = layer(of: b)
        if la != lb { return la < lb }
        return Array(a.utf8).lexicographicallyPrecedes(Array(b.utf8))
    }
}
