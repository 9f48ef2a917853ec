import Foundation

/// Unbuffered stdout writes (pieces may split UTF-8 sequences; the terminal reassembles bytes).
enum Output {
    static func write(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        bytes.withUnsafeBufferPointer { b in
            var done = 0
            while done < b.count {
                let n = Glibc.write(1, b.baseAddress! + done, b.count - done)
                if n <= 0 { return }
                done += n
            }
        }
    }
}
