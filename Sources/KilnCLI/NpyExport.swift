import KilnCore

/// Writes one tensor's values as a NumPy `.npy`: the native dtype where numpy has it, float32 otherwise
/// (block-quantized, bfloat16, float8), int8 for int4. Streams row blocks; the file appears only when complete.
public enum NpyExport {
    public static func write(_ source: any TensorSource, _ tensor: TensorInfo, to path: String) throws {
        let out = try AtomicOutputFile(path: path, inputs: [source.path])
        if tensor.type == .int4 {
            try out.write(NpyWriter.header(descr: "|i1", shape: tensor.shape))
            try source.withBytes(of: tensor) { bytes in
                try out.write(bytes.map { UInt8(bitPattern: Int8(bitPattern: $0 << 4) >> 4) })
            }
        } else if let descr = NpyWriter.descr(for: tensor.type) {
            try out.write(NpyWriter.header(descr: descr, shape: tensor.shape))
            try source.withBytes(of: tensor) { try out.write($0) }
        } else {
            try out.write(NpyWriter.header(descr: "<f4", shape: tensor.shape))
            try TensorDecoder.forEachBlock(source, tensor) { block in
                try out.write(UnsafeRawBufferPointer(block))
            }
        }
        try out.commit()
    }
}
