"""Phase 1 of the paper: one variational autoencoder per channel (aa, ss, sa) compresses placed rows into 30-float
fingerprints. The network and its training use torch; encoding and decoding run the exported ONNX models; the
reconstruction metrics and the phase-1 report need no torch.
"""
