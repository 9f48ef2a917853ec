import KilnCore

/// Parses a zarr v2 `.zarray` document (§4.1).
enum ZarrV2Metadata {
    static func parse(_ json: JSONValue) throws(KilnError) -> ZarrArrayMeta {
        guard json.objectValue != nil else { throw KilnError(.invalid, "bad JSON: .zarray is not an object") }
        guard json["zarr_format"]?.intValue == 2 else { throw KilnError(.unsupported, ".zarray with zarr_format other than 2") }
        guard let shape = json["shape"]?.intList else { throw KilnError(.invalid, ".zarray has no valid 'shape'") }
        guard let chunks = json["chunks"]?.intList else { throw KilnError(.invalid, ".zarray has no valid 'chunks'") }
        guard let dtype = json["dtype"]?.stringValue else {
            throw KilnError(.unsupported, "unsupported dtype: .zarray 'dtype' is not a string (structured dtypes are not supported)")
        }
        let type = try ZarrDType.fromV2(dtype)
        if let order = json["order"]?.stringValue, order != "C" {
            throw KilnError(.unsupported, "unsupported array order '\(order)' (only C order)")
        }
        if let filters = json["filters"], !filters.isNull, filters.arrayValue?.isEmpty != true {
            throw KilnError(.unsupported, "unsupported codec: zarr v2 filters are not supported")
        }
        var codecs: [ZarrBytesCodec] = []
        if let comp = json["compressor"], !comp.isNull {
            guard let id = comp["id"]?.stringValue else { throw KilnError(.invalid, ".zarray compressor has no 'id'") }
            switch id {
            case "zstd": codecs = [.zstd]
            case "zlib": codecs = [.zlib]
            case "gzip": codecs = [.gzip]
            default: throw KilnError(.unsupported, "unsupported codec '\(id)' (zstd, zlib, gzip and none are supported)")
            }
        }
        let sep = json["dimension_separator"]?.stringValue ?? "."
        guard sep == "." || sep == "/" else { throw KilnError(.invalid, "dimension_separator '\(sep)'") }
        let meta = ZarrArrayMeta(zarrFormat: 2, shape: shape, chunkShape: chunks, type: type, dtypeString: dtype,
                                 fill: try ZarrDType.fillBytes(json["fill_value"], type: type), codecs: codecs, shard: nil,
                                 separator: sep, v3DefaultKeys: false)
        try meta.validate()
        return meta
    }
}
