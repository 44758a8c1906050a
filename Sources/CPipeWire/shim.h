// CPipeWire: libpipewire-0.3 / libspa-0.2 for Swift.
//
// Swift imports PipeWire's functions and structs directly. What it cannot import are the
// method macros (`pw_core_add_listener`, `pw_registry_add_listener`, ...), variadic
// constructors and compound-literal initialisers; each gets a one-line static-inline forward
// here, named `ct_` + the PipeWire name. Nothing else belongs in this file.
#ifndef CAPTIONTAP_CPIPEWIRE_SHIM_H
#define CAPTIONTAP_CPIPEWIRE_SHIM_H

#include <pipewire/pipewire.h>
#include <pipewire/extensions/metadata.h>
#include <spa/param/audio/format-utils.h>
#include <spa/pod/builder.h>
#include <spa/utils/result.h>
#include <pipewire/impl-module.h>

/// `pw_properties_new` is variadic; Swift needs a fixed-arity entry point.
static inline struct pw_properties *ct_pw_properties_new(void) {
    return pw_properties_new(NULL, NULL);
}

/// `pw_log_level` is a mutable C global, which Swift 6 will not read directly.
static inline enum spa_log_level ct_pw_log_level(void) { return pw_log_level; }

static inline uint32_t ct_pw_id_any(void) { return PW_ID_ANY; }
static inline uint32_t ct_pw_id_core(void) { return PW_ID_CORE; }

static inline int ct_pw_core_add_listener(struct pw_core *core, struct spa_hook *hook,
                                          const struct pw_core_events *events, void *data) {
    return pw_core_add_listener(core, hook, events, data);
}

static inline int ct_pw_core_sync(struct pw_core *core, int seq) {
    return pw_core_sync(core, PW_ID_CORE, seq);
}

static inline int ct_pw_registry_add_listener(struct pw_registry *registry, struct spa_hook *hook,
                                              const struct pw_registry_events *events, void *data) {
    return pw_registry_add_listener(registry, hook, events, data);
}

static inline int ct_pw_metadata_add_listener(struct pw_metadata *metadata, struct spa_hook *hook,
                                              const struct pw_metadata_events *events, void *data) {
    return pw_metadata_add_listener(metadata, hook, events, data);
}

/// Builds the one-entry EnumFormat pod that asks the graph for `format` at `rate` Hz mono;
/// PipeWire's audioconvert then resamples and downmixes for us. `buffer` holds the pod.
static inline const struct spa_pod *ct_build_mono_format(uint8_t *buffer, uint32_t size,
                                                         uint32_t format, uint32_t rate) {
    struct spa_pod_builder b = SPA_POD_BUILDER_INIT(buffer, size);
    struct spa_audio_info_raw info = SPA_AUDIO_INFO_RAW_INIT(
        .format = (enum spa_audio_format)format, .rate = rate, .channels = 1,
        .position = { SPA_AUDIO_CHANNEL_MONO });
    return spa_format_audio_raw_build(&b, SPA_PARAM_EnumFormat, &info);
}

#endif
