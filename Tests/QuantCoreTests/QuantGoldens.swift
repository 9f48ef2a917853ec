import KilnCore
import KilnTestSupport

/// Reader for fixtures/quant (format documented in scripts/gen_quant_goldens.py).
struct QuantGoldens {
    struct Input {
        let name: String
        let rows: Int
        let rowLength: Int
        let values: [Float]
    }

    struct Record {
        let input: Input
        let quantized: [UInt8]
        let dequantized: [Float]
        /// quantize_row_*_ref output when it differs from ggml_quantize_chunk's.
        let reference: [UInt8]?
    }

    static let directory = Fixtures.path("quant")

    static let inputs: [Input] = {
        let file = try! MappedFile(path: directory + "/inputs.bin")
        var c = file.cursor()
        precondition(try! c.readBytes(4, "magic").elementsEqual("KQIN".utf8))
        _ = try! c.read(UInt32.self, "version")
        let n = Int(try! c.read(UInt32.self, "count"))
        var out: [Input] = []
        for _ in 0 ..< n {
            let name = try! c.readUTF8(Int(try! c.read(UInt32.self, "name length")), "name")
            let rows = Int(try! c.read(UInt32.self, "rows"))
            let len = Int(try! c.read(UInt32.self, "row length"))
            out.append(Input(name: name, rows: rows, rowLength: len, values: try! readFloats(&c, rows * len)))
        }
        return out
    }()

    static func records(_ type: GGMLType) -> [Record] {
        let file = try! MappedFile(path: directory + "/\(type.name).bin")
        var c = file.cursor()
        precondition(try! c.readBytes(4, "magic").elementsEqual("KQGT".utf8))
        _ = try! c.read(UInt32.self, "version")
        precondition(try! c.read(Int32.self, "type") == type.id)
        let n = Int(try! c.read(UInt32.self, "count"))
        var out: [Record] = []
        for _ in 0 ..< n {
            let input = inputs[Int(try! c.read(UInt32.self, "case"))]
            let nq = Int(try! c.read(UInt32.self, "bytes"))
            let q = Array(try! c.readBytes(nq, "quantized"))
            let d = try! readFloats(&c, input.values.count)
            let nr = Int(try! c.read(UInt32.self, "ref bytes"))
            let r = nr == 0 ? nil : Array(try! c.readBytes(nr, "ref"))
            out.append(Record(input: input, quantized: q, dequantized: d, reference: r))
        }
        return out
    }

    private static func readFloats(_ c: inout ByteCursor, _ n: Int) throws(KilnError) -> [Float] {
        let b = try c.readBytes(n * 4, "floats")
        return (0 ..< n).map { Float(bitPattern: UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
    }
}
