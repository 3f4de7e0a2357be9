"""The placement file (A2M with structured headers) of the stage pipe: exact round trips and one-line errors."""

import numpy as np
import pytest

from protfam_core.errors import InputError
from protfam_core.io.placements import (
    Placement,
    Query,
    format_queries,
    from_a2m,
    is_placement_text,
    parse_queries,
    stage_of,
    to_a2m,
)

SEQ = "MKTAYIAKQRQISFVKSHFSRQLEERLG"
FIELDS = "family=a start=1 end=1 score=1 evalue=1"


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
        f">q1 family=famA start=4 end=11 score=42.5 evalue=1.5e-12 frames=family-frames/7 ss={ss} sa={sa} "
        "ss_model=ss-predictor/1"
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
        (">q family=x start=1 end=2 score=1\nKTA\n", "lacks evalue"),
        (">q family=x start=1 end=2 score=high evalue=1\nKTA\n", "score='high' is not a number"),
        (">q family=x start=1 end=2 score=1 evalue=1 junk\nKTA\n", "'junk' is not a key=value field"),
        (">q family=x start=1 end=2 score=1 evalue=1\nK1A\n", "not A2M"),
        (">q family=- ss=CC sa=ee\nkta\n", "SS of 'q' has 2 letters, the query 3"),
        (">q family=- ss=CCC\nkta\n", "both ss= and sa="),
        (
            ">q family=a start=1 end=1 score=1 evalue=1\nKta\n>q family=b start=1 end=1 score=1 evalue=1\nKtv\n",
            "disagree",
        ),
        (">q family=-\nkta\n>r family=-\nkta\n>q family=-\nkta\n", "not next to each other"),
        (f">q {FIELDS} domain=x\nKta\n", "domain='x' is not a domain number"),
    ],
)
def test_malformed_placement_files_give_one_clear_error(text: str, message: str):
    with pytest.raises(InputError, match=message):
        parse_queries("t", text)
