"""Where models come from and how they are named: bundle folders with a model card and sha256-verified artifacts, the
shipped registry/ folder, the MLflow model registry and tracking of every training run, one version scheme and one
alias/version lookup for both stores, onnxruntime sessions, and the torch -> ONNX export of training.
"""
