// CMallocCounter: counts heap calls made by the calling thread, for the real-time path test.
//
// The test executable defines malloc & co. itself (forwarding to glibc's __libc_* entry
// points); because libswiftCore and libpipewire reference them, the linker exports these
// definitions and every heap call in the process goes through them.
#ifndef CAPTIONTAP_MALLOC_COUNTER_H
#define CAPTIONTAP_MALLOC_COUNTER_H

/// Starts counting heap calls on this thread (resets the count).
void ct_malloc_counter_begin(void);
/// Stops counting and returns the number of malloc/calloc/realloc/free/memalign calls seen.
long ct_malloc_counter_end(void);

#endif
