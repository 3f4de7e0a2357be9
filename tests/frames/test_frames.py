"""Family frames on the committed mini dataset: HMM per frame, search and forced placement of held-out members."""

import io
from pathlib import Path

import numpy as np
import pytest
from protfam_tools.prep_msa import main

from protfam_core.errors import InputError, ModelError
from protfam_core.frames.frameset import FrameSet, SearchSettings, build_hmm, candidate_placements, replay
from protfam_core.io.placements import Placement
from protfam_core.io.seqio import Record, read_alignment
from protfam_core.msa.dataset import load_dataset

MINI = Path(__file__).resolve().parents[1] / "data" / "mini"


@pytest.fixture(scope="module")
def mini():
    return load_dataset(MINI)


def _consistent(p: Placement, raw: str, width: int) -> None:
    """A placed row has the frame's width and every residue maps back to its raw position, in order."""
    assert len(p.row) == width and p.positions.dtype == np.int32 and len(p.positions) == width
    residues = p.positions >= 0
    assert all((c == "-") != bool(r) for c, r in zip(p.row, residues, strict=True))
    assert "".join(raw[i] for i in p.positions[residues]) == p.row.replace("-", "")
    assert np.all(np.diff(p.positions[residues]) > 0)


def test_every_alignment_column_is_a_match_state(mini):
    for fam in mini.families:
        aln = mini.alignment(fam)
        assert mini.frames.widths[fam] == len(aln[0].seq)
        assert mini.card["counts"]["per_family"][fam]["width"] == len(aln[0].seq)


def test_held_out_test_members_are_found_in_their_own_frame(mini):
    train_ids = {r.id for fam in mini.families for r in mini.alignment(fam)}
    test = mini.records("test")
    assert not train_ids & {r.id for r in test}  # test members never shaped a frame
    found = mini.frames.search(test)
    assert set(found) == {r.id for r in test}
    for rec, label in zip(test, mini.labels("test"), strict=True):
        cands = found[rec.id]
        assert cands and cands[0].family == label
        assert [c.score for c in cands] == sorted((c.score for c in cands), reverse=True)
        for c in cands:
            assert c.query_id == rec.id and c.evalue < 1.0
            _consistent(c, rec.seq, mini.frames.widths[c.family])


def test_replay_of_the_uncut_searches_is_what_the_cut_search_keeps(mini):
    """Calibration weighs many cuts by replaying them on searches without any (`replay`): for every cut it must keep
    exactly the domains that the search under that cut places, sensitive fallback included."""
    test, labels = mini.records("test"), mini.labels("test")
    same = [r.seq.replace("-", "") for r, f in zip(test, labels, strict=True) if f == labels[0]][:3]
    repeat = Record("repeat", "GSGSGGSGSG".join(same))
    reversed_val = (Record(f"{r.id}_rev", r.seq.replace("-", "")[::-1]) for r in mini.records("val"))
    queries = [*test, repeat, *reversed_val]
    wide = SearchSettings(fallback_evalue=0.0)
    plain = mini.frames.search(queries, wide)
    sensitive = mini.frames.search(queries, wide, sensitive=True)
    assert any(p.domain > 1 for hits in plain.values() for p in hits)  # repeats: several domains in one frame

    def key(p: Placement) -> tuple:
        return (p.family, p.domain, p.span, p.evalue, p.hit_evalue)

    families = mini.frames.families

    def shortlist(records):  # any shortlist: here two frames per query, the second one changing along the queries
        return [[families[0], families[1 + i % (len(families) - 1)]] for i, _ in enumerate(records)]

    short = mini.frames.search_shortlist(queries, shortlist(queries), wide, sensitive=True)
    for cut in (SearchSettings(1e-3, 1e-2, 1e-4), SearchSettings(1e-5, 1e-6, 0.0), SearchSettings(10, 1e-3, 10)):
        for fallback, by_list in ((sensitive, None), (short, shortlist)):
            cut_search = candidate_placements(mini.frames, queries, cut, shortlist=by_list)
            for q in queries:
                expected = replay(plain[q.id], fallback[q.id], cut)
                assert sorted(map(key, cut_search[q.id])) == sorted(map(key, expected))
    # the shortlist's search is the full search restricted to the listed frames
    for q, listed in zip(queries, shortlist(queries), strict=True):
        assert sorted(map(key, short[q.id])) == sorted(key(p) for p in sensitive[q.id] if p.family in listed)


def test_forced_placement_of_held_out_member_matches_search(mini):
    rec = mini.records("val")[0]
    fam = mini.labels("val")[0]
    forced = mini.frames.place([rec], fam)[0]
    searched = mini.frames.search([rec])[rec.id][0]
    _consistent(forced, rec.seq, mini.frames.widths[fam])
    assert forced.family == fam and forced.score > 20 and forced.evalue < 1e-3
    same = sum(a == b != "-" for a, b in zip(forced.row, searched.row, strict=True))
    assert same >= 0.8 * len(searched.row.replace("-", ""))  # both align the same residues to the same columns


