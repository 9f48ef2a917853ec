// INTEGRATE import FlaxCheckpoint
import KilnCore

extension InspectReport {
    func extraHeader(for source: any TensorSource) -> [(String, JSONValue)] { [] }
    func extraMetadata(for source: any TensorSource) -> [JSONValue] { [] }
    func extraTensorFields(_ t: TensorInfo) -> [(String, JSONValue)] { [] }
}
