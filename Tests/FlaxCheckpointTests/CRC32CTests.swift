import Testing
@testable import FlaxCheckpoint

@Suite struct CRC32CTests {
    @Test func knownVectors() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([]) == 0)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum((0 ..< 32).map { UInt8($0) }) == 0x46DD_794E)
        #expect(CRC32C.checksum((0 ..< 32).map { UInt8(31 - $0) }) == 0x113F_DB5C)
    }

    @Test func continuationMatchesOneShot() {
        let data = (0 ..< 1000).map { UInt8(truncatingIfNeeded: $0 &* 7919 &+ 13) }
        let whole = CRC32C.checksum(data)
        for split in [0, 1, 3, 7, 8, 9, 500, 999, 1000] {
            let a = CRC32C.checksum(Array(data[0 ..< split]))
            let b = data[split...].withUnsafeBytes { CRC32C.checksum($0, continuing: a) }
            #expect(b == whole)
        }
    }

    /// The shard index example of orbax-format.md §5.2: crc32c of the 16 index bytes is 0x843d9784.
    @Test func shardIndexExample() {
        let index: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0x18, 0, 0, 0, 0, 0, 0, 0]
        #expect(CRC32C.checksum(index) == 0x843D_9784)
    }
}
