import KilnCore

/// A `PATTERN=TYPE` tensor type override, as llama-quantize's `--tensor-type` takes it: the tensors whose GGUF name
/// the regular expression PATTERN matches (a search, not a whole-name match) get TYPE. The one parser of that syntax,
/// for `convert --tensor-type` on checkpoints and on GGUF inputs alike.
public struct TensorTypeOverride: Sendable, Hashable {
    public var pattern: String
    public var type: GGMLType

    public init(pattern: String, type: GGMLType) {
        self.pattern = pattern
        self.type = type
    }

    /// Parses `PATTERN=TYPE` (split at the last `=`; TYPE is a ggml type name such as q8_0 or Q6_K that Kiln can
    /// write; PATTERN must be a valid regular expression).
    public init(parsing spec: String) throws(KilnError) {
        guard let eq = spec.lastIndex(of: "=") else {
            throw KilnError(.usage, "tensor type override '\(spec)' is not PATTERN=TYPE")
        }
        let pattern = String(spec[..<eq]), typeName = String(spec[spec.index(after: eq)...])
        guard !pattern.isEmpty else { throw KilnError(.usage, "tensor type override '\(spec)' has an empty pattern") }
        guard let type = GGMLType.named(typeName), Quantizer.canQuantize(type) else {
            throw KilnError(.usage, "tensor type override '\(spec)': '\(typeName)' is not a type Kiln can write")
        }
        do { _ = try Regex(pattern) } catch {
            throw KilnError(.usage, "tensor type override '\(spec)': invalid regular expression (\(error))")
        }
        self.init(pattern: pattern, type: type)
    }

    /// The overrides compiled once; `type(for:)` gives the first match's type.
    public static func compile(_ overrides: [TensorTypeOverride]) throws(KilnError) -> Compiled {
        do { return Compiled(rules: try overrides.map { (try Regex($0.pattern), $0.type) }) } catch {
            throw KilnError(.usage, "invalid tensor type override pattern (\(error))")
        }
    }

    /// Compiled overrides, tried in order.
    public struct Compiled {
        let rules: [(Regex<AnyRegexOutput>, GGMLType)]

        /// The type of the first override whose pattern is found in `name`, or nil.
        public func type(for name: String) -> GGMLType? {
            for (regex, type) in rules where (try? regex.firstMatch(in: name)) != nil { return type }
            return nil
        }
    }
}
