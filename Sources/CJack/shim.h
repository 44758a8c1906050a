// CJack: the JACK API (libjack). Linked against JACK2's libjack; run through PipeWire's JACK
// layer with `pw-jack captiontap …`, which puts PipeWire's libjack first on the library path.
#ifndef CAPTIONTAP_CJACK_SHIM_H
#define CAPTIONTAP_CJACK_SHIM_H

#include <jack/jack.h>

/// The audio port type (a macro string in jack/types.h).
static inline const char *ct_jack_default_audio_type(void) { return JACK_DEFAULT_AUDIO_TYPE; }

/// jack_client_open is variadic, which Swift cannot call.
static inline jack_client_t *ct_jack_client_open(const char *name, jack_options_t options, jack_status_t *status) {
    return jack_client_open(name, options, status);
}

#endif
