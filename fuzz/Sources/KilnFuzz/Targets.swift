// libFuzzer entry point for every parser Kiln runs on untrusted bytes. `KILN_FUZZ_TARGET` picks one:
//   gguf, safetensors, ocdbt-manifest, ocdbt-version-node, ocdbt-btree-node, ocdbt-data-files, zarr-v2-metadata,
//   zarr-v3-metadata, zarr-chunk, orbax-metadata, sentencepiece, tokenizer, image
// Every input must end in a result or a KilnError; a trap, an overflow, an ASan report, a leak or a timeout is a bug.
import Foundation
@testable import FlaxCheckpoint
import GGUFWriter
import KilnCore
import QuantCore
import RefInference
import Tokenizers
import Safetensors

enum FuzzTarget: String, CaseIterable {
    case gguf, safetensors
    case ocdbtManifest = "ocdbt-manifest", ocdbtVersionNode = "ocdbt-version-node", ocdbtBTreeNode = "ocdbt-btree-node"
    case ocdbtDataFiles = "ocdbt-data-files"
    case zarrV2Metadata = "zarr-v2-metadata", zarrV3Metadata = "zarr-v3-metadata", zarrChunk = "zarr-chunk"
    case orbaxMetadata = "orbax-metadata", sentencepiece, tokenizer, image

    static let selected: FuzzTarget = {
        guard let name = ProcessInfo.processInfo.environment["KILN_FUZZ_TARGET"], let t = FuzzTarget(rawValue: name) else {
            let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
            FileHandle.standardError.write(Data("set KILN_FUZZ_TARGET to one of: \(names)\n".utf8))
            exit(2)
        }
        return t
    }()
}

/// A scratch file per process: readers that take a path get the input through it (tmpfs when available).
let scratchPath: String = {
    let dir = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    return dir + "/kiln-fuzz-\(getpid())"
}()

