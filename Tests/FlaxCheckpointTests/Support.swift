import Foundation
import KilnCore
import KilnTestSupport
@testable import FlaxCheckpoint

/// fixtures/orbax/ of the repository.
let fixturesRoot = Fixtures.path("orbax")

/// One expected array of a fixture case: name → .npy, stored dtype name and shape.
struct Expected {
    var name: String
    var npy: NpyFile
    var dtype: String
    var shape: [Int]
}

func loadExpected(_ caseName: String) throws -> [String: Expected] {
    let dir = fixturesRoot + "/" + caseName + "/expected"
    let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/index.json")))
    let json = try JSONValue.parse(bytes, file: dir + "/index.json")
    var out: [String: Expected] = [:]
    for (name, entry) in json.objectValue ?? [] {
        let npy = try NpyFile(path: dir + "/" + entry["file"]!.stringValue!)
        out[name] = Expected(name: name, npy: npy, dtype: entry["dtype"]!.stringValue!, shape: entry["shape"]!.intList!)
    }
    return out
}

/// The element type the reader must report for a numpy / ml_dtypes dtype name.
func elementType(forNumpy dtype: String) -> ElementType? {
    switch dtype {
    case "float32": .float32
    case "float16": .float16
    case "float64": .float64
    case "bfloat16": .bfloat16
    case "int8": .int8
    case "uint8": .uint8
    case "int16": .int16
    case "int32": .int32
    case "int64": .int64
    case "uint32": .uint32
    case "uint16": .uint16
    case "uint64": .uint64
    case "bool": .bool
    case "int4": .int4
    case "float8_e4m3fn": .float8E4M3
    case "float8_e5m2": .float8E5M2
    default: nil
    }
}

/// A scratch copy of a fixture directory, removed by the caller with `cleanup`.
func temporaryCopy(of caseName: String, sub: String = "ckpt") throws -> String {
    let dir = NSTemporaryDirectory() + "kiln-flax-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let dest = dir + "/ckpt"
    try FileManager.default.copyItem(atPath: fixturesRoot + "/" + caseName + "/" + sub, toPath: dest)
    return dest
}

func cleanup(_ path: String) {
    try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent)
}

/// Files under `dir` (recursive), as full paths.
func files(under dir: String) -> [String] {
    (FileManager.default.enumerator(atPath: dir)?.allObjects as? [String] ?? [])
        .map { dir + "/" + $0 }.filter { !FileIdentity.isDirectory($0) }.sorted()
}

func patch(_ path: String, _ f: (inout [UInt8]) -> Void) throws {
    var b = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    f(&b)
    try Data(b).write(to: URL(fileURLWithPath: path))
}

/// The KilnError thrown by `body`, or nil when it did not throw one.
func kilnError<R>(_ body: () throws -> R) -> KilnError? {
    do {
        _ = try body()
        return nil
    } catch let e as KilnError {
        return e
    } catch {
        return KilnError(.io, "unexpected non-Kiln error \(error)")
    }
}

/// Opens `path` and reads every tensor completely (errors propagate).
func readAll(_ path: String) throws {
    let ckpt = try OrbaxCheckpoint(path: path)
    for t in ckpt.tensors { _ = try ckpt.withBytes(of: t) { $0.count } }
}
