import KilnCore

/// The parts of Orbax's `_METADATA` a reader needs: parameter names (in file order) and the storage flags.
struct OrbaxMetadata: Sendable {
    /// Parameter names in file order; nil when `_METADATA` has no `tree_metadata` (list the store instead).
    var parameterNames: [String]?
    var useOCDBT: Bool
    var useZarr3: Bool

    /// Value types that are stored as arrays; strings, None and empty dicts are not.
    static let arrayValueTypes: Set<String> = ["jax.Array", "np.ndarray", "scalar"]

    static func parse(_ bytes: UnsafeRawBufferPointer, file: String) throws(KilnError) -> OrbaxMetadata {
        let json: JSONValue
        do { json = try JSONValue.parse(bytes, file: file) } catch {
            var e = error
            e.file = file
            throw e
        }
        guard let tree = json["tree_metadata"]?.objectValue else {
            // An older or unknown _METADATA: the caller lists the arrays in the store instead.
            return OrbaxMetadata(parameterNames: nil, useOCDBT: json["use_ocdbt"]?.boolValue ?? true,
                                 useZarr3: json["use_zarr3"]?.boolValue ?? false)
        }
        var names: [String] = []
        for (treeKey, entry) in tree {
            guard let keys = entry["key_metadata"]?.arrayValue else {
                throw KilnError(.invalid, "_METADATA entry \(treeKey) has no key_metadata", file: file)
            }
            var parts: [String] = []
            for k in keys {
                if let s = k["key"]?.stringValue { parts.append(s) }
                else if let i = k["key"]?.intValue { parts.append(String(i)) }
                else { throw KilnError(.invalid, "_METADATA entry \(treeKey) has a key that is not a string", file: file) }
            }
            let value = entry["value_metadata"]
            if value?["skip_deserialize"]?.boolValue == true { continue }
            if let t = value?["value_type"]?.stringValue, !arrayValueTypes.contains(t) { continue }
            // Parameter name = keys joined with "." (FLAT Gemma keys keep their "/": never split them).
            names.append(parts.joined(separator: "."))
        }
        return OrbaxMetadata(parameterNames: names, useOCDBT: json["use_ocdbt"]?.boolValue ?? true,
                             useZarr3: json["use_zarr3"]?.boolValue ?? false)
    }
}
