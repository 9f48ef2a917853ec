import KilnCore

/// A SentencePiece `tokenizer.model` (ModelProto), read with a hand-written protobuf decoder.
///
/// Only the fields a GGUF vocabulary needs are kept; every other field is skipped by wire type.
public struct SentencePieceModel: Sendable {
    /// One vocabulary entry (ModelProto field 1).
    public struct Piece: Sendable, Equatable {
        /// The piece text; spaces are U+2581 in NORMAL pieces.
        public var text: String
        public var score: Float
        public var type: TokenType
        /// A piece from its fields.
        public init(text: String, score: Float, type: TokenType) {
            self.text = text
            self.score = score
            self.type = type
        }
    }

    /// TrainerSpec.model_type values.
    public enum ModelType: Int32, Sendable { case unigram = 1, bpe = 2, word = 3, char = 4 }

    /// The vocabulary, by id.
    public var pieces: [Piece]
    /// TrainerSpec (field 2) values, with the proto defaults when absent.
    public var modelType: ModelType = .unigram
    public var vocabSize: Int32 = 8000
    public var byteFallback = false
    public var unkID: Int32 = 0
    public var bosID: Int32 = 1
    public var eosID: Int32 = 2
    public var padID: Int32 = -1
    /// NormalizerSpec (field 3) values, with the proto defaults when absent.
    public var normalizerName = ""
    public var addDummyPrefix = true
    public var removeExtraWhitespaces = true
    public var escapeWhitespaces = true

    /// A model holding `pieces`, with the proto defaults for every other field.
    public init(pieces: [Piece]) { self.pieces = pieces }

    /// Reads `tokenizer.model` from `path`.
    public init(path: String) throws(KilnError) {
        let file = try MappedFile(path: path)
        try self.init(bytes: file.bytes, file: path)
    }

    /// Parses a serialized ModelProto; `file` is used in error messages.
    public init(bytes: UnsafeRawBufferPointer, file: String) throws(KilnError) {
        pieces = []
        var r = ProtobufReader(bytes, file: file)
        var sawPieces = false
        while !r.isAtEnd {
            let (field, wire, at) = try r.readTag()
            switch field {
            case 1:
                try r.expect(wire, .lengthDelimited, field: field, in: "ModelProto", at: at)
                let range = try r.readLengthDelimited("piece #\(pieces.count)")
                pieces.append(try Self.readPiece(bytes, range, file: file, index: pieces.count))
                sawPieces = true
            case 2:
                try r.expect(wire, .lengthDelimited, field: field, in: "ModelProto", at: at)
                try readTrainerSpec(bytes, try r.readLengthDelimited("trainer_spec"), file: file)
            case 3:
                try r.expect(wire, .lengthDelimited, field: field, in: "ModelProto", at: at)
                try readNormalizerSpec(bytes, try r.readLengthDelimited("normalizer_spec"), file: file)
            default:
                try r.skip(wire, field: field)
            }
        }
        guard sawPieces else {
            throw KilnError(.badMagic, "not a SentencePiece model: no pieces (ModelProto field 1) found", file: file, offset: 0)
        }
    }

    private static func readPiece(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, file: String, index: Int) throws(KilnError) -> Piece {
        var r = ProtobufReader(bytes, file: file, range: range)
        var piece = Piece(text: "", score: 0, type: .normal)
        var sawText = false
        while !r.isAtEnd {
            let (field, wire, at) = try r.readTag()
            switch field {
            case 1:
                try r.expect(wire, .lengthDelimited, field: field, in: "SentencePiece #\(index)", at: at)
                piece.text = try r.string(try r.readLengthDelimited("the text of piece #\(index)"), "the text of piece #\(index)")
                sawText = true
            case 2:
                try r.expect(wire, .fixed32, field: field, in: "SentencePiece #\(index)", at: at)
                piece.score = Float(bitPattern: try r.readFixed32("the score of piece #\(index)"))
            case 3:
                try r.expect(wire, .varint, field: field, in: "SentencePiece #\(index)", at: at)
                let raw = try r.readVarint("the type of piece #\(index)")
                guard raw >= 1, raw <= 6, let type = TokenType(rawValue: Int32(raw)) else {
                    throw r.error("piece #\(index) has unknown type \(Int64(bitPattern: raw))", at: at)
                }
                piece.type = type
            default:
                try r.skip(wire, field: field)
            }
        }
        guard sawText else { throw r.error("piece #\(index) has no text", at: range.lowerBound) }
        return piece
    }

    private mutating func readTrainerSpec(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, file: String) throws(KilnError) {
        var r = ProtobufReader(bytes, file: file, range: range)
        while !r.isAtEnd {
            let (field, wire, at) = try r.readTag()
            func int32() throws(KilnError) -> Int32 {
                try r.expect(wire, .varint, field: field, in: "TrainerSpec", at: at)
                return Int32(truncatingIfNeeded: try r.readVarint("TrainerSpec field \(field)"))
            }
            switch field {
            case 3:
                let raw = try int32()
                guard let t = ModelType(rawValue: raw) else { throw r.error("unknown TrainerSpec.model_type \(raw)", at: at) }
                modelType = t
            case 4: vocabSize = try int32()
            case 35: byteFallback = try int32() != 0
            case 40: unkID = try int32()
            case 41: bosID = try int32()
            case 42: eosID = try int32()
            case 43: padID = try int32()
            default: try r.skip(wire, field: field)
            }
        }
    }

    private mutating func readNormalizerSpec(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, file: String) throws(KilnError) {
        var r = ProtobufReader(bytes, file: file, range: range)
        while !r.isAtEnd {
            let (field, wire, at) = try r.readTag()
            func flag() throws(KilnError) -> Bool {
                try r.expect(wire, .varint, field: field, in: "NormalizerSpec", at: at)
                return try r.readVarint("NormalizerSpec field \(field)") != 0
            }
            switch field {
            case 1:
                try r.expect(wire, .lengthDelimited, field: field, in: "NormalizerSpec", at: at)
                normalizerName = try r.string(try r.readLengthDelimited("normalizer name"), "normalizer name")
            case 3: addDummyPrefix = try flag()
            case 4: removeExtraWhitespaces = try flag()
            case 5: escapeWhitespaces = try flag()
            default: try r.skip(wire, field: field)
            }
        }
    }
}
