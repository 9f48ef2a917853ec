import ArgumentParser
import KilnCLI

/// `verify`'s pass/fail thresholds as an option group, shared by `verify` and `convert --verify` so both spell and
/// document them once (swift-argument-parser's `@OptionGroup`, as in its examples).
public struct VerifyThresholdArguments: ParsableArguments {
    @Option(help: "Largest mean KL of the weights row (default by candidate class).")
    public var maxKl: Double?

    @Option(help: "Smallest top-1 agreement of the weights row, a fraction (default by candidate class).")
    public var minTop1: Double?

    @Option(help: "Largest mean KL of the runtime row (default by candidate class).")
    public var maxRuntimeKl: Double?

    public init() {}

    /// Whether any threshold was given.
    public var isSet: Bool { maxKl != nil || minTop1 != nil || maxRuntimeKl != nil }

    public func validate() throws {
        for (name, v) in [("--max-kl", maxKl), ("--max-runtime-kl", maxRuntimeKl)] {
            if let v, !(v >= 0) { throw ValidationError("\(name) must be 0 or more") }
        }
        if let minTop1, !(0 ... 1).contains(minTop1) { throw ValidationError("--min-top1 is a fraction in 0...1") }
    }

    /// Puts the given thresholds over the per-class defaults of `options`.
    public func apply(to options: inout VerifyJobOptions) {
        options.maxKL = maxKl
        options.minTop1 = minTop1
        options.maxRuntimeKL = maxRuntimeKl
    }
}
