import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What `verify` found: both rows of statistics, the chat check, and what was compared.
public struct VerifyReport: Sendable {
    public var sourcePath: String
    public var candidatePath: String
    public var candidateClass: CandidateClass
    /// Tokens run through each model (all sequences).
    public var tokens: Int
    public var sequences: Int
    /// The candidate's tensors dequantized, on the source's float32 path.
    public var weights: KLStatistics
    /// The candidate on the engine's llama.cpp CPU numerics.
    public var runtime: KLStatistics
    public var chat: ChatCheckResult
    public var seconds: Double
    /// Wall time by phase, in the order the phases first ran (logits phases summed over all blocks of positions).
    public var phases: [PhaseTime] = []
    /// Output matrices kept decoded in memory (0, 1: the source's, 2: the source's and the candidate's float32).
    public var keptOutputMatrices = 0
}

/// Time spent in one phase of a verification: wall seconds, and CPU seconds of the whole process (user + system,
/// all threads) — the CPU figure does not depend on what else the machine runs.
public struct PhaseTime: Sendable, Equatable {
    public var name: String
    public var seconds: Double
    public var cpuSeconds: Double
}

/// Accumulates time into named phases: `lap(name)` charges the time since the previous lap to `name`.
struct PhaseClock {
    private(set) var phases: [PhaseTime] = []
    private var last = Date()
    private var lastCPU = PhaseClock.processCPUSeconds()

    mutating func lap(_ name: String) {
        let now = Date(), cpu = Self.processCPUSeconds()
        let dt = now.timeIntervalSince(last), dc = cpu - lastCPU
        last = now
        lastCPU = cpu
        if let i = phases.firstIndex(where: { $0.name == name }) {
            phases[i].seconds += dt
            phases[i].cpuSeconds += dc
        } else {
            phases.append(PhaseTime(name: name, seconds: dt, cpuSeconds: dc))
        }
    }

    /// User + system CPU seconds of this process so far (`getrusage(RUSAGE_SELF)`).
    static func processCPUSeconds() -> Double {
        var u = rusage()
        guard getrusage(RUSAGE_SELF.rawValue, &u) == 0 else { return 0 }
        func s(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return s(u.ru_utime) + s(u.ru_stime)
    }
}

/// The chat check: the candidate's greedy reply (runtime), scored teacher-forced by the source.
public struct ChatCheckResult: Sendable {
    public var prompt: String
    public var candidateTokens: [Int32]
    public var candidateReply: String
    /// The source's own greedy reply (nil when the source would not fit in memory to generate).
    public var sourceTokens: [Int32]?
    public var sourceReply: String?
    /// The source's greedy choice agrees with the candidate's reply at every position.
    public var identicalTokens: Bool
    public var firstDivergence: Divergence?
}

/// The first reply position where the source's greedy token differs from the candidate's.
public struct Divergence: Sendable, Equatable {
    /// Index in the reply (0: the first generated token).
    public var index: Int
    public var sourceToken: Int32
    public var sourcePiece: String
    public var candidateToken: Int32
    public var candidatePiece: String
    /// The source's probability of its own choice and of the candidate's token at that position.
    public var sourceProbability: Double
    public var candidateProbability: Double
}
