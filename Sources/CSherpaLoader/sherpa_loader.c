#include <dlfcn.h>
#include <stdio.h>
#include "sherpa_loader.h"

#define CT_SHERPA_FUNCTIONS(X) \
    X(SherpaOnnxAcceptWaveformOffline) \
    X(SherpaOnnxCreateOfflineRecognizer) \
    X(SherpaOnnxCreateOfflineStream) \
    X(SherpaOnnxCreateVoiceActivityDetector) \
    X(SherpaOnnxDecodeOfflineStream) \
    X(SherpaOnnxDestroyOfflineRecognizer) \
    X(SherpaOnnxDestroyOfflineRecognizerResult) \
    X(SherpaOnnxDestroyOfflineStream) \
    X(SherpaOnnxDestroySpeechSegment) \
    X(SherpaOnnxDestroyVoiceActivityDetector) \
    X(SherpaOnnxGetOfflineStreamResult) \
    X(SherpaOnnxVoiceActivityDetectorAcceptWaveform) \
    X(SherpaOnnxVoiceActivityDetectorDetected) \
    X(SherpaOnnxVoiceActivityDetectorEmpty) \
    X(SherpaOnnxVoiceActivityDetectorFront) \
    X(SherpaOnnxVoiceActivityDetectorPop) \
    X(SherpaOnnxVoiceActivityDetectorReset)

#define CT_DECLARE(name) static __typeof__(name) *p_##name;
CT_SHERPA_FUNCTIONS(CT_DECLARE)

int ct_sherpa_load(const char *library, char *error, size_t error_size) {
    // RTLD_LOCAL keeps its symbols (and onnxruntime's) out of the global namespace.
    void *handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        snprintf(error, error_size, "%s", dlerror());
        return -1;
    }
#define CT_RESOLVE(name) \
    p_##name = (__typeof__(name) *)dlsym(handle, #name); \
    if (!p_##name) { snprintf(error, error_size, "%s has no %s", library, #name); return -1; }
    CT_SHERPA_FUNCTIONS(CT_RESOLVE)
    return 0;
}

void ct_SherpaOnnxAcceptWaveformOffline(const SherpaOnnxOfflineStream *stream, int32_t sample_rate, const float *samples, int32_t n) { p_SherpaOnnxAcceptWaveformOffline(stream, sample_rate, samples, n); }
const SherpaOnnxOfflineRecognizer * ct_SherpaOnnxCreateOfflineRecognizer(const SherpaOnnxOfflineRecognizerConfig *config) { return p_SherpaOnnxCreateOfflineRecognizer(config); }
const SherpaOnnxOfflineStream * ct_SherpaOnnxCreateOfflineStream(const SherpaOnnxOfflineRecognizer *recognizer) { return p_SherpaOnnxCreateOfflineStream(recognizer); }
const SherpaOnnxVoiceActivityDetector * ct_SherpaOnnxCreateVoiceActivityDetector(const SherpaOnnxVadModelConfig *config, float buffer_size_in_seconds) { return p_SherpaOnnxCreateVoiceActivityDetector(config, buffer_size_in_seconds); }
void ct_SherpaOnnxDecodeOfflineStream(const SherpaOnnxOfflineRecognizer *recognizer, const SherpaOnnxOfflineStream *stream) { p_SherpaOnnxDecodeOfflineStream(recognizer, stream); }
void ct_SherpaOnnxDestroyOfflineRecognizer(const SherpaOnnxOfflineRecognizer *recognizer) { p_SherpaOnnxDestroyOfflineRecognizer(recognizer); }
void ct_SherpaOnnxDestroyOfflineRecognizerResult(const SherpaOnnxOfflineRecognizerResult *r) { p_SherpaOnnxDestroyOfflineRecognizerResult(r); }
void ct_SherpaOnnxDestroyOfflineStream(const SherpaOnnxOfflineStream *stream) { p_SherpaOnnxDestroyOfflineStream(stream); }
void ct_SherpaOnnxDestroySpeechSegment(const SherpaOnnxSpeechSegment *p) { p_SherpaOnnxDestroySpeechSegment(p); }
void ct_SherpaOnnxDestroyVoiceActivityDetector(const SherpaOnnxVoiceActivityDetector *p) { p_SherpaOnnxDestroyVoiceActivityDetector(p); }
const SherpaOnnxOfflineRecognizerResult * ct_SherpaOnnxGetOfflineStreamResult(const SherpaOnnxOfflineStream *stream) { return p_SherpaOnnxGetOfflineStreamResult(stream); }
void ct_SherpaOnnxVoiceActivityDetectorAcceptWaveform(const SherpaOnnxVoiceActivityDetector *p, const float *samples, int32_t n) { p_SherpaOnnxVoiceActivityDetectorAcceptWaveform(p, samples, n); }
int32_t ct_SherpaOnnxVoiceActivityDetectorDetected(const SherpaOnnxVoiceActivityDetector *p) { return p_SherpaOnnxVoiceActivityDetectorDetected(p); }
int32_t ct_SherpaOnnxVoiceActivityDetectorEmpty(const SherpaOnnxVoiceActivityDetector *p) { return p_SherpaOnnxVoiceActivityDetectorEmpty(p); }
const SherpaOnnxSpeechSegment * ct_SherpaOnnxVoiceActivityDetectorFront(const SherpaOnnxVoiceActivityDetector *p) { return p_SherpaOnnxVoiceActivityDetectorFront(p); }
void ct_SherpaOnnxVoiceActivityDetectorPop(const SherpaOnnxVoiceActivityDetector *p) { p_SherpaOnnxVoiceActivityDetectorPop(p); }
void ct_SherpaOnnxVoiceActivityDetectorReset(const SherpaOnnxVoiceActivityDetector *p) { p_SherpaOnnxVoiceActivityDetectorReset(p); }
