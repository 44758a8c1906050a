import COpenSSL

/// SHA-256 through OpenSSL's libcrypto (`EVP_Digest`).
public enum SHA256 {
    /// The 32-byte digest of `bytes`.
    public static func digest(_ bytes: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let ok = bytes.withUnsafeBytes { input in
            EVP_Digest(input.baseAddress, input.count, &out, &length, EVP_sha256(), nil)
        }
        // Only fails on allocation failure inside OpenSSL; nothing sensible to do but stop.
        precondition(ok == 1 && length == 32, "EVP_Digest(SHA-256) failed")
        return Array(out.prefix(32))
    }
}
