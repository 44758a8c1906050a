// COpenSSL: libcrypto's message digests for Swift, for obs-websocket's SHA-256 authentication.
// libwebsockets links OpenSSL already, so this adds no dependency (swift-crypto would add minutes
// of build time). EVP_Digest and EVP_sha256 import as they are; no forwards needed.
#ifndef CAPTIONTAP_COPENSSL_SHIM_H
#define CAPTIONTAP_COPENSSL_SHIM_H

#include <openssl/evp.h>

#endif
