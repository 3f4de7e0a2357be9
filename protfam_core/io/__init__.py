"""Reading and writing what flows between the stages: sequences and alignments (FASTA, A2M, Stockholm, Clustal, PIR,
gzip, '-'), the symbol alphabets and the three channels, fingerprint files, and the one atomic writer and file checksum
every output and model goes through. Every input check that ends a tool with one line lives here.
"""
