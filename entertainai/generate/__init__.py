"""Content generation: one pipeline per file (text, images, style transfer, melodies, audio)."""
