"""Secondary structure (H/E/C) and solvent accessibility (e/b) per residue: the training data and network (torch,
training only), prediction through onnxruntime, SCRATCH-1D and DSSP as other sources, the output formats, and the one
projection of per-residue strings onto aligned or placed rows.
"""
