import KilnCore

/// Parses a zarr v3 `zarr.json` array document (§5): `bytes` + `zstd`/`gzip`/`crc32c`, and `sharding_indexed`.
enum ZarrV3Metadata {
    static func parse(_ json: JSONValue) throws(KilnError) -> ZarrArrayMeta {
        guard json.objectValue != nil else { throw KilnError(.invalid, "bad JSON: zarr.json is not an object") }
        guard json["zarr_format"]?.intValue == 3 else { throw KilnError(.unsupported, "zarr.json with zarr_format other than 3") }
        if let nt = json["node_type"]?.stringValue, nt != "array" {
            throw KilnError(.invalid, "zarr.json describes a '\(nt)', not an array")
        }
        guard let shape = json["shape"]?.intList else { throw KilnError(.invalid, "zarr.json has no valid 'shape'") }
        guard let dtype = json["data_type"]?.stringValue else { throw KilnError(.unsupported, "unsupported dtype: zarr.json 'data_type' is not a string") }
        let type = try ZarrDType.fromV3(dtype)
        guard json["chunk_grid"]?["name"]?.stringValue == "regular",
              let chunks = json["chunk_grid"]?["configuration"]?["chunk_shape"]?.intList else {
            throw KilnError(.unsupported, "zarr.json chunk_grid is not 'regular' with a chunk_shape")
        }
        var separator = "/"
        var defaultKeys = true
        if let enc = json["chunk_key_encoding"] {
            switch enc["name"]?.stringValue {
            case "default": separator = enc["configuration"]?["separator"]?.stringValue ?? "/"
            case "v2": separator = enc["configuration"]?["separator"]?.stringValue ?? "."; defaultKeys = false
            default: throw KilnError(.unsupported, "unsupported chunk_key_encoding")
            }
        }
        guard let codecList = json["codecs"]?.arrayValue else { throw KilnError(.invalid, "zarr.json has no 'codecs' list") }
        let (codecs, shard) = try pipeline(codecList, type: type, allowSharding: true)
        if shard != nil && !codecs.isEmpty {
            throw KilnError(.unsupported, "unsupported codec chain: bytes-to-bytes codecs after sharding_indexed")
        }
        let meta = ZarrArrayMeta(zarrFormat: 3, shape: shape, chunkShape: chunks, type: type, dtypeString: dtype,
                                 fill: try ZarrDType.fillBytes(json["fill_value"], type: type), codecs: codecs, shard: shard,
                                 separator: separator, v3DefaultKeys: defaultKeys)
        try meta.validate()
        return meta
    }

    /// A codec chain: optional identity transposes, then `bytes` or `sharding_indexed`, then bytes-to-bytes codecs.
    static func pipeline(_ list: [JSONValue], type: ElementType, allowSharding: Bool) throws(KilnError) -> ([ZarrBytesCodec], ZarrShardLayout?) {
        var sawArrayToBytes = false
        var shard: ZarrShardLayout?
        var codecs: [ZarrBytesCodec] = []
        for c in list {
            guard let name = c["name"]?.stringValue else { throw KilnError(.invalid, "zarr.json codec without a name") }
            let config = c["configuration"]
            switch name {
            case "transpose":
                guard !sawArrayToBytes, let order = config?["order"]?.intList, order == Array(0 ..< order.count) else {
                    throw KilnError(.unsupported, "unsupported codec 'transpose' (only the identity order)")
                }
            case "bytes":
                guard !sawArrayToBytes else { throw KilnError(.invalid, "two array-to-bytes codecs") }
                if let endian = config?["endian"]?.stringValue, endian != "little", type.blockBytes > 1 {
                    throw KilnError(.unsupported, "unsupported codec: bytes with endian '\(endian)'")
                }
                sawArrayToBytes = true
            case "sharding_indexed":
                guard allowSharding, !sawArrayToBytes else { throw KilnError(.unsupported, "unsupported codec: nested sharding_indexed") }
                guard let inner = config?["chunk_shape"]?.intList, let innerList = config?["codecs"]?.arrayValue else {
                    throw KilnError(.invalid, "sharding_indexed without chunk_shape/codecs")
                }
                let (innerCodecs, _) = try pipeline(innerList, type: type, allowSharding: false)
                var crc = false
                for ic in config?["index_codecs"]?.arrayValue ?? [] {
                    switch ic["name"]?.stringValue {
                    case "bytes":
                        if let e = ic["configuration"]?["endian"]?.stringValue, e != "little" {
                            throw KilnError(.unsupported, "unsupported codec: shard index with endian '\(e)'")
                        }
                    case "crc32c": crc = true
                    case let other: throw KilnError(.unsupported, "unsupported codec '\(other ?? "?")' in a shard index")
                    }
                }
                let location = config?["index_location"]?.stringValue ?? "end"
                guard location == "end" || location == "start" else { throw KilnError(.invalid, "index_location '\(location)'") }
                shard = ZarrShardLayout(innerShape: inner, innerCodecs: innerCodecs, indexHasCRC: crc, indexAtEnd: location == "end")
                sawArrayToBytes = true
            case "zstd", "gzip", "crc32c":
                guard sawArrayToBytes else { throw KilnError(.invalid, "codec '\(name)' before the array-to-bytes codec") }
                codecs.append(ZarrBytesCodec(rawValue: name)!)
            default:
                throw KilnError(.unsupported, "unsupported codec '\(name)' (bytes, zstd, gzip, crc32c and sharding_indexed are supported)")
            }
        }
        guard sawArrayToBytes else { throw KilnError(.invalid, "zarr.json codecs lack a 'bytes' codec") }
        guard codecs.filter({ $0 != .crc32c }).count <= 1 else {
            throw KilnError(.unsupported, "unsupported codec chain: more than one compressor")
        }
        return (codecs, shard)
    }
}
