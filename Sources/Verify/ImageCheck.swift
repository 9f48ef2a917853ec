import Conversion
import KilnCore
import RefInference

/// Agreement of two sets of soft tokens `[tokens][width]` of one image: per-token cosine (min and mean) and the
/// largest absolute difference, beside the largest reference magnitude for scale.
public struct EmbeddingAgreement: Sendable, Equatable, CustomStringConvertible {
    public var tokens = 0
    public var minCosine = 1.0
    public var meanCosine = 1.0
    public var maxAbsDiff = 0.0
    public var maxAbsReference = 0.0

    /// `got` against `reference`, both `tokens × width` (cosines in double).
    public init(_ got: [Float], _ reference: [Float], width: Int) {
        precondition(width > 0 && got.count == reference.count && reference.count % width == 0, "EmbeddingAgreement: shapes differ")
        tokens = reference.count / width
        var sum = 0.0
        for t in 0 ..< tokens {
            var dot = 0.0, a = 0.0, b = 0.0
            for i in t * width ..< (t + 1) * width {
                let x = Double(got[i]), y = Double(reference[i])
                dot += x * y
                a += x * x
                b += y * y
                maxAbsDiff = max(maxAbsDiff, abs(x - y))
                maxAbsReference = max(maxAbsReference, abs(y))
            }
            let cos = a == 0 && b == 0 ? 1 : dot / (a * b).squareRoot()
            minCosine = min(minCosine, cos)
            sum += cos
        }
        meanCosine = tokens > 0 ? sum / Double(tokens) : 1
    }

    public var description: String {
        "min per-token cosine \(minCosine), max |Δ| \(maxAbsDiff) (max |ref| \(maxAbsReference))"
    }
}

/// The vision half of `verify --image`: each image encoded by the source checkpoint's vision tower in float32
/// (through the converter's mapping, on the plain float path) and by the candidate's mmproj on llama.cpp's numerics;
/// the soft tokens are then compared directly (`EmbeddingAgreement`) and through the text models (`ImageTurns`).
public enum ImageCheck {
    public struct Result: Sendable {
        public var image: String
        public var agreement: EmbeddingAgreement
        /// The soft tokens of each side (`tokens × width`), for the image turns.
        public var sourceEmbeddings: [Float] = []
        public var candidateEmbeddings: [Float] = []
    }

    /// How the candidate's encoder frames an image in the text (`VisionEncoder`'s `imageStart`, `imageEnd`,
    /// `bidirectionalImageAttention`, `tokensPerImage`).
    public struct Framing: Sendable {
        public var start: String
        public var end: String
        public var bidirectional: Bool
        public var tokensPerImage: Int
    }

    /// `images` (paths) through both encoders; the source must carry a vision tower the converter maps.
    public static func run(source: any TensorSource, mmproj: String, images: [String], threads: Int) throws -> [Result] {
        try encode(source: source, mmproj: mmproj, images: images, threads: threads).results
    }

    /// `run`, with the candidate encoder's framing.
    static func encode(source: any TensorSource, mmproj: String, images: [String], threads: Int) throws -> (results: [Result], framing: Framing) {
        let family = try Architectures.family(of: source)
        let arch = try family.init(source: source, vocabularySize: nil)
        guard let multimodal = arch as? any VisionArchitecture, case .present(let projector) = try multimodal.visionTower(source: source) else {
            throw KilnError(.notFound, "--image needs a source checkpoint with a vision tower the converter maps", file: source.path)
        }
        let view = try ConvertedTensorView(source: source, vision: projector)
        let reference = try VisionEncoders.open(source: view, metadata: view.metadata,
                                                options: EngineOptions(threads: threads, path: .reference, llamaCppNumerics: false))
        let candidate = try VisionEncoders.open(mmproj: mmproj, options: EngineOptions(threads: threads))
        guard candidate.outputWidth == reference.outputWidth, candidate.tokensPerImage == reference.tokensPerImage else {
            throw KilnError(.invalid, "the mmproj gives \(candidate.tokensPerImage) tokens of width \(candidate.outputWidth), the source's "
                            + "tower \(reference.tokensPerImage) of width \(reference.outputWidth)", file: mmproj)
        }
        let results = try images.map { path in
            let image = try RGBImage.load(path: path)
            let c = candidate.encode(image), r = reference.encode(image)
            return Result(image: path, agreement: EmbeddingAgreement(c, r, width: reference.outputWidth), sourceEmbeddings: r, candidateEmbeddings: c)
        }
        return (results, Framing(start: candidate.imageStart, end: candidate.imageEnd, bidirectional: candidate.bidirectionalImageAttention,
                                 tokensPerImage: candidate.tokensPerImage))
    }
}
