import Foundation
import KilnCore
import KilnTestSupport
import Safetensors
import Testing

/// Hand-written safetensors headers that once trapped the reader (regressions of issue 11).
@Suite struct HostileSafetensorsTests {
    /// Opens a file made of an 8-byte header length, `header` and `data` zero bytes; returns its error (nil: opened).
    func open(header: String, data: Int = 0) -> KilnError? {
        let dir = Fixtures.tempDirectory()
        defer { Fixtures.cleanup(dir) }
        let path = dir + "/x.safetensors"
        var bytes = withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { Data($0) }
        bytes.append(Data(header.utf8))
        bytes.append(Data(count: data))
        _ = FileManager.default.createFile(atPath: path, contents: bytes)
        do { _ = try SafetensorsFile(path: path); return nil } catch { return error }
    }

    @Test func hugeDataOffsetsAreAnErrorNotAnOverflow() {
        // The header from issue 11: `Int64(dataOffset) + end` overflowed ("Swift runtime failure: arithmetic overflow").
        let e = open(header: #"{"t":{"dtype":"U8","shape":[9223372036854775807],"data_offsets":[0,9223372036854775807]}}"#)
        #expect(e?.kind == .truncated)
        #expect(e?.tensor == "t")
        let e2 = open(header: #"{"t":{"dtype":"U8","shape":[9],"data_offsets":[9223372036854775798,9223372036854775807]}}"#)
        #expect(e2?.kind == .truncated)
    }

    @Test func aZeroDimensionCannotHideAnOverflowingShape() {
        // No elements, but the elements per row (2^80) would overflow wherever rows are computed.
        let e = open(header: #"{"t":{"dtype":"F32","shape":[0,1099511627776,1099511627776],"data_offsets":[0,0]}}"#)
        #expect(e?.kind == .invalid)
        #expect(e?.message.contains("overflows") == true)
        #expect(open(header: #"{"t":{"dtype":"F32","shape":[0,4],"data_offsets":[0,0]}}"#) == nil)
    }
}