func withScratchFile<R>(_ data: UnsafeRawBufferPointer, _ body: (String) throws -> R) rethrows -> R {
    let fd = open(scratchPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    if fd >= 0 {
        if let base = data.baseAddress { _ = write(fd, base, data.count) }
        close(fd)
    }
    return try body(scratchPath)
}

/// Touches every tensor's bytes and decodes up to 64 Ki values of each (finds views that overrun their mapping).
func readTensors(_ source: any TensorSource) throws {
    for t in source.tensors {
        let rows = min(t.rowCount, max(1, (1 << 16) / max(t.elementsPerRow, 1)))
        guard rows > 0 else { continue }
        try source.withBytes(of: t, rows: 0 ..< rows) { bytes in
            let count = rows * t.elementsPerRow
            guard count > 0, count <= 1 << 16 else { return }
            var out = [Float](repeating: 0, count: count)
            try? out.withUnsafeMutableBufferPointer { try Quantizer.dequantize(t.type, bytes, count: count, into: $0) }
        }
    }
}

/// A one-key store for chunk decoding.
final class OneValueStore: KeyValueStore, @unchecked Sendable {
    let value: UnsafeRawBufferPointer
    init(_ value: UnsafeRawBufferPointer) { self.value = value }
    let location = "fuzz"
    func withValue<R>(_ key: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R? { try body(value) }
    func fileHolding(_ key: String) -> String { "fuzz:" + key }
    func keys(endingWith suffix: String) -> [String] { [] }
}

/// Array metadata the chunk target decodes against: zarr v2 zstd and zlib, zarr v3 sharded with crc32c index.
let chunkMetas: [ZarrArrayMeta] = {
    let docs = [
        #"{"chunks":[3,5],"compressor":{"id":"zstd","level":1},"dtype":"<f4","fill_value":null,"filters":null,"order":"C","shape":[5,7],"zarr_format":2}"#,
        #"{"chunks":[3,5],"compressor":{"id":"zlib","level":1},"dtype":"<i2","fill_value":0,"filters":null,"order":"C","shape":[5,7],"zarr_format":2}"#,
        #"{"zarr_format":3,"node_type":"array","shape":[5,7],"data_type":"bfloat16","fill_value":0,"chunk_grid":{"name":"regular","configuration":{"chunk_shape":[4,4]}},"chunk_key_encoding":{"name":"default"},"codecs":[{"name":"sharding_indexed","configuration":{"chunk_shape":[2,2],"codecs":[{"name":"bytes","configuration":{"endian":"little"}},{"name":"zstd","configuration":{"level":3}}],"index_codecs":[{"name":"bytes","configuration":{"endian":"little"}},{"name":"crc32c"}]}}]}"#,
    ]
    return docs.map { doc in
        let json = try! JSONValue.parse(Array(doc.utf8), file: "meta")
        return doc.contains("\"zarr_format\":3") ? try! ZarrV3Metadata.parse(json) : try! ZarrV2Metadata.parse(json)
    }
}()

/// The tiny SentencePiece model's tokenizer (fixtures/tokenizer/tiny.model, found relative to this package).
let tokenizer: SPMTokenizer = {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    let model = try! SentencePieceModel(path: root.path + "/fixtures/tokenizer/tiny.model")
    return SPMTokenizer(vocabulary: try! GGUFVocabulary(sentencePiece: model))
}()

func run(_ target: FuzzTarget, _ data: UnsafeRawBufferPointer) {
    do {
        switch target {
        case .gguf:
            try withScratchFile(data) { path in try readTensors(try GGUFFile(path: path)) }
        case .safetensors:
            try withScratchFile(data) { path in
                let f = try SafetensorsFile(path: path)
                for t in f.tensors { _ = f.data(of: t).reduce(0, &+) }
            }
        case .ocdbtManifest:
            try withScratchFile(data) { path in _ = try OCDBTManifest.decode(try MappedFile(path: path)) }
        case .ocdbtVersionNode:
            let arity = data.first ?? 4
            _ = try OCDBTVersionTree.decodeNode(UnsafeRawBufferPointer(rebasing: data.dropFirst()), transitive: "", arityLog2: arity,
                                                file: "fuzz", fileOffset: 0, maxBodyBytes: 1 << 20)
        case .ocdbtBTreeNode:
            _ = try OCDBTBTreeNode.decode(data, transitive: "", file: "fuzz", fileOffset: 0, maxBodyBytes: 1 << 20)
        case .ocdbtDataFiles:
            var c = ByteCursor(data, file: "fuzz")
            _ = try OCDBTDataFileTable.decode(&c, what: "fuzz")
        case .zarrV2Metadata:
            try ZarrV2Metadata.parse(try JSONValue.parse(data, file: "fuzz")).validate()
        case .zarrV3Metadata:
            try ZarrV3Metadata.parse(try JSONValue.parse(data, file: "fuzz")).validate()
        case .zarrChunk:
            guard let selector = data.first else { return }
            let meta = chunkMetas[Int(selector) % chunkMetas.count]
            let decoder = ChunkDecoder(meta: meta, store: OneValueStore(UnsafeRawBufferPointer(rebasing: data.dropFirst())), prefix: "a/", name: "a")
            var out = [UInt8](repeating: 0, count: meta.chunkBytes)
            try out.withUnsafeMutableBytes { try decoder.decode([0, 0], into: $0) }
        case .orbaxMetadata:
            _ = try OrbaxMetadata.parse(data, file: "fuzz")
        case .sentencepiece:
            let model = try SentencePieceModel(bytes: data, file: "fuzz")
            _ = try? GGUFVocabulary(sentencePiece: model)
        case .image:
            // stb_image (Debian's libstb, not instrumented) decodes; Kiln's wrapper, its limits and mtmd's letterbox
            // run on the result (small images only: a 64 KiB PNG can inflate to tens of megapixels).
            let image = try RGBImage.decode(data, path: "fuzz")
            if image.width * image.height <= 1 << 20 {
                _ = MtmdPreprocessing.pixels(image, size: 28, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5])
            }
        case .tokenizer:
            let text = String(decoding: data, as: UTF8.self)
            let ids = tokenizer.tokenize(text, addBOS: true, parseSpecial: data.first.map { $0 & 1 == 1 } ?? false)
            _ = tokenizer.detokenize(ids, special: true)
        }
    } catch is KilnError {
        // Rejected with a typed error: the expected outcome for bad input.
    } catch {
        // Readers throw only KilnError; anything else is a bug worth a crash report.
        fatalError("non-Kiln error: \(error)")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    run(FuzzTarget.selected, UnsafeRawBufferPointer(start: start, count: count))
    return 0
}

/// libFuzzer's driver, for when SwiftPM routes `main` to this module's entry point (debug builds link executables
/// with `main=KilnFuzz_main`, which would otherwise hide libFuzzer's own `main`).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: @convention(c) (UnsafeRawPointer?, Int) -> CInt) -> CInt

@_cdecl("KilnFuzz_main")
public func kilnFuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { start, count in fuzzOneInput(start, count) }
}
