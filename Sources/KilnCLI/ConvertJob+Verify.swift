import KilnCore

extension ConvertJob {
    /// `convert --verify`: checks the freshly written output against the input with `verify`'s default set and
    /// thresholds. The output is kept either way (it is a valid file); the caller exits 1 when `passed` is false.
    public static func verifyOutput(input: String, options: ConvertOptions, verify: VerifyJobOptions) throws -> VerifyOutcome {
        var v = verify
        v.verify.threads = options.threads
        v.verify.progress = options.progress
        return try VerifyJob.run(source: input, candidate: options.output, options: v)
    }
}
