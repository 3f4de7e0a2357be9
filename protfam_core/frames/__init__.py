"""Family frames: one hand-architecture profile HMM per family whose match states are the columns of its filtered
training alignment. A sequence is placed into a frame (forced, or by one search of all frames with a sensitive fallback
for the queries it misses), which gives one residue or gap per frame column without touching the reference.
"""
