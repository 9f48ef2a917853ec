#if canImport(Glibc)
import Glibc
#endif

/// xoshiro256** seeded through SplitMix64: a small, fast, deterministic PRNG (same seed → same stream everywhere).
public struct Xoshiro256: Sendable {
    var s: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var x = seed
        func splitmix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s = (splitmix(), splitmix(), splitmix(), splitmix())
    }

    public mutating func next() -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = (s.3 << 45) | (s.3 >> 19)
        return result
    }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func nextDouble() -> Double { Double(next() >> 11) * 0x1p-53 }
}

/// Sampling settings, with llama.cpp's meaning and order: repeat penalty, top-k, top-p, min-p, temperature.
public struct SamplerSettings: Sendable, Equatable {
    /// 0 (or less): greedy.
    public var temperature: Float
    /// 0: disabled.
    public var topK: Int
    /// 1: disabled.
    public var topP: Float
    /// 0: disabled.
    public var minP: Float
    /// 1: disabled. Logits of recent tokens are divided (if positive) or multiplied (if negative) by it.
    public var repeatPenalty: Float
    /// How many recent tokens the penalty looks at (0: none, -1: the whole history).
    public var repeatLastN: Int
    public var seed: UInt64

    public init(temperature: Float = 0.8, topK: Int = 40, topP: Float = 0.95, minP: Float = 0.05, repeatPenalty: Float = 1,
                repeatLastN: Int = 64, seed: UInt64 = 0) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.minP = minP
        self.repeatPenalty = repeatPenalty
        self.repeatLastN = repeatLastN
        self.seed = seed
    }

    /// Always the highest logit.
    public static let greedy = SamplerSettings(temperature: 0, topK: 0, topP: 1, minP: 0)
}

/// Picks the next token from logits. Deterministic for a given seed and input.
public struct Sampler: Sendable {
    public let settings: SamplerSettings
    var rng: Xoshiro256

    public init(_ settings: SamplerSettings) {
        self.settings = settings
        rng = Xoshiro256(seed: settings.seed)
    }

    /// The next token given the vocabulary logits and the token history (for the repeat penalty).
    public mutating func sample(_ logits: [Float], history: [Int32]) -> Int32 {
        var l = logits
        let s = settings
        if s.repeatPenalty != 1, s.repeatLastN != 0 {
            let recent = s.repeatLastN < 0 ? history[...] : history.suffix(s.repeatLastN)
            for t in Set(recent) where t >= 0 && Int(t) < l.count {
                let v = l[Int(t)]
                l[Int(t)] = v > 0 ? v / s.repeatPenalty : v * s.repeatPenalty
            }
        }
        if s.temperature <= 0 { return Int32(Self.argmax(l)) }
        // Candidates sorted by logit (stable on id), cut by top-k.
        var ids = Array(0 ..< l.count)
        if s.topK > 0 && s.topK < l.count {
            ids = Self.topIndices(l, s.topK)
        } else {
            ids.sort { l[$0] > l[$1] || (l[$0] == l[$1] && $0 < $1) }
        }
        // Softmax at temperature 1 for top-p / min-p (as llama.cpp applies them before temperature).
        func probs(_ ids: [Int], _ temp: Float) -> [Double] {
            let m = Double(l[ids[0]])
            let e = ids.map { exp((Double(l[$0]) - m) / Double(temp)) }
            let sum = e.reduce(0, +)
            return e.map { $0 / sum }
        }
        if s.topP < 1 {
            let p = probs(ids, 1)
            var cum = 0.0, keep = ids.count
            for (i, pi) in p.enumerated() {
                cum += pi
                if cum >= Double(s.topP) { keep = i + 1; break }
            }
            ids = Array(ids.prefix(max(1, keep)))
        }
        if s.minP > 0 {
            let p = probs(ids, 1)
            let cut = p[0] * Double(s.minP)
            let keep = p.prefix { $0 >= cut }.count
            ids = Array(ids.prefix(max(1, keep)))
        }
        let p = probs(ids, s.temperature)
        let r = rng.nextDouble()
        var cum = 0.0
        for (i, pi) in p.enumerated() {
            cum += pi
            if r < cum { return Int32(ids[i]) }
        }
        return Int32(ids[ids.count - 1])
    }

    /// Index of the largest value (lowest index on ties).
    public static func argmax(_ x: [Float]) -> Int {
        var best = 0
        for i in x.indices where x[i] > x[best] { best = i }
        return best
    }

    /// The `k` largest indices, sorted by value descending (ties by index).
    static func topIndices(_ x: [Float], _ k: Int) -> [Int] {
        var heap: [Int] = []
        heap.reserveCapacity(k + 1)
        var floor = -Float.infinity
        for i in x.indices where heap.count < k || x[i] > floor {
            heap.append(i)
            if heap.count > 4 * k {
                heap.sort { x[$0] > x[$1] || (x[$0] == x[$1] && $0 < $1) }
                heap.removeLast(heap.count - k)
                floor = x[heap[k - 1]]
            }
        }
        heap.sort { x[$0] > x[$1] || (x[$0] == x[$1] && $0 < $1) }
        return Array(heap.prefix(k))
    }
}
