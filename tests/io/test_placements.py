"""The placement file (A2M with structured headers) of the stage pipe: exact round trips and one-line errors."""

import numpy as np
import pytest

from protfam_core.errors import InputError, ModelError
from protfam_core.io.placements import (
    Placement,
    Query,
    check_frames,
    format_queries,
    from_a2m,
    is_placement_text,
    parse_queries,
    stage_of,
    to_a2m,
)

SEQ = "MKTAYIAKQRQISFVKSHFSRQLEERLG"
FIELDS = "family=a start=1 end=1 score=1 evalue=1"
TAIL = "len=3 record=1/1 format=2 frames=f"


def test_a2m_keeps_the_frame_row_the_insertions_and_the_flanks():
    # frame of 8 columns: a deletion first, residues 3..6, an insertion of 2 (7, 8), a deletion, residues 9, 10
    positions = np.array([-1, 3, 4, 5, 6, -1, 9, 10], dtype=np.int32)
    a2m = to_a2m(SEQ, positions)
    assert a2m == "mkt-AYIAkq-RQisfvkshfsrqleerlg"
    raw, row, back = from_a2m(a2m)
    assert raw == SEQ and row == "-AYIA-RQ" and np.array_equal(back, positions)


def test_a2m_of_a_placement_without_residues_is_the_sequence_in_lower_case():
    assert to_a2m(SEQ, np.array([-1, -1], dtype=np.int32)) == SEQ.lower() + "--"


def test_queries_round_trip_with_candidates_ss_and_queries_without_any():
    p1 = Placement("q1", "famA", "-AYIA-RQ", np.array([-1, 3, 4, 5, 6, -1, 9, 10], dtype=np.int32), 42.5, 1.5e-12)
    p2 = Placement("q1", "famB", "KTA", np.array([1, 2, 3], dtype=np.int32), 3.25, 0.5, domain=2)
    ss, sa = "C" * len(SEQ), "e" * len(SEQ)
    queries = [
        Query("q1", SEQ, (p1, p2), ss, sa, "ss-predictor/1", "family-frames/7"),
        Query("q2", "MKV", (), ss[:3], sa[:3], "ss-predictor/1", "family-frames/7"),
    ]
    text = format_queries(queries)
    assert text.splitlines()[0] == (
        f">q1 family=famA start=4 end=11 score=42.5 evalue=1.5e-12 len={len(SEQ)} record=1/3 format=2 "
        f"frames=family-frames/7 ss={ss} sa={sa} ss_model=ss-predictor/1"
    )
    assert is_placement_text(text) and stage_of(text) == "placements"
    back = parse_queries("t", text)
    assert [(q.id, q.sequence, q.ss, q.sa, q.ss_model, q.frames) for q in back] == [
        (q.id, q.sequence, q.ss, q.sa, q.ss_model, q.frames) for q in queries
    ]
    for got, want in zip(back[0].candidates, queries[0].candidates, strict=True):
        assert (got.family, got.row, got.score, got.evalue, got.domain) == (
            want.family, want.row, want.score, want.evalue, want.domain
        )  # fmt: skip
        assert np.array_equal(got.positions, want.positions)
    assert back[1].candidates == ()


def test_a_fasta_whose_description_starts_with_family_is_no_placement_file():
    text = ">U6IX09/82-171 family=Fork_head (benchmark dataset test split)\nKPPYSY\n"
    assert not is_placement_text(text) and stage_of(text) == "sequences"
    assert stage_of("query_id\tframe\tevalue\taa1\n") == "fingerprints" and stage_of("") == "sequences"


