"""Features of placed rows on real alignments: projection, one-hot channel matrices, SS/SA files, the feature cache."""

from pathlib import Path

import numpy as np
import pytest

from protfam_core.errors import InputError
from protfam_core.features.channels import channel_matrix, channel_rows
from protfam_core.frames.frameset import FrameSet, build_hmm
from protfam_core.io.alphabet import AA_SYMBOLS, CHANNELS, SS_SYMBOLS
from protfam_core.io.seqio import Record, read_alignment, read_sequences
from protfam_core.ss.formats import read_per_residue
from protfam_core.ss.project import project

DATA = Path(__file__).resolve().parents[1] / "data"
TUTORIAL = DATA / "hmmer_tutorial"
SCRATCH = DATA / "ss" / "scratch"


@pytest.fixture(scope="module")
def placed():
    """Real globin and fn3 members placed into frames built from the tutorial alignments."""
    alns = {f: read_alignment(TUTORIAL / f"{f}.sto.gz") for f in ("globins4", "fn3")}
    frames = FrameSet([build_hmm(f, rows) for f, rows in alns.items()])
    raw = [Record(r.id, r.seq.replace("-", "")) for r in alns["fn3"][:6]]
    return frames, raw, frames.place(raw, "fn3")


def test_project_puts_residues_on_their_columns(placed):
    _, raw, placements = placed
    for rec, pl in zip(raw, placements, strict=True):
        # projecting the raw sequence itself must give back the placed row: positions index the raw residues
        assert project(rec.seq, pl.positions) == pl.row
        ss_like = "".join("HEC"[i % 3] for i in range(len(rec.seq)))
        projected = project(ss_like, pl.positions)
        assert len(projected) == len(pl.row)
        assert [c == "-" for c in projected] == [c == "-" for c in pl.row]


def test_project_rejects_a_too_short_string(placed):
    _, raw, placements = placed
    with pytest.raises(InputError, match="per-residue string"):
        project("H" * 5, placements[0].positions)


def test_channel_matrices_shapes_and_gap_padding(placed):
    frames, raw, placements = placed
    width = max(frames.widths.values())  # globins4 is wider than fn3: fn3 rows get padded
    ss_sa = [("C" * len(r.seq), "e" * len(r.seq)) for r in raw]
    rows = channel_rows(placements, ss_sa)
    mats = {ch: channel_matrix(rows[ch], CHANNELS[ch], width) for ch in CHANNELS}
    n = len(placements)
    assert {k: v.shape for k, v in mats.items()} == {"aa": (n, width * 21), "ss": (n, width * 4), "sa": (n, width * 3)}
    aa = mats["aa"].reshape(n, width, 21)
    frame = frames.widths["fn3"]
    assert np.all(aa[:, frame:, 0] == 1) and aa[:, frame:, 1:].sum() == 0  # padding = gap columns
    first = placements[0].row
    assert "".join(AA_SYMBOLS[i] for i in aa[0, : len(first)].argmax(1)) == first
    ss = mats["ss"].reshape(n, width, 4)
    assert ss[0, : len(first)].argmax(1).tolist() == [SS_SYMBOLS.index("-" if c == "-" else "C") for c in first]


def test_too_wide_row_is_an_input_error():
    with pytest.raises(InputError, match="columns wide, the model takes at most 3"):
        channel_matrix(["ACDE"], AA_SYMBOLS, 3)


def test_reads_real_scratch_output():
    ss = read_per_residue(SCRATCH / "test.ss", "ss")
    sa = read_per_residue(SCRATCH / "test.acc", "sa")
    fasta = {r.id: r.seq for r in read_sequences(SCRATCH / "test.fasta")}
    assert set(ss) == set(sa) == set(fasta) and len(ss) == 4
    for key in ss:
        assert len(ss[key]) == len(sa[key]) == len(fasta[key])
        assert set(sa[key]) == {"e", "-"}  # ACCpro writes buried as '-'; rows_from_alignment reads it as 'b'
    with pytest.raises(InputError, match="letters"):
        read_per_residue(SCRATCH / "test.fasta", "ss")


def test_ss_sa_per_residue_or_aligned_give_the_same_rows(placed):
    from protfam_core.vae.encode import rows_from_alignment

    _, raw, placements = placed
    row = placements[0].row
    ss = "".join("HEC"[i % 3] for i in range(len(raw[0].seq)))
    sa = "".join("eb"[i % 2] for i in range(len(raw[0].seq)))
    aligned = rows_from_alignment([row], [(project(ss, placements[0].positions), project(sa, placements[0].positions))])
    on_row = [project(x, placements[0].positions).replace("-", "") for x in (ss, sa)]
    scratch = rows_from_alignment([row], [(on_row[0], on_row[1].replace("b", "-"))])  # ACCpro: '-' = buried
    assert aligned == scratch and aligned["ss"][0] == project(ss, placements[0].positions)
    with pytest.raises(InputError, match="fits neither"):
        rows_from_alignment([row], [(ss + "H", sa)])
