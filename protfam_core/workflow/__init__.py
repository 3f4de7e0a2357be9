"""Workflows that chain the tools' stages: `train_chain` trains and publishes a whole chain from a user's families."""
