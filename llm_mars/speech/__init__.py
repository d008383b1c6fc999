"""Speech in and out, fully offline.

Audio (16 kHz mono PCM) -> voice activity detection (:mod:`.vad`) -> Whisper tiny.en with a
vocabulary prompt generated from the skill registry (:mod:`.prompt`, :mod:`.recogniser`) ->
transcript normalisation (:mod:`llm_mars.language.normaliser`) -> an ``Utterance`` for the
commander (:mod:`.listener`). Answers go back out through espeak-ng (:mod:`.synthesis`,
:mod:`.speaker`). :mod:`.corpus` and :mod:`.wer` make and score spoken test sets. Heavy packages
(faster-whisper) are imported only when a recogniser is made.

For scripts (``llm-mars demo --speech``): :func:`.recogniser.transcribe_wav` gives
``(text, confidence)`` of a WAV file; :func:`.synthesis.synthesize` says a text into one.
"""
