"""Non-members that look like a proteome's: the negatives that calibration weighs besides unknown families.

Pfam checks its thresholds on reversed and shuffled sequences; a proteome's non-members also have biased
composition, coiled coils and transmembrane helices, which a profile search can mistake for a family. Each kind is
made from validation members (reversed, shuffled) or drawn from a seeded generator, so the set is reproducible.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from protfam_core.io.seqio import Record

KINDS = ("reversed", "shuffled", "low_complexity", "coiled_coil", "transmembrane")
_HYDROPHOBIC = "LIVFAGMWCTS"
_POLAR = "KRDENQSTGPHY"


def _low_complexity(rng: random.Random) -> str:
    """Runs over 1-3 letter alphabets (poly-Q, SG repeats, PAPA...) with a fifth of random residues."""
    out = ""
    while len(out) < rng.randint(80, 300):
        letters = "".join(rng.sample("ACDEFGHIKLMNPQRSTVWY", rng.randint(1, 3)))
        out += "".join(
            rng.choice(letters) if rng.random() > 0.2 else rng.choice(_POLAR) for _ in range(rng.randint(10, 40))
        )
    return out


def _coiled_coil(rng: random.Random) -> str:
    """Heptad repeats: hydrophobic a and d, charged e and g, polar b, c and f."""
    heptad = ("LIVM", "EKAQSRDN", "EKAQSRDN", "LIVMA", "EKQR", "EKAQSRDN", "EKQR")
    return "".join(rng.choice(pos) for _ in range(rng.randint(8, 40)) for pos in heptad)


def _transmembrane(rng: random.Random) -> str:
    """3-12 hydrophobic helices of 18-24 residues between polar loops of 5-30."""
    parts = []
    for _ in range(rng.randint(3, 12)):
        parts.append("".join(rng.choice(_POLAR) for _ in range(rng.randint(5, 30))))
        parts.append("".join(rng.choice(_HYDROPHOBIC) for _ in range(rng.randint(18, 24))))
    return "".join(parts)


def decoys(members: Sequence[Record], seed: int = 0) -> dict[str, list[Record]]:
    """Per kind, as many decoys as `members`: each member reversed and shuffled, and as many generated proteins of
    each other kind."""
    rng = random.Random(seed)
    raw = [r.seq.replace("-", "").replace(".", "").upper() for r in members]
    made = {"reversed": [s[::-1] for s in raw], "shuffled": ["".join(rng.sample(s, len(s))) for s in raw]}
    for kind, make in (("low_complexity", _low_complexity), ("coiled_coil", _coiled_coil),
                       ("transmembrane", _transmembrane)):  # fmt: skip
        made[kind] = [make(rng) for _ in raw]
    return {k: [Record(f"{k}_{i}", s) for i, s in enumerate(seqs)] for k, seqs in made.items()}
