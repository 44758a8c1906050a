// CSherpaLoader: the sherpa-onnx C API, loaded with dlopen when the embedded backend starts.
//
// The types come from the header inside the installed wheel (no third-party header is
// committed); the functions are reached through pointers resolved by ct_sherpa_load, so the
// recognizer's libraries (onnxruntime is ~27 MB) are not mapped by runs that never use them.
#ifndef CAPTIONTAP_CSHERPALOADER_H
#define CAPTIONTAP_CSHERPALOADER_H

#include <stddef.h>
#include "sherpa-onnx/c-api/c-api.h"

/// Loads libsherpa-onnx-c-api.so from `library` and resolves every function below.
/// Returns 0, or -1 with a message in `error`. Call once, before any ct_ function.
int ct_sherpa_load(const char *library, char *error, size_t error_size);

void ct_SherpaOnnxAcceptWaveformOffline(const SherpaOnnxOfflineStream *stream, int32_t sample_rate, const float *samples, int32_t n);
const SherpaOnnxOfflineRecognizer * ct_SherpaOnnxCreateOfflineRecognizer(const SherpaOnnxOfflineRecognizerConfig *config);
const SherpaOnnxOfflineStream * ct_SherpaOnnxCreateOfflineStream(const SherpaOnnxOfflineRecognizer *recognizer);
const SherpaOnnxVoiceActivityDetector * ct_SherpaOnnxCreateVoiceActivityDetector(const SherpaOnnxVadModelConfig *config, float buffer_size_in_seconds);
void ct_SherpaOnnxDecodeOfflineStream(const SherpaOnnxOfflineRecognizer *recognizer, const SherpaOnnxOfflineStream *stream);
void ct_SherpaOnnxDestroyOfflineRecognizer(const SherpaOnnxOfflineRecognizer *recognizer);
void ct_SherpaOnnxDestroyOfflineRecognizerResult(const SherpaOnnxOfflineRecognizerResult *r);
void ct_SherpaOnnxDestroyOfflineStream(const SherpaOnnxOfflineStream *stream);
void ct_SherpaOnnxDestroySpeechSegment(const SherpaOnnxSpeechSegment *p);
void ct_SherpaOnnxDestroyVoiceActivityDetector(const SherpaOnnxVoiceActivityDetector *p);
const SherpaOnnxOfflineRecognizerResult * ct_SherpaOnnxGetOfflineStreamResult(const SherpaOnnxOfflineStream *stream);
void ct_SherpaOnnxVoiceActivityDetectorAcceptWaveform(const SherpaOnnxVoiceActivityDetector *p, const float *samples, int32_t n);
int32_t ct_SherpaOnnxVoiceActivityDetectorDetected(const SherpaOnnxVoiceActivityDetector *p);
int32_t ct_SherpaOnnxVoiceActivityDetectorEmpty(const SherpaOnnxVoiceActivityDetector *p);
const SherpaOnnxSpeechSegment * ct_SherpaOnnxVoiceActivityDetectorFront(const SherpaOnnxVoiceActivityDetector *p);
void ct_SherpaOnnxVoiceActivityDetectorPop(const SherpaOnnxVoiceActivityDetector *p);
void ct_SherpaOnnxVoiceActivityDetectorReset(const SherpaOnnxVoiceActivityDetector *p);

#endif