def test_a_uniprot_flat_file_goes_to_the_sequence_reader_not_the_fingerprint_parser():
    text = "ID   7LESS_DROME             Reviewed;        2554 AA.\nAC   P13368; Q9TYI0;\n"
    assert stage_of(text) == "sequences"
    assert stage_of("id\tv1\tv2\nq1\t0.5\t1e-3\n") == stage_of("q1 0.5 1.5\n") == "fingerprints"
    assert stage_of("query_id\tframe\tdomain\tstart\tend\tevalue\tv1\nq1\t-\tNA\tNA\tNA\tNA\tNA\n") == "fingerprints"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "input is empty"),
        ("KTA\n", "no '>' header"),
        (">family=x\nKTA\n", "needs a query id"),
        (f">q family=x start=1 end=2 score=1 {TAIL}\nKTA\n", "lacks evalue"),
        (f">q family=x start=1 end=1 score=high evalue=1 {TAIL}\nKta\n", "score='high' is not a number"),
        (f">q {FIELDS} {TAIL} junk\nKta\n", "'junk' is not a key=value field"),
        (f">q {FIELDS} {TAIL}\nK1A\n", "not A2M"),
        (f">q family=- {TAIL} ss=CC sa=ee ss_model=m\nkta\n", "SS of 'q' has 2 letters, the query 3"),
        (f">q family=- {TAIL} ss=CCC ss_model=m\nkta\n", "ss=, sa= and ss_model= together"),
        (
            f">q {FIELDS} len=3 record=1/2 format=2 frames=f\nKta\n"
            f">q family=b start=1 end=1 score=1 evalue=1 len=3 record=2/2 format=2 frames=f\nKtv\n",
            "disagree",
        ),
        (
            "".join(f">{q} family=- len=3 record={k}/3 format=2 frames=f\nkta\n" for k, q in enumerate("qrq", 1)),
            "not next to each other",
        ),
        (f">q {FIELDS} domain=x {TAIL}\nKta\n", "domain='x' is not a whole number"),
        (f">q {FIELDS} len=3 record=1/1 frames=f\nKta\n", "format 1 \\(from an older protfam\\)"),
        (f">q {FIELDS} len=3 record=1/1 format=3 frames=f\nKta\n", "format 3 \\(from a newer protfam\\)"),
        (f">q {FIELDS} len=4 record=1/1 format=2 frames=f\nKta\n", "its header len=4: the record is cut"),
        (f">q {FIELDS} len=3 record=1/2 format=2 frames=f\nKta\n", "end after record 1 of 2: the stream is cut"),
        (f">q family=a start=2 end=1 score=1 evalue=1 {TAIL}\nKta\n", "start=2 end=1, but the row"),
        (f">q family=a start=1 end=1 score=1 evalue=-1e-5 {TAIL}\nKta\n", "evalue=-1e-5 is negative"),
        (f">q family=a start=1 end=1 score=1 evalue=nan {TAIL}\nKta\n", "'nan' is not a finite number"),
        (f">q family=- {TAIL} ss=CXC sa=eee ss_model=m\nkta\n", "ss= of 'q' has 'X'"),
        (f">q family=- {TAIL} ss=CCC sa=eEe ss_model=m\nkta\n", "sa= of 'q' has 'E'"),
        (f">q {FIELDS} {TAIL} color=red\nKta\n", "color= is not a field"),
        (f">q {FIELDS} {TAIL}\nkta\n", "start=1 end=1, but the row of .q. places no match residue"),
    ],
)
def test_malformed_placement_files_give_one_clear_error(text: str, message: str):
    with pytest.raises(InputError, match=message):
        parse_queries("t", text)


def test_rows_are_counted_against_their_frames_and_the_chain_frames_version():
    text = f">q {FIELDS} {TAIL}\nKta-\n"
    queries = parse_queries("t", text)
    check_frames("t", queries, {"a": 2})
    with pytest.raises(InputError, match="has 2 match columns in frame 'a', which has 3"):
        check_frames("t", queries, {"a": 3})
    with pytest.raises(InputError, match="frame 'a', which f lacks"):
        check_frames("t", queries, {"b": 2})
    with pytest.raises(ModelError, match="made in frames f, this chain uses family-frames/9"):
        check_frames("t", queries, {"a": 2}, "family-frames/9")
