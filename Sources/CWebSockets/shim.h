// CWebSockets: libwebsockets for Swift.
//
// The library's functions and structs import as they are; what Swift cannot import are
// computed macros. Each gets a static-inline forward here, named `ct_` + the lws name.
#ifndef CAPTIONTAP_CWEBSOCKETS_SHIM_H
#define CAPTIONTAP_CWEBSOCKETS_SHIM_H

#include <libwebsockets.h>
#include <sys/random.h>

/// Bytes lws needs in front of every payload passed to lws_write (a computed macro).
static inline size_t ct_lws_pre(void) { return LWS_PRE; }

/// getrandom(2) (not in Swift's Glibc module): fills the transport's WebSocket masking keys.
static inline long ct_getrandom(void *buffer, size_t length) { return (long)getrandom(buffer, length, 0); }

#endif
