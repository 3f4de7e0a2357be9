"""Family sequence sets to frames' training alignments: aligner backends (FAMSA, ClustalW, Clustal Omega, MAFFT), the
paper's two gap rules, alignment scores against references, sampling and train/validation/test splits (MMseqs2 identity
clusters too), the benchmark dataset folder, and the open sets of families the dataset leaves out.
"""