def test_forced_placement_into_a_foreign_frame_still_gives_every_record_a_row(mini):
    recs = mini.records("test")[:5]
    foreign = next(f for f in mini.families if f != mini.labels("test")[0])
    placed = mini.frames.place(recs, foreign)
    assert [p.query_id for p in placed] == [r.id for r in recs]
    for p, r in zip(placed, recs, strict=True):
        _consistent(p, r.seq, mini.frames.widths[foreign])


def test_save_load_round_trip_and_build_from_alignment(mini, tmp_path):
    mini.frames.save(tmp_path / "f.hmm")
    back = FrameSet.load(tmp_path / "f.hmm")
    assert back.families == mini.families and back.widths == mini.frames.widths
    aln = read_alignment(MINI / "alignments" / "il8.afa")
    one = FrameSet([build_hmm("il8", aln)])
    assert one.widths == {"il8": len(aln[0].seq)}


def test_errors_for_unknown_family_and_bad_frames(mini, tmp_path):
    with pytest.raises(ModelError, match="no frame for family"):
        mini.frames.place(mini.records("test")[:1], "nope")
    (tmp_path / "bad.hmm").write_text("not an hmm\n")
    with pytest.raises(ModelError):
        FrameSet.load(tmp_path / "bad.hmm")
    with pytest.raises(InputError, match="different widths"):
        build_hmm("x", [Record("a", "AC-D"), Record("b", "ACD")])


def test_cli_place_forced_and_search(mini):
    text = "".join(f">{r.id}\n{r.seq}\n" for r in mini.records("test")[:6])
    out = io.StringIO()
    assert main(["place", "-", "--frames", str(MINI), "--family", "il8"], stdin=io.StringIO(text), stdout=out) == 0
    rows = read_alignment(io.StringIO(out.getvalue()))
    assert len(rows) == 6 and {len(r.seq) for r in rows} == {mini.frames.widths["il8"]}
    out = io.StringIO()
    assert main(["place", "-", "--frames", str(MINI / "frames.hmm")], stdin=io.StringIO(text), stdout=out) == 0
    headers = [ln for ln in out.getvalue().splitlines() if ln.startswith(">")]
    labels = mini.labels("test")[:6]
    assert [h.split()[1] for h in headers] == [f"family={fam}" for fam in labels]


def test_cli_place_forced_into_given_frames_reads_no_model(mini, tmp_path, monkeypatch):
    """Forcing into a frames file needs no classifier: it works with a registry that has none."""
    monkeypatch.setenv("PROTFAM_REGISTRY", str(tmp_path))
    text = "".join(f">{r.id}\n{r.seq}\n" for r in mini.records("test")[:2])
    out = io.StringIO()
    args = ["place", "-", "--frames", str(MINI / "frames.hmm"), "--family", "il8"]
    assert main(args, stdin=io.StringIO(text), stdout=out) == 0
    assert len(read_alignment(io.StringIO(out.getvalue()))) == 2


def test_cli_place_uses_the_shipped_frames_by_default_or_by_name(mini):
    """Without --frames the shipped family-frames bundle is the frame set; a registry name works as well."""
    text = "".join(f">{r.id}\n{r.seq}\n" for r in mini.records("test")[:4])
    outputs = []
    for extra in ([], ["--frames", "family-frames@champion"]):
        out = io.StringIO()
        assert main(["place", "-", *extra], stdin=io.StringIO(text), stdout=out) == 0
        outputs.append(out.getvalue())
    assert outputs[0] == outputs[1]
    headers = [ln.split()[1] for ln in outputs[0].splitlines() if ln.startswith(">")]
    assert headers == [f"family={fam}" for fam in mini.labels("test")[:4]]


def test_cli_place_unknown_frames_model_is_one_clear_error(mini, capsys):
    assert main(["place", "-", "--frames", "nosuch@champion"], stdin=io.StringIO(">a\nACDEFGHIKL\n")) == 2
    assert "unknown model 'nosuch'" in capsys.readouterr().err


def test_dropped_columns_are_the_frames_insert_states():
    # two of 8 rows have a residue in column 2: a frame without that column counts their insertion after match 2
    rows = [Record(str(i), "ACDEFGHIK") for i in range(6)] + [Record("6", "ACWDEFGHIK"), Record("7", "ACYDEFGHIK")]
    rows = [Record(r.id, r.seq if len(r.seq) == 10 else r.seq[:2] + "-" + r.seq[2:]) for r in rows]
    frame = build_hmm("f", rows, [c for c in range(10) if c != 2])
    filtered = build_hmm("f", [Record(r.id, r.seq[:2] + r.seq[3:]) for r in rows])
    assert frame.M == filtered.M == 9
    m_to_i = 1  # transition_probabilities row k: MM, MI, MD, IM, II, DM, DD of match state k
    assert frame.transition_probabilities[2][m_to_i] > 3 * filtered.transition_probabilities[2][m_to_i]
    with pytest.raises(InputError, match="different widths"):
        build_hmm("x", rows[:1] + [Record("b", "ACD")], [0])
