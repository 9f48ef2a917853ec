import KilnCore

/// How a Gemma Flax checkpoint arranges its parameter tree — the four structures Google's `gemma` library reads
/// (`gemma/gm/ckpts/_checkpoint.py`, `_CheckpointType`, detected in the same order as its `_CheckpointTree.type`).
///
/// Kiln's converter speaks the FLAT names of the Kaggle releases (`transformer/layer_0/attn/q_einsum.w`); every other
/// layout is mapped onto them here, by the inverse of the library's own reformatting (`_compat.py`).
public enum FlaxTreeLayout: String, Sendable {
    /// Kaggle releases: `{'transformer/layer_0/attn/q_einsum': {'w': ...}, 'SigLiPFromPatches_0/...': ...}`.
    case flat
    /// `model.init()`'s tree, what `gm.ckpts.save_params` writes after a fine-tune: `{'layer_0': {'attn': ...}}`.
    case nested
    /// Layers of one attention type stacked on a leading axis: `transformer/stacked_layers/attention_type_0/...`.
    case stacked
    /// A Kauldron `kd.train.Trainer` state: `params` beside `opt_state`, `step` and `collections`; only `params` is read.
    case kauldron

    /// The layout of a tree whose leaves are `names` (Orbax key paths joined with "."), by the library's rules:
    /// any `transformer/stacked_layers` key → STACKED; every key under `transformer/` or `SigLiPFromPatches_0/` →
    /// FLAT; top-level keys {collections, opt_state, params, step} → KAULDRON; otherwise NESTED.
    public static func detect(_ names: [String]) -> FlaxTreeLayout {
        if names.contains(where: { $0.hasPrefix("transformer/stacked_layers") }) { return .stacked }
        if !names.isEmpty, names.allSatisfy({ $0.hasPrefix("transformer/") || $0.hasPrefix("SigLiPFromPatches_0/") }) { return .flat }
        let top = Set(names.map { $0.split(separator: ".", maxSplits: 1).first.map(String.init) ?? $0 })
        // The library compares the metadata tree's keys; an empty `collections` leaves no array behind, so here
        // `params` plus only trainer-state keys is enough.
        if top.contains("params"), top.isSubset(of: ["collections", "opt_state", "params", "step"]), top.count > 1 { return .kauldron }
        return .nested
    }

    /// The FLAT name of the stored parameter `name`, or nil when it is not a model parameter (a Kauldron
    /// checkpoint's optimizer state, step and collections). STACKED names are returned with their stacked slot;
    /// `StackedSlot` splits them into layers.
    public func flatName(_ name: String) -> String? {
        switch self {
        case .flat, .stacked:
            return name
        case .kauldron:
            guard name.hasPrefix("params.") else { return nil }
            return Self.nestedToFlat(String(name.dropFirst("params.".count)))
        case .nested:
            return Self.nestedToFlat(name)
        }
    }

    /// `_nested_to_flat` of gemma's `_checkpoint.py`: the vision tower moves under `SigLiPFromPatches_0/`, everything
    /// else under `transformer/`; the MLP einsums, stored bare in the nested tree, get back their `w` leaf
    /// (`flatten_and_remap_params`); the last component becomes the leaf key (joined with "." as Orbax paths are).
    static func nestedToFlat(_ name: String) -> String? {
        var parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 2, !parts.contains("") else { return nil }
        var root = "transformer"
        if parts[0] == "vision_encoder" {
            root = "SigLiPFromPatches_0"
            parts.removeFirst()
            guard parts.count >= 2 else { return nil }
        }
        if parts.count >= 2, parts[parts.count - 2] == "mlp", ["linear", "gating_einsum"].contains(parts[parts.count - 1]) {
            parts.append("w")
        }
        let leaf = parts.removeLast()
        return root + "/" + parts.joined(separator: "/") + "." + leaf
    }
}

/// How a STACKED checkpoint stores layers: layers of attention type `t` are stacked in layer order, so layer
/// `slice · patternLength + t` is slice `slice` of the stored array (gemma `_compat.unstack_params`).
public enum StackedSlot {
    /// Splits a stored `…stacked_layers/attention_type_<t>…` name into one FLAT name per stacked slice (index on the
    /// stored array's leading axis). `patternLength` is the number of attention types (the largest `t` + 1).
    public static func unstack(_ stored: String, patternLength: Int, slices: Int) -> [(flat: String, slice: Int)]? {
        guard let r = stored.range(of: "stacked_layers/attention_type_") else { return nil }
        let digits = stored[r.upperBound...].prefix(while: \.isNumber)
        guard let type = Int(digits), patternLength > 0 else { return nil }
        let prefix = stored[..<r.lowerBound], suffix = stored[r.upperBound...].dropFirst(digits.count)
        return (0 ..< slices).compactMap { s in
            guard let p = Checked.product(s, patternLength), let layer = Checked.sum(p, type), layer < Int(Int32.max) else { return nil }
            return (prefix + "layer_\(layer)" + suffix, s)
        }
    }

    /// The number of attention types in a STACKED tree (gemma `_compat.get_attention_pattern_len`).
    public static func patternLength(_ names: [String]) -> Int {
        var n = 0
        for name in names {
            guard let r = name.range(of: "stacked_layers/attention_type_"), let t = Int(name[r.upperBound...].prefix(while: \.isNumber)) else { continue }
            n = max(n, t + 1)
        }
        return n
    }
}
