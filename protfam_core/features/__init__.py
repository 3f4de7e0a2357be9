"""The VAE's inputs: a placed row and its projected SS/SA as three one-hot channel matrices of the model's width, and
the per-dataset cache of placements and predicted SS/SA that training, the reports and the CNN share.
"""
