"""Phase 2 of the paper: the 2D CNN on the 3 x 30 fingerprint matrix scores each candidate placement of a query, and the
calling rule names the family or `unassigned`. Training rows, training (torch), the end-to-end predictor (onnxruntime),
calibration of the rule on validation data, Table 1 evaluation and the pyhmmer anchor every figure is compared with.
"""
