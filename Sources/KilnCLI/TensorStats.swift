import KilnCore

/// Summary statistics of a tensor's values, as `inspect --stats` prints them.
/// min/max/mean/std are over finite values (std is the population std, numpy's default); NaN and ±Inf are counted.
public struct TensorStats: Sendable, Equatable {
    public var count = 0
    public var finiteCount = 0
    public var nanCount = 0
    public var infCount = 0
    public var min = Double.infinity
    public var max = -Double.infinity
    public var sum = 0.0
    public var sumSquares = 0.0

    public init() {}

    public var mean: Double { finiteCount == 0 ? .nan : sum / Double(finiteCount) }
    public var std: Double {
        guard finiteCount > 0 else { return .nan }
        let m = mean
        return (Swift.max(sumSquares / Double(finiteCount) - m * m, 0)).squareRoot()
    }

    public mutating func add(_ values: UnsafeBufferPointer<Float>) {
        count += values.count
        for v in values {
            if v.isNaN { nanCount += 1; continue }
            if v.isInfinite { infCount += 1; continue }
            let d = Double(v)
            finiteCount += 1
            if d < min { min = d }
            if d > max { max = d }
            sum += d
            sumSquares += d * d
        }
    }

    public static func of(_ source: any TensorSource, _ tensor: TensorInfo) throws -> TensorStats {
        var stats = TensorStats()
        try TensorDecoder.forEachBlock(source, tensor) { stats.add($0) }
        return stats
    }

    public var json: JSONValue {
        func num(_ d: Double) -> JSONValue { d.isFinite ? .double(d) : .null }
        return .object([
            ("count", .int(count)), ("min", num(min)), ("max", num(max)), ("mean", num(mean)), ("std", num(std)),
            ("nan_count", .int(nanCount)), ("inf_count", .int(infCount)),
        ])
    }
}
